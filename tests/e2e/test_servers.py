"""The real servers on loopback: `make run`'s dev server and the Procfile's gunicorn."""

import json
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import jwt as pyjwt
import pytest
import requests

from tests.support.factories import iso, session_payload, starting_soon
from tests.support.processes import (
    ROOT,
    SERVER_SECRET,
    START_DEADLINE_S,
    free_port,
    procfile_web_command,
    start,
    stop,
    wait_for,
    wait_until,
)

pytestmark = pytest.mark.slow  # real servers in subprocesses: up to 3 s a test

SECRET = SERVER_SECRET


def bearer(user="instructor-1"):
    token = pyjwt.encode(
        {"sub": user, "role": "instructor", "exp": int(time.time()) + 300}, SECRET, "HS256"
    )
    return {"Authorization": f"Bearer {token}"}


def walk_through(base):
    """What a new user tries first: create, find it in the list, join, by course."""
    title = f"Walkthrough {time.time_ns()}"
    created = requests.post(
        f"{base}/sessions",
        json=session_payload(title=title, scheduledAt=iso(starting_soon())),
        headers=bearer(),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    listed = requests.get(
        f"{base}/sessions", params={"search": title}, headers=bearer(), timeout=10
    ).json()
    assert [s["_id"] for s in listed["sessions"]] == [body["_id"]]
    joined = requests.post(
        f"{base}/sessions/{body['_id']}/participants", json={"studentId": "s1"}, timeout=10
    )
    assert joined.json()["participants"] == ["s1"]
    by_course = requests.get(f"{base}/sessions/course/{body['course']}", timeout=10).json()
    assert body["_id"] in [s["_id"] for s in by_course]
    return body


def test_dev_server_runs_the_whole_flow_on_the_sandboxes(server_env):
    """`make run`: sessions, then a recording that reaches the Cloudinary sandbox by itself."""
    port, daily_port, cloud_port = free_port(), free_port(), free_port()
    env = server_env | {
        "PORT": str(port),
        "DAILY_SANDBOX_PORT": str(daily_port),
        "CLOUDINARY_SANDBOX_PORT": str(cloud_port),
        "RECORDING_POLL_SECONDS": "0.1",
    }
    process = start([sys.executable, "-m", "devtools.devserver"], env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/sessions/course/x", process)
        body = walk_through(base)
        assert body["roomUrl"] == f"http://127.0.0.1:{daily_port}/{body['roomName']}"
        demo = requests.get(f"{base}/sessions", params={"search": "Hooks"}, headers=bearer())
        assert demo.json()["sessions"][0]["instructor"]["name"] == "Jane Smith"
        docs = requests.get(f"{base}/docs/", timeout=5)
        assert docs.status_code == 200
        assert "swagger-ui" in docs.text
        assert docs.headers["Server"] == "livesessions"  # not Werkzeug/x.y Python/x.y
        assert "development stand-in" in requests.get(body["roomUrl"], timeout=5).text

        started = requests.post(
            f"{base}/sessions/recording/start", json={"roomName": body["roomName"]}, timeout=5
        ).json()["recording"]
        requests.post(
            f"{base}/sessions/recording/stop", json={"recordingId": started["id"]}, timeout=5
        )

        def uploaded():
            url = f"{base}/sessions/{body['_id']}"
            found = requests.get(url, headers=bearer(), timeout=10).json()
            return found if found["recordingUrl"] else None

        session = wait_until(uploaded)  # the dev server's worker uploads it in about a second
        assert session["recordingUrl"].startswith(f"http://127.0.0.1:{cloud_port}/")
        # recorded before the class began (it starts in 5 minutes): an upload ends no class
        # that has not begun, so it stays scheduled
        assert (session["isRecorded"], session["status"]) == (True, "scheduled")
        assert requests.get(session["recordingUrl"], timeout=5).status_code == 200
    finally:
        output = stop(process)
    assert f"API         http://localhost:{port}/sessions" in output
    assert f"docs        http://localhost:{port}/docs" in output
    assert "demo data   3 courses, 5 users, 6 sessions" in output
    assert f"Daily.co    SANDBOX at http://127.0.0.1:{daily_port}" in output
    assert f"Cloudinary  SANDBOX at http://127.0.0.1:{cloud_port}" in output
    assert "embedded in-memory" in output
    assert output.count("configuration (secrets masked): ") == 1  # its start-up report
    assert SECRET not in output


def test_the_demo_seeder_runs_from_the_checkout(server_env):
    """`python -m devtools.demo` (the shipped `flask` has no demo data): the app of the
    settings, a Daily room for each session, its counts on stdout."""
    from devtools.sandbox import DailySandbox

    sandbox = DailySandbox(api_key="demo-seeder-test").start()
    env = server_env | {"DAILY_API_URL": sandbox.api_url, "DAILY_API_KEY": "demo-seeder-test"}
    try:
        process = start([sys.executable, "-m", "devtools.demo"], env)
        try:
            output = process.communicate(timeout=START_DEADLINE_S)[0]
        finally:
            if process.poll() is None:  # still running after the deadline
                stop(process)
        assert process.returncode == 0, output
        assert output.splitlines()[-1] == "demo data: 3 courses, 5 users, 6 new sessions"
        assert "note: the embedded store lives in this process only" in output
        assert len(sandbox.rooms) == 6
    finally:
        sandbox.stop()


def test_gunicorn_serves_the_procfile_app(server_env):
    """The Procfile's command, on one worker (the embedded store lives in one process)."""
    from devtools.sandbox import DailySandbox

    sandbox = DailySandbox(api_key="gunicorn-test").start()
    port = free_port()
    command = procfile_web_command(port, workers=1)
    env = server_env | {"DAILY_API_URL": sandbox.api_url, "DAILY_API_KEY": "gunicorn-test"}
    process = start(command, env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/sessions/course/x", process)
        body = walk_through(base)
        assert body["roomName"] in sandbox.rooms
        probe = requests.get(f"{base}/readyz", timeout=5)
        assert probe.json() == {
            "status": "ready",
            "database": "up",
            "webhook": "unknown",
            "workers": 0,  # no worker process here, and the embedded store is this one's
            "oldestDueJobSeconds": None,
        }
        assert not re.search(r"\d", probe.headers["Server"])  # no version banner
    finally:
        output = stop(process)
        sandbox.stop()
    # gunicorn's own lines are JSON lines too (LOG_FORMAT=json, the default)
    booted = [json.loads(line) for line in output.splitlines() if "Booting worker" in line]
    assert booted
    assert {(line["logger"], line["level"]) for line in booted} == {("gunicorn.error", "INFO")}


def serve_fast_command(port, workers, threads):
    """The Makefile's `serve-fast` command (the settings' check, then granian, from this
    venv), variables filled in, run by the shell as make runs it."""
    make = (ROOT / "Makefile").read_text()
    line = re.search(r"^serve-fast:.*\n\t(.+)$", make, re.MULTILINE).group(1)
    line = line.replace("$(BIN)/", str(Path(sys.executable).parent) + "/")
    for name, value in (("PORT", port), ("WEB_CONCURRENCY", workers), ("WEB_THREADS", threads)):
        line = re.sub(r"\$\$\{" + name + r":-\d+\}", str(value), line)
    assert "$" not in line, line
    assert shlex.split(line)[-1] == "wsgi:app", line
    return ["/bin/sh", "-c", line]


def test_granian_serves_the_same_app(server_env):
    """`make serve-fast`: the app under granian behaves as under gunicorn (one worker: the
    embedded store lives in one process)."""
    from devtools.sandbox import DailySandbox

    sandbox = DailySandbox(api_key="granian-test").start()
    port = free_port()
    env = server_env | {"DAILY_API_URL": sandbox.api_url, "DAILY_API_KEY": "granian-test"}
    process = start(serve_fast_command(port, workers=1, threads=2), env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/sessions/course/x", process)
        body = walk_through(base)
        assert body["roomName"] in sandbox.rooms
        missing = requests.get(f"{base}/sessions/nope", headers=bearer(), timeout=5)
        assert (missing.status_code, missing.json()) == (404, {"message": "Live session not found"})
        assert missing.headers["X-Content-Type-Options"] == "nosniff"
        assert re.fullmatch(r"[0-9a-f]{32}", missing.headers["X-Request-ID"])
        echoed = requests.get(f"{base}/healthz", headers={"X-Request-ID": "abc-1"}, timeout=5)
        assert echoed.headers["X-Request-ID"] == "abc-1"
    finally:
        output = stop(process)
        sandbox.stop()
    assert "granian" in output.lower()


def test_the_worker_command_stops_gracefully_on_sigterm(server_env):
    """The Procfile's `worker:` process: SIGTERM lets it finish and exit cleanly."""
    flask = str(Path(sys.executable).parent / "flask")
    env = server_env | {"RECORDING_POLL_SECONDS": "0.1", "LOG_LEVEL": "INFO"}
    process = start([flask, "--app", "wsgi", "recordings", "worker"], env)
    deadline = time.monotonic() + START_DEADLINE_S
    seen = ""
    while "started" not in seen and time.monotonic() < deadline:
        seen += process.stdout.readline()
    assert "recording worker" in seen
    assert "started" in seen
    process.send_signal(signal.SIGTERM)
    try:  # it stops within a poll (0.1 s); one that ignored SIGTERM would never exit
        output = process.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0
    assert "stopping after the current job" in output
    assert "stopped" in output
