"""A `recordings worker` process killed (SIGKILL) while it delivers an outbound webhook:
another worker delivers the same event (same id) once the lease runs out, nothing lost.

Needs TEST_MONGODB_URI (the embedded store lives inside one process): `make test`'s second
run gives it a SecantusDB.
"""

import signal
import subprocess
import time

from tests.support.markers import WORKER_PROCESSES
from tests.support.processes import ROOT
from tests.support.receiver import Receiver
from tests.support.workers import WORKER_COMMAND, worker_env

pytestmark = WORKER_PROCESSES

# Polling deadlines: a worker is up and posting in a few seconds, and the second delivers
# once the first's 3 s lease has run out (about 10 s in all here, 35 s sharing a busy
# core); the waits give up only long after that.
POSTED_DEADLINE_S = 120
REDELIVERED_DEADLINE_S = 120


def test_a_delivery_of_a_killed_worker_is_made_by_another(make_app):
    settings = {
        "RECORDING_LEASE_SECONDS": "3",
        "RECORDING_POLL_SECONDS": "0.2",
        "WEBHOOKS_DEADLINE_SECONDS": "1.5",  # at most half the lease
        "WEBHOOKS_ALLOW_PRIVATE": "true",
    }
    app = make_app(**settings)
    hub = app.extensions["livesessions"]
    env = worker_env(
        settings,
        MONGODB_URI=app.config["MONGODB_URI"],
        JWT_SECRET_KEY=app.config["JWT_SECRET_KEY"],
        LOG_LEVEL="WARNING",
    )
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    jobs = hub.database.db.recording_jobs
    with Receiver(delay=2.0) as receiver:  # the first worker is killed while it waits
        hub.webhook_store.create(receiver.url, ["session.created"], "c2VjcmV0")
        event_id = hub.webhook_emitter.emit("session.created", {"_id": "s-1"})
        first = subprocess.Popen(WORKER_COMMAND, cwd=ROOT, env=env, **quiet)
        second = None
        try:
            deadline = time.monotonic() + POSTED_DEADLINE_S
            while not receiver.received:
                assert time.monotonic() < deadline, "the first worker never posted"
                time.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            receiver.delay = 0
            second = subprocess.Popen(WORKER_COMMAND, cwd=ROOT, env=env, **quiet)
            deadline = time.monotonic() + REDELIVERED_DEADLINE_S
            while jobs.find_one({"kind": "webhook"})["status"] != "done":
                assert time.monotonic() < deadline, jobs.find_one({"kind": "webhook"})
                time.sleep(0.2)
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=60)
        assert [event["id"] for event in receiver.events()] == [event_id, event_id]
    job = jobs.find_one({"kind": "webhook"})
    assert job["attempts"] == 2  # the killed worker's, then the second's
