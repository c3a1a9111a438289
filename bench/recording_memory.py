"""Peak memory of the recording worker for recordings of 10 MB, 100 MB and 1 GB.

Each size runs in a fresh process (so one run's freed memory can't hide the next one's),
with the sandboxes in another process (`python -m devtools.sandbox`), so only the
worker's process is measured: the API (embedded store) and a worker, as `make run` has
them. For each size: create a session, start and stop a recording, let the Daily sandbox
deliver the webhook, then time `worker.drain()` while watching the process's peak RSS
(VmHWM, reset before each run through /proc/self/clear_refs, plus a 5 ms sampler).

    .venv/bin/python -m bench.recording_memory [--sizes 10,100,1000] [--limit-mb 64]

Exits 1 if any run grows the RSS by the limit or more, the upload is wrong, or any answer
of the API is not the expected one (bench/expect.py).
"""

import argparse
import gc
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import requests
from werkzeug.serving import make_server

from bench.expect import expect
from bench.loopback import ROOT, free_port
from livesessions import create_app
from livesessions.clock import iso, utcnow

MB = 1_000_000
DAILY_KEY = "bench-recordings-" + "0123456789abcdef" * 3  # the service's and the sandbox's


def rss_kib(field="VmRSS"):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def reset_peak():
    """Make VmHWM start again from the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def wait_until(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError


def run(size_mb, scratch):
    size = size_mb * MB
    api_port, daily_port, cloud_port = free_port(), free_port(), free_port()
    storage = scratch / f"cloud-{size_mb}"
    sandboxes = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.sandbox",
            "--daily-port",
            str(daily_port),
            "--cloudinary-port",
            str(cloud_port),
            "--webhook-url",
            f"http://127.0.0.1:{api_port}/sessions/webhook/daily",
            "--recording-bytes",
            str(size),
            "--storage-dir",
            str(storage),
            "--daily-api-key",
            DAILY_KEY,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        sandboxes.stdout.readline()
        sandboxes.stdout.readline()
        app = create_app(
            {
                "LOG_LEVEL": "ERROR",
                "JWT_SECRET_KEY": "bench-" + "x" * 40,
                "DAILY_API_URL": f"http://127.0.0.1:{daily_port}/v1",
                "DAILY_API_KEY": DAILY_KEY,
                "CLOUD_NAME": "sandbox",
                "CLOUD_API_KEY": "sandbox-key",
                "CLOUD_API_SECRET": "sandbox-secret",
                "CLOUDINARY_UPLOAD_PREFIX": f"http://127.0.0.1:{cloud_port}",
                "CLOUDINARY_TIMEOUT_SECONDS": 120,
                "RECORDING_DOWNLOAD_TIMEOUT_SECONDS": 120,
            }
        )
        server = make_server("127.0.0.1", api_port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        services = app.extensions["livesessions"]
        client = app.test_client()
        with app.app_context():
            from flask_jwt_extended import create_access_token

            token = create_access_token("bench-instructor")
        session = expect(
            client.post(
                "/sessions",
                json={
                    "title": f"Memory bench {size_mb} MB",
                    "courseId": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
                    # starting soon: a session is recorded only around its class
                    "scheduledAt": iso(utcnow() + timedelta(minutes=5)),
                    "duration": 60,
                },
                headers={"Authorization": f"Bearer {token}"},
            ),
            201,
            ("_id", "roomName"),
        ).get_json()
        started = client.post("/sessions/recording/start", json={"roomName": session["roomName"]})
        recording = expect(started, 200, ("recording",)).get_json()["recording"]
        stop = client.post("/sessions/recording/stop", json={"recordingId": recording["id"]})
        expect(stop, 200)
        wait_until(lambda: services.job_store.list("pending"))

        worker = services.make_worker()
        gc.collect()
        idle = rss_kib()
        hwm_reset = reset_peak()
        sampled = [idle]
        done = threading.Event()

        def sample():
            while not done.wait(0.005):
                sampled.append(rss_kib())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        processed = worker.drain()
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        peak = max(max(sampled), rss_kib("VmHWM") if hwm_reset else 0)

        stored = services.session_store.get(session["_id"])
        uploaded = requests.head(stored["recordingUrl"], timeout=10)
        ok = processed == 1 and int(uploaded.headers["Content-Length"]) == size
        server.shutdown()
        services.database.close()
        return {
            "size_mb": size_mb,
            "seconds": elapsed,
            "chunk_bytes": app.config["CLOUDINARY_CHUNK_SIZE"],
            "idle_mb": idle / 1024,
            "growth_mb": (peak - idle) / 1024,
            "ok": ok,
        }
    finally:
        sandboxes.terminate()
        sandboxes.wait(timeout=30)
        shutil.rmtree(storage, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000", help="recording sizes in MB")
    parser.add_argument("--limit-mb", type=float, default=64)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child run: one size
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if args.one:
        scratch = Path(tempfile.mkdtemp(prefix="recording-bench-"))
        try:
            print(json.dumps(run(args.one, scratch)))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return

    failed, chunk = False, None
    print(f"{'size':>8} {'time':>8} {'MB/s':>7} {'idle RSS':>9} {'peak growth':>12}  upload")
    for size_mb in (int(s) for s in args.sizes.split(",")):
        child = subprocess.run(
            [sys.executable, "-m", "bench.recording_memory", "--one", str(size_mb)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if child.returncode:  # a wrong answer, or a crash: its reason, and exit 1
            sys.exit(f"{size_mb} MB run failed:\n{child.stderr.strip()[-2000:]}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        chunk = result["chunk_bytes"]
        over = result["growth_mb"] >= args.limit_mb
        failed |= over or not result["ok"]
        print(
            f"{size_mb:>5} MB {result['seconds']:>7.1f}s {size_mb / result['seconds']:>7.1f} "
            f"{result['idle_mb']:>6.1f} MB {result['growth_mb']:>9.1f} MB  "
            f"{'ok' if result['ok'] else 'WRONG'}{'  OVER LIMIT' if over else ''}",
            flush=True,
        )
    print(f"limit: growth < {args.limit_mb} MB; Cloudinary chunk size {chunk} bytes")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
