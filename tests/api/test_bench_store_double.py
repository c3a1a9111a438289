"""`make bench`'s store double answers as the real store does: every request the benchmark
times (bench/endpoints.py) is sent to the service on the double and to the service on the
real store seeded with the same documents; both must give the expected status and the
same body. (The double once lacked `admit` and `change_status`: `participant add` and
`status no-op` measured 500s.) And the checks every benchmark makes of its answers
(bench/expect.py) fail on a wrong one, naming it."""

import threading
from datetime import timedelta

import jwt
import pytest
from werkzeug.serving import make_server

from bench.apps import DAILY_KEY, JWT_SECRET, seed, service_app
from bench.endpoints import endpoints, preflight
from bench.expect import Tally, WrongAnswer, expect_all, wrk_failures
from devtools.sandbox import DailySandbox
from livesessions.clock import to_seconds, utcnow
from tests.support.openapi_client import OpenAPIValidatingClient

# Sessions seeded (the benchmark's 1,000 take mongomock 1.5 s to insert): enough that the
# benchmark's search finds 11 and its page is one of several.
SESSIONS = 130
# What differs between any two creates, or any two writes: made by the service, not read
WRITTEN_NOW = {"_id", "roomName", "roomUrl", "createdAt", "updatedAt"}


@pytest.fixture(scope="module")
def daily_sandbox():
    sandbox = DailySandbox(api_key=DAILY_KEY).start()  # the key the double's app sends
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
        JWT_SECRET_KEY=JWT_SECRET, DAILY_API_URL=daily_sandbox.api_url, DAILY_API_KEY=DAILY_KEY
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


WRK_REPORT = """Running 1s test @ http://127.0.0.1:8766/nope
  1 threads and 2 connections
  Latency Distribution
     50%    2.98ms
     99%   29.89ms
  565 requests in 1.00s, 286.91KB read
{problems}Requests/sec:    562.42
Transfer/sec:    285.60KB
"""


def test_a_benchmark_run_with_errors_is_a_wrong_answer():
    """wrk counts what went wrong in its report (bench/http_bench.py fails on it)."""
    assert wrk_failures(WRK_REPORT.format(problems="")) == ""
    errors = "  Socket errors: connect 0, read 2, write 0, timeout 3\n"
    assert wrk_failures(WRK_REPORT.format(problems=errors)) == errors.strip()
    non_2xx = "  Non-2xx or 3xx responses: 565\n"
    assert wrk_failures(WRK_REPORT.format(problems=non_2xx)) == "565 non-2xx or 3xx responses"


def test_the_benchmark_stops_on_a_wrong_answer_before_timing_it(double_app, monkeypatch):
    """A double that fails again: `make bench`'s check before timing names the request."""
    store = double_app.extensions["livesessions"].session_store
    monkeypatch.setattr(store, "admit", lambda *_: 1 / 0)
    server = make_server("127.0.0.1", 0, double_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        added = next(e for e in endpoints() if e.name == "participant add")
        token = bench_headers()["Authorization"].removeprefix("Bearer ")
        with pytest.raises(WrongAnswer) as wrong:
            preflight(added, f"http://127.0.0.1:{server.server_port}", token)
    finally:
        server.shutdown()
    assert f"POST /sessions/{added.ids[0]}/participants: expected [200], got 500" in str(
        wrong.value.reason
    )


def test_the_benchmarks_tallies_refuse_any_answer_not_allowed():
    """bench-daily's and bench-abuse's checks: the spec's 500 is allowed where it says so,
    another 500 or status is not, and the run's verdict names each kind."""
    start_failed = {"message": "Failed to start recording on Daily.co"}
    allowed = {200: None, 500: start_failed}
    expect_all([(1.0, 200, {}), (2.0, 500, start_failed)], allowed, "record")
    with pytest.raises(WrongAnswer, match=r"record: expected \[200, 500\], got 1 x 500"):
        expect_all([(1.0, 500, {"message": "Internal server error"})], allowed, "record")
    tally = Tally()
    assert tally.check_status("POST /x", 429, None, {200, 429})
    assert not tally.check_status("POST /x", None, "ReadTimeout()", {200, 429})
    with pytest.raises(WrongAnswer, match=r"1 x POST /x: expected \[200, 429\], got None"):
        tally.verdict()
