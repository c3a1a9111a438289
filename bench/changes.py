"""What each optimization bought, in-process: µs per request with it, and without it.

    .venv/bin/python -m bench.changes

Runs the service (store double) through Flask's test client, so no network or server is
involved, and undoes one change at a time: orjson (back to the stdlib JSON provider),
remembered tokens (decode every time), the one-pass ISO date formatting, the one-pass
session serializer. Each path's answer is checked once (200, its body's shape) before it is
timed: a wrong one ends the run (bench/expect.py).
"""

import time
from datetime import UTC, datetime, timedelta

import jwt
from flask.json.provider import DefaultJSONProvider

import livesessions.sessions.serialize as serialize
from bench.apps import JWT_SECRET, seed, service_app
from bench.expect import expect
from livesessions.clock import to_seconds, utcnow

REQUESTS = 3000
ONE_PASS_ISO = serialize.iso


def old_iso(value):
    """The first version: convert, drop the zone, format."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def old_session_json(doc, refs=()):
    """The first version: a loop with a membership test per field (and today's `refs`:
    the references to populate are shown even when the document lacks them)."""
    out = {}
    for key in serialize.SESSION_FIELDS:
        if key in doc:
            value = doc[key]
            out[key] = ONE_PASS_ISO(value) if isinstance(value, datetime) else value
        elif key in refs:
            out[key] = None
    return out


def per_request_us(client, path, headers):
    expect(client.get(path, headers=headers), 200, ("_id",) if "page" not in path else ())
    for _ in range(300):
        client.get(path, headers=headers)
    started = time.perf_counter()
    for _ in range(REQUESTS):
        client.get(path, headers=headers)
    return (time.perf_counter() - started) / REQUESTS * 1e6


def main():
    sessions, courses, _ = seed()
    # Tokens need an `exp` since the JWT leeway change; a day outlasts any run.
    exp = to_seconds(utcnow() + timedelta(days=1))
    token = jwt.encode({"sub": "bench-user", "role": "admin", "exp": exp}, JWT_SECRET, "HS256")
    headers = {"Authorization": f"Bearer {token}"}
    paths = {
        "get by id": f"/sessions/{sessions[0]['_id']}",
        "list page": "/sessions?page=1&pageCount=10",
        "by course (50)": f"/sessions/course/{courses[0]['_id']}",
    }

    def measure(label, app):
        client = app.test_client()
        row = {name: per_request_us(client, path, headers) for name, path in paths.items()}
        print(f"{label:<28}" + "".join(f"{row[name]:>16.0f}" for name in paths))

    print(f"{'µs per request':<28}" + "".join(f"{name:>16}" for name in paths))
    measure("all changes", service_app())

    app = service_app()
    app.json = DefaultJSONProvider(app)
    app.json.sort_keys = False
    measure("without orjson", app)

    app = service_app()
    tokens = app.extensions["livesessions"].tokens
    tokens.remembered = tokens.decoded_claims  # no memory
    measure("without remembered tokens", app)

    fast_iso, serialize.iso = serialize.iso, old_iso
    try:
        measure("without one-pass ISO dates", service_app())
    finally:
        serialize.iso = fast_iso

    fast_json = serialize.session_json
    serialize.session_json = old_session_json  # what SessionPresenter calls
    try:
        measure("without one-pass serializer", service_app())
    finally:
        serialize.session_json = fast_json


if __name__ == "__main__":
    main()
