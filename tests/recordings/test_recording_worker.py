"""The upload worker: Daily (via `responses`) -> temporary file -> Cloudinary sandbox (HTTP)."""

import hashlib
import itertools
import logging
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from livesessions.clock import iso
from livesessions.jobs.periodic import PeriodicTask
from livesessions.recordings.downloads import DIRECTORY_NAME, FREE_SPACE_MARGIN_BYTES
from livesessions.recordings.naming import asset_name
from tests.support.factories import COURSE, in_class, seed_session, starting_soon
from tests.support.processes import wait_until
from tests.support.sandbox import UPLOAD_CHUNK, cloudinary_settings
from tests.support.trickle import TricklingSource
from tests.support.workers import running

RECORDING = "daily-rec-1"
CHUNK = UPLOAD_CHUNK


def content(size, seed=b"x"):
    return (hashlib.sha256(seed).digest() * (size // 32 + 1))[:size]


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path, monkeypatch):
    """The temporary directory, here, so a test can see that no download is left behind;
    returns the workers' downloads directory in it."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    return temporary / DIRECTORY_NAME


def on_sandbox(cloud, **settings):
    """The settings of an app uploading to the Cloudinary sandbox `cloud`, retrying at
    once, plus `settings`."""
    return {**cloudinary_settings(cloud), "RECORDING_RETRY_BASE_SECONDS": 0, **settings}


@pytest.fixture
def app(make_app, cloud):
    return make_app(**on_sandbox(cloud, RECORDING_MAX_ATTEMPTS=3))


@pytest.fixture
def worker(services):
    return services.make_worker(worker_id="worker-1")


def deliver(client, recording_id=RECORDING, room="room-a", duration=3600):
    response = client.post(
        "/sessions/webhook/daily",
        json={
            "version": "1.0.0",
            "type": "recording.ready-to-download",
            "id": "evt",
            "payload": {
                "type": "cloud",
                "recording_id": recording_id,
                "room_name": room,
                "duration": duration,
                "status": "finished",
            },
            "event_ts": 1,
        },
    )
    assert response.status_code == 200


def test_a_recording_ends_up_on_the_session(
    client, daily, db, cloud, worker, session, private_tempdir
):
    data = content(3 * CHUNK + 100)
    daily.files[RECORDING] = data
    deliver(client)
    assert worker.drain() == 1

    stored = db.livesessions.find_one({"_id": session["_id"]})
    public_id = f"live-sessions/{COURSE}/{session['_id']}-recording"
    asset = cloud.assets[public_id]
    assert stored["recordingUrl"] == asset["result"]["secure_url"]
    assert stored["recordingUrl"].startswith(f"{cloud.url}/{cloud.cloud_name}/video/upload/")
    assert stored["recordingDuration"] == 3600  # from Daily: the sandbox found no duration
    assert (stored["isRecorded"], stored["status"]) == (True, "ended")
    assert asset["sha256"] == hashlib.sha256(data).hexdigest()

    # what the SDK sent: 4 chunks, one upload id, consecutive ranges, our folder and id
    chunks = cloud.uploads
    assert [c["content_range"] for c in chunks] == [
        f"bytes {start}-{min(start + CHUNK, len(data)) - 1}/{len(data)}"
        for start in range(0, len(data), CHUNK)
    ]
    assert len({c["upload_id"] for c in chunks}) == 1
    assert all(c["path"] == f"/v1_1/{cloud.cloud_name}/video/upload" for c in chunks)
    first = chunks[0]["params"]
    assert first["folder"] == f"live-sessions/{COURSE}"
    assert first["asset_folder"] == f"live-sessions/{COURSE}"
    assert first["public_id"] == f"{session['_id']}-recording"
    assert first["overwrite"] == "1"

    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert (job["status"], job["attempts"], job["error"]) == ("done", 1, None)
    assert job["result"]["recordingUrl"] == stored["recordingUrl"]
    assert job["result"]["bytes"] == len(data)
    assert list(private_tempdir.iterdir()) == []  # the download was removed
    (link_call,) = daily.calls(kind="access")
    assert link_call.request.url.endswith(f"/recordings/{RECORDING}/access-link")


def test_cloudinarys_duration_wins_over_dailys(client, daily, db, worker, session):
    daily.files[RECORDING] = b"LIVESESSIONS-SANDBOX-RECORDING duration=61.5\n" + content(CHUNK)
    deliver(client, duration=70)
    worker.drain()
    assert db.livesessions.find_one({"_id": session["_id"]})["recordingDuration"] == 61.5


def test_five_deliveries_make_one_upload_and_one_session_update(
    client, daily, db, cloud, worker, services, session, monkeypatch
):
    daily.files[RECORDING] = content(CHUNK)
    updates = []
    real = services.session_store.record_upload
    monkeypatch.setattr(
        services.session_store, "record_upload", lambda *a: updates.append(a) or real(*a)
    )
    for _ in range(5):
        deliver(client)
    assert worker.drain() == 1
    assert worker.drain() == 0
    assert len(cloud.uploads) == 1
    assert len(updates) == 1


def test_concurrent_workers_process_each_job_once(client, daily, db, cloud, services, session):
    for n in range(6):
        daily.files[f"rec-{n}"] = content(CHUNK, seed=str(n).encode())
        deliver(client, recording_id=f"rec-{n}")
    processed = []
    workers = [services.make_worker(worker_id=f"w{i}") for i in range(4)]
    threads = [threading.Thread(target=lambda w=w: processed.append(w.drain())) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(processed) == 6
    assert len(cloud.uploads) == 6  # one single-chunk upload per recording
    jobs = list(db.recording_jobs.find())
    assert {job["status"] for job in jobs} == {"done"}
    assert {job["attempts"] for job in jobs} == {1}


class LeaseClock:
    """The job store's time (leases, renewals, expiry), held until the test moves it.

    `advance` moves it by less than a lease, then waits until every job in hand has been
    renewed at the new time (its worker renews every third of a lease). A lease then runs
    out only if it is not renewed, never because a thread was slow to be scheduled. Each
    renewal asks for a millisecond more than the one before: at a held time it would write
    the very lease the job has, which the store takes for a lease lost (nothing modified).
    """

    def __init__(self, monkeypatch, services, lease_seconds):
        import livesessions.jobs.repository as jobs

        self.now = jobs.utcnow()
        self.db = services.database.db
        self.lease = timedelta(seconds=lease_seconds)
        self.moving = threading.Lock()  # one move at a time, each waiting for the renewals
        store, renewals = services.job_store, itertools.count(1)
        renew = store.renew_lease
        monkeypatch.setattr(jobs, "utcnow", lambda: self.now)
        monkeypatch.setattr(
            store,
            "renew_lease",
            lambda job_id, holder, seconds: renew(job_id, holder, seconds + next(renewals) / 1000),
        )

    def advance(self, seconds):
        assert timedelta(seconds=seconds) < self.lease
        with self.moving:
            self.now += timedelta(seconds=seconds)
            wait_until(self.all_renewed)  # the renewers' next turns: a fraction of a second

    def all_renewed(self):
        in_hand = self.db.recording_jobs.find({"status": "processing"})
        return all(job["leaseUntil"] >= self.now + self.lease for job in in_hand)


def test_a_long_upload_keeps_its_lease(client, daily, db, cloud, services, session, monkeypatch):
    clock = LeaseClock(monkeypatch, services, lease_seconds=0.3)
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    slow = services.make_worker(worker_id="slow", lease_seconds=0.3)
    other = services.make_worker(worker_id="other", lease_seconds=0.3)
    upload = slow.handler("upload").upload
    others_tries = []

    def long_upload(job):
        for _ in range(4):  # 1 s of the store's time: over three leases
            clock.advance(0.25)
            others_tries.append(other.process_next())
        return upload(job)

    monkeypatch.setattr(slow.handler("upload"), "upload", long_upload)
    assert slow.process_next() is True
    assert others_tries == [False] * 4  # the renewed lease kept the job from the other worker
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert (job["status"], job["worker"], job["attempts"]) == ("done", "slow", 1)
    assert len(cloud.uploads) == 1


@pytest.mark.slow
def test_workers_with_short_leases_and_slow_uploads_do_each_job_exactly_once(
    client, daily, db, cloud, services, session, monkeypatch
):
    clock = LeaseClock(monkeypatch, services, lease_seconds=0.15)
    for n in range(9):
        daily.files[f"rec-{n}"] = content(CHUNK, seed=str(n).encode())
        deliver(client, recording_id=f"rec-{n}")
    uploaded = []
    workers = [services.make_worker(worker_id=f"w{i}", lease_seconds=0.15) for i in range(3)]
    for worker in workers:
        upload = worker.handler("upload").upload

        def slow_upload(job, upload=upload, worker=worker):
            for _ in range(2):  # longer than the lease in all: only renewal keeps it
                clock.advance(0.1)
            uploaded.append((job["_id"], worker.worker_id))
            return upload(job)

        monkeypatch.setattr(worker.handler("upload"), "upload", slow_upload)
    threads = [threading.Thread(target=worker.drain) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(job for job, _ in uploaded) == sorted(f"rec-{n}" for n in range(9))
    assert len({w for _, w in uploaded}) > 1  # the work was shared
    jobs = list(db.recording_jobs.find())
    assert {(job["status"], job["attempts"]) for job in jobs} == {("done", 1)}


def test_a_job_whose_worker_died_is_taken_over_after_its_lease(
    client, daily, db, cloud, services, worker, session
):
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    store = services.job_store
    dead = store.lease("dead-worker", lease_seconds=600, max_attempts=3)
    assert dead["_id"] == RECORDING
    assert worker.drain() == 0  # leased: not due for anyone else
    expired = dead["createdAt"] - timedelta(minutes=1)
    db.recording_jobs.update_one({"_id": RECORDING}, {"$set": {"leaseUntil": expired}})
    assert worker.drain() == 1  # the lease expired: taken over
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert (job["status"], job["worker"], job["attempts"]) == ("done", "worker-1", 2)
    # the dead worker, had it come back, could not overwrite the outcome
    assert store.fail(RECORDING, "dead-worker", "late") is False
    assert db.recording_jobs.find_one({"_id": RECORDING})["status"] == "done"
    assert db.livesessions.find_one({"_id": session["_id"]})["isRecorded"] is True


def test_a_dead_worker_on_the_last_attempt_fails_the_job(
    client, daily, db, services, worker, session
):
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    db.recording_jobs.update_one(
        {"_id": RECORDING},
        {
            "$set": {
                "status": "processing",
                "attempts": 3,
                "leaseUntil": session["createdAt"] - timedelta(minutes=1),
            }
        },
    )
    assert worker.drain() == 0
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert (job["status"], job["error"]) == ("failed", "the worker stopped during the last attempt")


def test_cloudinary_failing_twice_then_succeeding(client, daily, db, cloud, worker, session):
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    cloud.fail_next(2)
    assert worker.drain() == 3
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert (job["status"], job["attempts"]) == ("done", 3)
    assert db.livesessions.find_one({"_id": session["_id"]})["isRecorded"] is True


def test_cloudinary_failing_always_fails_the_job_and_leaves_the_session(
    client, daily, db, cloud, worker, session
):
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    cloud.fail_next(100, status=500, message="cloud on fire")
    assert worker.drain() == 3  # RECORDING_MAX_ATTEMPTS
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert job["status"] == "failed"
    assert job["attempts"] == 3
    assert "GeneralError" in job["error"]
    assert "cloud on fire" in job["error"]
    # nothing of the recording is set, and the instructor can see that it failed; its
    # name stays reserved (the session's first: a retry would reuse it)
    assert db.livesessions.find_one({"_id": session["_id"]}) == {
        **session,
        "recordingStatus": "failed",
        "recordingCount": 1,
    }
    assert (job["recordingNumber"], job["assetName"]) == (1, f"{session['_id']}-recording")


def test_retries_back_off_exponentially(make_app, cloud, daily):
    app = make_app(**on_sandbox(cloud, RECORDING_RETRY_BASE_SECONDS=30))
    db = app.extensions["livesessions"].database.db
    seed_session(db, roomName="room-a", status="live")
    daily.files[RECORDING] = content(CHUNK)
    deliver(app.test_client())
    cloud.fail_next(100)
    worker = app.extensions["livesessions"].make_worker()
    for delay in (30, 60, 120):
        before = db_now()
        db.recording_jobs.update_one({"_id": RECORDING}, {"$set": {"runAt": before}})
        assert worker.drain() == 1  # one attempt, then the job waits
        after = db_now()
        job = db.recording_jobs.find_one({"_id": RECORDING})
        # `delay` after the failure, which came between `before` and `after`
        assert before <= job["runAt"] - timedelta(seconds=delay) <= after


def db_now():
    from livesessions.clock import utcnow

    return utcnow()


def test_the_download_link_is_refetched_on_every_attempt(client, daily, db, worker, session):
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    daily.fail("download", 503, times=1)
    assert worker.drain() == 2
    assert len(daily.calls(kind="access")) == 2
    assert db.recording_jobs.find_one({"_id": RECORDING})["status"] == "done"


def test_an_unknown_recording_fails_at_once(client, daily, db, worker, session):
    deliver(client)  # Daily has no such recording: access-link answers 404
    assert worker.drain() == 1
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert "404" in job["error"]


def test_a_vanished_session_fails_at_once(client, daily, db, worker, session):
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    db.livesessions.delete_one({"_id": session["_id"]})
    assert worker.drain() == 1
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert job["status"] == "failed"
    assert "no longer exists" in job["error"]
    assert daily.calls(kind="access") == []


def test_an_empty_download_is_retried(client, daily, db, worker, session):
    daily.files[RECORDING] = b""
    deliver(client)
    assert worker.drain() == 3
    assert "empty" in db.recording_jobs.find_one({"_id": RECORDING})["error"]


def test_a_recording_gone_from_storage_fails_at_once(client, daily, db, worker, session):
    """The storage host's 404 (the presigned object is gone) ends the job as Daily's does."""
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    daily.fail("download", 404)
    assert worker.drain() == 1
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert job["error"].endswith(": recording download answered 404")
    assert db.livesessions.find_one({"_id": session["_id"]})["recordingStatus"] == "failed"
    assert len(daily.calls(kind="access")) == 1  # one attempt, not retried


@pytest.mark.parametrize("failure", ["empty download", "full disk", "storage 503"])
def test_a_failed_download_is_a_warning_and_retried(
    client, daily, db, services, session, caplog, failure
):
    """Expected failures of fetching a recording (not Daily's own) are retried and logged
    as warnings, without a traceback, as a Daily failure is."""
    daily.files[RECORDING] = b"" if failure == "empty download" else content(CHUNK)
    deliver(client)
    worker = services.make_worker(worker_id="worker-1", retry_base_seconds=3600)
    if failure == "full disk":
        worker.handler("upload").downloads.disk_free = lambda directory: FREE_SPACE_MARGIN_BYTES
    if failure == "storage 503":
        daily.fail("download", 503)
    caplog.set_level(logging.INFO, logger="livesessions.recordings")
    assert worker.drain() == 1
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert (job["status"], job["attempts"]) == ("pending", 1)
    retried = [record for record in caplog.records if "retry in 3600" in record.getMessage()]
    assert [(record.levelno, record.exc_info) for record in retried] == [(logging.WARNING, None)]


def test_a_cancelled_session_keeps_its_status(client, daily, db, worker):
    cancelled = seed_session(db, roomName="room-a", status="cancelled")
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    worker.drain()
    stored = db.livesessions.find_one({"_id": cancelled["_id"]})
    assert (stored["status"], stored["isRecorded"]) == ("cancelled", True)


def meeting(client, event_type, start, end=None):
    """meeting.started or .ended in room-a of the meeting that began at `start`."""
    payload = {"room": "room-a", "meeting_id": f"m{start}", "start_ts": start}
    if end is not None:
        payload["end_ts"] = end
    envelope = {"version": "1.0.0", "type": event_type, "id": "evt", "payload": payload}
    assert client.post("/sessions/webhook/daily", json=envelope).status_code == 200


def over_class(db):
    """A live one-hour class that is over (within the room's grace)."""
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=70)
    return seed_session(db, roomName="room-a", status="live", scheduledAt=starts, duration=60)


def test_an_upload_while_the_meeting_runs_leaves_the_class_live(client, daily, db, worker):
    """A class recorded in two halves: the first upload does not end it, its meeting's end
    (its time being over) does."""
    doc = over_class(db)
    start = int(doc["scheduledAt"].timestamp())
    meeting(client, "meeting.started", start)
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    assert worker.drain() == 1
    stored = db.livesessions.find_one({"_id": doc["_id"]})
    assert (stored["status"], stored["isRecorded"], stored["recordingStatus"]) == (
        "live",
        True,
        "ready",
    )
    assert stored["recordingUrl"].startswith("http")
    meeting(client, "meeting.ended", start, start + 4000)
    after = db.livesessions.find_one({"_id": doc["_id"]})
    assert (after["status"], after["recordingUrl"]) == ("ended", stored["recordingUrl"])


def test_an_upload_after_the_meeting_ended_ends_the_class(client, daily, db, worker):
    doc = over_class(db)
    start = int(doc["scheduledAt"].timestamp())
    meeting(client, "meeting.started", start)
    meeting(client, "meeting.ended", start, start + 4000)
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    assert worker.drain() == 1
    stored = db.livesessions.find_one({"_id": doc["_id"]})
    assert (stored["status"], stored["isRecorded"], stored["meeting"]["running"]) == (
        "ended",
        True,
        False,
    )


def test_the_worker_loop_stops_gracefully(client, daily, db, services, session):
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    worker = services.make_worker(poll_seconds=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    for _ in range(500):  # one upload: well under the 5 s this allows
        if db.recording_jobs.find_one({"_id": RECORDING})["status"] == "done":
            break
        stop.wait(0.01)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert db.recording_jobs.find_one({"_id": RECORDING})["status"] == "done"


def test_cli_list_retry_and_process(app, client, daily, db, cloud, session):
    runner = app.test_cli_runner()
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    cloud.fail_next(3)
    assert "processed 3 job(s)" in runner.invoke(args=["recordings", "process", "--once"]).output
    listed = runner.invoke(args=["recordings", "list", "--status", "failed"]).output
    assert RECORDING in listed
    assert "failed" in listed
    assert "attempts=3" in listed
    assert (
        runner.invoke(args=["recordings", "list", "--status", "done"]).output.strip() == "no jobs"
    )

    retried = runner.invoke(args=["recordings", "retry", RECORDING])
    assert retried.exit_code == 0
    assert "queued again" in retried.output
    assert "processed 1 job(s)" in runner.invoke(args=["recordings", "process", "--once"]).output
    assert db.recording_jobs.find_one({"_id": RECORDING})["status"] == "done"
    assert db.livesessions.find_one({"_id": session["_id"]})["isRecorded"] is True

    again = runner.invoke(args=["recordings", "retry", RECORDING])
    assert again.exit_code != 0
    assert "no failed job" in again.output


def test_no_temporary_file_is_left_after_a_failure(
    client, daily, cloud, worker, session, private_tempdir
):
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    cloud.fail_next(100)
    worker.drain()
    assert list(private_tempdir.iterdir()) == []
    assert os.path.isdir(private_tempdir)


# -- every recording its own asset (never overwritten) ------------------------------------

FOLDER = f"live-sessions/{COURSE}"


def test_the_names_follow_the_spec_then_number_on():
    assert asset_name("s1", 1) == "s1-recording"
    assert asset_name("s1", 2) == "s1-recording-2"
    assert asset_name("s1", 10) == "s1-recording-10"


def test_two_recordings_of_one_session_are_two_assets_both_intact(
    client, daily, db, cloud, worker, session
):
    first, second = content(2 * CHUNK + 7, b"first half"), content(CHUNK + 3, b"second half")
    daily.files |= {"rec-1": first, "rec-2": second}
    deliver(client, "rec-1")
    deliver(client, "rec-2")
    assert worker.drain() == 2

    one = cloud.assets[f"{FOLDER}/{session['_id']}-recording"]
    two = cloud.assets[f"{FOLDER}/{session['_id']}-recording-2"]
    assert (one["sha256"], two["sha256"]) == (
        hashlib.sha256(first).hexdigest(),
        hashlib.sha256(second).hexdigest(),
    )
    jobs = {job["_id"]: job for job in db.recording_jobs.find()}
    assert (jobs["rec-1"]["recordingNumber"], jobs["rec-2"]["recordingNumber"]) == (1, 2)
    assert jobs["rec-1"]["result"]["publicId"] == f"{FOLDER}/{session['_id']}-recording"
    assert jobs["rec-2"]["result"]["publicId"] == f"{FOLDER}/{session['_id']}-recording-2"
    stored = db.livesessions.find_one({"_id": session["_id"]})
    assert stored["recordingUrl"] == two["result"]["secure_url"]  # the latest
    assert stored["recordingCount"] == 2


def test_a_retried_job_reuses_its_own_name(client, daily, db, cloud, worker, session):
    data = content(CHUNK, b"retried")
    daily.files["rec-1"] = data
    deliver(client, "rec-1")
    cloud.fail_next(1)
    assert worker.drain() == 2  # one failure, then the retry
    names = {upload["params"]["public_id"] for upload in cloud.uploads}
    assert names == {f"{session['_id']}-recording"}
    assert (
        hashlib.sha256(data).hexdigest()
        == cloud.assets[f"{FOLDER}/{session['_id']}-recording"]["sha256"]
    )
    assert db.livesessions.find_one({"_id": session["_id"]})["recordingCount"] == 1


def test_duplicate_deliveries_name_a_recording_once(client, daily, db, worker, session):
    daily.files["rec-1"] = content(CHUNK)
    for _ in range(3):
        deliver(client, "rec-1")
    assert worker.drain() == 1
    job = db.recording_jobs.find_one({"_id": "rec-1"})
    assert (job["recordingNumber"], job["assetName"]) == (1, f"{session['_id']}-recording")
    assert db.livesessions.find_one({"_id": session["_id"]})["recordingCount"] == 1


def test_a_session_recorded_before_names_existed_never_reuses_its_asset(client, daily, db, worker):
    old_url = "https://res.cloudinary.com/c/video/upload/v1/old-recording.mp4"
    session = seed_session(
        db, roomName="room-a", status="ended", isRecorded=True, recordingUrl=old_url
    )
    daily.files["rec-new"] = content(CHUNK)
    deliver(client, "rec-new")
    assert worker.drain() == 1
    job = db.recording_jobs.find_one({"_id": "rec-new"})
    assert (job["recordingNumber"], job["assetName"]) == (2, f"{session['_id']}-recording-2")


def test_concurrent_recordings_never_share_a_name(client, daily, db, services, session):
    ids = [f"rec-{n}" for n in range(12)]
    for recording_id in ids:
        daily.files[recording_id] = content(CHUNK, recording_id.encode())
    barrier = threading.Barrier(len(ids))

    def queue(recording_id):
        barrier.wait()
        services.recording_service.queue_upload(recording_id, session, 60)

    threads = [threading.Thread(target=queue, args=(r,)) for r in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    jobs = list(db.recording_jobs.find())
    assert len(jobs) == len(ids)
    assert sorted(job["recordingNumber"] for job in jobs) == list(range(1, len(ids) + 1))
    assert len({job["assetName"] for job in jobs}) == len(ids)


def test_a_job_queued_before_names_is_named_when_it_runs(client, daily, db, cloud, worker, session):
    daily.files["rec-old"] = content(CHUNK, b"old job")
    deliver(client, "rec-old")
    db.recording_jobs.update_one(
        {"_id": "rec-old"}, {"$unset": {"assetName": "", "recordingNumber": ""}}
    )
    db.livesessions.update_one({"_id": session["_id"]}, {"$unset": {"recordingCount": ""}})
    assert worker.drain() == 1
    assert f"{FOLDER}/{session['_id']}-recording" in cloud.assets
    assert db.recording_jobs.find_one({"_id": "rec-old"})["assetName"] == (
        f"{session['_id']}-recording"
    )


def test_the_latest_recording_is_shown_whatever_order_uploads_finish(
    client, daily, db, cloud, services, session
):
    daily.files |= {"rec-1": content(CHUNK, b"one"), "rec-2": content(CHUNK, b"two")}
    deliver(client, "rec-1")
    deliver(client, "rec-2")
    first = db.recording_jobs.find_one({"_id": "rec-1"})
    worker = services.make_worker(worker_id="w")
    sooner = {"$set": {"runAt": first["runAt"] - timedelta(seconds=1)}}
    db.recording_jobs.update_one({"_id": "rec-2"}, sooner)
    assert worker.process_next()  # the second recording first
    assert worker.process_next()
    stored = db.livesessions.find_one({"_id": session["_id"]})
    latest = cloud.assets[f"{FOLDER}/{session['_id']}-recording-2"]["result"]
    assert (stored["recordingUrl"], stored["recordingNumber"]) == (latest["secure_url"], 2)
    assert stored["recordingAsset"]["publicId"] == f"{FOLDER}/{session['_id']}-recording-2"


def test_a_recording_before_the_class_began_does_not_end_it(client, daily, db, worker):
    soon = seed_session(db, roomName="room-a", status="live", scheduledAt=starting_soon())
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    assert worker.drain() == 1
    stored = db.livesessions.find_one({"_id": soon["_id"]})
    assert (stored["isRecorded"], stored["status"]) == (True, "live")


def test_authenticated_delivery_signs_urls_when_read(make_app, daily, cloud, token_for, tmp_path):
    app = make_app(**on_sandbox(cloud, RECORDING_DELIVERY="authenticated", AUTH_POLICY="strict"))
    client = app.test_client()
    db = app.extensions["livesessions"].database.db
    doc = seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())
    data = content(2 * CHUNK + 5, b"private class")
    daily.files[RECORDING] = data
    deliver(client)
    assert app.extensions["livesessions"].make_worker().drain() == 1

    stored = db.livesessions.find_one({"_id": doc["_id"]})
    public_id = f"{FOLDER}/{doc['_id']}-recording"
    assert stored["recordingAsset"]["type"] == "authenticated"
    assert cloud.uploads[0]["params"]["type"] == "authenticated"
    auth = {"Authorization": f"Bearer {token_for()}"}
    url = client.get(f"/sessions/{doc['_id']}", headers=auth).get_json()["recordingUrl"]
    assert url.startswith(f"{cloud.url}/v1_1/{cloud.cloud_name}/video/download?")
    assert "type=authenticated" in url
    assert "expires_at=" in url
    # (urllib, not requests: the `daily` fixture's `responses` answers every requests call)
    with urllib.request.urlopen(url, timeout=5) as delivered:
        assert delivered.read() == data
    guessed = f"{cloud.url}/{cloud.cloud_name}/video/upload/{public_id}.mp4"
    unsigned = f"{cloud.url}/{cloud.cloud_name}/video/authenticated/{public_id}.mp4"
    for refused, status in ((guessed, 404), (unsigned, 401)):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(refused, timeout=5)
        error.value.close()  # its response holds the socket
        assert error.value.code == status
    (anonymous,) = client.get(f"/sessions/course/{COURSE}").get_json()
    assert (anonymous["isRecorded"], anonymous["recordingUrl"]) == (True, None)


# -- downloads: bounded in size, time and place ---------------------------------------------


def app_with(make_app, cloud, **settings):
    """An app on the sandbox with `settings`, and its own class under way in room-a."""
    app = make_app(**on_sandbox(cloud, **settings))
    database = app.extensions["livesessions"].database.db
    seed_session(database, roomName="room-a", status="live", scheduledAt=in_class())
    return app, database


def test_a_recording_over_the_byte_cap_fails_at_once_unread(
    make_app, cloud, daily, private_tempdir
):
    app, db = app_with(make_app, cloud, RECORDING_MAX_BYTES=CHUNK - 1)
    daily.files[RECORDING] = content(CHUNK)
    deliver(app.test_client())
    assert app.extensions["livesessions"].make_worker().drain() == 1
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert job["status"] == "failed"  # retrying can't make it smaller
    assert f"declares {CHUNK} bytes, over RECORDING_MAX_BYTES ({CHUNK - 1})" in job["error"]
    assert cloud.uploads == []
    assert list(private_tempdir.iterdir()) == []


def test_a_download_larger_than_it_declared_is_cut_at_the_cap(
    make_app, cloud, daily, private_tempdir
):
    app, db = app_with(make_app, cloud, RECORDING_MAX_BYTES=2 * 1024 * 1024)
    daily.files[RECORDING] = content(3 * 1024 * 1024)
    daily.declared[RECORDING] = 1024  # a source that lies about its size
    deliver(app.test_client())
    assert app.extensions["livesessions"].make_worker().drain() == 1
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert job["status"] == "failed"
    assert "is over 2097152 bytes" in job["error"]
    assert list(private_tempdir.iterdir()) == []


def test_a_download_the_disk_cannot_hold_waits_for_space(
    client, daily, db, cloud, services, session, private_tempdir
):
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    worker = services.make_worker(retry_base_seconds=3600)
    margin = FREE_SPACE_MARGIN_BYTES
    worker.handler("upload").downloads.disk_free = lambda directory: (
        margin + 100
    )  # 100 bytes to spare
    assert worker.drain() == 1
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert (job["status"], job["attempts"]) == ("pending", 1)  # retried when there is room
    assert f"not enough free disk for {CHUNK} bytes" in job["error"]
    assert cloud.uploads == []
    assert list(private_tempdir.iterdir()) == []


def test_a_download_past_its_deadline_is_retried_later(make_app, cloud, daily, private_tempdir):
    app, db = app_with(make_app, cloud, RECORDING_DOWNLOAD_DEADLINE_SECONDS=0)
    daily.files[RECORDING] = content(3 * 1024 * 1024)  # more than one 1 MiB piece
    deliver(app.test_client())
    worker = app.extensions["livesessions"].make_worker(retry_base_seconds=3600)
    assert worker.drain() == 1
    job = db.recording_jobs.find_one({"_id": RECORDING})
    assert (job["status"], job["attempts"]) == ("pending", 1)
    assert "deadline" in job["error"]
    assert list(private_tempdir.iterdir()) == []


def test_a_dead_workers_downloads_are_removed_when_a_worker_starts(services, private_tempdir):
    private_tempdir.mkdir(parents=True)
    left = private_tempdir / "recording-dead.mp4"
    left.write_bytes(b"half a class")
    fresh = private_tempdir / "recording-alive.mp4"
    fresh.write_bytes(b"being written")
    old = time.time() - 3600
    os.utime(left, (old, old))
    worker = services.make_worker(lease_seconds=900, poll_seconds=0.01)
    stop = threading.Event()
    stop.set()  # start, clean up, stop at once
    worker.run(stop)
    assert sorted(p.name for p in private_tempdir.iterdir()) == ["recording-alive.mp4"]


# -- job slots: one stuck download never holds the other jobs ------------------------------


@pytest.fixture
def trickling():
    source = TricklingSource()
    yield source
    source.stop()


def job(db, recording_id):
    return db.recording_jobs.find_one({"_id": recording_id})


def test_a_stuck_download_holds_one_slot_while_the_next_job_is_uploaded(
    make_app, cloud, daily, trickling, caplog
):
    app, db = app_with(make_app, cloud)  # and its class in room-a, whose download sticks
    caplog.set_level(logging.INFO, logger="livesessions.recordings")
    stuck = db.livesessions.find_one({"roomName": "room-a"})
    other = seed_session(db, roomName="room-b", status="live", scheduledAt=in_class())
    daily.files["rec-next"] = content(CHUNK, b"next")
    deliver(app.test_client(), "rec-stuck", room="room-a")
    deliver(app.test_client(), "rec-next", room="room-b")
    # the stuck recording is due first, and is downloaded from the trickling source
    sooner = job(db, "rec-next")["runAt"] - timedelta(seconds=1)
    db.recording_jobs.update_one(
        {"_id": "rec-stuck"}, {"$set": {"downloadUrl": trickling.url, "runAt": sooner}}
    )
    daily.mock.add_passthru(trickling.url)
    # Its bytes keep coming, so no read times out; the deadline is longer than the test:
    # only the source hanging up (at the end) ends that download.
    worker = app.extensions["livesessions"].make_worker(
        worker_id="w",
        upload_concurrency=2,
        poll_seconds=0.05,
        download_timeout=30,
        download_deadline_seconds=30,
        retry_base_seconds=3600,
        periodic=[],
    )
    with running(worker):
        try:
            done = wait_until(
                lambda: db.recording_jobs.find_one({"_id": "rec-next", "status": "done"})
            )
            wait_until(lambda: trickling.serving == 1)  # and only its hanging up ends it
            held = job(db, "rec-stuck")
        finally:
            trickling.release.set()  # the stuck download fails, so the worker can stop

    assert (held["status"], held["attempts"], held["result"]) == ("processing", 1, None)
    assert {held["worker"], done["worker"]} == {"w/1", "w/2"}
    asset = cloud.assets[f"{FOLDER}/{other['_id']}-recording"]
    assert done["result"]["recordingUrl"] == asset["result"]["secure_url"]
    uploaded = db.livesessions.find_one({"_id": other["_id"]})
    assert (uploaded["recordingUrl"], uploaded["isRecorded"], uploaded["status"]) == (
        asset["result"]["secure_url"],
        True,
        "ended",
    )
    # the source hung up: that attempt failed, the job waits for its retry
    after = job(db, "rec-stuck")
    assert (after["status"], after["attempts"], after["leaseUntil"]) == ("pending", 1, None)
    assert "recording download failed" in after["error"]
    untouched = db.livesessions.find_one({"_id": stuck["_id"]})
    assert (untouched["recordingUrl"], untouched["isRecorded"]) == (None, False)
    assert trickling.requests == 1
    assert len(cloud.uploads) == 1
    logged = [record.getMessage() for record in caplog.records]
    assert (
        f"recording rec-next uploaded to {uploaded['recordingUrl']} by {done['worker']}" in logged
    )
    assert any(f"rec-stuck attempt 1 by {held['worker']} failed" in line for line in logged)


def test_the_list_shows_which_slot_holds_a_job(app, client, daily, services, session):
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    leased = services.job_store.lease("host:1:abc/2", lease_seconds=600, max_attempts=3)
    assert "takenOverFrom" not in leased  # a first lease
    listed = app.test_cli_runner().invoke(args=["recordings", "list"]).output
    assert f"{RECORDING}  processing attempts=1 " in listed
    assert listed.rstrip().endswith(f"worker=host:1:abc/2  lease until={iso(leased['leaseUntil'])}")


def test_a_take_over_is_logged_with_the_holder_whose_lease_ran_out(
    app, client, daily, services, session, caplog
):
    daily.files[RECORDING] = content(CHUNK)
    deliver(client)
    services.job_store.lease("killed:1:abc/1", lease_seconds=-1, max_attempts=3)  # ran out
    caplog.set_level(logging.INFO, logger="livesessions")
    assert services.make_worker(worker_id="next:2:def").process_next() is True
    logged = [record.getMessage() for record in caplog.records]
    assert (
        f"job {RECORDING} taken over by next:2:def from killed:1:abc/1, whose lease ran out "
        "(attempt 2)"
    ) in logged
    assert f"recording {RECORDING}: upload started (attempt 2)" in logged
    job = services.database.db.recording_jobs.find_one({"_id": RECORDING})
    assert (job["status"], job["attempts"], job["worker"]) == ("done", 2, "next:2:def")


def test_stop_finishes_the_job_in_every_slot_and_leases_no_more(make_app, cloud, daily):
    app, db = app_with(make_app, cloud, DAILY_MAX_CONCURRENT_CALLS=2)
    session = db.livesessions.find_one({"roomName": "room-a"})
    for n in range(3):
        daily.files[f"rec-{n}"] = content(CHUNK, seed=str(n).encode())
        deliver(app.test_client(), f"rec-{n}")
    worker = app.extensions["livesessions"].make_worker(
        worker_id="w", upload_concurrency=2, poll_seconds=0.05, periodic=[]
    )
    upload = worker.handler("upload").upload
    in_hand, proceed = threading.Semaphore(0), threading.Event()

    def held_upload(job):
        in_hand.release()
        assert proceed.wait(10)
        return upload(job)

    worker.handler("upload").upload = held_upload
    with running(worker) as (stop, thread):
        assert in_hand.acquire(timeout=10)
        assert in_hand.acquire(timeout=10)  # both slots hold a job
        stop.set()
        thread.join(timeout=0.2)
        assert thread.is_alive()  # it waits for the jobs in hand
        proceed.set()
        thread.join(timeout=20)
        assert not thread.is_alive()

    jobs = {doc["_id"]: doc for doc in db.recording_jobs.find()}
    finished = sorted(name for name, doc in jobs.items() if doc["status"] == "done")
    (left,) = set(jobs) - set(finished)
    assert len(finished) == 2
    assert {jobs[name]["worker"] for name in finished} == {"w/1", "w/2"}
    assert all(jobs[name]["leaseUntil"] is None for name in finished)
    # the third was never leased after the stop
    assert (jobs[left]["status"], jobs[left]["attempts"], jobs[left]["worker"]) == (
        "pending",
        0,
        None,
    )
    assert db.recording_jobs.count_documents({"status": "processing"}) == 0
    stored = db.livesessions.find_one({"_id": session["_id"]})
    assert (
        stored["recordingUrl"]
        == max((jobs[name] for name in finished), key=lambda doc: doc["recordingNumber"])["result"][
            "recordingUrl"
        ]
    )
    assert len(cloud.uploads) == 2


def test_three_slots_do_twenty_jobs_each_exactly_once(make_app, cloud, daily):
    app, db = app_with(make_app, cloud, DAILY_MAX_CONCURRENT_CALLS=3)
    session = db.livesessions.find_one({"roomName": "room-a"})
    ids = [f"rec-{n}" for n in range(20)]
    for recording_id in ids:
        daily.files[recording_id] = content(CHUNK, seed=recording_id.encode())
        deliver(app.test_client(), recording_id)
    worker = app.extensions["livesessions"].make_worker(
        worker_id="w", upload_concurrency=3, poll_seconds=0.05, periodic=[]
    )
    upload = worker.handler("upload").upload
    uploaded, lock = [], threading.Lock()
    three_at_once = threading.Barrier(3, timeout=10)

    def counted_upload(job):
        with lock:
            uploaded.append(job["_id"])
            first_three = len(uploaded) <= 3
        if first_three:  # passes only if three jobs are in hand together
            three_at_once.wait()
        return upload(job)

    worker.handler("upload").upload = counted_upload
    with running(worker):
        wait_until(lambda: db.recording_jobs.count_documents({"status": "done"}) == 20, 30)

    assert sorted(uploaded) == sorted(ids)
    jobs = list(db.recording_jobs.find())
    assert {(doc["status"], doc["attempts"], doc["error"]) for doc in jobs} == {("done", 1, None)}
    assert {doc["worker"] for doc in jobs} == {"w/1", "w/2", "w/3"}
    assert sorted(doc["recordingNumber"] for doc in jobs) == list(range(1, 21))
    assert len(cloud.uploads) == 20  # one single-chunk upload per recording
    assert len({doc["result"]["publicId"] for doc in jobs}) == 20
    assert db.livesessions.find_one({"_id": session["_id"]})["recordingCount"] == 20


def test_the_periodic_tasks_run_on_one_loop_beside_the_slots(services):
    threads, stop_after = [], threading.Event()

    def task():
        threads.append(threading.current_thread().name)
        if len(threads) >= 3:
            stop_after.set()

    periodic = [PeriodicTask("count", 0, task)]
    worker = services.make_worker(upload_concurrency=3, poll_seconds=0.01, periodic=periodic)
    with running(worker):
        assert stop_after.wait(10)
    assert set(threads) == {"worker-under-test"}  # the thread of run(), not a slot's


@pytest.mark.parametrize("kind", ["upload", "room_deletion", "webhook"])
def test_a_worker_needs_a_slot_of_each_kind(services, kind):
    named = kind.replace("_", "-")
    with pytest.raises(ValueError, match=f"at least one {named} job slot, got 0"):
        services.make_worker(**{f"{kind}_concurrency": 0})


def test_a_trickling_download_is_stopped_at_its_deadline(make_app, cloud, daily, trickling):
    """64 bytes every 50 ms: no read ever times out, and no 1 MiB piece ever fills. The
    deadline alone ends it, while the source would go on for a minute."""
    app, db = app_with(make_app, cloud)
    deliver(app.test_client(), "rec-slow")
    db.recording_jobs.update_one({"_id": "rec-slow"}, {"$set": {"downloadUrl": trickling.url}})
    daily.mock.add_passthru(trickling.url)
    worker = app.extensions["livesessions"].make_worker(
        download_timeout=30, download_deadline_seconds=0.5, retry_base_seconds=3600
    )
    assert worker.drain() == 1
    stopped = job(db, "rec-slow")
    assert (stopped["status"], stopped["attempts"]) == ("pending", 1)
    assert "passed its deadline" in stopped["error"]
    assert not trickling.release.is_set()  # the source had not hung up: the deadline did
    assert cloud.uploads == []
