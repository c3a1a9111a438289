"""Real servers and subprocesses on loopback: ports, start and stop, waiting for an answer."""

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from bench.loopback import free_port  # noqa: F401 (the tests' import of it)

ROOT = Path(__file__).resolve().parents[2]  # the project root: tests/support/ is two below
SERVER_SECRET = "server-test-secret-" + "x" * 48
# Deadlines of the waits below: a server or worker process is up in 2-4 s here (its
# imports; 10 s on a core shared with busy processes), and what `wait_until` waits for
# takes well under a second; they give up only long after that, so that a slow or busy
# machine gets there too.
START_DEADLINE_S = 120
WAIT_DEADLINE_S = 30


def wait_for(url, process, timeout=START_DEADLINE_S):
    """Poll `url` until the server answers; fail if the process dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else "(in its output file)"
            raise AssertionError(f"server exited early:\n{output}")
        try:
            return requests.get(url, timeout=1)
        except (requests.ConnectionError, requests.Timeout):  # not bound, or still booting
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def wait_until(predicate, timeout=WAIT_DEADLINE_S):
    """Poll `predicate` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def procfile_web_command(port, workers):
    """The Procfile's `web:` command (gunicorn from this venv) with its variables filled in."""
    web = re.search(r"^web: (.+)$", (ROOT / "Procfile").read_text(), re.MULTILINE).group(1)
    for name, value in (("PORT", port), ("WEB_CONCURRENCY", workers)):
        web = re.sub(r"\$\{" + name + r":-\d+\}", str(value), web)
    command = shlex.split(web)
    assert command[0] == "gunicorn", web
    assert "$" not in web, web
    command[0] = str(Path(sys.executable).parent / "gunicorn")
    return command


def procfile_worker_command():
    """The Procfile's `worker:` command (flask from this venv)."""
    worker = re.search(r"^worker: (.+)$", (ROOT / "Procfile").read_text(), re.MULTILINE).group(1)
    command = shlex.split(worker)
    assert command[0] == "flask", worker
    command[0] = str(Path(sys.executable).parent / "flask")
    return command


def run_flask(arguments, env):
    """`flask --app wsgi <arguments>` (flask from this venv) run to its end in the
    checkout: its status, stdout and stderr apart."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=START_DEADLINE_S,
        check=False,
    )


def start(command, env, output=subprocess.PIPE):
    """Start `command` in its own session, its output (stderr too) to `output`: a pipe read
    at `stop`, or a file for a server that logs more than a pipe holds (64 KiB) meanwhile,
    since a worker blocked on a full pipe stops serving."""
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    try:  # gunicorn lets requests in flight finish for up to 20 s (--graceful-timeout)
        return process.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


def wait_for_workers(base, log_path, count, path="/healthz", timeout=START_DEADLINE_S):
    """Send `path` on fresh connections, a few at once, until `count` workers have answered
    it (as their JSON request lines in `log_path` say): gunicorn's first worker may serve
    while the others still load the app, and would then take every request."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        threads = [threading.Thread(target=_get_quietly, args=(base + path,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if len(served_by(Path(log_path).read_text(), path)) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"{count} workers did not all answer {path} within {timeout}s")


def _get_quietly(url):
    """GET `url`, whatever comes of it: a worker still booting may not answer in time."""
    with contextlib.suppress(requests.RequestException):
        requests.get(url, timeout=5)


def served_by(output, path):
    """{pid: [status, ...]} of the requests to `path`, from the workers' JSON log lines."""
    workers = {}
    for line in output.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == "livesessions.requests" and record.get("path") == path:
                workers.setdefault(record["pid"], []).append(record["status"])
    return workers
