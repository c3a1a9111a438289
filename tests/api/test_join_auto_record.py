"""DAILY_AUTO_RECORD=owner: an owner's meeting token (the instructor's, an admin's) carries
Daily's start-cloud-recording claim, so the recording starts as its holder joins, with no
REST call; a student's token never does, nor any token under the default (`off`)."""

import pytest
from flask_jwt_extended import create_access_token

from livesessions.config import ConfigError, load_config
from tests.api.test_join import STUDENT, bearer, claims, soon
from tests.support.factories import INSTRUCTOR, seed_session


def joined(app, user_id=INSTRUCTOR, role="instructor"):
    """The answer to one join of a seeded session (STUDENT admitted) by `user_id`."""
    doc = seed_session(
        app.extensions["livesessions"].database.db, scheduledAt=soon(), participants=[STUDENT]
    )
    with app.app_context():
        token = create_access_token(identity=user_id, additional_claims={"role": role})
    return app.test_client().post(f"/sessions/{doc['_id']}/join", headers=bearer(token))


@pytest.fixture
def auto_record(make_app):
    return make_app(DAILY_AUTO_RECORD="owner")


@pytest.mark.parametrize(("user_id", "role"), [(INSTRUCTOR, "instructor"), ("admin-7", "admin")])
def test_owner_tokens_carry_the_start_recording_claim(auto_record, daily, user_id, role):
    response = joined(auto_record, user_id, role)

    assert response.status_code == 200
    assert list(response.get_json()) == ["roomUrl", "token", "joinUrl", "expiresAt"]
    issued = claims(response)
    assert (issued["o"], issued["sr"], issued["ud"]) == (True, True, user_id)
    assert daily.calls("POST") == []  # no token made by Daily, no recording started


def test_a_students_token_never_carries_it(auto_record, daily):
    issued = claims(joined(auto_record, STUDENT, "student"))

    assert issued["o"] is False
    assert "sr" not in issued


def test_by_default_no_token_carries_it(make_app, daily):
    app = make_app()

    for user_id, role in ((INSTRUCTOR, "instructor"), ("admin-7", "admin"), (STUDENT, "student")):
        assert "sr" not in claims(joined(app, user_id, role))


def test_tokens_made_by_daily_ask_for_it_too(make_app, daily):
    app = make_app(DAILY_AUTO_RECORD="owner", DAILY_SELF_SIGNED_TOKENS="false")

    assert joined(app).status_code == 200
    assert joined(app, STUDENT, "student").status_code == 200

    owner, student = daily.tokens
    assert (owner["is_owner"], owner["start_cloud_recording"]) == (True, True)
    assert student["is_owner"] is False
    assert "start_cloud_recording" not in student


def test_an_unknown_auto_record_value_is_refused_at_start_up():
    with pytest.raises(ConfigError, match="DAILY_AUTO_RECORD must be off or owner"):
        load_config({"DAILY_AUTO_RECORD": "everyone"})
    assert load_config({})["DAILY_AUTO_RECORD"] == "off"


def test_the_session_json_and_its_validation_are_the_specs(auto_record, daily, auth):
    client = auto_record.test_client()
    body = {
        "title": "Recorded class",
        "courseId": "8c1e3a5b-2f4d-4e6a-9b7c-0d1e2f3a4b5c",
        "scheduledAt": soon().isoformat(),
        "duration": 60,
    }

    refused = client.post("/sessions", json=body | {"autoRecord": True}, headers=auth)
    created = client.post("/sessions", json=body, headers=auth)

    assert (refused.status_code, refused.get_json()) == (
        400,
        {"message": '"autoRecord" is not allowed'},
    )
    assert created.status_code == 201
    assert "autoRecord" not in created.get_json()
