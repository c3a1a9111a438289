"""Worker health: each running worker's heartbeat, the workers alive and the oldest due job
in /readyz (informational) and in `flask --app wsgi recordings status`."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from livesessions.store.workers import LIVE_SECONDS
from tests.support.processes import wait_until


def test_a_running_worker_beats_readyz_counts_it_and_it_signs_off(app, client, db):
    services = app.extensions["livesessions"]
    worker = services.make_worker(poll_seconds=0.05, concurrency=1)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        beat = wait_until(lambda: db.workers.find_one({"_id": worker.worker_id}))
        assert beat["slots"] == 1
        ready = client.get("/readyz").get_json()
        assert (ready["workers"], ready["oldestDueJobSeconds"]) == (1, None)
        status = app.test_cli_runner().invoke(args=["recordings", "status"])
        assert status.output.splitlines()[0] == "1 worker(s) alive"
        assert f"  {worker.worker_id}  slots=1  last heartbeat" in status.output
    finally:
        stop.set()
        thread.join(timeout=10)
    assert db.workers.count_documents({}) == 0  # signed off on stopping
    assert client.get("/readyz").get_json()["workers"] == 0


def test_a_silent_worker_is_counted_out_and_the_oldest_due_job_is_shown(app, client, db):
    now = datetime.now(UTC)
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
    assert ready.status_code == 200  # informational: readiness is the database's
    assert ready.get_json()["workers"] == 1
    assert ready.get_json()["oldestDueJobSeconds"] == pytest.approx(90, abs=2)
    status = app.test_cli_runner().invoke(args=["recordings", "status"]).output
    assert status.splitlines()[0] == "1 worker(s) alive"
    assert "killed" not in status
    assert "oldest due job: rec-late, due for 9" in status
