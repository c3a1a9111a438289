"""`recordingStatus` reflects the session's latest recording: an older recording that
fails for good, or is retried, never hides a later one (ready, queued or in progress)."""

import hashlib
from datetime import timedelta

import pytest

from tests.support.factories import in_class, seed_session
from tests.support.sandbox import cloudinary_settings


@pytest.fixture
def app(make_app, cloud):
    return make_app(
        **cloudinary_settings(cloud), RECORDING_RETRY_BASE_SECONDS=0, RECORDING_MAX_ATTEMPTS=2
    )


@pytest.fixture
def worker(services):
    return services.make_worker(worker_id="w")


def deliver(client, recording_id):
    """Daily's recording.ready-to-download of one recording of room-a: its job is queued."""
    payload = {"recording_id": recording_id, "room_name": "room-a", "duration": 60}
    event = {"type": "recording.ready-to-download", "payload": payload}
    assert client.post("/sessions/webhook/daily", json=event).status_code == 200


def first_due(db, recording_id):
    """Make the job of `recording_id` the one leased next."""
    earliest = min(job["runAt"] for job in db.recording_jobs.find())
    db.recording_jobs.update_one(
        {"_id": recording_id}, {"$set": {"runAt": earliest - timedelta(seconds=1)}}
    )


def shown(client, auth, session):
    body = client.get(f"/sessions/{session['_id']}", headers=auth).get_json()
    return body["recordingStatus"], body["recordingUrl"]


def test_an_older_recording_failing_after_a_later_one_is_ready_leaves_ready(
    client, auth, daily, db, worker, session
):
    daily.files["rec-2"] = b"second" * 1000  # Daily knows no rec-1: it fails at once (404)
    deliver(client, "rec-1")
    deliver(client, "rec-2")
    first_due(db, "rec-2")
    assert worker.process_next()  # #2 uploaded: shown, ready
    ready = shown(client, auth, session)
    assert ready[0] == "ready"

    assert worker.process_next()  # #1 fails for good after it

    job = db.recording_jobs.find_one({"_id": "rec-1"})
    assert (job["status"], job["recordingNumber"]) == ("failed", 1)
    assert shown(client, auth, session) == ready
    stored = db.livesessions.find_one({"_id": session["_id"]})
    assert (stored["recordingNumber"], stored["recordingCount"]) == (2, 2)


def test_the_latest_recording_failing_is_shown_failed(client, auth, daily, db, worker, session):
    daily.files["rec-1"] = b"first" * 1000  # rec-2 is unknown to Daily: it fails
    deliver(client, "rec-1")
    deliver(client, "rec-2")
    assert worker.process_next()  # #1 ready
    assert shown(client, auth, session)[0] == "ready"
    assert worker.process_next()  # #2, the latest, fails
    status, url = shown(client, auth, session)
    assert status == "failed"
    assert url == db.livesessions.find_one({"_id": session["_id"]})["recordingUrl"]  # #1's


def test_an_older_failure_leaves_a_later_recording_processing_then_ready(
    client, auth, daily, db, worker, session
):
    daily.files["rec-2"] = b"second" * 1000
    deliver(client, "rec-1")
    deliver(client, "rec-2")  # queued, not uploaded yet
    first_due(db, "rec-1")
    assert worker.process_next()  # #1 fails for good first
    assert shown(client, auth, session) == ("processing", None)
    assert worker.process_next()
    status, url = shown(client, auth, session)
    assert (status, url is not None) == ("ready", True)


def test_an_older_failure_leaves_a_recording_in_progress_recording(
    client, auth, daily, db, worker, session
):
    deliver(client, "rec-1")  # Daily knows no rec-1: the job will fail
    started = client.post("/sessions/recording/start", json={"roomName": "room-a"})
    assert started.status_code == 200  # the next recording runs
    assert worker.process_next()
    assert db.recording_jobs.find_one({"_id": "rec-1"})["status"] == "failed"
    assert shown(client, auth, session) == ("recording", None)


def test_retrying_an_older_job_after_a_later_one_is_ready_leaves_ready(
    app, client, auth, daily, db, cloud, worker, session
):
    second = b"second" * 1000
    daily.files["rec-2"] = second
    deliver(client, "rec-1")
    deliver(client, "rec-2")
    first_due(db, "rec-2")
    worker.drain()  # #2 ready, #1 failed (Daily did not know it yet)
    ready = shown(client, auth, session)
    daily.files["rec-1"] = b"first" * 1000

    result = app.test_cli_runner().invoke(args=["recordings", "retry", "rec-1"])

    assert result.exit_code == 0, result.output
    assert shown(client, auth, session) == ready  # not "processing" for an older one
    assert worker.drain() == 1
    assert db.recording_jobs.find_one({"_id": "rec-1"})["status"] == "done"
    assert shown(client, auth, session) == ready  # #2 still shown: the latest
    latest = cloud.assets[f"live-sessions/{session['course']}/{session['_id']}-recording-2"]
    assert latest["sha256"] == hashlib.sha256(second).hexdigest()
    assert ready[1] == latest["result"]["secure_url"]


def test_retrying_the_latest_failed_job_shows_processing(app, client, auth, daily, db, worker):
    session = seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())
    deliver(client, "rec-1")
    worker.drain()
    assert shown(client, auth, session) == ("failed", None)
    daily.files["rec-1"] = b"now known" * 100
    assert app.test_cli_runner().invoke(args=["recordings", "retry", "rec-1"]).exit_code == 0
    assert shown(client, auth, session) == ("processing", None)
    worker.drain()
    assert shown(client, auth, session)[0] == "ready"


def test_a_job_named_only_when_it_runs_is_judged_by_its_number(
    client, auth, daily, db, worker, session
):
    """A job queued before names is numbered by the attempt that then fails, and that
    number decides: a recording in progress since is later and keeps its status."""
    deliver(client, "rec-1")  # Daily knows no rec-1: the job will fail
    db.recording_jobs.update_one(
        {"_id": "rec-1"}, {"$unset": {"assetName": "", "recordingNumber": ""}}
    )
    db.livesessions.update_one({"_id": session["_id"]}, {"$unset": {"recordingCount": ""}})
    started = client.post("/sessions/recording/start", json={"roomName": "room-a"})
    assert started.status_code == 200
    assert worker.process_next()
    job = db.recording_jobs.find_one({"_id": "rec-1"})
    assert (job["status"], job["recordingNumber"]) == ("failed", 1)
    assert shown(client, auth, session) == ("recording", None)
