"""POST /sessions/:id/participants and DELETE /sessions/:id/participants/:studentId."""

import json
import sys
import threading
from urllib.parse import quote

import pytest

from tests.support.factories import COURSE, INSTRUCTOR, SESSION_KEYS, iso, seed_session


def test_add_participant_returns_the_session(client, db):
    doc = seed_session(db)
    response = client.post(
        f"/sessions/{doc['_id']}/participants", json={"studentId": "student-uuid-123"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == SESSION_KEYS
    assert {
        k: body[k]
        for k in (
            "_id",
            "title",
            "course",
            "instructor",
            "participants",
            "maxParticipants",
            "status",
            "scheduledAt",
        )
    } == {
        "_id": doc["_id"],
        "title": "Seeded session",
        "course": COURSE,
        "instructor": INSTRUCTOR,
        "participants": ["student-uuid-123"],
        "maxParticipants": 100,
        "status": "scheduled",
        "scheduledAt": iso(doc["scheduledAt"]),
    }
    assert body["updatedAt"] > iso(doc["updatedAt"])
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == ["student-uuid-123"]


def test_adding_twice_is_idempotent(client, db):
    doc = seed_session(db, participants=["a"])
    for _ in range(3):
        response = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "a"})
        assert response.status_code == 200
        assert response.get_json()["participants"] == ["a"]
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == ["a"]


def test_a_full_session_refuses_new_students_but_not_present_ones(client, db):
    doc = seed_session(db, participants=["a", "b"], maxParticipants=2)
    response = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "c"})
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": "Session has reached maximum participants"},
    )
    again = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "b"})
    assert (again.status_code, again.get_json()["participants"]) == (200, ["a", "b"])
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == ["a", "b"]


def test_live_sessions_accept_students(client, db):
    doc = seed_session(db, status="live")
    response = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "late"})
    assert response.get_json()["participants"] == ["late"]


@pytest.mark.parametrize("status", ["ended", "cancelled"])
def test_closed_sessions_refuse_students(client, db, status):
    doc = seed_session(db, status=status)
    response = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "s"})
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": f"Cannot join a session that is {status}"},
    )
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == []


def test_add_to_an_unknown_session_is_404(client):
    response = client.post("/sessions/nope/participants", json={"studentId": "s"})
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session not found"},
    )


def test_the_capacity_check_is_in_the_write_itself(client, db, app, monkeypatch):
    """Seat taken between any read and the write: the conditional update still refuses."""
    doc = seed_session(db, participants=["a"], maxParticipants=2)
    sessions = app.extensions["livesessions"].session_store.sessions
    real = sessions.find_one_and_update

    def competing_write_first(filter_, update, **kwargs):
        sessions.update_one({"_id": doc["_id"]}, {"$push": {"participants": "rival"}})
        return real(filter_, update, **kwargs)

    monkeypatch.setattr(sessions, "find_one_and_update", competing_write_first)
    response = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "me"})
    assert response.get_json() == {"message": "Session has reached maximum participants"}
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == ["a", "rival"]


@pytest.fixture
def eager_thread_switching():
    """Switch threads every microsecond, so any gap between a read and a write gets hit."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_fifty_concurrent_students_fill_exactly_ten_seats(app, db, eager_thread_switching):
    doc = seed_session(db, maxParticipants=10)
    barrier = threading.Barrier(50)
    results = {}

    def join(n):
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": f"s{n}"})
        results[n] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=join, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    admitted = [n for n, (status, _) in results.items() if status == 200]
    refused = [body for status, body in results.values() if status == 400]
    assert len(admitted) == 10
    assert refused == [{"message": "Session has reached maximum participants"}] * 40
    stored = db.livesessions.find_one({"_id": doc["_id"]})["participants"]
    assert sorted(stored) == sorted(f"s{n}" for n in admitted)


def test_remove_participant(client, db):
    doc = seed_session(db, participants=["a", "b"])
    response = client.delete(f"/sessions/{doc['_id']}/participants/a")
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == SESSION_KEYS
    assert body["participants"] == ["b"]
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == ["b"]


def test_remove_a_student_who_is_not_there(client, db):
    doc = seed_session(db, participants=["a"])
    response = client.delete(f"/sessions/{doc['_id']}/participants/zzz")
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Student not found in session participants"},
    )
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == ["a"]


def test_remove_from_an_unknown_session(client):
    response = client.delete("/sessions/nope/participants/a")
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session not found"},
    )


def test_student_ids_are_matched_literally(client, db):
    doc = seed_session(db, participants=["a.b"])
    assert client.delete(f"/sessions/{doc['_id']}/participants/a*").status_code == 404
    assert (
        client.delete(f"/sessions/{doc['_id']}/participants/a.b").get_json()["participants"] == []
    )


def test_documents_without_participants_are_treated_as_empty(client, db):
    doc = seed_session(db, maxParticipants=1)
    db.livesessions.update_one({"_id": doc["_id"]}, {"$unset": {"participants": ""}})
    first = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "a"})
    assert first.get_json()["participants"] == ["a"]
    second = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "b"})
    assert second.get_json() == {"message": "Session has reached maximum participants"}


@pytest.mark.parametrize(
    "student_id", ["a/b", "/", "tab\there", "nul\x00", "del\x7f", "c1\x85", ".", ".."]
)
def test_ids_no_url_could_free_are_refused(client, db, student_id):
    doc = seed_session(db)
    response = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": student_id})
    assert response.status_code == 400
    assert response.get_json() == {
        "message": f'"studentId" with value {json.dumps(student_id)} fails to match the '
        "student id pattern"
    }
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == []


@pytest.mark.parametrize(
    "student_id", ["a b", "50%", "q?x=1", "h#1", "...", "é-ü", "a.b", "x" * 128]
)
def test_every_seat_that_can_be_taken_can_be_freed(client, db, student_id):
    doc = seed_session(db)
    taken = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": student_id})
    assert taken.get_json()["participants"] == [student_id]
    freed = client.delete(f"/sessions/{doc['_id']}/participants/{quote(student_id, safe='')}")
    assert freed.status_code == 200
    assert freed.get_json()["participants"] == []
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == []
