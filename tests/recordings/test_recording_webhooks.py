"""The recording events: `recording.ready` once the worker's upload is done (on the
Cloudinary sandbox), `recording.deleted` once DELETE marked it deleted; each with the
session's id and the recording as GET /sessions/:id/recordings shows it."""

import hashlib
import uuid

import pytest

from tests.support.factories import INSTRUCTOR, in_class, seed_session
from tests.support.receiver import Receiver
from tests.support.sandbox import UPLOAD_CHUNK, cloudinary_settings

EVENTS = ["recording.ready", "recording.deleted"]


@pytest.fixture
def app(make_app, cloud):
    return make_app(**cloudinary_settings(cloud), RECORDING_MAX_ATTEMPTS=1)


@pytest.fixture
def hub(app):
    return app.extensions["livesessions"]


@pytest.fixture
def session(db):
    return seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())


@pytest.fixture
def receiver(hub, daily):
    with Receiver() as running:
        daily.mock.add_passthru(running.url)  # Daily is mocked; the receiver is real
        hub.webhook_store.create(running.url, EVENTS, "c2VjcmV0")
        yield running


@pytest.fixture
def headers(token_for):
    return {"Authorization": f"Bearer {token_for(INSTRUCTOR, 'instructor')}"}


def finish(app, daily, recording_id, data):
    """Daily finishes `recording_id` (its file `data`; None: the download fails for good)."""
    if data is not None:
        daily.files[recording_id] = data
    payload = {"recording_id": recording_id, "room_name": "room-a", "duration": 600}
    envelope = {"type": "recording.ready-to-download", "id": str(uuid.uuid4()), "payload": payload}
    assert app.test_client().post("/sessions/webhook/daily", json=envelope).status_code == 200


def video(seed):
    return (hashlib.sha256(seed.encode()).digest() * 400)[: 3 * UPLOAD_CHUNK]


def drain(hub):
    return hub.make_worker(periodic=[], worker_store=None).drain()


def test_a_ready_then_deleted_recording_is_two_events(app, hub, daily, session, receiver, headers):
    finish(app, daily, "rec-1", video("one"))
    assert drain(hub) == 2  # the upload, then its event's delivery
    client = app.test_client()
    listed = client.get(f"/sessions/{session['_id']}/recordings", headers=headers).get_json()
    (ready,) = receiver.events()
    assert ready["type"] == "recording.ready"
    assert ready["data"] == {"sessionId": session["_id"], "recording": listed[0]}
    assert ready["data"]["recording"]["status"] == "ready"

    response = client.delete(f"/sessions/{session['_id']}/recordings/rec-1", headers=headers)
    assert response.status_code == 200
    assert drain(hub) == 1
    deleted = receiver.events()[1]
    assert deleted["type"] == "recording.deleted"
    assert deleted["data"] == {"sessionId": session["_id"], "recording": response.get_json()}
    assert deleted["data"]["recording"]["status"] == "deleted"
    # deleting it again changes nothing: no second event
    client.delete(f"/sessions/{session['_id']}/recordings/rec-1", headers=headers)
    assert drain(hub) == 0


def test_a_failed_upload_is_no_event(app, hub, daily, session, receiver):
    finish(app, daily, "rec-2", None)
    assert drain(hub) == 1  # the upload only
    assert receiver.received == []
    assert hub.database.db.recording_jobs.count_documents({"kind": "webhook"}) == 0


def test_without_subscribers_nothing_is_queued(app, hub, daily, session):
    finish(app, daily, "rec-3", video("three"))
    assert drain(hub) == 1
    assert hub.database.db.recording_jobs.count_documents({"kind": "webhook"}) == 0
