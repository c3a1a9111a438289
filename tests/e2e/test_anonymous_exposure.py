"""What an anonymous client can do to the Procfile's gunicorn (on loopback) through its
metrics and its logs: gunicorn lets any upper-case token through as a method (`FOO`,
`BREW`, 3 to 20 characters), and writes each request's URL in its access line."""

import json
import random
import socket

import pytest
import requests

from livesessions.sessions.feed_keys import feed_key
from tests.support.exposition import (
    METHOD_CHARACTERS,
    invented_methods,
    random_path,
    sample_lines,
    series,
)
from tests.support.processes import (
    free_port,
    procfile_web_command,
    start,
    stop,
    wait_for,
    wait_until,
)

pytestmark = pytest.mark.slow

CALENDAR_SECRET = "calendar-secret-for-the-e2e-tests-" + "c" * 16
INVENTED = 200  # each one ~20 series before the fix (the counter and the histogram's)
GUNICORN_METHOD_CHARACTERS = METHOD_CHARACTERS.replace("#", "")  # `#`: gunicorn's own 400


def raw_request(port, method, path):
    """(status, body) of a request as a client may write it, whatever requests allows."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.fixture
def procfile_server(server_env, tmp_path):
    """The Procfile's command on a free loopback port: (port, a function reading its log)."""
    port = free_port()
    env = server_env | {
        "LOG_LEVEL": "INFO",
        "RATE_LIMITS_ENABLED": "false",
        "CALENDAR_FEED_SECRET": CALENDAR_SECRET,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py makes a fresh one
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        process = start(procfile_web_command(port, workers=2), env, output=log)
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", process)
            yield port, log_path.read_text
        finally:
            stop(process)


def test_invented_methods_through_gunicorn_add_no_series(procfile_server):
    port, _ = procfile_server
    metrics = f"http://127.0.0.1:{port}/metrics"
    rng = random.Random(2026)
    raw_request(port, "FOO", "/warm-up")  # the series of every invented method: 404
    raw_request(port, "FOO", "/sessions/warm-up")  # and 405
    requests.get(metrics, timeout=30)  # and the scrape's own
    before = requests.get(metrics, timeout=30).text
    answers = {
        raw_request(port, method, random_path(rng))
        for method in invented_methods(INVENTED, 7, GUNICORN_METHOD_CHARACTERS)
    }
    after = requests.get(metrics, timeout=30).text
    lines_before, lines_after = len(sample_lines(before)), len(sample_lines(after))
    assert lines_after == lines_before  # on main's code: about 20 more per method
    assert series(after) == series(before)
    assert answers == {
        (405, b'{"message":"Method not allowed"}'),
        (404, b'{"message":"Resource not found"}'),
    }


def test_a_calendar_key_is_masked_in_gunicorns_access_line(procfile_server):
    port, read_log = procfile_server
    key = feed_key(CALENDAR_SECRET, "student-e2e")
    url = f"http://127.0.0.1:{port}/sessions/student/student-e2e/calendar.ics"
    response = requests.get(url, params={"key": key}, timeout=30)
    assert response.status_code == 200  # the right key: the feed is served
    assert response.headers["Content-Type"].startswith("text/calendar")
    # the access line is written once the answer is sent: wait for it
    lines = wait_for_access_line(read_log, "/sessions/student/student-e2e/calendar.ics")
    output = read_log()
    assert key not in output
    assert any("calendar.ics?key=*** HTTP/1.1" in line["message"] for line in lines)


def wait_for_access_line(read_log, path):
    def access_lines():
        return [
            record
            for record in map(json.loads, filter(_is_json, read_log().splitlines()))
            if record.get("logger") == "gunicorn.access" and path in record["message"]
        ]

    return wait_until(access_lines)


def _is_json(line):
    return line.startswith("{")
