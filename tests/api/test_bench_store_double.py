"""`make bench`'s store double answers as the real store does: every request the benchmark
times (bench/endpoints.py) is sent to the service on the double and to the service on the
real store seeded with the same documents; both must give the expected status and the
same body. (The double once lacked `admit` and `change_status`: `participant add` and
`status no-op` measured 500s for months.)"""

from datetime import timedelta

import jwt
import pytest

from bench.apps import JWT_SECRET, seed, service_app
from bench.endpoints import endpoints
from livesessions.clock import to_seconds, utcnow
from livesessions.sandbox import DailySandbox
from tests.support.openapi_client import OpenAPIValidatingClient

# Sessions seeded (the benchmark's 1,000 take mongomock 1.5 s to insert): enough that the
# benchmark's search finds 11 and its page is one of several.
SESSIONS = 130
# What differs between any two creates, or any two writes: made by the service, not read
WRITTEN_NOW = {"_id", "roomName", "roomUrl", "createdAt", "updatedAt"}


@pytest.fixture(scope="module")
def daily_sandbox():
    sandbox = DailySandbox().start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def double_app(daily_sandbox, monkeypatch):
    monkeypatch.delenv("BENCH_MONGODB_URI", raising=False)
    monkeypatch.setenv("BENCH_DAILY_API_URL", daily_sandbox.api_url)
    monkeypatch.setenv("BENCH_LOG_LEVEL", "WARNING")
    app = service_app(SESSIONS)
    app.test_client_class = OpenAPIValidatingClient  # the answers checked against the spec
    yield app
    app.extensions["livesessions"].database.close()


@pytest.fixture
def real_app(make_app, daily_sandbox):
    """The service on the real store (the test's: embedded, or the wire server), seeded with
    the benchmark's documents."""
    app = make_app(
        JWT_SECRET_KEY=JWT_SECRET, DAILY_API_URL=daily_sandbox.api_url, DAILY_API_KEY="sandbox-key"
    )
    database = app.extensions["livesessions"].database.db
    sessions, courses, users = seed(SESSIONS)
    database.livesessions.insert_many(sessions)
    database.courses.insert_many(courses)
    database.users.insert_many(users)
    return app


def bench_headers():
    """The benchmark's caller (bench/http_bench.py): an admin."""
    claims = {"sub": "bench-user", "role": "admin", "exp": to_seconds(utcnow() + timedelta(1))}
    token = jwt.encode(claims, JWT_SECRET, "HS256")
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def answer(app, endpoint, counter):
    method, path, body = endpoint.request(thread=1, counter=counter)
    response = app.test_client().open(path, method=method, data=body, headers=bench_headers())
    return response.status_code, response.get_json()


def comparable(body):
    """The body without what the service makes anew on each write."""
    if isinstance(body, list):
        return [comparable(item) for item in body]
    if isinstance(body, dict) and "sessions" in body:
        return {**body, "sessions": comparable(body["sessions"])}
    return {k: v for k, v in body.items() if k not in WRITTEN_NOW}


def test_the_double_answers_every_benchmarked_request_as_the_real_store(double_app, real_app):
    for endpoint in endpoints():
        for counter in (1, 2, 1):  # two students, then the first again (a no-op add)
            on_double = answer(double_app, endpoint, counter)
            on_real = answer(real_app, endpoint, counter)
            assert on_real[0] == endpoint.status, (endpoint.name, on_real)
            assert on_double[0] == endpoint.status, (endpoint.name, on_double)
            assert comparable(on_double[1]) == comparable(on_real[1]), endpoint.name
