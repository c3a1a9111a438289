"""Rate limits across the Procfile's two gunicorn workers on a real MongoDB wire server.

    .venv/bin/python -m bench.rate_limits [--limit 50] [--attempts 200] [--threads 8]

SecantusDB (requirements-dev) runs in a subprocess, with its data in memory. For each
RATE_LIMIT_STORAGE (`database`: counters in that server, shared; `memory`: per process),
gunicorn starts with RATE_LIMIT_CLASS_ADMISSIONS=<limit>/minute, a session is created,
and <attempts> anonymous participant adds are sent over fresh connections from <threads>
threads. Printed: how many were admitted and refused, how the workers shared them (from
their JSON log lines), and the answer times. SecantusDB is a Python server: its times say
nothing of MongoDB's (see docs/performance.md); the counts are the point. Any add answered
other than 200 or 429 makes the run exit 1, after the table (bench/expect.py).
"""

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import jwt

from bench.expect import Tally, expect
from devtools.sandbox import DailySandbox
from tests.support.abuse import p50, p99, timed
from tests.support.factories import session_payload
from tests.support.processes import (
    free_port,
    procfile_web_command,
    served_by,
    start,
    stop,
    wait_for,
)
from tests.support.secantus import secantus_server

SECRET = "bench-rate-limits-" + "s" * 48
WRONG = Tally()  # any add answered other than 200 or 429 fails the run, after the table


def run(storage, mongo_uri, daily_url, args):
    port = free_port()
    env = dict(
        os.environ,
        JWT_SECRET_KEY=SECRET,
        MONGODB_URI=f"{mongo_uri}/bench_rate_limits_{storage}",
        DAILY_API_URL=daily_url,
        DAILY_API_KEY="bench-key",
        LOG_LEVEL="INFO",
        RATE_LIMIT_STORAGE=storage,
        RATE_LIMIT_CLASS_ADMISSIONS=f"{args.limit}/minute",
    )
    with tempfile.TemporaryFile("w+") as log:  # a file: a full pipe would stop a worker
        process = start(procfile_web_command(port, workers=2), env, log)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{base}/healthz", process)
            token = jwt.encode({"sub": "owner", "exp": int(time.time()) + 600}, SECRET, "HS256")
            _, created = timed(
                "POST",
                f"{base}/sessions",
                json=session_payload(),
                headers={"Authorization": f"Bearer {token}"},
            )
            path = f"/sessions/{expect(created, 201, ('_id',)).json()['_id']}/participants"

            def add(index):
                seconds, response = timed(
                    "POST", f"{base}{path}", timeout=10, json={"studentId": f"s{index}"}
                )
                if isinstance(response, Exception):
                    return None, seconds * 1000, repr(response)
                return response.status_code, seconds * 1000, response.text[:200]

            with ThreadPoolExecutor(args.threads) as pool:
                answers = list(pool.map(add, range(args.attempts)))
        finally:
            stop(process)
        log.seek(0)
        workers = served_by(log.read(), path)
    for status, _, body in answers:  # admitted or refused: no other answer
        WRONG.check_status(f"POST {path} ({storage})", status, body, {200, 429})
    admitted = [ms for status, ms, _ in answers if status == 200]
    refused = [ms for status, ms, _ in answers if status == 429]
    shares = "/".join(str(len(s)) for s in sorted(workers.values(), key=len, reverse=True))
    print(
        f"{storage:<9} {len(admitted):>8} {len(refused):>7}  {shares:>9}  "
        f"{p50(admitted):6.1f} {p99(admitted):6.1f}  {p50(refused):6.1f} {p99(refused):6.1f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    daily = DailySandbox(api_key="bench-key").start()
    try:
        with secantus_server() as mongo_uri:
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
    WRONG.verdict()


if __name__ == "__main__":
    main()
