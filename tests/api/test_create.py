"""POST /sessions."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from livesessions.clock import utcnow
from livesessions.daily.transport import RATE_LIMIT_ATTEMPTS
from tests.support.app_config import DAILY_KEY
from tests.support.factories import (
    COURSE,
    INSTRUCTOR,
    OTHER_INSTRUCTOR,
    SESSION_KEYS,
    future,
    iso,
    session_payload,
)
from tests.support.fake_daily import ROOMS_URL


def test_create_returns_the_documented_body(client, auth, daily, db):
    scheduled = future()
    started = utcnow()  # to the millisecond, as createdAt
    before = int(time.time() * 1000)
    response = client.post(
        "/sessions", json=session_payload(scheduledAt=iso(scheduled)), headers=auth
    )
    assert response.status_code == 201
    body = response.get_json()
    assert list(body) == SESSION_KEYS  # the spec's key order
    assert str(uuid.UUID(body["_id"], version=4)) == body["_id"]
    name = body["roomName"]
    slug, stamp = name.rsplit("-", 1)
    assert slug == "introduction-to-javascript"
    assert before <= int(stamp) <= int(time.time() * 1000)
    assert body == {
        "_id": body["_id"],
        "title": "Introduction to JavaScript",
        "description": "Live coding session",
        "course": COURSE,
        "instructor": INSTRUCTOR,
        "roomName": name,
        "roomUrl": f"https://test.daily.co/{name}",
        "scheduledAt": iso(scheduled),
        "duration": 60,
        "status": "scheduled",
        "maxParticipants": 100,
        "participants": [],
        "isRecorded": False,
        "recordingUrl": None,
        "recordingDuration": None,
        "createdAt": body["createdAt"],
        "updatedAt": body["createdAt"],
    }
    created = datetime.strptime(body["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert started <= created <= utcnow()

    stored = db.livesessions.find_one({"_id": body["_id"]})
    assert stored["roomName"] == name
    assert stored["course"] == COURSE
    assert stored["scheduledAt"] == scheduled  # a BSON date, not a string
    assert stored["participants"] == []


def test_create_asks_daily_for_a_recordable_room_that_expires_after_the_class(client, auth, daily):
    scheduled = future()
    response = client.post(
        "/sessions",
        json=session_payload(scheduledAt=iso(scheduled), duration=90, maxParticipants=25),
        headers=auth,
    )
    (call,) = daily.calls("POST")
    assert call.request.url == ROOMS_URL
    assert call.request.headers["Authorization"] == f"Bearer {DAILY_KEY}"
    sent = json.loads(call.request.body)
    assert sent == {
        "name": response.get_json()["roomName"],
        "privacy": "public",
        "properties": {
            "exp": int((scheduled + timedelta(minutes=90 + 30)).timestamp()),
            "max_participants": 25,
            "enable_recording": "cloud",
        },
    }


def test_instructor_defaults_to_the_token_identity_and_can_be_given(client, daily, token_for):
    headers = {"Authorization": f"Bearer {token_for(OTHER_INSTRUCTOR)}"}
    assert (
        client.post("/sessions", json=session_payload(), headers=headers).get_json()["instructor"]
        == OTHER_INSTRUCTOR
    )
    given = client.post(
        "/sessions", json=session_payload(instructorId=INSTRUCTOR), headers=headers
    ).get_json()
    assert given["instructor"] == INSTRUCTOR


def test_numeric_strings_are_converted_like_joi(client, auth, daily, db):
    body = client.post(
        "/sessions", json=session_payload(duration="45", maxParticipants="1e1"), headers=auth
    ).get_json()
    assert (body["duration"], body["maxParticipants"]) == (45, 10)
    stored = db.livesessions.find_one({"_id": body["_id"]})
    assert stored["duration"] == 45
    assert isinstance(stored["duration"], int)


def test_dates_with_offsets_are_stored_in_utc(client, auth, daily):
    day = future().date()
    body = client.post(
        "/sessions",
        json=session_payload(scheduledAt=f"{day}T15:30:00.123456+05:30"),
        headers=auth,
    ).get_json()
    assert body["scheduledAt"] == f"{day}T10:00:00.123Z"


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("C++ (intro) & Q/A!!", "c-intro-q-a"),
        ("Café à la carte", "cafe-a-la-carte"),
        ("日本語の授業", "session"),
        ("x" * 200, "x" * (128 - 14)),
    ],
)
def test_room_names_follow_dailys_rules(client, auth, daily, title, slug):
    name = client.post("/sessions", json=session_payload(title=title), headers=auth).get_json()[
        "roomName"
    ]
    assert len(name) <= 128
    assert name.rsplit("-", 1)[0] == slug
    assert all(c.isascii() and (c.isalnum() or c in "-_") for c in name)


def test_a_taken_room_name_is_retried_with_a_new_suffix(app, client, auth, daily):
    app.extensions["livesessions"].daily.clock = lambda: 1_700_000_000.0
    first = client.post("/sessions", json=session_payload(), headers=auth).get_json()
    second = client.post("/sessions", json=session_payload(), headers=auth).get_json()
    assert first["roomName"] == "introduction-to-javascript-1700000000000"
    assert second["roomName"] == "introduction-to-javascript-1700000000001"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "invalid-request-error", "info": "bad exp"}),
        (401, {"error": "authentication-error", "info": "bad key"}),
        (500, {"error": "server-error", "info": "oops"}),
        (503, None),
        (429, {"error": "rate-limit-error", "info": "slow down"}),
    ],
)
def test_daily_errors_give_500_and_store_nothing(client, auth, daily, db, status, body):
    daily.fail("create", status, body)
    response = client.post("/sessions", json=session_payload(), headers=auth)
    assert response.status_code == 500
    assert response.get_json() == {"message": "Failed to create Daily.co room"}
    assert db.livesessions.count_documents({}) == 0
    # 5xx are retried once; 429s until the deadline or RATE_LIMIT_ATTEMPTS (the test's
    # backoff is 0); the others are not retried
    retries = {429: RATE_LIMIT_ATTEMPTS, 500: 2, 503: 2}
    assert len(daily.calls("POST")) == retries.get(status, 1)


@pytest.mark.parametrize(
    "error", [requests.ConnectTimeout, requests.ReadTimeout, requests.ConnectionError]
)
def test_daily_unreachable_gives_500_after_one_retry(client, auth, daily, db, error):
    daily.fail("create", exception=error("boom"))
    response = client.post("/sessions", json=session_payload(), headers=auth)
    assert response.status_code == 500
    assert response.get_json() == {"message": "Failed to create Daily.co room"}
    assert db.livesessions.count_documents({}) == 0
    assert len(daily.calls("POST")) == 2


def test_a_transient_daily_failure_is_retried_once_and_succeeds(client, auth, daily, db):
    daily.fail("create", 503, {"error": "server-error"}, times=1)
    response = client.post("/sessions", json=session_payload(), headers=auth)
    assert response.status_code == 201
    assert db.livesessions.count_documents({}) == 1
    assert len(daily.calls("POST")) == 2


def test_the_room_is_deleted_when_the_database_write_fails(
    client, auth, daily, db, app, monkeypatch
):
    from pymongo.errors import ServerSelectionTimeoutError

    store = app.extensions["livesessions"].session_store

    def broken_insert(doc):
        raise ServerSelectionTimeoutError("no server")

    monkeypatch.setattr(store, "insert", broken_insert)
    response = client.post("/sessions", json=session_payload(), headers=auth)
    assert response.status_code == 500
    assert response.get_json() == {"message": "Database query failed"}
    (created,) = daily.calls("POST")
    name = json.loads(created.request.body)["name"]
    (deleted,) = daily.calls("DELETE")
    assert deleted.request.url == f"{ROOMS_URL}/{name}"
    assert daily.rooms == {}
    assert db.livesessions.count_documents({}) == 0


def test_create_requires_a_token(client, daily, db):
    response = client.post("/sessions", json=session_payload())
    assert response.status_code == 401
    assert response.get_json() == {
        "message": "Authorization header with a Bearer token is required"
    }
    assert daily.calls() == []
    assert db.livesessions.count_documents({}) == 0


def test_validation_happens_before_daily_is_called(client, auth, daily, db):
    response = client.post("/sessions", json=session_payload(duration=5), headers=auth)
    assert response.get_json() == {"message": '"duration" must be greater than or equal to 15'}
    assert daily.calls() == []
    assert db.livesessions.count_documents({}) == 0


def test_an_insert_whose_answer_was_lost_still_succeeds(client, auth, daily, db, app, monkeypatch):
    from pymongo.errors import AutoReconnect

    store = app.extensions["livesessions"].session_store
    real_insert = store.insert

    def stored_but_unacknowledged(doc):
        real_insert(doc)
        raise AutoReconnect("connection reset after the write")

    monkeypatch.setattr(store, "insert", stored_but_unacknowledged)
    response = client.post("/sessions", json=session_payload(), headers=auth)
    assert response.status_code == 201
    body = response.get_json()
    assert db.livesessions.find_one({"_id": body["_id"]})["roomName"] == body["roomName"]
    assert list(daily.rooms) == [body["roomName"]]  # the room was kept
    assert daily.calls("DELETE") == []


def test_the_room_is_kept_when_the_outcome_is_unknown(client, auth, daily, db, app, monkeypatch):
    from pymongo.errors import NetworkTimeout, ServerSelectionTimeoutError

    store = app.extensions["livesessions"].session_store

    def timed_out(*args):
        raise NetworkTimeout("no answer to the insert")

    def down(*args):
        raise ServerSelectionTimeoutError("no server")

    monkeypatch.setattr(store, "insert", timed_out)
    monkeypatch.setattr(store, "find_any", down)
    response = client.post("/sessions", json=session_payload(), headers=auth)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Database query failed"},
    )
    assert len(daily.rooms) == 1  # an idle room that expires, rather than a session without one
    assert daily.calls("DELETE") == []


def test_an_unacknowledged_insert_that_did_not_land_deletes_the_room(
    client, auth, daily, db, app, monkeypatch
):
    from pymongo.errors import NetworkTimeout

    def timed_out(*args):
        raise NetworkTimeout("no answer to the insert")

    monkeypatch.setattr(app.extensions["livesessions"].session_store, "insert", timed_out)
    response = client.post("/sessions", json=session_payload(), headers=auth)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Database query failed"},
    )
    assert daily.rooms == {}  # read back, not there: the room went too
    assert len(daily.calls("DELETE")) == 1
