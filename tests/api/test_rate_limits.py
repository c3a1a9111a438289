"""Rate limits: each class of request against its own limit and key, the 429 itself, and
what is never limited. Counters in memory here (the embedded store); shared through a real
MongoDB wire server across two gunicorn workers in tests/e2e/test_rate_limits.py."""

import json
import logging
import time
from datetime import timedelta
from functools import partial
from types import SimpleNamespace

import limits.storage.memory
import pytest

from livesessions import ratelimit
from livesessions.config import ConfigError, load_config
from livesessions.errors import INVALID_SIGNATURE, TOO_MANY_REQUESTS
from livesessions.ratelimit_storage import WINDOWS, ServiceDatabaseStorage, rate_limit_storage
from tests.support.app_config import PRODUCTION
from tests.support.factories import future, iso, session_payload
from tests.support.fake_daily import ROOMS_URL
from tests.support.webhooks import SECRET, envelope, sign

REFUSED = {"message": TOO_MANY_REQUESTS}
GENEROUS = "1000/minute"


@pytest.fixture
def limited(make_app, daily):
    """An app with rate limits on: every limit generous unless the test names it."""

    def make(**limits):
        settings = {
            "RATE_LIMITS_ENABLED": True,
            "RATE_LIMIT_READS": GENEROUS,
            "RATE_LIMIT_ANONYMOUS_WRITES": GENEROUS,
            "RATE_LIMIT_SESSION_WRITES": GENEROUS,
            "RATE_LIMIT_USER_WRITES": GENEROUS,
            "RATE_LIMIT_UNSIGNED_WEBHOOKS": GENEROUS,
        }
        return make_app(**settings | limits)

    return make


def new_session(client, token_for, user="instructor-1"):
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    response = client.post("/sessions", json=session_payload(), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def add(client, session_id, student, address=None):
    headers = {"X-Forwarded-For": address} if address else {}
    return client.post(
        f"/sessions/{session_id}/participants", json={"studentId": student}, headers=headers
    )


def assert_admitted(response, student):
    assert response.status_code == 200, response.get_json()
    assert student in response.get_json()["participants"]


def assert_refused(response, window_seconds=60):
    assert (response.status_code, response.get_json()) == (429, REFUSED)
    assert 1 <= int(response.headers["Retry-After"]) <= window_seconds


def stored_participants(app, session_id):
    return app.extensions["livesessions"].database.db.livesessions.find_one({"_id": session_id})[
        "participants"
    ]


def test_reads_are_limited_per_client_and_the_probes_never(limited):
    app = limited(RATE_LIMIT_READS="3/minute")
    client = app.test_client()
    for _ in range(3):
        response = client.get("/sessions/course/course-1")
        assert (response.status_code, response.get_json()) == (200, [])
    assert_refused(client.get("/sessions/course/course-1"))
    assert_refused(client.get("/sessions/instructor/someone"))  # one limit for all reads
    for probe, status in (("/healthz", "ok"), ("/readyz", "ready")):
        for _ in range(5):
            answer = client.get(probe)
            assert (answer.status_code, answer.get_json()["status"]) == (200, status)


def go_live(client, session_id, address=None):
    """An anonymous write that is not an admission: counted per address, and per class."""
    headers = {"X-Forwarded-For": address} if address else {}
    return client.patch(f"/sessions/{session_id}/status", json={"status": "live"}, headers=headers)


def assert_live(response):
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "live"


def stored_status(app, session_id):
    db = app.extensions["livesessions"].database.db
    return db.livesessions.find_one({"_id": session_id})["status"]


def test_anonymous_writes_are_limited_per_client_and_refused_ones_change_nothing(
    limited, token_for
):
    app = limited(RATE_LIMIT_ANONYMOUS_WRITES="2/minute")
    client = app.test_client()
    first, second, third = (new_session(client, token_for)["_id"] for _ in range(3))
    assert_live(go_live(client, first))  # the writes with a token above: not counted here
    assert_live(go_live(client, second))
    assert_refused(go_live(client, third))
    forged = {"Authorization": "Bearer not-a-token"}  # an unusable token is no token
    assert_refused(
        client.patch(f"/sessions/{third}/status", json={"status": "live"}, headers=forged)
    )
    assert [stored_status(app, s) for s in (first, second, third)] == ["live", "live", "scheduled"]
    # a caller with a valid token is counted as its user, not as this address
    assert new_session(client, token_for)["title"] == session_payload()["title"]


def test_anonymous_writes_to_one_class_are_limited_across_clients(limited, token_for):
    app = limited(PROXY_HOPS=1, RATE_LIMIT_SESSION_WRITES="3/minute")
    client = app.test_client()
    first, second = new_session(client, token_for), new_session(client, token_for)
    for index in range(3):
        answer = go_live(client, first["_id"], f"198.51.100.{index}")
        assert answer.status_code != 429, answer.get_json()
    assert_refused(go_live(client, first["_id"], "198.51.100.9"))
    # another class is not affected, and a recording start names its class by room
    assert_live(go_live(client, second["_id"], "198.51.100.9"))
    start = {"roomName": first["roomName"]}
    for index in range(3):
        address = {"X-Forwarded-For": f"192.0.2.{index}"}
        started = client.post("/sessions/recording/start", json=start, headers=address)
        assert started.status_code != 429, started.get_json()
    assert_refused(client.post("/sessions/recording/start", json=start))


def test_writes_with_a_token_are_limited_per_user(limited, token_for):
    app = limited(RATE_LIMIT_USER_WRITES="2/minute")
    client = app.test_client()
    new_session(client, token_for, "instructor-1")
    new_session(client, token_for, "instructor-1")
    headers = {"Authorization": f"Bearer {token_for('instructor-1')}"}
    assert_refused(client.post("/sessions", json=session_payload(), headers=headers))
    assert new_session(client, token_for, "instructor-2")["instructor"] == "instructor-2"
    listed = client.get("/sessions", headers=headers).get_json()  # reads: another limit
    assert listed["totalItems"] == 3  # the refused create stored nothing


def test_a_client_cannot_pick_its_own_address_without_trusted_proxies(limited, token_for, caplog):
    app = limited(RATE_LIMIT_ANONYMOUS_WRITES="2/minute")
    client = app.test_client()
    sessions = [new_session(client, token_for)["_id"] for _ in range(3)]
    with caplog.at_level(logging.WARNING, logger="livesessions.ratelimit"):
        for index in range(2):
            assert_live(go_live(client, sessions[index], f"203.0.113.{index}"))
        assert_refused(go_live(client, sessions[2], "203.0.113.2"))
    warnings = [r for r in caplog.records if "PROXY_HOPS" in r.getMessage()]
    assert len(warnings) == 1  # said once, not per request
    assert stored_status(app, sessions[2]) == "scheduled"


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(limited, token_for):
    app = limited(PROXY_HOPS=1, RATE_LIMIT_ANONYMOUS_WRITES="1/minute")
    client = app.test_client()
    first, second, third = (new_session(client, token_for)["_id"] for _ in range(3))
    assert_live(go_live(client, first, "203.0.113.1"))
    assert_refused(go_live(client, second, "203.0.113.1"))
    assert_live(go_live(client, second, "203.0.113.2"))
    # the proxy appends the address it saw: what the client wrote before it is not trusted
    assert_refused(go_live(client, third, "198.51.100.7, 203.0.113.2"))
    assert stored_status(app, third) == "scheduled"


def test_signed_webhooks_are_never_limited_and_unsigned_ones_are(limited):
    app = limited(DAILY_WEBHOOK_SECRET=SECRET, RATE_LIMIT_UNSIGNED_WEBHOOKS="2/minute")
    client = app.test_client()
    body = json.dumps(envelope("recording.started", {"room_name": "nowhere"})).encode()
    unsigned = {"Content-Type": "application/json"}
    for _ in range(2):
        response = client.post("/sessions/webhook/daily", data=body, headers=unsigned)
        assert (response.status_code, response.get_json()) == (401, {"message": INVALID_SIGNATURE})
    assert_refused(client.post("/sessions/webhook/daily", data=body, headers=unsigned))
    for _ in range(5):
        signed = json.dumps(envelope("recording.started", {"room_name": "nowhere"})).encode()
        response = client.post("/sessions/webhook/daily", data=signed, headers=sign(signed))
        assert (response.status_code, response.get_json()) == (200, {"received": True})


def test_without_a_webhook_secret_every_delivery_counts_as_unsigned(limited):
    app = limited(RATE_LIMIT_UNSIGNED_WEBHOOKS="1/minute")
    client = app.test_client()
    first = client.post("/sessions/webhook/daily", json={"test": "test"})
    assert (first.status_code, first.get_json()) == (200, {"received": True})
    assert_refused(client.post("/sessions/webhook/daily", json={"test": "test"}))


@pytest.fixture
def limiter_clock(monkeypatch):
    """The time of the in-memory windows and of Retry-After, held until the test moves it:
    requests a second's window must hold together are then as close as the window says,
    however long they take. (A storage in MongoDB keeps its own time: these tests use
    memory.)"""
    clock = SimpleNamespace(now=time.time())
    clock.time = lambda: clock.now
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    monkeypatch.setattr(ratelimit, "unix_now", clock.time)
    return clock


def test_a_refused_client_gets_through_again_after_retry_after(limited, limiter_clock):
    app = limited(RATE_LIMIT_READS="2/second", RATE_LIMIT_STORAGE="memory")
    client = app.test_client()
    for _ in range(2):
        answer = client.get("/sessions/course/c")
        assert (answer.status_code, answer.get_json()) == (200, [])
    refused = client.get("/sessions/course/c")
    assert_refused(refused, window_seconds=1)
    limiter_clock.now += int(refused.headers["Retry-After"]) + 0.05
    assert client.get("/sessions/course/c").get_json() == []


def test_rate_limits_can_be_turned_off(make_app):
    client = make_app(RATE_LIMITS_ENABLED=False, RATE_LIMIT_READS="1/minute").test_client()
    assert [client.get("/sessions/course/c").status_code for _ in range(5)] == [200] * 5


def test_on_by_default(make_app):
    app = make_app(RATE_LIMITS_ENABLED=None)  # as if unset: the default
    assert app.config["RATE_LIMITS_ENABLED"] is True
    assert app.extensions["livesessions.limiter"].enabled


def test_a_failing_counter_store_falls_back_to_memory(make_app):
    """Production's MongoDB here is unreachable: the limits still hold, counted in memory,
    and no request fails because of them."""
    app = make_app(**PRODUCTION, RATE_LIMITS_ENABLED=True, RATE_LIMIT_UNSIGNED_WEBHOOKS="2/minute")
    client = app.test_client()
    ping = {"test": "test"}  # Daily's set-up check: acknowledged unsigned, no database
    for _ in range(2):
        response = client.post("/sessions/webhook/daily", json=ping)
        assert (response.status_code, response.get_json()) == (200, {"received": True})
    assert_refused(client.post("/sessions/webhook/daily", json=ping))


def test_the_counters_live_in_the_service_database_with_a_mongodb_server(make_app):
    app = make_app(**PRODUCTION, RATE_LIMITS_ENABLED=True)
    database = app.extensions["livesessions"].database
    assert isinstance(app.extensions["livesessions.limiter"].storage, ServiceDatabaseStorage)
    uri, options = rate_limit_storage(app.config, database)
    assert (uri, options["client"], options["database_name"]) == (
        "livesessions+mongodb://",
        database.client,  # one connection pool, the service's timeouts
        "x",
    )
    assert options["window_collection_name"] == WINDOWS
    assert rate_limit_storage(app.config | {"RATE_LIMIT_STORAGE": "memory"}, database) == (
        "memory://",
        {},
    )


def test_old_windows_expire_even_if_the_library_never_made_its_index(app):
    indexes = app.extensions["livesessions"].database.db[WINDOWS].index_information()
    assert {"key": [("expireAt", 1)], "expireAfterSeconds": 0}.items() <= next(
        index for name, index in indexes.items() if name != "_id_"
    ).items()


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (
            {"RATE_LIMIT_READS": "lots"},
            "RATE_LIMIT_READS must be a rate such as 100/minute, got 'lots'",
        ),
        ({"RATE_LIMIT_USER_WRITES": "0/minute"}, "RATE_LIMIT_USER_WRITES must be a rate such as"),
        (
            {"RATE_LIMIT_STORAGE": "redis"},
            "RATE_LIMIT_STORAGE must be database or memory, got 'redis'",
        ),
        ({"PROXY_HOPS": "-1"}, "PROXY_HOPS must not be negative, got -1"),
    ],
)
def test_malformed_rate_settings_are_named(settings, problem):
    with pytest.raises(ConfigError) as error:
        load_config(settings)
    assert problem in str(error.value)


def test_several_rates_may_be_given(limited, limiter_clock):
    app = limited(RATE_LIMIT_READS="2/second;3/minute", RATE_LIMIT_STORAGE="memory")
    client = app.test_client()
    assert [client.get("/sessions/course/c").status_code for _ in range(4)] == [200, 200, 429, 429]
    limiter_clock.now += 1.05  # the second's window has passed, not the minute's
    assert [client.get("/sessions/course/c").status_code for _ in range(2)] == [200, 429]


# -- a series: one write per occurrence, and SERIES_ROOMS_PER_HOUR -------------------------


def unpaced(app):
    """Daily's pacing (100 calls in 5 s) on a held clock that each wait moves on: a series
    of 100 rooms takes no real waiting."""
    pacer = app.extensions["livesessions"].daily.pacer
    held = SimpleNamespace(now=pacer.clock())
    pacer.clock = lambda: held.now
    pacer.sleep = lambda seconds: setattr(held, "now", held.now + seconds)
    return app


def a_series(client, token_for, count, user="instructor-1"):
    """POST /sessions/series of `count` weekday occurrences, from a Monday weeks ahead."""
    first = future(days=14, hour=10)
    first += timedelta(days=(7 - first.weekday()) % 7)
    body = session_payload(
        scheduledAt=iso(first), recurrence={"days": ["MO", "TU", "WE", "TH", "FR"], "count": count}
    )
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    return client.post("/sessions/series", json=body, headers=headers)


def stored_and_rooms(app, daily):
    """(sessions stored, rooms Daily created: a name taken in the same millisecond is
    retried, so its refused creation is not counted)."""
    db = app.extensions["livesessions"].database.db
    rooms = [
        c
        for c in daily.calls("POST")
        if c.request.url == ROOMS_URL and c.response.status_code == 200
    ]
    assert len(rooms) == len(daily.rooms)
    return db.livesessions.count_documents({}), len(rooms)


def assert_refused_without_daily(daily, send, window_seconds=60):
    """`send()` is refused with the 429, and Daily is not called for it at all."""
    before = len(daily.mock.calls)
    assert_refused(send(), window_seconds)
    assert len(daily.mock.calls) == before


def test_a_series_counts_once_per_occurrence_against_the_write_limit(
    limited, token_for, daily, limiter_clock
):
    app = unpaced(limited(RATE_LIMIT_USER_WRITES="101/minute", RATE_LIMIT_STORAGE="memory"))
    client = app.test_client()
    made = a_series(client, token_for, 100)
    assert made.status_code == 201, made.get_json()
    assert len(made.get_json()["sessions"]) == 100
    new_session(client, token_for)  # the 101st write of the minute
    headers = {"Authorization": f"Bearer {token_for('instructor-1')}"}
    assert_refused(client.post("/sessions", json=session_payload(), headers=headers))
    assert stored_and_rooms(app, daily) == (101, 101)
    assert new_session(client, token_for, "instructor-2")["instructor"] == "instructor-2"
    limiter_clock.now += 60.05  # the minute has passed: the budget is back
    assert new_session(client, token_for)["instructor"] == "instructor-1"


def test_a_series_over_the_remaining_budget_is_refused_and_creates_nothing(
    limited, token_for, daily, limiter_clock
):
    app = unpaced(limited(RATE_LIMIT_USER_WRITES="100/minute", RATE_LIMIT_STORAGE="memory"))
    client = app.test_client()
    new_session(client, token_for)  # 99 writes left
    assert_refused_without_daily(daily, partial(a_series, client, token_for, 100))
    assert stored_and_rooms(app, daily) == (1, 1)  # no session, no room at Daily
    made = a_series(client, token_for, 99)  # exactly what is left
    assert made.status_code == 201, made.get_json()
    assert stored_and_rooms(app, daily) == (100, 100)
    assert_refused_without_daily(daily, partial(a_series, client, token_for, 1))


def test_rooms_per_hour_are_capped_across_series_and_free_up_an_hour_later(
    limited, token_for, daily, limiter_clock
):
    app = unpaced(limited(SERIES_ROOMS_PER_HOUR="50", RATE_LIMIT_STORAGE="memory"))
    client = app.test_client()
    assert a_series(client, token_for, 30).status_code == 201
    over = partial(a_series, client, token_for, 30)  # 60 rooms in the hour: over 50
    assert_refused_without_daily(daily, over, window_seconds=3600)
    assert stored_and_rooms(app, daily) == (30, 30)
    assert a_series(client, token_for, 20).status_code == 201  # 50: the cap, not over
    one = partial(a_series, client, token_for, 1)
    assert_refused_without_daily(daily, one, window_seconds=3600)
    assert a_series(client, token_for, 30, user="instructor-2").status_code == 201  # per user
    assert stored_and_rooms(app, daily) == (80, 80)
    limiter_clock.now += 30 * 60
    assert_refused_without_daily(daily, one, window_seconds=3600)  # half an hour on: still
    limiter_clock.now += 30 * 60 + 1  # an hour after the first series: its rooms are free
    made = a_series(client, token_for, 30)
    assert made.status_code == 201, made.get_json()
    assert stored_and_rooms(app, daily) == (110, 110)


def test_the_defaults_let_an_instructor_create_a_semesters_series(make_app, token_for, daily):
    app = unpaced(make_app(RATE_LIMITS_ENABLED=True, RATE_LIMIT_STORAGE="memory"))
    assert app.config["RATE_LIMIT_USER_WRITES"] == "600/minute"
    assert app.config["SERIES_ROOMS_PER_HOUR"] == 500
    client = app.test_client()
    for count in (30, 100):  # a semester of one class, and the longest series there is
        made = a_series(client, token_for, count)
        assert made.status_code == 201, made.get_json()
    assert stored_and_rooms(app, daily) == (130, 130)


def test_a_limit_smaller_than_the_longest_series_is_named_at_start_up(make_app, limited, caplog):
    with caplog.at_level(logging.WARNING, logger="livesessions.ratelimit"):
        make_app(RATE_LIMITS_ENABLED=True)  # the defaults: no warning
        limited(RATE_LIMIT_USER_WRITES="10/second;600/minute", SERIES_ROOMS_PER_HOUR="50")
    warned = [r.getMessage() for r in caplog.records if r.name == "livesessions.ratelimit"]
    assert warned == [
        "RATE_LIMIT_USER_WRITES admits no series of more than 10 occurrences (a series "
        "counts once per occurrence, and may have 100)",
        "SERIES_ROOMS_PER_HOUR admits no series of more than 50 occurrences (a series "
        "counts once per occurrence, and may have 100)",
    ]
