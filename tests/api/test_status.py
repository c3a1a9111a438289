"""PATCH /sessions/:id/status and its allowed transitions."""

import pytest

from tests.support.factories import seed_session

ALLOWED = [
    ("scheduled", "live"),
    ("scheduled", "cancelled"),
    ("live", "ended"),
    ("live", "cancelled"),
]
SAME = [(s, s) for s in ("scheduled", "live", "ended", "cancelled")]
REFUSED = [
    ("scheduled", "ended"),
    ("live", "scheduled"),
    ("ended", "live"),
    ("ended", "scheduled"),
    ("ended", "cancelled"),
    ("cancelled", "scheduled"),
    ("cancelled", "live"),
    ("cancelled", "ended"),
]


def test_status_returns_the_session(client, db):
    doc = seed_session(db, participants=["student-1", "student-2"])
    response = client.patch(f"/sessions/{doc['_id']}/status", json={"status": "live"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["_id"] == doc["_id"]
    assert body["status"] == "live"
    assert body["participants"] == ["student-1", "student-2"]
    assert body["roomUrl"] == doc["roomUrl"]
    assert body["duration"] == 60
    assert body["updatedAt"] > body["createdAt"]
    assert db.livesessions.find_one({"_id": doc["_id"]})["status"] == "live"


@pytest.mark.parametrize(("current", "new"), ALLOWED)
def test_allowed_transitions(client, db, current, new):
    doc = seed_session(db, status=current)
    response = client.patch(f"/sessions/{doc['_id']}/status", json={"status": new})
    assert (response.status_code, response.get_json()["status"]) == (200, new)
    assert db.livesessions.find_one({"_id": doc["_id"]})["status"] == new


@pytest.mark.parametrize(("current", "new"), SAME)
def test_same_status_is_a_no_op(client, db, current, new):
    doc = seed_session(db, status=current)
    response = client.patch(f"/sessions/{doc['_id']}/status", json={"status": new})
    assert (response.status_code, response.get_json()["status"]) == (200, new)
    assert db.livesessions.find_one({"_id": doc["_id"]}) == doc  # not even updatedAt moves


@pytest.mark.parametrize(("current", "new"), REFUSED)
def test_refused_transitions_name_both_states(client, db, current, new):
    doc = seed_session(db, status=current)
    response = client.patch(f"/sessions/{doc['_id']}/status", json={"status": new})
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": f"Cannot change status from {current} to {new}"},
    )
    assert db.livesessions.find_one({"_id": doc["_id"]})["status"] == current


def test_status_of_an_unknown_session_is_404(client):
    response = client.patch("/sessions/nope/status", json={"status": "live"})
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session not found"},
    )


def test_the_transition_check_is_in_the_write_itself(client, db, app, monkeypatch):
    doc = seed_session(db, status="live")
    sessions = app.extensions["livesessions"].session_store.sessions
    real = sessions.find_one_and_update

    def ended_meanwhile(filter_, update, **kwargs):
        sessions.update_one({"_id": doc["_id"]}, {"$set": {"status": "cancelled"}})
        return real(filter_, update, **kwargs)

    monkeypatch.setattr(sessions, "find_one_and_update", ended_meanwhile)
    response = client.patch(f"/sessions/{doc['_id']}/status", json={"status": "ended"})
    assert response.get_json() == {"message": "Cannot change status from cancelled to ended"}
    assert db.livesessions.find_one({"_id": doc["_id"]})["status"] == "cancelled"


def test_an_anonymous_status_change_is_one_conditional_update(client, db, queries):
    """compat, no token: nothing to check first, so no read before the write."""
    doc = seed_session(db)
    queries.clear()
    response = client.patch(f"/sessions/{doc['_id']}/status", json={"status": "live"})
    assert response.get_json()["status"] == "live"
    assert queries == [("livesessions", "find_one_and_update")]
