"""POST /sessions/:id/join: Daily meeting tokens for the instructor, admins and participants."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from livesessions.config import ConfigError, load_config
from livesessions.gateways.daily_names import daily_user_id
from tests.support.factories import INSTRUCTOR, OTHER_INSTRUCTOR, iso, seed_session

STUDENT = "student-1"


def soon(minutes=5):
    """A start time inside the join window (which opens 15 minutes before)."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def session(db):
    return seed_session(db, scheduledAt=soon(), duration=60, participants=[STUDENT])


def test_the_instructor_gets_an_owner_token(client, auth, daily, session):
    response = client.post(f"/sessions/{session['_id']}/join", headers=auth)
    assert response.status_code == 200
    closes = session["scheduledAt"] + timedelta(minutes=60)
    assert response.get_json() == {
        "roomUrl": session["roomUrl"],
        "token": "token-1",
        "joinUrl": f"{session['roomUrl']}?t=token-1",
        "expiresAt": iso(closes),
    }
    assert daily.tokens == [
        {
            "room_name": session["roomName"],
            "nbf": int((session["scheduledAt"] - timedelta(minutes=15)).timestamp()),
            "exp": int(closes.timestamp()),
            "is_owner": True,
            "user_id": INSTRUCTOR,
            "user_name": INSTRUCTOR,  # the token has no name claim
        }
    ]


def test_a_participant_gets_a_participant_token_with_their_name(client, daily, token_for, session):
    token = token_for(user_id=STUDENT, role="student", name="Ann Lee")
    response = client.post(f"/sessions/{session['_id']}/join", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["token"] == "token-1"
    (properties,) = daily.tokens
    assert (properties["is_owner"], properties["user_id"], properties["user_name"]) == (
        False,
        STUDENT,
        "Ann Lee",
    )
    assert properties["room_name"] == session["roomName"]


def test_an_admin_gets_an_owner_token(client, daily, token_for, session):
    token = token_for(user_id="admin-7", role="admin")
    response = client.post(f"/sessions/{session['_id']}/join", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["joinUrl"] == f"{session['roomUrl']}?t=token-1"
    assert (daily.tokens[0]["is_owner"], daily.tokens[0]["user_id"]) == (True, "admin-7")


def test_anyone_else_is_refused_without_asking_daily(client, daily, token_for, session):
    for user, role in ((OTHER_INSTRUCTOR, "instructor"), ("student-2", "student")):
        response = client.post(
            f"/sessions/{session['_id']}/join", headers=bearer(token_for(user_id=user, role=role))
        )
        assert (response.status_code, response.get_json()) == (
            403,
            {"message": "You are not a participant of this live session"},
        )
    assert daily.tokens == []


@pytest.mark.parametrize("status", ["ended", "cancelled"])
def test_a_closed_session_cannot_be_joined(client, auth, daily, db, status):
    doc = seed_session(db, scheduledAt=soon(), status=status)
    response = client.post(f"/sessions/{doc['_id']}/join", headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": f"Cannot join a session that is {status}"},
    )
    assert daily.tokens == []


def test_the_window_opens_before_the_start_and_closes_at_the_end(client, auth, daily, db):
    early = seed_session(db, scheduledAt=soon(minutes=16))
    response = client.post(f"/sessions/{early['_id']}/join", headers=auth)
    opens = early["scheduledAt"] - timedelta(minutes=15)
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": f"This live session can be joined from {iso(opens)}"},
    )
    live = seed_session(db, scheduledAt=soon(minutes=-59), duration=60, status="live")
    response = client.post(f"/sessions/{live['_id']}/join", headers=auth)
    assert response.status_code == 200  # a minute left: the token expires with the class
    assert response.get_json()["expiresAt"] == iso(live["scheduledAt"] + timedelta(minutes=60))
    over = seed_session(db, scheduledAt=soon(minutes=-61), duration=60, status="live")
    response = client.post(f"/sessions/{over['_id']}/join", headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": "This live session is over"},
    )
    assert len(daily.tokens) == 1


def test_the_window_is_configurable(make_app, daily, db):
    app = make_app(JOIN_OPENS_MINUTES_BEFORE="60")
    database = app.extensions["livesessions"].database.db
    doc = seed_session(database, scheduledAt=soon(minutes=45))
    with app.app_context():
        from flask_jwt_extended import create_access_token

        token = create_access_token(identity=INSTRUCTOR)
    response = app.test_client().post(f"/sessions/{doc['_id']}/join", headers=bearer(token))
    assert response.status_code == 200
    assert daily.tokens[0]["nbf"] == int((doc["scheduledAt"] - timedelta(minutes=60)).timestamp())


def test_daily_failing_is_the_documented_500(client, auth, daily, session):
    daily.fail("token", status=500, body={"error": "server-error", "info": "boom"})
    response = client.post(f"/sessions/{session['_id']}/join", headers=auth)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to create Daily.co meeting token"},
    )


def test_unknown_session_and_missing_token(client, auth, daily, session):
    response = client.post("/sessions/7d0b3f9e-0000-4000-8000-000000000000/join", headers=auth)
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session not found"},
    )
    response = client.post(f"/sessions/{session['_id']}/join")
    assert response.status_code == 401
    assert response.get_json() == {
        "message": "Authorization header with a Bearer token is required"
    }
    assert daily.tokens == []


def test_long_user_ids_reach_daily_as_a_stable_36_character_digest(client, daily, db, token_for):
    student = "s" * 100
    doc = seed_session(db, scheduledAt=soon(), participants=[student])
    token = bearer(token_for(user_id=student, role="student"))
    for _ in range(2):
        assert client.post(f"/sessions/{doc['_id']}/join", headers=token).status_code == 200
    first, second = (properties["user_id"] for properties in daily.tokens)
    assert first == second == daily_user_id(student)
    assert len(first) == 36
    assert first != student[:36]
    assert daily_user_id("short-id") == "short-id"


def test_rooms_are_private_when_configured(make_app, daily):
    app = make_app(DAILY_ROOM_PRIVACY="private")
    with app.app_context():
        from flask_jwt_extended import create_access_token

        token = create_access_token(identity=INSTRUCTOR)
    body = {
        "title": "Private class",
        "courseId": "8f14e45f-ceea-4e7b-9e3c-1a2b3c4d5e6f",
        "scheduledAt": iso(soon(minutes=120)),
        "duration": 30,
    }
    response = app.test_client().post("/sessions", json=body, headers=bearer(token))
    assert response.status_code == 201
    (create,) = daily.calls("POST")
    assert json.loads(create.request.body)["privacy"] == "private"


def test_rooms_stay_public_by_default(client, auth, daily, create_session):
    create_session()
    (create,) = daily.calls("POST")
    assert json.loads(create.request.body)["privacy"] == "public"


def test_an_unknown_privacy_is_refused_at_start_up():
    with pytest.raises(ConfigError, match="DAILY_ROOM_PRIVACY must be public or private"):
        load_config({"DAILY_ROOM_PRIVACY": "secret"})
