"""The session and participant events, emitted once the change is stored: created,
updated, cancelled (by status or delete), started and ended (by status, by Daily's meeting
events and by the sweep), participants added and removed; the data is the session as
GET /sessions/:id shows it. An emission that fails never fails the request."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from livesessions.outbound.emitter import EVENT_TYPES
from tests.support.factories import in_class, seed_session
from tests.support.receiver import Receiver


@pytest.fixture
def hub(app):
    return app.extensions["livesessions"]


@pytest.fixture
def endpoint(hub):
    """An endpoint subscribed to every event (its deliveries stay queued: no worker runs)."""
    return hub.webhook_store.create("http://127.0.0.1:9/hooks", list(EVENT_TYPES), "c2VjcmV0")


def queued(db):
    """The events queued for delivery, in the order they were emitted."""
    jobs = db.recording_jobs.find({"kind": "webhook"}).sort([("createdAt", 1)])
    return [job["event"] for job in jobs]


def types(db):
    return [event["type"] for event in queued(db)]


def test_creating_and_updating_a_session_are_events(client, auth, create_session, db, endpoint):
    created = create_session()
    response = client.put(f"/sessions/{created['_id']}", json={"title": "New title"}, headers=auth)
    assert response.status_code == 200
    events = queued(db)
    assert [event["type"] for event in events] == ["session.created", "session.updated"]
    shown = client.get(f"/sessions/{created['_id']}", headers=auth).get_json()
    assert events[1]["data"] == shown  # as GET /sessions/:id shows it
    assert events[0]["data"]["title"] == created["title"]
    assert events[0]["data"]["recordingStatus"] == shown["recordingStatus"]
    for event in events:
        assert set(event) == {"id", "type", "createdAt", "data"}
        assert uuid.UUID(event["id"]).version == 4
    jobs = list(db.recording_jobs.find({"kind": "webhook"}))
    assert {job["_id"] for job in jobs} == {f"webhook:{endpoint['_id']}:{e['id']}" for e in events}


def test_status_changes_are_started_ended_and_cancelled(client, auth, db, endpoint):
    doc = seed_session(db, scheduledAt=in_class())
    for status in ("live", "live", "ended"):  # live -> live changes nothing: no event
        response = client.patch(f"/sessions/{doc['_id']}/status", json={"status": status})
        assert response.status_code == 200
    other = seed_session(db)
    client.patch(f"/sessions/{other['_id']}/status", json={"status": "cancelled"})
    assert types(db) == ["session.started", "session.ended", "session.cancelled"]
    assert [e["data"]["status"] for e in queued(db)] == ["live", "ended", "cancelled"]


def test_a_refused_status_change_is_no_event(client, db, endpoint):
    doc = seed_session(db, status="ended")
    response = client.patch(f"/sessions/{doc['_id']}/status", json={"status": "live"})
    assert response.status_code == 400
    assert queued(db) == []


def test_deleting_a_session_cancels_it(client, auth, create_session, daily, db, endpoint):
    created = create_session()
    response = client.delete(f"/sessions/{created['_id']}", headers=auth)
    assert response.status_code == 200, response.get_json()
    assert types(db) == ["session.created", "session.cancelled"]
    cancelled = queued(db)[1]["data"]
    assert (cancelled["_id"], cancelled["status"]) == (created["_id"], "cancelled")


def test_participants_added_and_removed(client, db, endpoint):
    doc = seed_session(db)
    added = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "student-7"})
    assert added.status_code == 200
    removed = client.delete(f"/sessions/{doc['_id']}/participants/student-7")
    assert removed.status_code == 200
    events = queued(db)
    assert [e["type"] for e in events] == ["participant.added", "participant.removed"]
    assert [e["data"] for e in events] == [{"sessionId": doc["_id"], "studentId": "student-7"}] * 2


def test_a_refused_participant_is_no_event(client, db, endpoint):
    doc = seed_session(db, maxParticipants=1, participants=["student-1"])
    response = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "s-2"})
    assert response.status_code == 400
    assert queued(db) == []


def deliver(client, event_type, payload):
    envelope = {"version": "1.0.0", "type": event_type, "id": str(uuid.uuid4()), "payload": payload}
    assert client.post("/sessions/webhook/daily", json=envelope).status_code == 200


def test_daily_meeting_events_start_and_end_the_session(client, db, endpoint):
    start = datetime.now(UTC) - timedelta(minutes=90)
    doc = seed_session(db, scheduledAt=start, duration=30)
    room, ts = doc["roomName"], int(start.timestamp())
    deliver(client, "meeting.started", {"room": room, "meeting_id": "m", "start_ts": ts})
    deliver(client, "meeting.started", {"room": room, "meeting_id": "m", "start_ts": ts})
    end = {"room": room, "meeting_id": "m", "start_ts": ts, "end_ts": ts + 60}
    deliver(client, "meeting.ended", end)
    assert types(db) == ["session.started", "session.ended"]


def test_the_sweep_ends_overdue_sessions(hub, db, endpoint):
    doc = seed_session(db, scheduledAt=datetime.now(UTC) - timedelta(hours=5), duration=30)
    seed_session(db, scheduledAt=datetime.now(UTC) - timedelta(hours=5), status="cancelled")
    assert hub.session_service.end_overdue() == [doc["_id"]]
    (event,) = queued(db)
    assert (event["type"], event["data"]["_id"], event["data"]["status"]) == (
        "session.ended",
        doc["_id"],
        "ended",
    )


def test_only_subscribed_enabled_endpoints_get_events(client, hub, db):
    wanted = hub.webhook_store.create("http://127.0.0.1:9/a", ["session.cancelled"], "c2VjcmV0")
    hub.webhook_store.create("http://127.0.0.1:9/b", ["session.started"], "c2VjcmV0")
    off = hub.webhook_store.create("http://127.0.0.1:9/c", ["session.cancelled"], "c2VjcmV0")
    db.webhook_endpoints.update_one({"_id": off["_id"]}, {"$set": {"enabled": False}})
    doc = seed_session(db)
    client.patch(f"/sessions/{doc['_id']}/status", json={"status": "cancelled"})
    (job,) = db.recording_jobs.find({"kind": "webhook"})
    assert job["endpoint"] == wanted["_id"]


def test_a_failing_emission_never_fails_the_request(client, hub, db, endpoint, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("queue down")

    monkeypatch.setattr(hub.job_store, "enqueue_webhook", broken)
    doc = seed_session(db)
    response = client.patch(f"/sessions/{doc['_id']}/status", json={"status": "cancelled"})
    assert response.status_code == 200
    assert db.livesessions.find_one({"_id": doc["_id"]})["status"] == "cancelled"


def test_a_session_event_reaches_a_receiver(client, auth, hub, db):
    with Receiver() as receiver:
        hub.webhook_store.create(receiver.url, ["session.cancelled"], "c2VjcmV0")
        doc = seed_session(db)
        client.patch(f"/sessions/{doc['_id']}/status", json={"status": "cancelled"})
        assert hub.make_worker(periodic=[], worker_store=None).drain() == 1
        (event,) = receiver.events()
    assert event["type"] == "session.cancelled"
    assert event["data"] == client.get(f"/sessions/{doc['_id']}", headers=auth).get_json()


def test_a_series_is_created_updated_and_cancelled_session_by_session(
    client, auth, daily, db, endpoint
):
    from tests.support.factories import future, iso, session_payload

    body = session_payload(scheduledAt=iso(future()), recurrence={"days": ["TU"], "count": 2})
    made = client.post("/sessions/series", json=body, headers=auth).get_json()
    ids = [doc["_id"] for doc in made["sessions"]]
    series = f"/sessions/series/{made['seriesId']}"
    assert client.put(series, json={"title": "Renamed"}, headers=auth).status_code == 200
    assert client.delete(series, headers=auth).status_code == 200
    events = queued(db)
    assert [(e["type"], e["data"]["_id"]) for e in events] == [
        *[("session.created", i) for i in ids],
        *[("session.updated", i) for i in ids],
        *[("session.cancelled", i) for i in ids],
    ]
    assert {e["data"]["title"] for e in events[2:]} == {"Renamed"}


def test_readmitting_a_present_student_is_no_second_event(client, db, endpoint):
    doc = seed_session(db)
    for _ in range(2):
        added = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "s-7"})
        assert (added.status_code, added.get_json()["participants"]) == (200, ["s-7"])
    assert types(db) == ["participant.added"]


def test_a_rolled_back_series_announces_no_session(client, auth, daily, db, endpoint):
    from tests.support.factories import future, iso, session_payload

    daily.fail("create", 500, {"error": "down"}, after=2)  # the third room fails
    body = session_payload(scheduledAt=iso(future()), recurrence={"days": ["TU"], "count": 4})
    response = client.post("/sessions/series", json=body, headers=auth)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to create Daily.co room"},
    )
    assert db.livesessions.count_documents({}) == 0
    assert types(db) == []
