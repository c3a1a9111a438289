"""PUT /sessions/:id and DELETE /sessions/:id: ownership, Daily room, nothing half-written."""

import json
from datetime import timedelta

import pytest
import requests

from tests.support.factories import ADMIN, OTHER_INSTRUCTOR, future, iso, seed_session
from tests.support.fake_daily import ROOMS_URL

NOT_OWNER = {"message": "You are not allowed to modify this live session"}


def room_exp(scheduled, duration):
    return int((scheduled + timedelta(minutes=duration + 30)).timestamp())


def test_update_returns_the_documented_body(client, auth, daily, create_session, db):
    created = create_session()
    new_time = future(days=8)
    response = client.put(
        f"/sessions/{created['_id']}",
        json={
            "title": "Updated Title",
            "description": "Updated description",
            "scheduledAt": iso(new_time),
            "duration": 90,
            "maxParticipants": 150,
        },
        headers=auth,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == list(created)
    assert body == created | {
        "title": "Updated Title",
        "description": "Updated description",
        "scheduledAt": iso(new_time),
        "duration": 90,
        "maxParticipants": 150,
        "updatedAt": body["updatedAt"],
    }
    assert body["updatedAt"] >= created["updatedAt"]
    stored = db.livesessions.find_one({"_id": created["_id"]})
    assert (stored["title"], stored["duration"], stored["scheduledAt"]) == (
        "Updated Title",
        90,
        new_time,
    )
    (update_call,) = daily.calls("POST")[1:]
    assert update_call.request.url == f"{ROOMS_URL}/{created['roomName']}"
    assert json.loads(update_call.request.body) == {"properties": {"exp": room_exp(new_time, 90)}}
    assert daily.rooms[created["roomName"]]["config"]["exp"] == room_exp(new_time, 90)


def test_changes_that_keep_the_schedule_do_not_call_daily(client, auth, daily, create_session):
    created = create_session()
    response = client.put(f"/sessions/{created['_id']}", json={"title": "Renamed"}, headers=auth)
    assert response.get_json()["title"] == "Renamed"
    assert response.get_json()["roomName"] == created["roomName"]  # the room keeps its name
    assert len(daily.calls()) == 1  # only the creation


def test_update_of_an_unknown_session_is_404(client, auth, daily):
    response = client.put("/sessions/missing", json={"title": "Whatever"}, headers=auth)
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session not found"},
    )


def test_only_the_instructor_or_an_admin_may_update(client, db, daily, token_for):
    doc = seed_session(db)
    other = {"Authorization": f"Bearer {token_for(OTHER_INSTRUCTOR)}"}
    response = client.put(f"/sessions/{doc['_id']}", json={"title": "Hijacked"}, headers=other)
    assert (response.status_code, response.get_json()) == (403, NOT_OWNER)
    assert db.livesessions.find_one({"_id": doc["_id"]})["title"] == "Seeded session"
    admin = {"Authorization": f"Bearer {token_for(ADMIN, role='admin')}"}
    response = client.put(f"/sessions/{doc['_id']}", json={"title": "Fixed"}, headers=admin)
    assert (response.status_code, response.get_json()["title"]) == (200, "Fixed")


@pytest.mark.parametrize("status", ["ended", "cancelled"])
def test_closed_sessions_cannot_be_updated(client, auth, db, daily, status):
    doc = seed_session(db, status=status)
    response = client.put(f"/sessions/{doc['_id']}", json={"duration": 30}, headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": f"Cannot update a session that is {status}"},
    )
    assert db.livesessions.find_one({"_id": doc["_id"]})["duration"] == 60
    assert daily.calls() == []


def test_capacity_cannot_drop_below_the_participants(client, auth, db, daily):
    doc = seed_session(db, participants=["a", "b", "c"])
    response = client.put(f"/sessions/{doc['_id']}", json={"maxParticipants": 2}, headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {
            "message": '"maxParticipants" must be greater than or equal to the current number '
            "of participants (3)"
        },
    )
    assert db.livesessions.find_one({"_id": doc["_id"]})["maxParticipants"] == 100
    ok = client.put(f"/sessions/{doc['_id']}", json={"maxParticipants": 3}, headers=auth)
    assert ok.get_json()["maxParticipants"] == 3


def test_capacity_check_is_part_of_the_write(client, auth, db, daily, app, monkeypatch):
    """A student admitted between the check and the write still makes the update fail."""
    doc = seed_session(db, participants=["a"])
    store = app.extensions["livesessions"].session_store
    real_update = store.update

    def update_after_a_join(session_id, changes):
        store.add_participant(session_id, "b")  # a competing request lands first
        return real_update(session_id, changes)

    monkeypatch.setattr(store, "update", update_after_a_join)
    response = client.put(f"/sessions/{doc['_id']}", json={"maxParticipants": 1}, headers=auth)
    assert response.status_code == 400
    assert "current number of participants (2)" in response.get_json()["message"]
    stored = db.livesessions.find_one({"_id": doc["_id"]})
    assert (stored["maxParticipants"], stored["participants"]) == (100, ["a", "b"])


def test_a_daily_failure_on_reschedule_leaves_the_session_unchanged(
    client, auth, daily, create_session, db
):
    created = create_session()
    daily.fail("update", 500, {"error": "server-error"})
    response = client.put(
        f"/sessions/{created['_id']}", json={"duration": 120, "title": "New"}, headers=auth
    )
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to update Daily.co room"},
    )
    stored = db.livesessions.find_one({"_id": created["_id"]})
    assert (stored["duration"], stored["title"]) == (60, "Introduction to JavaScript")


def test_a_database_failure_on_reschedule_restores_the_room_expiry(
    client, auth, daily, create_session, app, monkeypatch
):
    from pymongo.errors import AutoReconnect

    created = create_session()
    original_exp = daily.rooms[created["roomName"]]["config"]["exp"]
    store = app.extensions["livesessions"].session_store

    def broken(*args):
        raise AutoReconnect("connection lost")

    monkeypatch.setattr(store, "update", broken)
    response = client.put(f"/sessions/{created['_id']}", json={"duration": 200}, headers=auth)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Database query failed"},
    )
    updates = daily.calls("POST")[1:]
    assert [json.loads(c.request.body)["properties"]["exp"] for c in updates] == [
        original_exp + 140 * 60,
        original_exp,
    ]
    assert daily.rooms[created["roomName"]]["config"]["exp"] == original_exp


def test_delete_returns_the_documented_body_and_deletes_the_room(
    client, auth, daily, create_session, db
):
    created = create_session()
    response = client.delete(f"/sessions/{created['_id']}", headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["message", "session"]
    assert body["message"] == "Live session deleted successfully"
    session = body["session"]
    assert list(session) == [*created, "deletedAt"]
    assert session == created | {
        "status": "cancelled",
        "updatedAt": session["deletedAt"],
        "deletedAt": session["deletedAt"],
    }
    stored = db.livesessions.find_one({"_id": created["_id"]})
    assert stored["status"] == "cancelled"
    assert iso(stored["deletedAt"]) == session["deletedAt"]
    (call,) = daily.calls("DELETE")
    assert call.request.url == f"{ROOMS_URL}/{created['roomName']}"
    assert daily.rooms == {}
    again = client.delete(f"/sessions/{created['_id']}", headers=auth)
    assert (again.status_code, again.get_json()) == (404, {"message": "Live session not found"})


def test_a_room_already_gone_on_daily_counts_as_deleted(client, auth, daily, db):
    doc = seed_session(db)  # its room is unknown to the fake Daily: 404
    response = client.delete(f"/sessions/{doc['_id']}", headers=auth)
    assert response.status_code == 200
    assert response.get_json()["session"]["status"] == "cancelled"


@pytest.mark.parametrize("failure", [500, 403, requests.ConnectTimeout("slow")])
def test_a_daily_failure_on_delete_keeps_the_session(
    client, auth, daily, create_session, db, failure
):
    created = create_session()
    if isinstance(failure, int):
        daily.fail("delete", failure, {"error": "server-error"})
    else:
        daily.fail("delete", exception=failure)
    response = client.delete(f"/sessions/{created['_id']}", headers=auth)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to delete Daily.co room"},
    )
    stored = db.livesessions.find_one({"_id": created["_id"]})
    assert stored["status"] == "scheduled"
    assert "deletedAt" not in stored
    assert iso(stored["updatedAt"]) == created["updatedAt"]
    assert client.get(f"/sessions/{created['_id']}", headers=auth).status_code == 200


def test_only_the_instructor_or_an_admin_may_delete(client, db, daily, token_for):
    doc = seed_session(db)
    other = {"Authorization": f"Bearer {token_for(OTHER_INSTRUCTOR, role='admins')}"}
    response = client.delete(f"/sessions/{doc['_id']}", headers=other)
    assert (response.status_code, response.get_json()) == (403, NOT_OWNER)
    assert db.livesessions.find_one({"_id": doc["_id"]})["status"] == "scheduled"
    assert daily.calls() == []
    admin = {"Authorization": f"Bearer {token_for(ADMIN, role=['teacher', 'admin'])}"}
    assert client.delete(f"/sessions/{doc['_id']}", headers=admin).status_code == 200


def test_a_delete_that_loses_the_race_answers_404_and_leaves_nothing_done(
    client, auth, daily, create_session, db, app, monkeypatch
):
    """Another DELETE of the same session lands between this one's owner check and its
    conditional write: this one answers 404 before any Daily call or job (the other one
    deletes the room), and the session stays as the other left it."""
    created = create_session()
    store = app.extensions["livesessions"].session_store
    read, other = store.get, {}

    def read_then_lose(session_id):
        doc = read(session_id)
        other["deleted"] = store.soft_delete(session_id)[0]["_id"]  # the other DELETE's write
        other["stored"] = db.livesessions.find_one({"_id": session_id})
        return doc

    monkeypatch.setattr(store, "get", read_then_lose)
    response = client.delete(f"/sessions/{created['_id']}", headers=auth)
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session not found"},
    )
    assert other["deleted"] == created["_id"]
    assert db.livesessions.find_one({"_id": created["_id"]}) == other["stored"]
    assert other["stored"]["deletedAt"] is not None
    assert daily.calls("DELETE") == []
    assert db.recording_jobs.count_documents({}) == 0


def test_delete_of_an_unknown_session_is_404(client, auth, daily):
    response = client.delete("/sessions/unknown", headers=auth)
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session not found"},
    )
    assert daily.calls() == []


def test_deleted_sessions_cannot_be_changed(client, auth, db, daily):
    doc = seed_session(db, status="cancelled", deletedAt=future(days=-1))
    sid = doc["_id"]
    for response in [
        client.put(f"/sessions/{sid}", json={"title": "Back"}, headers=auth),
        client.post(f"/sessions/{sid}/participants", json={"studentId": "s1"}),
        client.delete(f"/sessions/{sid}/participants/s1"),
        client.patch(f"/sessions/{sid}/status", json={"status": "live"}),
    ]:
        assert (response.status_code, response.get_json()) == (
            404,
            {"message": "Live session not found"},
        )
    assert db.livesessions.find_one({"_id": sid}) == doc
