"""POST /sessions/:id/join: Daily meeting tokens for the instructor, admins and participants."""

import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from livesessions.config import ConfigError, load_config
from livesessions.config_report import startup_warnings
from livesessions.daily.names import daily_user_id
from tests.support.app_config import DAILY_KEY
from tests.support.factories import INSTRUCTOR, OTHER_INSTRUCTOR, iso, seed_session
from tests.support.fake_daily import DOMAIN_ID

STUDENT = "student-1"


def soon(minutes=5):
    """A start time inside the join window (which opens 15 minutes before)."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def session(db):
    return seed_session(db, scheduledAt=soon(), duration=60, participants=[STUDENT])


def claims(response):
    """The claims of the meeting token answered, checked as Daily checks a self-signed
    token: HS256 with the domain's API key."""
    return jwt.decode(response.get_json()["token"], DAILY_KEY, algorithms=["HS256"])


def test_the_instructor_gets_an_owner_token_signed_with_the_api_key(client, auth, daily, session):
    before = int(time.time())
    response = client.post(f"/sessions/{session['_id']}/join", headers=auth)
    assert response.status_code == 200
    closes = session["scheduledAt"] + timedelta(minutes=60)
    token = response.get_json()["token"]
    assert response.get_json() == {
        "roomUrl": session["roomUrl"],
        "token": token,
        "joinUrl": f"{session['roomUrl']}?t={token}",
        "expiresAt": iso(closes),
    }
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    issued = claims(response)
    assert before <= issued.pop("iat") <= time.time()
    assert issued == {
        "r": session["roomName"],
        "d": DOMAIN_ID,
        "nbf": int((session["scheduledAt"] - timedelta(minutes=15)).timestamp()),
        "exp": int(closes.timestamp()),
        "o": True,
        "ud": INSTRUCTOR,
        "u": INSTRUCTOR,  # the token has no name claim
        "ejt": False,
    }
    assert (daily.tokens, daily.domain_calls) == ([], 1)  # Daily made no token


def test_a_participant_gets_a_participant_token_with_their_name(client, daily, token_for, session):
    token = token_for(user_id=STUDENT, role="student", name="Ann Lee")
    response = client.post(f"/sessions/{session['_id']}/join", headers=bearer(token))
    assert response.status_code == 200
    issued = claims(response)
    assert (issued["o"], issued["ud"], issued["u"], issued["r"]) == (
        False,
        STUDENT,
        "Ann Lee",
        session["roomName"],
    )


def test_an_admin_gets_an_owner_token(client, daily, token_for, session):
    token = token_for(user_id="admin-7", role="admin")
    response = client.post(f"/sessions/{session['_id']}/join", headers=bearer(token))
    assert response.status_code == 200
    assert (claims(response)["o"], claims(response)["ud"]) == (True, "admin-7")


def test_the_domain_id_is_asked_of_daily_once(client, auth, daily, session, token_for):
    student = bearer(token_for(user_id=STUDENT, role="student"))
    for headers in (auth, student, auth):
        response = client.post(f"/sessions/{session['_id']}/join", headers=headers)
        assert claims(response)["d"] == DOMAIN_ID
    assert daily.domain_calls == 1


def test_a_configured_domain_id_needs_no_call(make_app, daily, token_for):
    app = make_app(DAILY_DOMAIN_ID="configured-domain")
    doc = seed_session(app.extensions["livesessions"].database.db, scheduledAt=soon())
    with app.app_context():
        from flask_jwt_extended import create_access_token

        token = create_access_token(identity=INSTRUCTOR)
    response = app.test_client().post(f"/sessions/{doc['_id']}/join", headers=bearer(token))
    assert claims(response)["d"] == "configured-domain"
    assert daily.domain_calls == 0


def test_a_failing_domain_endpoint_is_the_documented_500_then_asked_again(
    client, auth, daily, session
):
    daily.fail("domain", status=500, body={"error": "server-error", "info": "boom"}, times=2)
    response = client.post(f"/sessions/{session['_id']}/join", headers=auth)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to create Daily.co meeting token"},
    )
    response = client.post(f"/sessions/{session['_id']}/join", headers=auth)
    assert (response.status_code, claims(response)["d"]) == (200, DOMAIN_ID)
    assert daily.domain_calls == 1  # the failures were answered by `fail`, not counted


def test_with_self_signed_tokens_off_daily_makes_the_token(make_app, daily):
    app = make_app(DAILY_SELF_SIGNED_TOKENS="false")
    doc = seed_session(app.extensions["livesessions"].database.db, scheduledAt=soon())
    with app.app_context():
        from flask_jwt_extended import create_access_token

        token = create_access_token(identity=INSTRUCTOR)
    response = app.test_client().post(f"/sessions/{doc['_id']}/join", headers=bearer(token))
    assert response.status_code == 200
    closes = doc["scheduledAt"] + timedelta(minutes=60)
    assert response.get_json()["joinUrl"] == f"{doc['roomUrl']}?t=token-1"
    assert daily.tokens == [
        {
            "room_name": doc["roomName"],
            "nbf": int((doc["scheduledAt"] - timedelta(minutes=15)).timestamp()),
            "exp": int(closes.timestamp()),
            "is_owner": True,
            "user_id": INSTRUCTOR,
            "user_name": INSTRUCTOR,
        }
    ]
    assert daily.domain_calls == 0
    daily.fail("token", status=500, body={"error": "server-error", "info": "boom"})
    response = app.test_client().post(f"/sessions/{doc['_id']}/join", headers=bearer(token))
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to create Daily.co meeting token"},
    )


def test_anyone_else_is_refused_without_asking_daily(client, daily, token_for, session):
    for user, role in ((OTHER_INSTRUCTOR, "instructor"), ("student-2", "student")):
        response = client.post(
            f"/sessions/{session['_id']}/join", headers=bearer(token_for(user_id=user, role=role))
        )
        assert (response.status_code, response.get_json()) == (
            403,
            {"message": "You are not a participant of this live session"},
        )
    assert (daily.tokens, daily.domain_calls) == ([], 0)


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
    ends = live["scheduledAt"] + timedelta(minutes=60)
    assert response.get_json()["expiresAt"] == iso(ends)
    assert claims(response)["exp"] == int(ends.timestamp())
    over = seed_session(db, scheduledAt=soon(minutes=-61), duration=60, status="live")
    response = client.post(f"/sessions/{over['_id']}/join", headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": "This live session is over"},
    )


def test_the_window_is_configurable(make_app, daily, db):
    app = make_app(JOIN_OPENS_MINUTES_BEFORE="60")
    database = app.extensions["livesessions"].database.db
    doc = seed_session(database, scheduledAt=soon(minutes=45))
    with app.app_context():
        from flask_jwt_extended import create_access_token

        token = create_access_token(identity=INSTRUCTOR)
    response = app.test_client().post(f"/sessions/{doc['_id']}/join", headers=bearer(token))
    assert response.status_code == 200
    assert claims(response)["nbf"] == int((doc["scheduledAt"] - timedelta(minutes=60)).timestamp())


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
    assert daily.domain_calls == 0


def test_long_user_ids_reach_daily_as_a_stable_36_character_digest(client, daily, db, token_for):
    student = "s" * 100
    doc = seed_session(db, scheduledAt=soon(), participants=[student])
    token = bearer(token_for(user_id=student, role="student"))
    first, second = (
        claims(client.post(f"/sessions/{doc['_id']}/join", headers=token))["ud"] for _ in range(2)
    )
    assert first == second == daily_user_id(student)
    assert len(first) == 36
    assert first != student[:36]
    assert daily_user_id("short-id") == "short-id"


def room_created_with(make_app, daily, **settings):
    """The body Daily receives for a room an instructor creates under `settings`."""
    app = make_app(**settings)
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
    assert response.status_code == 201, response.get_json()
    (create,) = daily.calls("POST")
    return json.loads(create.request.body)


def test_rooms_are_private_when_configured(make_app, daily):
    assert room_created_with(make_app, daily, DAILY_ROOM_PRIVACY="private")["privacy"] == "private"


def test_rooms_stay_public_by_default(client, auth, daily, create_session):
    create_session()
    (create,) = daily.calls("POST")
    assert json.loads(create.request.body)["privacy"] == "public"


def test_an_unknown_privacy_is_refused_at_start_up():
    with pytest.raises(ConfigError, match="DAILY_ROOM_PRIVACY must be public or private"):
        load_config({"DAILY_ROOM_PRIVACY": "secret"})


@pytest.mark.parametrize(
    ("settings", "knocking"),
    [
        ({"DAILY_ROOM_PRIVACY": "private", "DAILY_KNOCKING": True}, True),
        ({"DAILY_ROOM_PRIVACY": "private"}, False),
        ({"DAILY_ROOM_PRIVACY": "public", "DAILY_KNOCKING": True}, False),
    ],
    ids=["private-knocking", "private", "public-knocking"],
)
def test_knocking_is_enabled_on_new_private_rooms_only(make_app, daily, settings, knocking):
    sent = room_created_with(make_app, daily, **settings)
    assert sent["privacy"] == settings["DAILY_ROOM_PRIVACY"]
    assert sent["properties"].get("enable_knocking") is (True if knocking else None)
    assert sent["properties"]["enable_recording"] == "cloud"


def test_knocking_on_public_rooms_is_warned_about():
    config = load_config({"DAILY_KNOCKING": "true"})
    assert config["DAILY_KNOCKING"] is True
    assert "DAILY_KNOCKING has no effect: Daily's knocking is for private rooms" in (
        startup_warnings(config)
    )
    private = load_config({"DAILY_KNOCKING": "true", "DAILY_ROOM_PRIVACY": "private"})
    assert not any("DAILY_KNOCKING" in warning for warning in startup_warnings(private))
