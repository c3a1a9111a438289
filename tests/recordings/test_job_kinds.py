"""Job kinds don't share one pool of slots: uploads, room deletions and outbound webhook
deliveries each have job slots of their own in a worker, leasing only jobs of their kind, so
receivers that take a delivery and then answer one byte a second (never silent long enough
for a read timeout) hold the webhook slots and nothing else. Also the lease's kind filter,
on the store the tests run on (mongomock, or SecantusDB with TEST_MONGODB=secantus)."""

import hashlib
import json
from datetime import timedelta

import pytest

from livesessions.clock import utcnow
from livesessions.jobs.repository import ROOM_DELETION, WEBHOOK, WORKER_VANISHED
from tests.support.factories import in_class, seed_session
from tests.support.processes import wait_until
from tests.support.sandbox import UPLOAD_CHUNK, cloudinary_settings
from tests.support.trickle import TricklingReceiver
from tests.support.workers import running

SESSION = {"_id": "s-1", "title": "Algebra"}
SECRET = "c2VjcmV0"


@pytest.fixture
def trickling_receiver():
    receiver = TricklingReceiver(every=1.0)
    yield receiver
    receiver.stop()


def deliver_recording(client, recording_id, room):
    """Daily's `recording.ready-to-download`: the upload job is queued."""
    response = client.post(
        "/sessions/webhook/daily",
        json={
            "version": "1.0.0",
            "type": "recording.ready-to-download",
            "id": f"evt-{recording_id}",
            "payload": {
                "type": "cloud",
                "recording_id": recording_id,
                "room_name": room,
                "duration": 60,
                "status": "finished",
            },
            "event_ts": 1,
        },
    )
    assert response.status_code == 200


def webhook_jobs(db):
    return {job["_id"]: job for job in db.recording_jobs.find({"kind": WEBHOOK})}


def test_receivers_that_trickle_hold_the_webhook_slots_not_an_upload_or_a_room_deletion(
    make_app, cloud, daily, trickling_receiver, monkeypatch
):
    """Twice as many deliveries as the webhook slots, each to a receiver that answers one
    byte a second; then a recording to upload and a room to delete are queued: both are
    done while the receiver still holds every delivery it took."""
    # No time limit of a delivery ends a held one during the test (read from the
    # environment, the name is also the alias of a delivery's deadline setting).
    monkeypatch.setenv("WEBHOOKS_TIMEOUT_SECONDS", "120")
    app = make_app(
        **cloudinary_settings(cloud),
        WORKER_WEBHOOK_CONCURRENCY=2,  # as many as all the slots of a worker before
        RECORDING_LEASE_SECONDS=600,  # a delivery's deadline is at most half of it
        RECORDING_RETRY_BASE_SECONDS=3600,
    )
    hub = app.extensions["livesessions"]
    db = hub.database.db
    daily.mock.add_passthru(trickling_receiver.url)
    endpoint = hub.webhook_store.create(trickling_receiver.url, ["session.created"], SECRET)
    events = [
        hub.webhook_emitter.emit("session.created", SESSION, event_id=f"event-{n}")
        for n in range(4)
    ]
    worker = hub.make_worker(worker_id="w", poll_seconds=0.05, periodic=[], worker_store=None)
    with running(worker):
        try:
            # every webhook slot is held by the receiver, the other deliveries wait
            wait_until(lambda: trickling_receiver.holding == 2)
            wait_until(
                lambda: (
                    sorted(job["status"] for job in webhook_jobs(db).values())
                    == ["pending", "pending", "processing", "processing"]
                )
            )
            # now a recording to upload, and a deleted session's room to delete
            session = seed_session(db, roomName="room-b", status="live", scheduledAt=in_class())
            recording = (hashlib.sha256(b"up").digest() * UPLOAD_CHUNK)[:UPLOAD_CHUNK]
            daily.files["rec-up"] = recording
            deliver_recording(app.test_client(), "rec-up", "room-b")
            gone = seed_session(db, status="cancelled", deletedAt=utcnow())
            daily.rooms[gone["roomName"]] = {"name": gone["roomName"]}
            assert hub.job_store.enqueue_room_deletion(gone["roomName"], gone["_id"])

            uploaded = wait_until(
                lambda: db.recording_jobs.find_one({"_id": "rec-up", "status": "done"})
            )
            deleted = wait_until(
                lambda: db.recording_jobs.find_one({"kind": ROOM_DELETION, "status": "done"})
            )
            # ...while the receiver still holds the deliveries it took, and no other
            holding, received = trickling_receiver.holding, len(trickling_receiver.received)
            held = webhook_jobs(db)
        finally:
            trickling_receiver.release.set()  # the held answers finish: the worker can stop
        wait_until(lambda: [job["status"] for job in webhook_jobs(db).values()] == ["done"] * 4)
    assert (holding, received) == (2, 2)
    assert sorted((job["status"], job["attempts"]) for job in held.values()) == [
        ("pending", 0),
        ("pending", 0),
        ("processing", 1),
        ("processing", 1),
    ]
    # the upload, in an upload slot (w/1, w/2): on the session, from Cloudinary
    stored = db.livesessions.find_one({"_id": session["_id"]})
    assert uploaded["worker"] in ("w/1", "w/2")
    assert uploaded["result"]["bytes"] == UPLOAD_CHUNK
    assert (stored["recordingUrl"], stored["isRecorded"]) == (
        uploaded["result"]["recordingUrl"],
        True,
    )
    assert len(cloud.uploads) == 1
    # the room deletion, in the room-deletion slot (w/3): the room is gone from Daily
    assert (deleted["_id"], deleted["worker"], deleted["result"]) == (
        f"room:{gone['roomName']}",
        "w/3",
        {"deleted": gone["roomName"]},
    )
    assert gone["roomName"] not in daily.rooms
    # released, the receiver got every event once, all in the webhook slots (w/4, w/5)
    jobs = webhook_jobs(db)
    assert {job["_id"] for job in jobs.values()} == {
        f"webhook:{endpoint['_id']}:{event_id}" for event_id in events
    }
    assert {(job["status"], job["attempts"], job["result"]["status"]) for job in jobs.values()} == {
        ("done", 1, 200)
    }
    assert {job["worker"] for job in jobs.values()} <= {"w/4", "w/5"}
    delivered = [json.loads(body)["id"] for body in trickling_receiver.received]
    assert sorted(delivered) == sorted(events)


# -- the lease's kind filter -----------------------------------------------------------------


def queue_one_of_each(services):
    """An upload (no `kind`, as every upload), a room deletion and a webhook delivery, all
    due; the webhook the longest, then the room deletion."""
    jobs = services.job_store
    jobs.enqueue("rec-1", {"session": "s-1"})
    jobs.enqueue_room_deletion("room-1", "s-2")
    jobs.enqueue_webhook("hook-1", {"id": "event-1", "type": "session.created"})
    now = utcnow()
    for job_id, seconds in (("rec-1", 1), ("room:room-1", 2), ("webhook:hook-1:event-1", 3)):
        services.database.db.recording_jobs.update_one(
            {"_id": job_id}, {"$set": {"runAt": now - timedelta(seconds=seconds)}}
        )


def test_a_kinds_lease_takes_only_jobs_of_that_kind(services):
    queue_one_of_each(services)
    jobs = services.job_store
    assert jobs.lease("w/1", 60, 3, "upload")["_id"] == "rec-1"  # though due last
    assert jobs.lease("w/2", 60, 3, "upload") is None
    assert jobs.lease("w/3", 60, 3, ROOM_DELETION)["_id"] == "room:room-1"
    assert jobs.lease("w/4", 60, 3, ROOM_DELETION) is None
    assert jobs.lease("w/5", 60, 3, WEBHOOK)["_id"] == "webhook:hook-1:event-1"
    assert jobs.lease("w/6", 60, 3, WEBHOOK) is None
    stored = {job["_id"]: job for job in services.database.db.recording_jobs.find()}
    assert {
        job_id: (job["status"], job["worker"], job["attempts"]) for job_id, job in stored.items()
    } == {
        "rec-1": ("processing", "w/1", 1),
        "room:room-1": ("processing", "w/3", 1),
        "webhook:hook-1:event-1": ("processing", "w/5", 1),
    }


def test_a_lease_of_any_kind_takes_the_most_overdue_job(services):
    queue_one_of_each(services)
    jobs = services.job_store
    leased = [jobs.lease(f"w/{n}", 60, 3)["_id"] for n in range(3)]
    assert leased == ["webhook:hook-1:event-1", "room:room-1", "rec-1"]
    assert jobs.lease("w/4", 60, 3) is None


def test_an_upload_stored_with_a_null_kind_is_an_upload(services):
    services.job_store.enqueue("rec-old", {"session": "s-1", "kind": None})
    assert services.job_store.lease("w/1", 60, 3, WEBHOOK) is None
    assert services.job_store.lease("w/1", 60, 3, ROOM_DELETION) is None
    assert services.job_store.lease("w/1", 60, 3, "upload")["_id"] == "rec-old"


def test_each_kind_takes_over_its_own_jobs_and_only_uploads_run_out_of_attempts(services):
    """Every job's lease has run out on its third attempt: an upload lease (of 3 attempts)
    marks the upload failed, a webhook or room-deletion lease takes its own job over and
    leaves the upload as it is."""
    queue_one_of_each(services)
    db = services.database.db
    db.recording_jobs.update_many(
        {},
        {
            "$set": {
                "status": "processing",
                "worker": "killed/1",
                "attempts": 3,
                "leaseUntil": utcnow() - timedelta(seconds=1),
            }
        },
    )
    jobs = services.job_store
    taken = jobs.lease("w/1", 60, 3, WEBHOOK)
    assert (taken["_id"], taken["takenOverFrom"], taken["attempts"]) == (
        "webhook:hook-1:event-1",
        "killed/1",
        4,
    )
    assert db.recording_jobs.find_one({"_id": "rec-1"})["status"] == "processing"  # untouched
    taken = jobs.lease("w/2", 60, 3, ROOM_DELETION)
    assert (taken["_id"], taken["takenOverFrom"]) == ("room:room-1", "killed/1")
    assert db.recording_jobs.find_one({"_id": "rec-1"})["status"] == "processing"
    assert jobs.lease("w/3", 60, 3, "upload") is None  # its last attempt: it can't be retried
    upload = db.recording_jobs.find_one({"_id": "rec-1"})
    assert (upload["status"], upload["error"], upload["leaseUntil"]) == (
        "failed",
        WORKER_VANISHED,
        None,
    )


def test_the_lease_by_kind_has_its_index(services):
    info = services.database.db.recording_jobs.index_information()
    keys = [tuple(index["key"]) for index in info.values()]
    assert (("kind", 1), ("status", 1), ("runAt", 1)) in keys


def test_drain_processes_every_kind(make_app, daily):
    """`process_next`/`drain` (tests, `recordings process --once`) lease any kind."""
    app = make_app(RECORDING_MAX_ATTEMPTS=1)
    hub = app.extensions["livesessions"]
    gone = seed_session(hub.database.db, status="cancelled", deletedAt=utcnow())
    daily.rooms[gone["roomName"]] = {"name": gone["roomName"]}
    hub.job_store.enqueue_room_deletion(gone["roomName"], gone["_id"])
    hub.job_store.enqueue("rec-orphan", {"session": "no-such-session"})
    hub.job_store.enqueue_webhook("no-such-endpoint", {"id": "e-1", "type": "session.created"})
    assert hub.make_worker(periodic=[], worker_store=None).drain() == 3
    stored = {job["_id"]: job for job in hub.database.db.recording_jobs.find()}
    assert {job_id: job["status"] for job_id, job in stored.items()} == {
        f"room:{gone['roomName']}": "done",
        "rec-orphan": "failed",  # its session is gone
        "webhook:no-such-endpoint:e-1": "failed",  # its endpoint is gone
    }
    assert gone["roomName"] not in daily.rooms
