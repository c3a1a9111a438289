"""Undoing a status: the session's instructor or an admin reopens an ended class while its
room is open, or a cancelled one that has not started; nobody else, in any policy."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.factories import ADMIN, OTHER_INSTRUCTOR, in_class, seed_session


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def patch(client, doc, status, headers=None):
    response = client.patch(
        f"/sessions/{doc['_id']}/status", json={"status": status}, headers=headers
    )
    return response.status_code, response.get_json()


@pytest.fixture
def ended_too_soon(db):
    return seed_session(db, status="ended", scheduledAt=in_class())


def test_the_owner_reopens_a_class_ended_too_soon(client, auth, db, ended_too_soon):
    status, body = patch(client, ended_too_soon, "live", auth)
    assert (status, body["status"]) == (200, "live")
    assert db.livesessions.find_one({"_id": ended_too_soon["_id"]})["status"] == "live"


def test_an_admin_may_and_another_instructor_may_not(client, token_for, db, ended_too_soon):
    other = bearer(token_for(OTHER_INSTRUCTOR))
    # compat: a token that isn't the owner's changes nothing: the spec's refusal
    assert patch(client, ended_too_soon, "live", other) == (
        400,
        {"message": "Cannot change status from ended to live"},
    )
    assert db.livesessions.find_one({"_id": ended_too_soon["_id"]})["status"] == "ended"
    admin = bearer(token_for(ADMIN, role="admin"))
    assert patch(client, ended_too_soon, "live", admin)[1]["status"] == "live"


def test_strict_refuses_another_instructor_outright(make_app, token_for):
    app = make_app(AUTH_POLICY="strict")
    doc = seed_session(app.extensions["livesessions"].database.db, status="ended")
    other = bearer(token_for(OTHER_INSTRUCTOR))
    assert patch(app.test_client(), doc, "live", other) == (
        403,
        {"message": "You are not allowed to modify this live session"},
    )


@pytest.mark.parametrize("policy", ["compat", "audit"])
def test_without_a_token_it_stays_the_specs_refusal(make_app, policy):
    app = make_app(AUTH_POLICY=policy)
    doc = seed_session(app.extensions["livesessions"].database.db, status="ended")
    assert patch(app.test_client(), doc, "live") == (
        400,
        {"message": "Cannot change status from ended to live"},
    )


def test_a_class_whose_room_closed_stays_ended(client, auth, db):
    over = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=60 + 31)
    doc = seed_session(db, status="ended", scheduledAt=over, duration=60)
    assert patch(client, doc, "live", auth) == (400, {"message": "This live session is over"})


def test_a_cancelled_class_is_scheduled_again_before_it_starts(client, auth, db, daily):
    doc = seed_session(db, status="cancelled")
    status, body = patch(client, doc, "scheduled", auth)
    assert (status, body["status"], body["roomName"]) == (200, "scheduled", doc["roomName"])
    assert len(daily.mock.calls) == 0  # the room was kept: nothing to ask Daily


def test_a_cancelled_class_that_has_started_stays_cancelled(client, auth, db):
    doc = seed_session(db, status="cancelled", scheduledAt=in_class())
    assert patch(client, doc, "scheduled", auth) == (
        400,
        {"message": "Only a session that has not started yet can be scheduled again"},
    )
    assert db.livesessions.find_one({"_id": doc["_id"]})["status"] == "cancelled"


def test_a_deleted_session_cannot_be_reopened(client, auth, db):
    doc = seed_session(db, status="cancelled", deletedAt=datetime.now(UTC))
    assert patch(client, doc, "scheduled", auth) == (404, {"message": "Live session not found"})
