"""Every `flask --app wsgi ...` command ends a failure outside its own code (Daily.co,
Cloudinary or MongoDB unreachable, a refusal) with one line on stderr and status 1."""

import os
import socket
from datetime import timedelta

import pytest
import requests

from devtools.demo import seed_demo_command
from livesessions.cli import fail_in_one_line
from tests.support.processes import run_flask


def test_seed_demo_with_daily_unreachable_fails_in_one_line(app, daily, db):
    daily.fail("create", exception=requests.ConnectionError("connection refused"))
    result = app.test_cli_runner().invoke(seed_demo_command)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "Error: Failed to create Daily.co room"
    assert "Traceback" not in result.stderr + result.stdout
    assert db.livesessions.count_documents({}) == 0  # no session without its room


@pytest.mark.parametrize(
    ("seats", "status", "line"),
    [
        (1, "scheduled", "Error: Session has reached maximum participants"),
        (2, "ended", "Error: Cannot change status from scheduled to ended"),
    ],
)
def test_a_refusal_of_the_store_fails_in_one_line_as_the_api_words_it(
    app, daily, db, monkeypatch, seats, status, line
):
    """The store's refusals (a full session, a transition not allowed) end a command as
    the API answers them: one line, no traceback."""
    from devtools import demo

    session = ("Full", "Two students, then a status", demo.JS, demo.JOHN)
    planned = (timedelta(days=1), 60, seats, status, [demo.ALICE, demo.BOB])
    monkeypatch.setattr(demo, "SESSIONS", [(*session, *planned)])
    result = app.test_cli_runner().invoke(seed_demo_command)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == line
    assert "Traceback" not in result.stderr + result.stdout
    stored = db.livesessions.find_one({"title": "Full"})
    assert (stored["participants"], stored["status"]) == (
        [demo.ALICE, demo.BOB][:seats],
        "scheduled",
    )


def test_a_defect_keeps_its_traceback(app, monkeypatch):
    """Only failures outside the command are shortened: a bug still shows where it is."""
    monkeypatch.setattr("devtools.demo.seed_demo", lambda services: 1 / 0)
    result = app.test_cli_runner().invoke(seed_demo_command)
    assert isinstance(result.exception, ZeroDivisionError)


def test_commands_are_wrapped_once_however_many_apps(make_app):
    make_app()
    make_app()
    seed = next(
        command
        for name, command in make_app().cli.commands["db"].commands.items()
        if name == "init"
    )
    assert seed.callback.one_line_failures
    assert not getattr(seed.callback.__wrapped__, "one_line_failures", False)
    assert fail_in_one_line(seed).callback is seed.callback


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("command", [["db", "check"], ["recordings", "list", "--limit", "5"]])
def test_mongodb_unreachable_fails_in_one_line(command):
    """The real `flask` entry point and pymongo driver against a port nobody listens on."""
    env = {
        **os.environ,
        "MONGODB_URI": f"mongodb://127.0.0.1:{_closed_port()}/x",
        "MONGODB_TIMEOUT_MS": "300",
        "JWT_SECRET_KEY": "a-development-secret-of-32-chars!",
        "LOG_LEVEL": "WARNING",
    }
    done = run_flask(command, env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    shown = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    unreachable = "MongoDB did not answer (ServerSelectionTimeoutError): check MONGODB_URI"
    assert shown == [f"Error: {unreachable}"]
