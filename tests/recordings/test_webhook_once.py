"""A signed Daily.co event is processed once per event id, however often it is delivered,
and a delivery whose processing failed can be delivered again."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import AutoReconnect

from livesessions.clock import utcnow
from livesessions.daily.repository import WebhookEventStore
from tests.support.factories import in_class, seed_recording, seed_session
from tests.support.webhooks import envelope, participant_event, sign

THREE_DAYS = 3 * 24 * 3600


def deliver(app, body, headers=None):
    """POST `body` signed now, as Daily does for every attempt (or with `headers`)."""
    raw = json.dumps(body).encode()
    response = app.test_client().post(
        "/sessions/webhook/daily", data=raw, headers=headers or sign(raw)
    )
    return response.status_code, response.get_json()


ACK = (200, {"received": True})


@pytest.fixture
def calls(signed_app, monkeypatch):
    """Count the calls of the handlers of `types` (the real handlers still run)."""
    handlers = signed_app.extensions["livesessions"].events.handlers
    counted = []

    def count(*types):
        for name in types:
            real = handlers[name]

            def counting(event, trusted, real=real):
                counted.append(event.type)
                return real(event, trusted)

            monkeypatch.setitem(handlers, name, counting)
        return counted

    return count


def test_the_ttl_index_exists(signed_db):
    info = signed_db.webhook_events.index_information()
    ttl = {name: index for name, index in info.items() if "expireAfterSeconds" in index}
    assert [(index["key"], index["expireAfterSeconds"]) for index in ttl.values()] == [
        ([("seenAt", 1)], THREE_DAYS)
    ]


def test_a_delivery_sent_twice_changes_the_visit_once(signed_app, signed_db, signed_session):
    """participant.left without a duration takes now as the leave time, so a second
    processing would move `leftAt` (and `updatedAt`) later: it doesn't."""
    left = participant_event("participant.left")
    headers = sign(json.dumps(left).encode())
    assert deliver(signed_app, left, headers) == ACK
    first = signed_db.attendance.find_one({"_id": "visit-1"})
    time.sleep(0.01)
    assert deliver(signed_app, left) == ACK  # Daily's retry: signed anew
    assert deliver(signed_app, left, headers) == ACK  # a replay of the first request
    assert signed_db.attendance.find_one({"_id": "visit-1"}) == first
    (seen,) = signed_db.webhook_events.find()
    assert (seen["_id"], seen["type"], seen["done"]) == (left["id"], "participant.left", True)
    # The same event under another id is another event: it is processed (leftAt moves).
    assert deliver(signed_app, {**left, "id": "another-event"}) == ACK
    assert signed_db.attendance.find_one({"_id": "visit-1"})["leftAt"] > first["leftAt"]


def test_a_recording_event_sent_twice_is_processed_once(signed_app, signed_db, signed_session):
    recording = seed_recording(signed_db, signed_session, status="recording")
    started = envelope(
        "recording.started", {"recording_id": "daily-1", "instance_id": recording["_id"]}
    )
    assert deliver(signed_app, started) == ACK
    linked = signed_db.recordings.find_one({"_id": recording["_id"]})
    assert linked["dailyId"] == "daily-1"
    time.sleep(0.01)
    assert deliver(signed_app, started) == ACK
    assert signed_db.recordings.find_one({"_id": recording["_id"]}) == linked  # updatedAt too


def test_concurrent_duplicates_are_processed_once(signed_app, signed_db, signed_session, calls):
    counted = calls("participant.left")
    left = participant_event("participant.left")
    raw = json.dumps(left).encode()
    headers = sign(raw)
    barrier, answers = threading.Barrier(10), []

    def send():
        client = signed_app.test_client()
        barrier.wait()
        response = client.post("/sessions/webhook/daily", data=raw, headers=headers)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [ACK] * 10
    assert counted == ["participant.left"]
    assert signed_db.webhook_events.count_documents({"_id": left["id"], "done": True}) == 1
    assert signed_db.attendance.count_documents({}) == 1


def test_a_failing_handler_lets_dailys_retry_through(
    signed_app, signed_db, signed_session, monkeypatch
):
    attendance = signed_app.extensions["livesessions"].attendance_store
    record_visit, failures = attendance.record_visit, []

    def down_once(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise AutoReconnect("primary stepped down")
        return record_visit(*args, **kwargs)

    monkeypatch.setattr(attendance, "record_visit", down_once)
    joined = participant_event()
    assert deliver(signed_app, joined) == (500, {"message": "Database query failed"})
    assert signed_db.webhook_events.count_documents({}) == 0  # the mark is gone
    assert signed_db.attendance.count_documents({}) == 0
    assert deliver(signed_app, joined) == ACK  # Daily retries a non-2xx
    assert signed_db.attendance.find_one({"_id": "visit-1"})["userId"] == "u1"
    assert signed_db.webhook_events.find_one({"_id": joined["id"]})["done"] is True


def test_a_repeat_during_a_failing_delivery_does_not_keep_the_retry_out(
    signed_app, signed_db, signed_session, monkeypatch, calls
):
    """Delivery 1 is being processed when a duplicate arrives (acknowledged, not processed);
    delivery 1 then fails: the mark is dropped, and Daily's retry of it is processed."""
    attendance = signed_app.extensions["livesessions"].attendance_store
    record_visit = attendance.record_visit
    inside, release, failed = threading.Event(), threading.Event(), []

    def slow_then_down(*args, **kwargs):
        if not failed:
            failed.append(1)
            inside.set()
            release.wait(60)  # released by the test; the bound only ends a failed run
            raise AutoReconnect("primary stepped down")
        return record_visit(*args, **kwargs)

    monkeypatch.setattr(attendance, "record_visit", slow_then_down)
    counted = calls("participant.joined")
    joined, answers = participant_event(), []
    first = threading.Thread(target=lambda: answers.append(deliver(signed_app, joined)))
    first.start()
    assert inside.wait(5)
    assert deliver(signed_app, joined) == ACK  # the duplicate, while the first runs
    assert counted == ["participant.joined"]
    release.set()
    first.join()
    assert answers == [(500, {"message": "Database query failed"})]
    assert signed_db.webhook_events.count_documents({}) == 0
    assert deliver(signed_app, joined) == ACK  # Daily's retry of the failed delivery
    assert counted == ["participant.joined"] * 2
    assert signed_db.attendance.count_documents({"_id": "visit-1"}) == 1


@pytest.mark.parametrize(
    ("lapsed", "processed"), [(True, True), (False, False)], ids=["lapsed", "running"]
)
def test_a_claim_left_by_a_dead_delivery_is_taken_over_once_it_lapses(
    signed_app, signed_db, signed_session, calls, lapsed, processed
):
    """A worker killed mid-delivery leaves its claim, neither done nor released."""
    now = datetime.now(UTC)
    joined = participant_event()
    signed_db.webhook_events.insert_one(
        {
            "_id": joined["id"],
            "type": "participant.joined",
            "seenAt": now - timedelta(minutes=2),
            "claim": "dead-worker",
            "claimedUntil": now + timedelta(seconds=-1 if lapsed else 30),
            "done": False,
        }
    )
    counted = calls("participant.joined")
    assert deliver(signed_app, joined) == ACK
    assert counted == (["participant.joined"] if processed else [])
    assert (signed_db.attendance.count_documents({}) == 1) is processed
    assert signed_db.webhook_events.find_one({"_id": joined["id"]})["done"] is processed


def test_a_late_delivery_cannot_finish_or_release_a_claim_taken_over(signed_app):
    store = WebhookEventStore(signed_app.extensions["livesessions"].database)
    now = datetime.now(UTC)
    old = store.claim("evt-1", "participant.joined", now)
    assert store.claim("evt-1", "participant.joined", now) is None
    new = store.claim("evt-1", "participant.joined", now + timedelta(minutes=2))  # lapsed
    assert new not in (None, old)
    store.release("evt-1", old)  # the dead delivery's late failure
    store.finish("evt-1", old, now)  # or its late success
    doc = store.events.find_one({"_id": "evt-1"})
    assert (doc["claim"], doc["done"]) == (new, False)
    store.finish("evt-1", new, now)
    assert store.claim("evt-1", "participant.joined", now + timedelta(hours=1)) is None
    store.release("evt-1", new)  # a finished event is never forgotten by a release
    assert store.events.find_one({"_id": "evt-1"})["done"] is True


def test_a_mark_older_than_the_ttl_no_longer_counts(signed_app, signed_db, signed_session):
    joined = participant_event()
    signed_db.webhook_events.insert_one(
        {
            "_id": joined["id"],
            "type": "participant.joined",
            "seenAt": datetime.now(UTC) - timedelta(seconds=THREE_DAYS + 60),
            "claim": "long-ago",
            "claimedUntil": datetime.now(UTC) - timedelta(days=3),
            "done": True,
        }
    )
    # MongoDB's TTL monitor deletes it at its next pass, up to a minute later (the
    # embedded store on reading): until then the store itself must not count it
    before = utcnow()
    assert deliver(signed_app, joined) == ACK
    assert signed_db.attendance.count_documents({}) == 1
    mark = signed_db.webhook_events.find_one({"_id": joined["id"]})
    assert (mark["done"], mark["claim"] != "long-ago") == (True, True)
    assert mark["seenAt"] >= before  # seen anew
    assert deliver(signed_app, joined) == ACK  # and now a repeat, counted once
    assert signed_db.attendance.count_documents({}) == 1


def test_flat_payloads_and_unknown_types_are_not_recorded(
    signed_app, signed_db, signed_session, calls
):
    counted = calls("participant.left")
    flat = {"type": "participant.left", "room": "room-a", "session_id": "v", "joined_at": 1}
    assert deliver(signed_app, flat) == ACK
    assert deliver(signed_app, flat) == ACK
    assert counted == ["participant.left"] * 2  # as before: no id, no deduplication
    unknown = envelope("transcript.started", {"room": "room-a"})
    assert deliver(signed_app, unknown) == ACK
    assert signed_db.webhook_events.count_documents({}) == 0


@pytest.mark.parametrize("event_id", [None, 5, "", "x" * 513, ["evt"]])
def test_an_envelope_without_a_usable_id_is_processed_as_before(
    signed_app, signed_db, signed_session, calls, event_id
):
    counted = calls("participant.joined")
    joined = {**participant_event(), "id": event_id}
    assert deliver(signed_app, joined) == ACK
    assert deliver(signed_app, joined) == ACK
    assert counted == ["participant.joined"] * 2
    assert signed_db.webhook_events.count_documents({}) == 0


def test_without_a_secret_repeats_are_processed_as_before(client, db):
    """Development: an unsigned id proves nothing, so nothing is recorded, and a repeat is
    processed again (the handlers converge: here the leave time moves to the latest)."""
    seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())
    left = participant_event("participant.left")
    leave_times = []
    for _ in range(2):
        response = client.post("/sessions/webhook/daily", json=left)
        assert (response.status_code, response.get_json()) == ACK
        leave_times.append(db.attendance.find_one({"_id": "visit-1"})["leftAt"])
        time.sleep(0.01)
    assert leave_times[1] > leave_times[0]
    assert db.webhook_events.count_documents({}) == 0


def test_a_claim_that_cannot_be_dropped_lapses(signed_app, signed_db, signed_session, monkeypatch):
    """The database fails in the handler and again when the claim is dropped: the answer is
    still the handler's 500, and the claim lets Daily's retry in once its lease is over."""
    services = signed_app.extensions["livesessions"]

    def down(*args, **kwargs):
        raise AutoReconnect("primary stepped down")

    working = services.attendance_store.record_visit, services.events.seen.release
    monkeypatch.setattr(services.attendance_store, "record_visit", down)
    monkeypatch.setattr(services.events.seen, "release", down)
    joined = participant_event()
    assert deliver(signed_app, joined) == (500, {"message": "Database query failed"})
    monkeypatch.setattr(services.attendance_store, "record_visit", working[0])
    monkeypatch.setattr(services.events.seen, "release", working[1])
    assert deliver(signed_app, joined) == ACK  # within the lease: taken for a repeat
    assert signed_db.attendance.count_documents({}) == 0
    lapsed = datetime.now(UTC) - timedelta(seconds=1)
    signed_db.webhook_events.update_one({"_id": joined["id"]}, {"$set": {"claimedUntil": lapsed}})
    assert deliver(signed_app, joined) == ACK
    assert signed_db.attendance.count_documents({}) == 1
