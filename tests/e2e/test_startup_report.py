"""The start-up report (the configuration line, then a warning for each setting that should
not ship by accident) is the servers': gunicorn's master logs it once before its workers
boot, `make serve-fast` once before granian's, each `recordings worker` its own. A
`flask --app wsgi ...` command prints its own output and nothing else."""

import json
import signal
import subprocess
import time

import jwt as pyjwt
import pytest

from tests.e2e.test_servers import serve_fast_command
from tests.support.processes import (
    SERVER_SECRET,
    START_DEADLINE_S,
    free_port,
    procfile_web_command,
    procfile_worker_command,
    run_flask,
    start,
    stop,
    wait_for,
    wait_for_workers,
)

pytestmark = pytest.mark.slow  # real processes

CONFIGURATION = "configuration (secrets masked): "
# What server_env's settings (the defaults, and a JWT secret) are warned about, in order.
WARNINGS = [
    "MONGODB_URI is the embedded in-memory store: data is lost on exit",
    "DAILY_WEBHOOK_SECRET is not set: webhooks are accepted without a signature",
    "DAILY_API_KEY is not set: Daily.co calls go unauthenticated to https://api.daily.co/v1",
]


def report(output):
    """The start-up report's records in `output` (JSON log lines): (level, message) each."""
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [
        (record["level"], record["message"])
        for record in records
        if record["message"].startswith(CONFIGURATION) or record["message"] in WARNINGS
    ]


def assert_one_report(output):
    """The configuration line, then the warnings, each once; no secret shown."""
    (level, line), *warnings = report(output)
    assert (level, line.startswith(CONFIGURATION)) == ("INFO", True)
    fields = dict(item.split("=", 1) for item in line.removeprefix(CONFIGURATION).split("; "))
    assert (fields["JWT_SECRET_KEY"], fields["APP_ENV"]) == ("set", "development")
    assert fields["MONGODB_URI"] == "mongomock://localhost/livesessions"
    assert warnings == [("WARNING", warning) for warning in WARNINGS]
    assert SERVER_SECRET not in output


def test_the_token_command_prints_the_token_only(server_env):
    done = run_flask(["token", "user-1", "--role", "admin"], server_env)
    assert (done.returncode, done.stderr) == (0, "")
    (token,) = done.stdout.splitlines()
    assert done.stdout == token + "\n"
    claims = pyjwt.decode(token, SERVER_SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"]) == ("user-1", "admin")


@pytest.mark.parametrize(
    ("command", "printed"),
    [
        (["recordings", "list"], "no jobs\n"),
        (["recordings", "status"], "0 worker(s) alive\nno job is due\n"),
        (["db", "init"], "indexes are in place\n"),
    ],
)
def test_commands_print_their_own_output_only(server_env, command, printed):
    done = run_flask(command, server_env)
    assert (done.returncode, done.stdout, done.stderr) == (0, printed, "")


def two_workers_output(command, port, env, log_path):
    """What `command` (a server on `port`, two workers) printed until both served."""
    with log_path.open("w+") as log:
        process = start(command, env, output=log)
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", process)
            wait_for_workers(f"http://127.0.0.1:{port}", log.name, 2)
        finally:
            stop(process)
    return log_path.read_text()


def assert_report_comes_first(output, server_line):
    """One report, its configuration line before the first line `server_line` accepts."""
    assert_one_report(output)
    lines = output.splitlines()
    server = next(i for i, line in enumerate(lines) if server_line(line))
    assert lines.index(next(line for line in lines if CONFIGURATION in line)) < server


def test_gunicorn_logs_the_report_once_before_its_workers(server_env, tmp_path):
    """The Procfile's `web:` on two workers, each of which has built the app."""
    port = free_port()
    command = procfile_web_command(port, workers=2)
    output = two_workers_output(command, port, server_env, tmp_path / "gunicorn.log")
    assert_report_comes_first(output, lambda line: "Booting worker" in line)


def test_serve_fast_logs_the_report_once_before_granian(server_env, tmp_path):
    """`make serve-fast`'s command, granian on two workers, each of which has built the app."""
    port = free_port()
    command = serve_fast_command(port, workers=2, threads=1)
    output = two_workers_output(command, port, server_env, tmp_path / "granian.log")
    assert_report_comes_first(output, lambda line: "granian" in line.lower())


def test_the_worker_logs_the_report_when_it_starts(server_env):
    """The Procfile's `worker:`, a server process of its own."""
    process = start(procfile_worker_command(), server_env | {"RECORDING_POLL_SECONDS": "0.1"})
    deadline = time.monotonic() + START_DEADLINE_S
    seen = ""
    while "started" not in seen and time.monotonic() < deadline:
        seen += process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    try:
        output = seen + process.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0
    assert_one_report(output)
    assert output.index(CONFIGURATION) < output.index("started")
