"""The service at Daily.co's real rate limits and its own default settings, against the
Daily sandbox enforcing Daily's.

    .venv/bin/python -m bench.daily [--only join,record,delete,create,autorecord]
        [--store embedded,wire] [--neighbour-share 0,0.25] [--service-source DIR]
        [--students 1000] [--classes 20] [--spread 60] [--recordings 20] [--deletions 100]
        [--creates 300] [--clients 10] [--auto-records 100] [--env NAME=VALUE ...]

Daily allows, read strictly, 20 calls a second and 100 per 5 s to most endpoints
("standard"), 2 a second and 50 per 30 s to DELETE /rooms/:name and GET /recordings
("slow") and 1 a second and 5 per 5 s to recording starts ("recording-start"); over that
it answers 429. `--neighbour-share` lists the shares of each family's budget (the rate
its longest window keeps up) that another service on the same key uses: every store runs
once per share (default `0,0.25`, also `make bench-daily`; `make bench-daily
NEIGHBOUR_SHARE=0` for one run). The sandbox counts
calls and 429s per family; its limits are off while a scenario seeds its sessions
(through the service, each ~5 minutes ahead, so they may be joined and recorded), then
on, with empty windows:

- join: `--students` students (spread evenly over `--classes` sessions) arrive at random
  times (seeded) over `--spread` s; each adds itself as a participant (no token, as the
  Node service's frontend does), then, if admitted, asks for its join token (a Daily
  meeting token) with its own token. 64 threads. The issue's target (every student
  admitted and joined, join p99 <= 100 ms) is printed as met or not: a figure.
- record: one person in each of `--recordings` rooms' calls, then as many recording
  starts released together by a barrier, one thread each.
- delete: `--deletions` DELETE /sessions/<id> by one instructor released together, one
  thread each; then the sandbox is polled every 0.5 s, up to 75 s, until none of their
  rooms is left.
- create: `--clients` threads, each its own instructor, create `--creates`/`--clients`
  sessions each, one after another.
- autorecord: bench/daily_autorecord.py: `--auto-records` classes, each its own
  instructor, who ask for their join tokens and join their calls together; with
  DAILY_AUTO_RECORD=owner the owners' tokens start the recordings (none may need a
  recording-start call). Its own service run, the others' settings plus that one, so
  that the four above run at the defaults; the sandbox then sends its signed webhooks to
  the service. "Not available" when the service's code has no such setting.

The service runs with its default settings, rate limits on: only what a deployment must
give (JWT_SECRET_KEY, DAILY_API_KEY, DAILY_WEBHOOK_SECRET, MONGODB_URI) and the sandbox's
DAILY_API_URL are set, with APP_ENV=development because production requires an https://
DAILY_API_URL (the sandbox serves http on loopback); bench/daily_service.py. Every
request is on a fresh connection from 127.0.0.1, with no X-Forwarded-For (PROXY_HOPS=0):
every client behind one address, as behind a PaaS router or a campus NAT. Nothing
bypasses the service's limits, seeding included: join, record and delete share one
instructor, 260 writes in all (at most 240 in a minute at the default sizes), inside
RATE_LIMIT_USER_WRITES (600 a minute per user); the creators and the auto-recorded
classes' owners are one instructor each. `--env` sets any of the service's settings on
top (named in the output).

`--service-source DIR`: the service's processes run the code in DIR (its `livesessions/`,
`wsgi.py` and `gunicorn.conf.py`; their working directory and PYTHONPATH, with this
checkout's Procfile commands and venv), while the bench and the sandbox are this
checkout's. E.g. the code before issue 27:
`git archive 0339c7d | tar -x -C /tmp/before` then `--service-source /tmp/before`.
That code refuses most of the storm's anonymous admissions (429, 120 a minute per
address), so its run exits 1, after printing every figure.

Times are in ms; p50/p99 are of the successful answers; a failed or timed-out request is
counted by its status (or exception). Stores: `embedded` (mongomock, the Procfile's
command with 1 gunicorn worker; no delete scenario, which needs the job worker sharing
the database) and `wire` (BENCH_MONGODB_URI, else a SecantusDB started here; 2 workers
plus one `recordings worker`; a fresh database each run). After each service run, the
server processes' warnings and errors, counted by shape. Every answer is checked (adds,
joins, deletes, auto-record's token, join, webhooks and reads: 200; creates: 201;
recording starts: 200 or the spec's 500): any other fails its scenario and the run exits
1, after the others ran. BENCHMARK ONLY: this machine's figures.
"""

import argparse
import contextlib
import os
import secrets
import time
from pathlib import Path

from bench import daily_autorecord as autorecord
from bench.daily_scenarios import RUN as FOUR
from bench.daily_service import DAILY_KEY, Service
from bench.expect import WrongAnswer
from devtools.sandbox import DailySandbox
from tests.support.processes import ROOT
from tests.support.secantus import secantus_server

RUN = {**FOUR, "autorecord": autorecord.auto_record}
SCENARIOS = tuple(RUN)  # autorecord last: its own service run
SOURCE = ("livesessions", "wsgi.py", "gunicorn.conf.py")  # what --service-source must hold


def run_scenarios(names, service, sandbox, args, failed, label):
    for name in names:
        try:
            RUN[name](service, sandbox, args)
        except (Exception, WrongAnswer) as error:  # the others still run
            reason = getattr(error, "reason", repr(error))
            print(f"{name}: failed: {reason}")
            failed.append(f"{label} {name}: {reason}")


def serve(mongo_uri, sandbox, job_worker, args, env, names, failed, label):
    """Start the service with `env` over its defaults, run `names`, stop it, show its log."""
    workers = 2 if job_worker else 1
    with Service(mongo_uri, sandbox, workers, job_worker, env, args.service_source) as service:
        run_scenarios(names, service, sandbox, args, failed, label)
    print("server log (warnings and errors, by shape):")
    print(service.log_summary() or "  none")


def run_store(store, mongo_uri, share, args, failed):
    job_worker = store == "wire"
    shown = "2 gunicorn workers + 1 recordings worker" if job_worker else "1 gunicorn worker"
    label = f"{store}, neighbour {share:.0%}"
    print(f"\n=== {store} store ({mongo_uri.split('://')[0]}), {shown}")
    print(f"    a neighbour on the Daily key uses {share:.0%} of each limit")
    names = [name for name in SCENARIOS[:-1] if name in args.only]
    if "delete" in names and not job_worker:
        print("delete: skipped (its rooms' jobs need a worker sharing the database)")
        names.remove("delete")
    sandbox = DailySandbox(api_key=DAILY_KEY, neighbour_share=share).start()
    try:
        if names:
            print(f"    service settings: the defaults{shown_env(args.env)}")
            serve(mongo_uri, sandbox, job_worker, args, args.env, names, failed, label)
        if "autorecord" not in args.only:
            return
        if not autorecord.available(args.service_source):
            print(f"autorecord: not available ({autorecord.SETTING} unknown to the service)")
            return
        env = {**args.env, autorecord.SETTING: "owner"}
        print(f"    service settings: the defaults{shown_env(env)}")
        serve(mongo_uri, sandbox, job_worker, args, env, ["autorecord"], failed, label)
    finally:
        sandbox.stop()


def shown_env(env):
    return ", but " + ", ".join(f"{k}={v}" for k, v in env.items()) if env else ""


def shares(text):
    """`0,0.25` -> [0.0, 0.25]: the neighbour's shares, each from 0 to below 1."""
    values = [float(part) for part in text.split(",") if part.strip()]
    if not values or not all(0 <= value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"shares from 0 to below 1, comma-separated: {text}")
    return values


def settings(pairs):
    """`--env NAME=VALUE` pairs as a dict."""
    return dict(pair.split("=", 1) for pair in pairs)


def options():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--store", default="embedded,wire")
    parser.add_argument("--neighbour-share", type=shares, default=[0.0, 0.25], help="0,0.25")
    parser.add_argument("--service-source", default=str(ROOT), metavar="DIR")
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--spread", type=float, default=60.0)
    parser.add_argument("--recordings", type=int, default=20)
    parser.add_argument("--deletions", type=int, default=100)
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--auto-records", type=int, default=100)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    args.only, args.env = args.only.split(","), settings(args.env)
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; they are {', '.join(SCENARIOS)}")
    missing = [name for name in SOURCE if not (Path(args.service_source) / name).exists()]
    if missing:
        parser.error(f"--service-source {args.service_source} lacks {', '.join(missing)}")
    return args


def main():
    args = options()
    print(f"service code: {args.service_source}; bench and sandbox: {ROOT}")
    stores, failed = args.store.split(","), []
    for share in args.neighbour_share:
        if "embedded" in stores:
            run_store("embedded", "mongomock://localhost/bench_daily", share, args, failed)
        if "wire" in stores:
            database = f"bench_daily_{int(time.time())}_{secrets.token_hex(3)}"
            given = os.environ.get("BENCH_MONGODB_URI")
            server = contextlib.nullcontext(given.rstrip("/")) if given else secantus_server()
            with server as mongo_uri:
                run_store("wire", f"{mongo_uri}/{database}", share, args, failed)
    if failed:  # any answer but the expected ones (bench/expect.py) fails the run
        raise WrongAnswer("\n".join(failed))


if __name__ == "__main__":
    main()
