"""Several `flask --app wsgi recordings worker` processes on one real MongoDB wire server:
every upload job is done exactly once, with renewal keeping a slow job its worker's; and
the job of a worker killed with SIGKILL is taken over and finished by another.

Needs TEST_MONGODB_URI (the embedded store lives inside one process): `make test`'s second
run gives it a SecantusDB.
"""

import signal
import subprocess
import time
from collections import Counter

import pytest

from devtools.sandbox import CloudinarySandbox, DailySandbox
from tests.support.markers import WORKER_PROCESSES
from tests.support.processes import ROOT
from tests.support.workers import WORKER_COMMAND, queue_finished_recordings, worker_env

pytestmark = WORKER_PROCESSES

JOBS, WORKERS, LEASE = 9, 3, 2.0
DAILY_KEY = "worker-processes-" + "0123456789abcdef" * 3
# Polling deadlines: the workers are up and leasing in a few seconds, the nine jobs done in
# about 20 s, a job taken over about 10 s after its worker was killed (up to 35 s sharing a
# busy core); the waits give up only long after that.
LEASED_DEADLINE_S = 120
DONE_DEADLINE_S = 300
TAKEN_OVER_DEADLINE_S = 120


@pytest.fixture
def worker_stack(make_app, tmp_path):
    """The sandboxes, the settings the workers share (a lease to set), and an app on them."""
    daily = DailySandbox(api_key=DAILY_KEY, recording_bytes=200_000).start()
    cloud = CloudinarySandbox(storage_dir=str(tmp_path / "cloud")).start()

    def make(lease):
        settings = {
            "DAILY_API_URL": daily.api_url,
            "DAILY_API_KEY": DAILY_KEY,
            "CLOUD_NAME": cloud.cloud_name,
            "CLOUD_API_KEY": cloud.api_key,
            "CLOUD_API_SECRET": cloud.api_secret,
            "CLOUDINARY_UPLOAD_PREFIX": cloud.url,
            "RECORDING_LEASE_SECONDS": str(lease),
            "RECORDING_POLL_SECONDS": "0.2",
            # a slow Daily call (the latency) holds the process's one Daily slot: the job
            # slot and the periodic tasks wait their turn instead of failing an attempt
            "DAILY_QUEUE_SECONDS": "30",
        }
        app = make_app(**settings)
        env = worker_env(
            settings,
            MONGODB_URI=app.config["MONGODB_URI"],
            JWT_SECRET_KEY=app.config["JWT_SECRET_KEY"],
            LOG_LEVEL="WARNING",
        )
        return app.extensions["livesessions"], env

    yield daily, cloud, make
    daily.stop()
    cloud.stop()


def test_worker_processes_share_the_jobs_each_done_once(worker_stack):
    daily, cloud, make = worker_stack
    services, env = make(lease=LEASE)
    queue_finished_recordings(services, daily, JOBS)
    jobs = services.database.db.recording_jobs
    daily.latency = LEASE * 1.5  # each access link outlasts a lease: only renewal keeps it
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    workers = [subprocess.Popen(WORKER_COMMAND, cwd=ROOT, env=env, **quiet) for _ in range(WORKERS)]
    try:
        deadline = time.monotonic() + DONE_DEADLINE_S
        while jobs.count_documents({"status": "done"}) < JOBS:
            assert time.monotonic() < deadline, Counter(j["status"] for j in jobs.find())
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.terminate()
        codes = [worker.wait(timeout=60) for worker in workers]
    done = list(jobs.find())
    assert codes == [0] * WORKERS  # each finished its jobs in hand on SIGTERM
    assert Counter(job["attempts"] for job in done) == {1: JOBS}  # none taken over
    assert len(cloud.assets) == JOBS
    assert services.database.db.livesessions.count_documents({"isRecorded": True}) == JOBS
    processes = {job["worker"].split("/")[0].rsplit(":", 2)[1] for job in done}
    assert len(processes) >= 2  # the jobs were shared out


def test_the_job_of_a_killed_worker_is_finished_by_another(worker_stack, tmp_path):
    daily, cloud, make = worker_stack
    services, env = make(lease=3)
    (recording_id,) = queue_finished_recordings(services, daily, 1, title="Killed worker")
    jobs = services.database.db.recording_jobs
    # The first worker is killed while it asks for the download link: a long wait (under
    # the 10 s DAILY_TIMEOUT_SECONDS), so that the kill comes before the answer however
    # long the test takes to see the lease (a poll, 0.05 s).
    daily.latency = 8.0
    log = tmp_path / "second.log"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    first = subprocess.Popen(WORKER_COMMAND, cwd=ROOT, env=env, **quiet)
    second = None
    try:
        deadline = time.monotonic() + LEASED_DEADLINE_S
        while (jobs.find_one({"_id": recording_id}) or {}).get("status") != "processing":
            assert time.monotonic() < deadline, "the first worker never leased the job"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = time.monotonic()
        daily.latency = 0.0  # for the second worker
        with log.open("w") as output:
            second = subprocess.Popen(
                WORKER_COMMAND, cwd=ROOT, env=env, stdout=output, stderr=output
            )
        while jobs.find_one({"_id": recording_id})["status"] != "done":
            assert time.monotonic() < killed_at + TAKEN_OVER_DEADLINE_S, jobs.find_one(
                {"_id": recording_id}
            )
            time.sleep(0.2)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=60)
    job = jobs.find_one({"_id": recording_id})
    assert job["attempts"] == 2  # the killed worker's, then the second's
    assert "taken over by" in log.read_text()
    assert len(cloud.assets) == 1
    assert services.database.db.livesessions.find_one({"_id": job["session"]})["isRecorded"]
