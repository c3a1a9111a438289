"""`attendance.final`: once a class has ended and its room closed, the worker's periodic
task queues its attendance summary (as GET /sessions/:id/attendance shows it), once per
session, with an id derived from the session."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from livesessions.outbound.attendance_events import final_attendance_id
from tests.support.factories import seed_session
from tests.support.receiver import Receiver

STUDENT = "student-1"


@pytest.fixture
def hub(app):
    return app.extensions["livesessions"]


@pytest.fixture
def endpoint(hub):
    return hub.webhook_store.create("http://127.0.0.1:9/hooks", ["attendance.final"], "c2VjcmV0")


def deliver(client, event_type, payload):
    envelope = {"version": "1.0.0", "type": event_type, "id": str(uuid.uuid4()), "payload": payload}
    assert client.post("/sessions/webhook/daily", json=envelope).status_code == 200


def ago(**delta):
    return datetime.now(UTC).replace(microsecond=0) - timedelta(**delta)


def attended(client, doc, joined, left):
    base = {
        "joined_at": joined.timestamp(),
        "session_id": str(uuid.uuid4()),
        "room": doc["roomName"],
        "user_id": STUDENT,
        "user_name": STUDENT,
        "owner": False,
    }
    deliver(client, "participant.joined", base)
    duration = round((left - joined).total_seconds())
    deliver(client, "participant.left", {**base, "duration": duration})


def queued(db):
    return [job["event"] for job in db.recording_jobs.find({"kind": "webhook"})]


def test_a_class_over_and_its_room_closed_sends_its_attendance_once(
    client, auth, hub, db, endpoint
):
    # a 30-minute class two hours ago: ended, and its room (30 minutes' grace) closed
    doc = seed_session(db, scheduledAt=ago(hours=2), duration=30, participants=[STUDENT])
    attended(client, doc, ago(hours=2), ago(hours=1, minutes=45))
    client.patch(f"/sessions/{doc['_id']}/status", json={"status": "live"})
    client.patch(f"/sessions/{doc['_id']}/status", json={"status": "ended"})
    assert hub.final_attendance.run() == 1
    (event,) = queued(db)
    assert event["type"] == "attendance.final"
    assert event["id"] == final_attendance_id(doc["_id"])
    shown = client.get(f"/sessions/{doc['_id']}/attendance", headers=auth).get_json()
    assert event["data"] == shown
    assert db.livesessions.find_one({"_id": doc["_id"]})["attendanceFinalAt"] is not None
    assert hub.final_attendance.run() == 0  # once
    assert len(queued(db)) == 1


def test_a_class_whose_room_is_open_or_not_ended_waits(hub, db, endpoint):
    seed_session(db, scheduledAt=ago(minutes=45), duration=30, status="ended")  # in grace
    seed_session(db, scheduledAt=ago(hours=2), duration=30, status="live")  # not ended
    seed_session(db, scheduledAt=ago(hours=2), duration=30, status="cancelled")
    seed_session(db, scheduledAt=ago(days=5), duration=30, status="ended")  # history
    assert hub.final_attendance.run() == 0
    assert queued(db) == []


def test_a_run_interrupted_before_the_mark_queues_the_same_event(hub, db, endpoint, monkeypatch):
    doc = seed_session(db, scheduledAt=ago(hours=2), duration=30, status="ended")
    store = hub.final_attendance.final
    # the mark never lands
    monkeypatch.setattr(store, "mark_final_attendance_queued", lambda *args: None)
    assert hub.final_attendance.run() == 1
    assert hub.final_attendance.run() == 1
    (job,) = db.recording_jobs.find({"kind": "webhook"})
    assert job["_id"] == f"webhook:{endpoint['_id']}:{final_attendance_id(doc['_id'])}"


def test_the_worker_sends_the_final_attendance(hub, db):
    with Receiver() as receiver:
        hub.webhook_store.create(receiver.url, ["attendance.final"], "c2VjcmV0")
        doc = seed_session(db, scheduledAt=ago(hours=2), duration=30, status="ended")
        worker = hub.make_worker(worker_store=None, task_leases=None)
        (task,) = [task for task in worker.periodic if task.name == "emit final attendance"]
        assert task.every_seconds == 60  # SESSION_SWEEP_SECONDS
        task.action()
        assert worker.drain() == 1
        (event,) = receiver.events()
    assert (event["type"], event["data"]["sessionId"]) == ("attendance.final", doc["_id"])
