"""Worker health: each running worker's heartbeat, the workers alive and the oldest due job
in /readyz (informational) and in `flask --app wsgi recordings status`."""

import os
import re
import threading
import time
from datetime import timedelta

from livesessions.clock import utcnow
from livesessions.jobs.heartbeats import LIVE_SECONDS
from tests.support.processes import wait_until


def test_a_running_worker_beats_readyz_counts_it_and_it_signs_off(app, client, db):
    services = app.extensions["livesessions"]
    worker = services.make_worker(
        poll_seconds=0.05, upload_concurrency=1, room_deletion_concurrency=2, webhook_concurrency=3
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        beat = wait_until(lambda: db.workers.find_one({"_id": worker.worker_id}))
        assert beat["slots"] == 6
        assert beat["slotsByKind"] == {"upload": 1, "room-deletion": 2, "webhook": 3}
        ready = client.get("/readyz").get_json()
        assert (ready["workers"], ready["oldestDueJobSeconds"]) == (1, None)
        status = app.test_cli_runner().invoke(args=["recordings", "status"])
        assert status.output.splitlines()[0] == "1 worker(s) alive"
        assert (
            f"  {worker.worker_id}  slots=6 (upload 1, room-deletion 2, webhook 3)  last heartbeat"
        ) in status.output
    finally:
        stop.set()
        thread.join(timeout=10)
    assert db.workers.count_documents({}) == 0  # signed off on stopping
    assert client.get("/readyz").get_json()["workers"] == 0


def test_a_silent_worker_is_counted_out_and_the_oldest_due_job_is_shown(app, client, db):
    now = utcnow()
    db.workers.insert_many(
        [
            {"_id": "alive", "beatAt": now - timedelta(seconds=5), "slots": 2},
            {"_id": "killed", "beatAt": now - timedelta(seconds=LIVE_SECONDS + 1), "slots": 2},
        ]
    )
    services = app.extensions["livesessions"]
    services.job_store.enqueue("rec-late", {"session": "s", "room": "r"})
    db.recording_jobs.update_one(
        {"_id": "rec-late"}, {"$set": {"runAt": now - timedelta(seconds=90)}}
    )
    services.job_store.enqueue("rec-later", {"session": "s", "room": "r"})
    ready = client.get("/readyz")
    status = app.test_cli_runner().invoke(args=["recordings", "status"]).output
    # due 90 s before `now`, plus the time taken since (tenths of seconds)
    waited = round((utcnow() - now).total_seconds() + 90, 1)
    assert ready.status_code == 200  # informational: readiness is the database's
    assert ready.get_json()["workers"] == 1
    assert 90 <= ready.get_json()["oldestDueJobSeconds"] <= waited
    assert status.splitlines()[0] == "1 worker(s) alive"
    assert "killed" not in status
    due = re.search(r"^oldest due job: rec-late, due for (\d+\.\d)s$", status, re.MULTILINE)
    assert 90 <= float(due[1]) <= waited


def test_a_killed_workers_download_is_removed_by_the_next_start(app, tmp_path):
    """A worker SIGKILLed mid-download leaves its temporary file behind; the next worker
    to start removes it once nobody has written it for a lease (a live download writes
    all the time, so one of another worker running beside is kept)."""
    services = app.extensions["livesessions"]
    worker = services.make_worker(download_dir=str(tmp_path), lease_seconds=60, poll_seconds=0)
    left = tmp_path / "recording-killed-abc.part"
    left.write_bytes(b"half a recording")
    an_hour_ago = time.time() - 3600
    os.utime(left, (an_hour_ago, an_hour_ago))
    live = tmp_path / "recording-live-def.part"
    live.write_bytes(b"being written")
    stop = threading.Event()
    stop.set()  # start, clean up, and stop at once
    worker.run(stop)
    assert not left.exists()
    assert live.read_bytes() == b"being written"
