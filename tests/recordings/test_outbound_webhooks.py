"""Outbound webhook deliveries, worked by the recording worker against a receiver on
loopback: order, the signature (checked with a plain HMAC), retries with a doubling delay,
refused addresses, disabling after failures and `webhooks enable`, and a delivery whose
worker vanished taken over after its lease."""

import base64
import hashlib
import hmac
import time
from datetime import timedelta

import pytest

from livesessions.clock import utcnow
from livesessions.errors import WEBHOOK_NOT_FOUND
from livesessions.jobs.repository import ENDPOINT_DISABLED
from tests.support.receiver import Receiver

SESSION = {"_id": "s-1", "title": "Algebra"}


@pytest.fixture
def hooks_app(make_app):
    return make_app(WEBHOOKS_DISABLE_AFTER_FAILURES=3, WEBHOOKS_DEADLINE_SECONDS=1)


@pytest.fixture
def hub(hooks_app):
    return hooks_app.extensions["livesessions"]


@pytest.fixture
def admin(hooks_app):
    from flask_jwt_extended import create_access_token

    with hooks_app.app_context():
        token = create_access_token(identity="admin-1", additional_claims={"role": "admin"})
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def register(hooks_app, admin, url, events=("session.created",)):
    response = hooks_app.test_client().post(
        "/webhooks", json={"url": url, "events": list(events)}, headers=admin
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def drain(hub):
    return hub.make_worker(periodic=[], worker_store=None).drain()


def make_due(hub):
    """Bring every rescheduled delivery's turn forward to now (a fake clock's jump)."""
    hub.database.db.recording_jobs.update_many(
        {"kind": "webhook", "status": "pending"}, {"$set": {"runAt": utcnow()}}
    )


def plain_signature(secret, timestamp, body):
    key = base64.b64decode(secret)
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_events_are_delivered_in_order_signed_with_the_secret(hooks_app, hub, admin, receiver):
    endpoint = register(hooks_app, admin, receiver.url, ["session.created", "session.updated"])
    ids = [
        hub.webhook_emitter.emit("session.created", {**SESSION, "n": 1}),
        hub.webhook_emitter.emit("session.updated", {**SESSION, "n": 2}),
        hub.webhook_emitter.emit("session.ended", {**SESSION, "n": 3}),  # not subscribed
        hub.webhook_emitter.emit("session.updated", {**SESSION, "n": 4}),
    ]
    before = int(time.time())
    assert drain(hub) == 3
    after = time.time()
    events = receiver.events()
    assert [event["id"] for event in events] == [ids[0], ids[1], ids[3]]
    assert [event["type"] for event in events] == ["session.created", *["session.updated"] * 2]
    assert [event["data"]["n"] for event in events] == [1, 2, 4]
    assert set(events[0]) == {"id", "type", "createdAt", "data"}
    for path, headers, body in receiver.received:
        assert path == "/hooks"
        assert headers["Content-Type"] == "application/json"
        timestamp = headers["X-Livesessions-Timestamp"]
        assert before <= int(timestamp) <= after  # when it was sent
        expected = plain_signature(endpoint["secret"], timestamp, body)
        assert headers["X-Livesessions-Signature"] == expected
    jobs = list(hub.database.db.recording_jobs.find({"kind": "webhook"}))
    assert {job["status"] for job in jobs} == {"done"}
    assert {job["_id"] for job in jobs} == {
        f"webhook:{endpoint['id']}:{i}" for i in ids if i != ids[2]
    }

    listed = hooks_app.test_client().get(f"/webhooks/{endpoint['id']}/deliveries", headers=admin)
    assert listed.status_code == 200
    attempts = listed.get_json()
    assert [a["eventId"] for a in attempts] == [ids[3], ids[1], ids[0]]  # newest first
    assert attempts[0]["type"] == "session.updated"
    assert attempts[0]["attempt"] == 1
    assert attempts[0]["status"] == 200
    assert attempts[0]["error"] is None
    assert attempts[0]["durationMs"] >= 0


def test_an_event_is_queued_once_per_endpoint(hooks_app, hub, admin, receiver):
    first = register(hooks_app, admin, receiver.url)
    second = register(hooks_app, admin, receiver.url)
    hub.webhook_emitter.emit("session.created", SESSION, event_id="event-1")
    hub.webhook_emitter.emit("session.created", SESSION, event_id="event-1")
    jobs = hub.database.db.recording_jobs.find({"kind": "webhook"})
    assert sorted(job["_id"] for job in jobs) == sorted(
        f"webhook:{e['id']}:event-1" for e in (first, second)
    )
    assert drain(hub) == 2
    assert [event["id"] for event in receiver.events()] == ["event-1", "event-1"]


def test_failures_are_retried_with_a_doubling_delay_until_the_receiver_recovers(
    hooks_app, hub, admin
):
    with Receiver(statuses=[500, 503]) as receiver:
        endpoint = register(hooks_app, admin, receiver.url)
        event_id = hub.webhook_emitter.emit("session.created", SESSION)
        jobs = hub.database.db.recording_jobs
        for delay in (30, 60):
            before = utcnow()
            assert drain(hub) == 1
            after = utcnow()
            job = jobs.find_one({"kind": "webhook"})
            assert job["status"] == "pending"
            # `delay` after the failure, which came between `before` and `after`
            assert before <= job["runAt"] - timedelta(seconds=delay) <= after
            make_due(hub)
        assert job["error"] == "HTTP 503"
        assert drain(hub) == 1
        assert [event["id"] for event in receiver.events()] == [event_id] * 3
    job = jobs.find_one({"kind": "webhook"})
    assert (job["status"], job["attempts"]) == ("done", 3)
    stored = hub.database.db.webhook_endpoints.find_one({"_id": endpoint["id"]})
    assert stored["consecutiveFailures"] == 0  # the success ended the run
    attempts = (
        hooks_app.test_client()
        .get(f"/webhooks/{endpoint['id']}/deliveries", headers=admin)
        .get_json()
    )
    assert [(a["attempt"], a["status"], a["error"]) for a in attempts] == [
        (3, 200, None),
        (2, 503, "HTTP 503"),
        (1, 500, "HTTP 500"),
    ]


def test_a_delivery_is_dropped_about_a_day_after_the_event(hooks_app, hub, admin):
    with Receiver(statuses=[500]) as receiver:
        register(hooks_app, admin, receiver.url)
        hub.webhook_emitter.emit("session.created", SESSION)
        jobs = hub.database.db.recording_jobs
        queued = utcnow() - timedelta(hours=23, minutes=59, seconds=45)  # the retry: past a day
        jobs.update_many({}, {"$set": {"createdAt": queued}})
        drain(hub)
    job = jobs.find_one({"kind": "webhook"})
    assert job["status"] == "failed"
    assert job["error"] == "given up after a day: HTTP 500"


def test_a_redirect_is_not_followed_and_a_slow_receiver_times_out(hooks_app, hub, admin):
    with Receiver(statuses=[302]) as receiver:
        endpoint = register(hooks_app, admin, receiver.url)
        hub.webhook_emitter.emit("session.created", SESSION)
        drain(hub)
        assert [path for path, _, _ in receiver.received] == ["/hooks"]  # not /moved
        receiver.delay = 1.5  # over WEBHOOKS_DEADLINE_SECONDS
        make_due(hub)
        drain(hub)
    attempts = hub.webhook_service.attempts.recent(endpoint["id"])
    assert attempts[1]["status"] == 302
    assert attempts[1]["error"] == "HTTP 302"
    assert attempts[0]["status"] is None
    assert attempts[0]["error"] == "timeout"


def test_a_delivery_to_a_refused_address_is_a_failed_attempt(make_app, receiver):
    app = make_app(WEBHOOKS_ALLOW_PRIVATE=False)
    hub = app.extensions["livesessions"]
    # registered while the address was allowed, or resolving elsewhere then
    endpoint = hub.webhook_store.create(receiver.url, ["session.created"], "c2VjcmV0")
    hub.webhook_emitter.emit("session.created", SESSION)
    assert drain(hub) == 1
    assert receiver.received == []
    (attempt,) = hub.webhook_service.attempts.recent(endpoint["_id"])
    assert attempt["status"] is None
    assert attempt["error"] == "refused: non-public address"
    job = hub.database.db.recording_jobs.find_one({"kind": "webhook"})
    assert job["status"] == "pending"


def test_an_endpoint_is_disabled_after_a_run_of_failures_and_enabled_by_the_cli(
    hooks_app, hub, admin
):
    with Receiver(statuses=[500, 500, 500]) as receiver:
        endpoint = register(hooks_app, admin, receiver.url)
        event_id = hub.webhook_emitter.emit("session.created", SESSION)
        for _ in range(3):  # WEBHOOKS_DISABLE_AFTER_FAILURES
            assert drain(hub) == 1
            make_due(hub)
        stored = hub.database.db.webhook_endpoints.find_one({"_id": endpoint["id"]})
        assert stored["enabled"] is False
        assert stored["consecutiveFailures"] == 3
        job = hub.database.db.recording_jobs.find_one({"kind": "webhook"})
        assert (job["status"], job["error"]) == ("failed", ENDPOINT_DISABLED)
        assert hub.webhook_emitter.emit("session.created", SESSION) is not None
        assert hub.database.db.recording_jobs.count_documents({"kind": "webhook"}) == 1
        listed = hooks_app.test_client().get("/webhooks", headers=admin).get_json()
        assert listed[0]["enabled"] is False
        assert listed[0]["disabledAt"] is not None

        result = hooks_app.test_cli_runner().invoke(args=["webhooks", "enable", endpoint["id"]])
        assert result.exit_code == 0, result.output
        assert (
            result.output == f"webhook endpoint {endpoint['id']} enabled; 1 delivery(ies) resumed\n"
        )
        stored = hub.database.db.webhook_endpoints.find_one({"_id": endpoint["id"]})
        assert (stored["enabled"], stored["consecutiveFailures"]) == (True, 0)
        assert drain(hub) == 1
        assert [event["id"] for event in receiver.events()] == [event_id] * 4
    job = hub.database.db.recording_jobs.find_one({"kind": "webhook"})
    assert job["status"] == "done"


def test_enabling_an_unknown_endpoint_fails(hooks_app):
    result = hooks_app.test_cli_runner().invoke(args=["webhooks", "enable", "nope"])
    assert result.exit_code == 1
    assert f"{WEBHOOK_NOT_FOUND}: nope" in result.output


def test_the_cli_lists_the_endpoints(hooks_app, admin, receiver):
    endpoint = register(hooks_app, admin, receiver.url, ["session.created", "attendance.final"])
    result = hooks_app.test_cli_runner().invoke(args=["webhooks", "list"])
    assert result.output == (
        f"{endpoint['id']} enabled failures=0 {receiver.url} session.created,attendance.final\n"
    )


def test_a_deleted_endpoint_gets_nothing_more(hooks_app, hub, admin, receiver):
    endpoint = register(hooks_app, admin, receiver.url)
    hub.webhook_emitter.emit("session.created", SESSION)
    client = hooks_app.test_client()
    assert client.delete(f"/webhooks/{endpoint['id']}", headers=admin).status_code == 200
    assert drain(hub) == 1
    assert receiver.received == []
    job = hub.database.db.recording_jobs.find_one({"kind": "webhook"})
    assert (job["status"], job["error"]) == ("failed", "the webhook endpoint was deleted")


def test_a_delivery_whose_worker_vanished_is_made_after_its_lease(hooks_app, hub, admin, receiver):
    register(hooks_app, admin, receiver.url)
    event_id = hub.webhook_emitter.emit("session.created", SESSION)
    vanished = hub.job_store.lease("killed-worker", 600, 6)  # leased, never finished
    assert vanished["kind"] == "webhook"
    assert drain(hub) == 0  # leased: not yet anyone else's
    ran_out = utcnow() - timedelta(seconds=1)  # its lease runs out (a fake clock's jump)
    hub.database.db.recording_jobs.update_one(
        {"_id": vanished["_id"]}, {"$set": {"leaseUntil": ran_out}}
    )
    assert drain(hub) == 1
    assert [event["id"] for event in receiver.events()] == [event_id]
    job = hub.database.db.recording_jobs.find_one({"kind": "webhook"})
    assert (job["status"], job["attempts"]) == ("done", 2)


def test_webhook_deliveries_are_not_bound_by_recording_max_attempts(make_app):
    app = make_app(RECORDING_MAX_ATTEMPTS=1)
    hub = app.extensions["livesessions"]
    with Receiver(statuses=[500]) as receiver:
        hub.webhook_store.create(receiver.url, ["session.created"], "c2VjcmV0")
        hub.webhook_emitter.emit("session.created", SESSION)
        assert drain(hub) == 1
        make_due(hub)
        assert drain(hub) == 1  # a second attempt, over RECORDING_MAX_ATTEMPTS
        assert len(receiver.received) == 2


def test_an_emission_that_fails_is_logged_not_raised(hub, monkeypatch, caplog):
    def broken(event_type):
        raise RuntimeError("database down")

    monkeypatch.setattr(hub.webhook_store, "subscribed", broken)
    assert hub.webhook_emitter.emit("session.created", SESSION) is None
    assert "could not be queued" in caplog.text


def test_attempts_kept_are_capped(hub):
    from livesessions.outbound.attempts_repository import ATTEMPTS_KEPT

    store = hub.webhook_service.attempts
    for n in range(ATTEMPTS_KEPT + 5):
        store.record("e-1", {"eventId": str(n), "at": utcnow()})
    kept = store.recent("e-1")
    assert len(kept) == ATTEMPTS_KEPT
    assert kept[0]["eventId"] == str(ATTEMPTS_KEPT + 4)
