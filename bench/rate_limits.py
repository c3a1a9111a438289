"""Rate limits across the Procfile's two gunicorn workers on a real MongoDB wire server.

    .venv/bin/python -m bench.rate_limits [--limit 50] [--attempts 200] [--threads 8]

SecantusDB (requirements-dev) runs in a subprocess, with its data in memory. For each
RATE_LIMIT_STORAGE (`database`: counters in that server, shared; `memory`: per process),
gunicorn starts with RATE_LIMIT_ANONYMOUS_WRITES=<limit>/minute, a session is created,
and <attempts> anonymous participant adds are sent over fresh connections from <threads>
threads. Printed: how many were admitted and refused, how the workers shared them (from
their JSON log lines), and the answer times. SecantusDB is a Python server: its times say
nothing of MongoDB's (see docs/performance.md); the counts are the point.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pymongo
import requests

from bench.loopback import ROOT, free_port
from livesessions.sandbox import DailySandbox

SECRET = "bench-rate-limits-" + "s" * 48
BIN = Path(sys.executable).parent


def start_secantus():
    port = free_port()
    command = [str(BIN / "secantusd-py"), "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--storage-path", ":memory:"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"mongodb://127.0.0.1:{port}"
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=200) as client:
        for _ in range(150):
            try:
                client.admin.command("ping")
                return process, uri
            except pymongo.errors.PyMongoError:
                time.sleep(0.1)
    process.kill()
    raise RuntimeError("secantusd-py did not start")


def start_gunicorn(port, env, log):
    web = (ROOT / "Procfile").read_text().splitlines()[0].removeprefix("web: ")
    web = web.replace("${PORT:-7000}", str(port)).replace("${WEB_CONCURRENCY:-2}", "2")
    web = web.replace("0.0.0.0", "127.0.0.1")
    command = [str(BIN / "gunicorn"), *web.split()[1:]]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def run(storage, mongo_uri, daily_url, args):
    port = free_port()
    env = {
        "PATH": str(BIN),
        "JWT_SECRET_KEY": SECRET,
        "MONGODB_URI": f"{mongo_uri}/bench_rate_limits_{storage}",
        "DAILY_API_URL": daily_url,
        "DAILY_API_KEY": "bench-key",
        "LOG_LEVEL": "INFO",
        "RATE_LIMIT_STORAGE": storage,
        "RATE_LIMIT_ANONYMOUS_WRITES": f"{args.limit}/minute",
        "RATE_LIMIT_SESSION_WRITES": f"{args.attempts * 10}/minute",
    }
    with tempfile.TemporaryFile("w+") as log:
        process = start_gunicorn(port, env, log)
        base = f"http://127.0.0.1:{port}"
        token = jwt.encode({"sub": "owner", "exp": int(time.time()) + 600}, SECRET, "HS256")
        session = {"title": "Bench", "courseId": "00000000-0000-4000-8000-000000000001"}
        session |= {"scheduledAt": "2099-01-01T10:00:00.000Z", "duration": 60}
        created = requests.post(
            f"{base}/sessions", json=session, headers={"Authorization": f"Bearer {token}"}
        )
        path = f"/sessions/{created.json()['_id']}/participants"

        def add(index):
            started = time.perf_counter()
            response = requests.post(f"{base}{path}", json={"studentId": f"s{index}"}, timeout=10)
            return response.status_code, (time.perf_counter() - started) * 1000

        with ThreadPoolExecutor(args.threads) as pool:
            answers = list(pool.map(add, range(args.attempts)))
        process.terminate()
        process.wait(timeout=30)
        log.seek(0)
        workers = {}
        for line in log:
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("path") == path:
                    workers[record["pid"]] = workers.get(record["pid"], 0) + 1
    admitted = [ms for status, ms in answers if status == 200]
    refused = [ms for status, ms in answers if status == 429]
    print(
        f"{storage:<9} {len(admitted):>8} {len(refused):>7}  "
        f"{'/'.join(str(n) for n in sorted(workers.values(), reverse=True)):>9}  "
        f"{statistics.median(admitted):6.1f} {percentile(admitted, 0.99):6.1f}  "
        f"{statistics.median(refused) if refused else float('nan'):6.1f} "
        f"{percentile(refused, 0.99):6.1f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    mongo, mongo_uri = start_secantus()
    daily = DailySandbox(api_key="bench-key").start()
    try:
        print(
            f"{args.attempts} anonymous adds, limit {args.limit}/minute, 2 workers, "
            f"{args.threads} threads, fresh connections"
        )
        print("storage   admitted refused  by worker  admitted ms    refused ms")
        print("                                          p50    p99     p50    p99")
        for storage in ("database", "memory"):
            run(storage, mongo_uri, daily.api_url, args)
    finally:
        daily.stop()
        mongo.terminate()
        mongo.wait(timeout=30)


if __name__ == "__main__":
    main()
