"""End to end over real loopback HTTP: the API served by a real server, both sandboxes.

create session -> start recording -> stop -> Daily fires the webhook -> worker -> the
session carries the Cloudinary URL, whose bytes are the recording's.
"""

import hashlib

import requests

from devtools.sandbox.daily import recording_content
from livesessions.jobs.worker import start_worker_thread
from tests.support.factories import in_class, iso, session_payload, starting_soon
from tests.support.processes import wait_until


def test_a_class_is_recorded_and_published(stack):
    base, auth, daily, cloud, app = stack
    session = requests.post(
        f"{base}/sessions", json=session_payload(scheduledAt=iso(starting_soon())), headers=auth
    ).json()
    room = session["roomName"]

    started = requests.post(f"{base}/sessions/recording/start", json={"roomName": room}).json()
    assert started["success"] is True
    assert started["recording"]["room_name"] == room
    wait_until(lambda: any(d["type"] == "recording.started" for d in daily.webhook_deliveries))

    stopped = requests.post(
        f"{base}/sessions/recording/stop", json={"recordingId": started["recording"]["id"]}
    ).json()
    assert stopped["recording"]["status"] == "finished"

    ready = wait_until(
        lambda: [d for d in daily.webhook_deliveries if d["type"] == "recording.ready-to-download"]
    )
    assert ready[0]["status"] == 200  # the signature was accepted
    services = app.extensions["livesessions"]
    (daily_id,) = daily.recordings
    assert services.recording_store.find(started["recording"]["id"])["dailyId"] == daily_id

    begun = {"$set": {"scheduledAt": in_class()}}  # the class is under way by the upload
    services.database.db.livesessions.update_one({"_id": session["_id"]}, begun)
    assert services.make_worker().drain() == 1
    published = requests.get(f"{base}/sessions/{session['_id']}", headers=auth).json()
    assert published["isRecorded"] is True
    assert published["status"] == "ended"
    assert published["recordingUrl"].startswith(cloud.url)
    assert published["recordingDuration"] == daily.recordings[daily_id]["duration"]

    expected = hashlib.sha256()
    for piece in recording_content(daily.recordings[daily_id], 300_000):
        expected.update(piece)
    video = requests.get(published["recordingUrl"], timeout=5)
    assert hashlib.sha256(video.content).hexdigest() == expected.hexdigest()
    assert len(cloud.uploads) == 3  # 300 kB in 100 kB chunks


def test_a_background_worker_thread_picks_the_job_up(stack):
    base, auth, _, cloud, app = stack
    from livesessions.jobs.worker import start_worker_thread

    stop = start_worker_thread(app.extensions["livesessions"].make_worker(poll_seconds=0.05))
    try:
        session = requests.post(
            f"{base}/sessions", json=session_payload(scheduledAt=iso(starting_soon())), headers=auth
        ).json()
        started = requests.post(
            f"{base}/sessions/recording/start", json={"roomName": session["roomName"]}
        ).json()
        requests.post(
            f"{base}/sessions/recording/stop", json={"recordingId": started["recording"]["id"]}
        )
        url = wait_until(
            lambda: requests.get(f"{base}/sessions/{session['_id']}", headers=auth).json()[
                "recordingUrl"
            ]
        )
        assert url.startswith(cloud.url)
    finally:
        stop.set()


def test_a_recording_whose_webhooks_are_all_lost_still_reaches_the_session(stack):
    """Daily delivers nothing (webhook down); the worker's reconciler finds the recording."""
    base, auth, daily, cloud, app = stack
    assert cloud.uploads == []
    daily.webhook_url = None  # every event from now on is lost
    session = requests.post(
        f"{base}/sessions", json=session_payload(scheduledAt=iso(starting_soon())), headers=auth
    ).json()
    url = f"{base}/sessions/{session['_id']}"
    started = requests.post(
        f"{base}/sessions/recording/start", json={"roomName": session["roomName"]}
    ).json()
    assert requests.get(url, headers=auth).json()["recordingStatus"] == "recording"
    requests.post(
        f"{base}/sessions/recording/stop", json={"recordingId": started["recording"]["id"]}
    ).raise_for_status()
    assert requests.get(url, headers=auth).json()["recordingStatus"] == "processing"
    begun = {"$set": {"scheduledAt": in_class()}}  # the class is under way by the upload
    app.extensions["livesessions"].database.db.livesessions.update_one(
        {"_id": session["_id"]}, begun
    )
    assert daily.webhook_deliveries == []

    services = app.extensions["livesessions"]
    services.reconcile_seconds = 0.1
    stop = start_worker_thread(services.make_worker(poll_seconds=0.05))
    try:
        # the upload's two writes: the recording shown, then the class ended; then the job
        # is marked done (after them: read it only once it is)
        done = wait_until(
            lambda: (
                (body := requests.get(url, headers=auth).json())["status"] == "ended"
                and services.job_store.list()[0]["status"] == "done"
                and body
            )
        )
    finally:
        stop.set()
    assert done["recordingStatus"] == "ready"
    assert done["status"] == "ended"
    (recording,) = daily.recordings.values()
    expected = b"".join(recording_content(recording, 300_000))
    assert requests.get(done["recordingUrl"], timeout=5).content == expected
    job = services.job_store.list()[0]
    assert (job["_id"], job["status"], job["attempts"]) == (recording["id"], "done", 1)
