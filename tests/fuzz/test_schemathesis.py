"""Schemathesis: the app against its own `/openapi.json`, in process.

Every operation of the document gets schema-driven requests, valid (positive) and invalid
(negative), sent with a valid Bearer token to the app, with the fake Daily.co of
`tests/support/fake_daily.py`. Each answer goes through all of schemathesis's built-in checks
(not_a_server_error, status_code_conformance, content_type_conformance,
response_headers_conformance, response_schema_conformance, allow_header_conformance,
negative_data_rejection, positive_data_acceptance, missing_required_header,
unsupported_method, ignored_auth; the stateful ones have nothing to do here) and through the
test client's own OpenAPI validation of every JSON body (`tests/support/openapi_client.py`).

Every example starts from one seeded session (with its room, a participant and a
recording); about half of the valid cases are pointed at it, so that 2xx answers are
checked too. `EXCLUDED` and the two date hooks are the only allowances, each with its reason.
The generation is deterministic (the same command sends the same cases). The number of
cases and requests of each operation is asserted and printed at the end of the run.

`schemathesis.pytest.from_fixture` would load the document from the `app` fixture, but it
fails under pytest 9.2 ("'Function' object has no attribute '_nodeid'"), so the document
is loaded once, at import, from an app of its own; the cases go to each test's `app`.
"""

import os
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    negative_data_rejection,
    positive_data_acceptance,
)

from livesessions import create_app
from livesessions.sessions.feed_keys import feed_key
from tests.support.app_config import JWT_SECRET
from tests.support.factories import COURSE, seed_recording, seed_session
from tests.support.tally import register_tally

pytestmark = pytest.mark.slow  # 2,254 schemathesis cases: about 32 s

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "50"))
NO_INPUTS = {"GET /healthz", "GET /readyz", "GET /metrics", "GET /webhooks"}  # nothing to vary
SEEDED_ID = "5eed0000-0000-4000-8000-000000000001"
SEEDED_ROOM = "seeded-room"
SEEDED_RECORDING = "5eed0000-0000-4000-8000-00000000000a"
SEEDED_STUDENT = "student-1"
SEEDED_SERIES = "5eed0000-0000-4000-8000-00000000005e"
SEEDED_SERIES_SESSION = "5eed0000-0000-4000-8000-000000000002"
FUTURE = "2099-06-01T10:00:00.000Z"
LATEST_SCHEDULE = datetime(9999, 1, 1, tzinfo=UTC)  # scheduledAt's maximum, see below
CALENDAR_SECRET = "schemathesis-calendar-secret-" + "0123456789abcdef" * 2

EXCLUDED = {
    # Schema-valid transitions such as scheduled -> ended are refused by the state machine.
    "PATCH /sessions/{id}/status": [positive_data_acceptance],
    # The webhook acknowledges any JSON (unknown events, Daily's {"test": "test"}).
    "POST /sessions/webhook/daily": [negative_data_rejection],
    # `/sessions/series` is also `/sessions/{id}` with the id "series": its GET, PUT and
    # DELETE answer that session's 404 (as Express would), so `Allow` rightly lists them.
    "POST /sessions/series": [allow_header_conformance],
}
TALLY = Counter()  # (operation, "cases" | "requests" | status) -> count

_document_app = create_app(
    {
        "TESTING": True,
        "APP_ENV": "development",
        "MONGODB_URI": "mongomock://localhost/schemathesis_document",
        "JWT_SECRET_KEY": JWT_SECRET,
        "LOG_LEVEL": "ERROR",
    }
)
schema = schemathesis.openapi.from_wsgi("/openapi.json", _document_app)
_document_app.extensions["livesessions"].database.close()
schema.config.generation.update(
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    database="none",  # no .hypothesis/ directory
    with_security_parameters=False,  # our valid token; ignored_auth still sends none/bad ones
)


@schema.hook("map_case").apply_to(operation_id=["create", "update", "create_series"])
def schedule_in_the_future(ctx, case):
    """Valid cases get a `scheduledAt` the API can take.

    A date in the past is refused by design (Joi's `min('now')`: "must be greater than or
    equal to now"), which the document can't express. So is one after 9999-01-01 (Joi's
    `max`, there since year-9999 dates gave a 500), which the document does not say either.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    if not isinstance(case.body, dict) or not isinstance(case.body.get("scheduledAt"), str):
        return case
    try:
        scheduled = datetime.fromisoformat(case.body["scheduledAt"])
    except ValueError:
        return case  # left as generated: the API must take every date-time the document allows
    if scheduled.tzinfo is None:
        scheduled = scheduled.replace(tzinfo=UTC)
    if not datetime.now(UTC) + timedelta(hours=1) <= scheduled <= LATEST_SCHEDULE:
        case.body = {**case.body, "scheduledAt": FUTURE}
    return case


@schema.hook("map_case").apply_to(operation_id="create_series")
def a_recurrence_the_api_can_take(ctx, case):
    """Valid series get a recurrence of a few occurrences, all before 9999-01-01, with one
    of `count` and `until`: rules the document says only in words (and a few rooms keep
    each case fast: Daily's rate limit paces room creations)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    body = case.body if isinstance(case.body, dict) else {}
    recurrence = body.get("recurrence")
    if not isinstance(recurrence, dict) or not isinstance(body.get("scheduledAt"), str):
        return case
    recurrence = {key: value for key, value in recurrence.items() if key != "until"}
    recurrence["count"] = min(recurrence.get("count", 2), 3)
    scheduled = datetime.fromisoformat(body["scheduledAt"])
    if scheduled.replace(tzinfo=scheduled.tzinfo or UTC) > LATEST_SCHEDULE - timedelta(weeks=200):
        body = {**body, "scheduledAt": FUTURE}
    case.body = {**body, "recurrence": recurrence}
    return case


@schema.hook("map_case").apply_to(operation_id=["update_series", "delete_series"])
def use_the_seeded_series(ctx, case):
    """Point about half of the valid cases at the seeded series (others get 404s)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    parameters = case.path_parameters or {}
    if half(parameters.get("seriesId")):
        case.path_parameters = {**parameters, "seriesId": SEEDED_SERIES}
    return case


@schema.hook("map_case").apply_to(operation_id="index")
def ordered_range(ctx, case):
    """Valid list queries get `from` <= `to`: the document says so only in words."""
    query = case.query or {}
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    if isinstance(query.get("from"), str) and isinstance(query.get("to"), str):
        try:
            start, end = (datetime.fromisoformat(query[k]) for k in ("from", "to"))
            if start.tzinfo is None:
                start = start.replace(tzinfo=UTC)
            if end.tzinfo is None:
                end = end.replace(tzinfo=UTC)
            if end < start:
                case.query = {**query, "from": query["to"], "to": query["from"]}
        except ValueError:
            pass  # left as generated: the API must take every date-time the document allows
    return case


def half(value):
    """True for about half of all values, the same on every run (unlike hash())."""
    return zlib.crc32(repr(value).encode("utf-8", "surrogatepass")) % 2 == 0


# `/sessions/course/...` and `/sessions/instructor/...` are other routes (as in Express), so
# a session id spelled "course" or "instructor" reaches them instead. Ids are UUIDs.
RESERVED_IDS = {"course", "instructor", "recording", "webhook"}


@schema.hook("map_case")
def avoid_reserved_ids(ctx, case):
    """Keep generated session ids off the words that are routes of their own."""
    parameters = case.path_parameters or {}
    if parameters.get("id") in RESERVED_IDS:
        case.path_parameters = {**parameters, "id": parameters["id"] + "-x"}
    return case


@schema.hook("map_case")
def use_seeded_ids(ctx, case):
    """Point about half of the valid cases at the seeded session, room and recording (the
    others keep their generated ids and get 404s), so that 2xx answers are checked too."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    parameters = case.path_parameters or {}
    if "id" in parameters and half(parameters["id"]):
        case.path_parameters = {**parameters, "id": SEEDED_ID}
        if "studentId" in parameters:
            case.path_parameters["studentId"] = SEEDED_STUDENT
    if isinstance(case.body, dict):
        for key, seeded in (("roomName", SEEDED_ROOM), ("recordingId", SEEDED_RECORDING)):
            if isinstance(case.body.get(key), str) and half(case.body[key]):
                case.body = {**case.body, key: seeded}
    return case


@schema.hook("map_case").apply_to(operation_id="student_calendar")
def use_the_seeded_student_key(ctx, case):
    """Point about half of the valid feed requests at the seeded student, with its key (a
    generated key is a 404), so that the feed itself is checked too."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    parameters = case.path_parameters or {}
    if half(parameters.get("studentId")):
        case.path_parameters = {**parameters, "studentId": SEEDED_STUDENT}
        case.query = {**(case.query or {}), "key": feed_key(CALENDAR_SECRET, SEEDED_STUDENT)}
    return case


@pytest.fixture
def config(config):
    """The test app's settings, with the student calendar feed on."""
    return {
        **config,
        "CALENDAR_FEED_SECRET": CALENDAR_SECRET,
        "JOIN_PAGE_URL": "https://lms.example/live/{sessionId}",
        # no outbound webhook may reach a generated host (its token is no admin's anyway)
        "WEBHOOKS_ALLOW_PRIVATE": False,
    }


@schema.hook("map_case").apply_to(operation_id="course_attendance")
def use_seeded_course(ctx, case):
    """Point about half of the valid course reports at the seeded session's course, which
    the token's instructor teaches (the others get 403s), so that 2xx answers are checked."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    parameters = case.path_parameters or {}
    if "courseId" in parameters and half(parameters["courseId"]):
        case.path_parameters = {**parameters, "courseId": COURSE}
    return case


def reset(db, daily):
    """One scheduled session, its room on the fake Daily.co, a participant, a recording;
    and a series of one future session, with its room."""
    for collection in ("livesessions", "recordings", "recording_jobs"):
        db[collection].delete_many({})
    daily.rooms.clear()
    doc = seed_session(
        db,
        _id=SEEDED_ID,
        roomName=SEEDED_ROOM,
        participants=[SEEDED_STUDENT],
        scheduledAt=datetime.now(UTC) + timedelta(minutes=5),  # joinable now
    )
    daily.rooms[SEEDED_ROOM] = {"name": SEEDED_ROOM, "url": "u", "config": {}}
    seed_recording(db, doc, _id=SEEDED_RECORDING)
    series_room = "seeded-series-room"
    seed_session(db, _id=SEEDED_SERIES_SESSION, roomName=series_room, seriesId=SEEDED_SERIES)
    daily.rooms[series_room] = {"name": series_room, "url": "u", "config": {}}


@pytest.fixture
def counted_app(request, app, monkeypatch):
    """The app, counting the requests that reach it (some checks send their own)."""
    register_tally(
        request.config,
        "schemathesis-summary",
        "schemathesis (test_schemathesis.py)",
        TALLY,
        "cases",
    )
    operation = request.node.name.partition("[")[2].rstrip("]")  # test_api[GET /sessions]
    wsgi_app = app.wsgi_app

    def counting(environ, start_response):
        TALLY[operation, "requests"] += 1

        def start(status, headers, exc_info=None):
            TALLY[operation, int(status.split()[0])] += 1
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    monkeypatch.setattr(app, "wsgi_app", counting)
    TALLY[operation, "cases"] = TALLY[operation, "requests"] = 0
    yield app
    assert TALLY[operation, "cases"] >= (1 if operation in NO_INPUTS else MAX_EXAMPLES), TALLY
    assert TALLY[operation, "requests"] >= TALLY[operation, "cases"], TALLY


@schema.parametrize()
# The fixtures are reset per example; too_slow is a timing (this list replaces the one of
# the suite's hypothesis profile, so it is named again).
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api(case, counted_app, client, db, daily, auth):
    reset(db, daily)
    TALLY[case.operation.label, "cases"] += 1
    case.call_and_validate(
        app=counted_app,
        session=client,
        headers=auth,
        excluded_checks=EXCLUDED.get(case.operation.label, []),
    )
