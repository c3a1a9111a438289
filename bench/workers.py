"""Several worker processes on one real MongoDB: every job processed exactly once.

    BENCH_MONGODB_URI=mongodb://localhost:27017/livesessions_bench \\
        .venv/bin/python -m bench.workers [--jobs 40] [--workers 2] [--lease 3]

Queues `--jobs` upload jobs (finished recordings on the Daily sandbox, whose webhooks are
never sent) in that database, then runs `--workers` processes of
`flask --app wsgi recordings worker` against it and the sandboxes, with a short lease so
that renewal matters (each download is slowed by the sandbox's latency). Waits until every
job is done, then checks: each job done once (one attempt), one Cloudinary asset per
recording, and how the jobs were shared. Prints the time taken. Exits 1 on any failure.

Needs a real MongoDB: the embedded store (mongomock) lives inside one process, so worker
processes can't share it. Its collections `livesessions`, `recordings` and
`recording_jobs` in that database are emptied first.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter

from bench.expect import WrongAnswer
from bench.loopback import ROOT
from devtools.sandbox import CloudinarySandbox, DailySandbox
from livesessions import create_app
from tests.support.workers import WORKER_COMMAND, queue_finished_recordings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lease", type=float, default=3.0, help="RECORDING_LEASE_SECONDS")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    uri = os.environ.get("BENCH_MONGODB_URI")
    if not uri:
        sys.exit("bench/workers.py needs BENCH_MONGODB_URI (a real MongoDB shared by processes)")

    storage = tempfile.mkdtemp(prefix="bench-workers-")
    daily = DailySandbox(api_key="bench", recording_bytes=2_000_000).start()
    cloud = CloudinarySandbox(storage_dir=storage).start()
    daily.latency = args.lease * 1.5  # each access-link call outlasts a lease: only renewal
    # keeps another worker from taking the job over (which would show as attempts == 2)
    settings = {
        "MONGODB_URI": uri,
        "DAILY_API_URL": daily.api_url,
        "DAILY_API_KEY": "bench",
        "CLOUD_NAME": cloud.cloud_name,
        "CLOUD_API_KEY": cloud.api_key,
        "CLOUD_API_SECRET": cloud.api_secret,
        "CLOUDINARY_UPLOAD_PREFIX": cloud.url,
        "RECORDING_LEASE_SECONDS": str(args.lease),
        "RECORDING_POLL_SECONDS": "0.2",
        # the slow access link holds the process's one Daily slot: the other job slot
        # waits its turn instead of failing an attempt as busy (0.5 s by default)
        "DAILY_QUEUE_SECONDS": "30",
        "LOG_LEVEL": "WARNING",
    }
    app = create_app(settings)
    services = app.extensions["livesessions"]
    database = services.database.db
    for name in ("livesessions", "recordings", "recording_jobs"):
        database[name].delete_many({})
    queue_finished_recordings(services, daily, args.jobs)

    env = {**os.environ, **settings, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    workers = [subprocess.Popen(WORKER_COMMAND, cwd=ROOT, env=env) for _ in range(args.workers)]
    try:
        while database.recording_jobs.count_documents({"status": "done"}) < args.jobs:
            if time.monotonic() - started > args.timeout:
                sys.exit(
                    f"timed out: {Counter(j['status'] for j in database.recording_jobs.find())}"
                )
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
        daily.stop()
        cloud.stop()

    jobs = list(database.recording_jobs.find())
    attempts = Counter(job["attempts"] for job in jobs)
    shared = Counter(job["worker"].rsplit(":", 2)[1] for job in jobs)  # by process id
    recorded = database.livesessions.count_documents({"isRecorded": True})
    print(
        f"{args.jobs} jobs, {args.workers} worker processes, lease {args.lease} s: {elapsed:.1f} s"
    )
    print(f"attempts per job: {dict(attempts)}; jobs per worker process: {dict(shared)}")
    print(f"Cloudinary assets: {len(cloud.assets)}; sessions recorded: {recorded}")
    expected = {
        "attempts per job": ({1: args.jobs}, dict(attempts)),
        "Cloudinary assets": (args.jobs, len(cloud.assets)),
        "sessions recorded": (args.jobs, recorded),
    }
    wrong = [
        f"{what}: expected {want}, got {got}"
        for what, (want, got) in expected.items()
        if want != got
    ]
    if wrong:
        raise WrongAnswer("; ".join(wrong))
    print("OK: each job processed exactly once")


if __name__ == "__main__":
    main()
