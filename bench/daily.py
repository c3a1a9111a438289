"""The service at Daily.co's real rate limits, against the Daily sandbox enforcing them.

    .venv/bin/python -m bench.daily [--only join,record,delete,create] [--store embedded,wire]
        [--students 1000] [--classes 20] [--spread 60] [--recordings 20] [--deletions 100]
        [--creates 300] [--clients 10] [--neighbour-share 0.25] [--env NAME=VALUE ...]

Daily allows, read strictly, 20 calls a second and 100 per 5 s to most endpoints
("standard"), 2 a second and 50 per 30 s to DELETE /rooms/:name and GET /recordings
("slow") and 1 a second and 5 per 5 s to recording starts ("recording-start"); over that
it answers 429. `--neighbour-share` (also `make bench-daily NEIGHBOUR_SHARE=0.25`) has
the sandbox play another service on the same key using that share of each family's
rate. The sandbox counts calls and 429s per family; its limits are off while a scenario
seeds its sessions (through the service, each ~5 minutes ahead, so they may be joined
and recorded), then on, with empty windows:

- join: `--students` students (spread evenly over `--classes` sessions) arrive at random
  times (seeded) over `--spread` s; each adds itself as a participant, then, if admitted,
  asks for its join token (a Daily meeting token). 64 threads.
- record: one person in each of `--recordings` rooms' calls, then as many recording
  starts released together by a barrier, one thread each.
- delete: `--deletions` DELETE /sessions/<id> released together, one thread each; then the
  sandbox is polled every 0.5 s, up to 75 s, until none of their rooms is left.
- create: `--clients` threads each create `--creates`/`--clients` sessions in turn.

Every request is on a fresh connection, from the one loopback address: the service's own
rate limits are off (RATE_LIMITS_ENABLED=false). Times are in ms; p50/p99 are of the
successful answers; a failed or timed-out request is counted by its status (or
exception). Stores: `embedded` (mongomock, the Procfile's command with 1 gunicorn worker;
no delete scenario, which needs the job worker sharing the database) and `wire`
(BENCH_MONGODB_URI, else a SecantusDB started here; 2 workers plus one `recordings
worker`; a fresh database each run). `--env` sets any of the service's settings. At the
end of each store, the server processes' warnings and errors, counted by shape. Every
answer is checked (adds, joins, deletes: 200; creates: 201; recording starts: 200 or the
spec's 500): any other fails its scenario and the run exits 1, after the others ran.
BENCHMARK ONLY: this machine's figures.
"""

import argparse
import contextlib
import os
import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench.daily_service import (
    DAILY_KEY,
    Counters,
    Service,
    bearer,
    call,
    limits,
    quantiles,
    soon_payload,
    statuses,
)
from bench.expect import WrongAnswer, expect_all
from livesessions.errors import START_FAILED
from livesessions.sandbox import DailySandbox
from tests.support.secantus import secantus_server

SCENARIOS = ("join", "record", "delete", "create")
DELETE_WAIT = 75.0  # seconds to wait for the deleted sessions' rooms to go (the issue's bound)


def seed(service, sandbox, count, label):
    """`count` sessions created through the service with the sandbox's limits off."""
    limits(sandbox, False)
    url = f"{service.base}/sessions"
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda n: call("POST", url, json=soon_payload(f"{label} {n}")), range(count))
        )
    expect_all(results, {201: None}, f"seeding {label} (limits off)")
    return [body for _, status, body in results]


def released(count, action):
    """Run action(index) in `count` threads released together by a barrier:
    (release time, [(end time, result), ...]), times from time.perf_counter()."""
    release = []
    barrier = threading.Barrier(count, action=lambda: release.append(time.perf_counter()))

    def one(index):
        barrier.wait()
        result = action(index)
        return time.perf_counter(), result

    with ThreadPoolExecutor(count) as pool:
        ends = list(pool.map(one, range(count)))
    return release[0], ends


def join_storm(service, sandbox, args):
    docs = seed(service, sandbox, args.classes, "join")
    rng = random.Random(20240601)
    arrivals = sorted((rng.uniform(0, args.spread), n) for n in range(args.students))
    limits(sandbox, True)
    counters = Counters(sandbox)
    started = time.perf_counter()

    def student(arrival):
        at, n = arrival
        time.sleep(max(0.0, started + at - time.perf_counter()))
        url = f"{service.base}/sessions/{docs[n % len(docs)]['_id']}"
        headers = bearer(f"student-{n}", "student")
        added = call("POST", f"{url}/participants", headers, json={"studentId": f"student-{n}"})
        if added[1] != 200:
            return added, (0.0, "not tried", None)
        return added, call("POST", f"{url}/join", headers)

    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(student, arrivals))
    wall = time.perf_counter() - started
    tokens = len(sandbox.meeting_tokens) - counters.tokens
    print(
        f"join storm: {args.students} students, {len(docs)} classes, arrivals over "
        f"{args.spread:g} s, 64 threads"
    )
    for step, index, ok in (("add", 0, 200), ("join", 1, 200)):
        answers = [result[index] for result in results]
        good = [ms for ms, status, body in answers if status == ok and body]
        shown = f"{len(good):>5}/{len(answers)} ok  {quantiles(good)}"
        print(f"  {step:<5} {shown}  ({statuses(answers)})")
    print(f"  meeting tokens the sandbox issued: {tokens}; {counters.report()}")
    print(f"  wall {wall:.1f} s")
    expect_all([added for added, _ in results], {200: None}, "join storm: POST .../participants")
    expect_all([joined for _, joined in results], {200: None}, "join storm: POST .../join")


def record(service, sandbox, args):
    docs = seed(service, sandbox, args.recordings, "record")
    for n, doc in enumerate(docs):
        sandbox.join_call(doc["roomName"], user_id=f"student-{n}", user_name=f"Student {n}")
    limits(sandbox, True)
    counters = Counters(sandbox)
    url = f"{service.base}/sessions/recording/start"
    start, ends = released(
        len(docs), lambda n: call("POST", url, json={"roomName": docs[n]["roomName"]})
    )
    answers = [result for _, result in ends]
    last_ok = max((end for end, (_, status, _) in ends if status == 200), default=None)
    print(f"record: {len(docs)} recording starts released together, one thread each")
    print(f"  {statuses(answers)}")
    to_ok = f"{(last_ok - start) * 1000:.0f} ms" if last_ok else "no 200"
    last = max(end for end, _ in ends)
    print(f"  to the last 200: {to_ok}; to the last answer: {(last - start) * 1000:.0f} ms")
    with sandbox.lock:
        on_daily = {recording["room_name"] for recording in sandbox.recordings.values()}
    half = [doc for doc, (_, status, _) in zip(docs, answers, strict=True) if status != 200]
    half = [doc for doc in half if doc["roomName"] in on_daily]
    print(f"  failed answers whose recording started on Daily all the same: {len(half)}")
    print(f"  {counters.report()}")
    expect_all(answers, {200: None, 500: {"message": START_FAILED}}, f"record: POST {url}")


def delete(service, sandbox, args):
    docs = seed(service, sandbox, args.deletions, "delete")
    limits(sandbox, True)
    counters = Counters(sandbox)
    start, ends = released(
        len(docs), lambda n: call("DELETE", f"{service.base}/sessions/{docs[n]['_id']}")
    )
    print(f"delete: {len(docs)} DELETE /sessions/<id> released together, one thread each")
    print(f"  {statuses([result for _, result in ends])}")
    print(f"  to the last answer: {(max(end for end, _ in ends) - start) * 1000:.0f} ms")
    rooms = {doc["roomName"] for doc in docs}
    while True:
        with sandbox.lock:
            left = rooms & set(sandbox.rooms)
        waited = time.perf_counter() - start
        if not left or waited >= DELETE_WAIT:
            break
        time.sleep(0.5)
    if left:
        print(f"  rooms left after {DELETE_WAIT:.0f} s: {len(left)}/{len(rooms)}")
    else:
        print(f"  every room gone {waited:.1f} s after the release")
    print(f"  {counters.report()}")
    expect_all([result for _, result in ends], {200: None}, "delete: DELETE /sessions/<id>")


def create(service, sandbox, args):
    limits(sandbox, True)
    counters = Counters(sandbox)
    each = args.creates // args.clients
    url = f"{service.base}/sessions"

    def client(c):
        return [call("POST", url, json=soon_payload(f"create {c}-{n}")) for n in range(each)]

    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        answers = [answer for some in pool.map(client, range(args.clients)) for answer in some]
    wall = time.perf_counter() - started
    good = [ms for ms, status, _ in answers if status == 201]
    print(f"create: {args.clients} clients x {each} sessions, one after another")
    print(f"  {len(good)}/{len(answers)} created  {quantiles(good)}  ({statuses(answers)})")
    print(f"  wall {wall:.1f} s; {counters.report()}")
    expect_all(answers, {201: None}, f"create: POST {url}")


RUN = {"join": join_storm, "record": record, "delete": delete, "create": create}


def run_store(store, mongo_uri, args, extra_env, failed):
    workers, job_worker = (1, False) if store == "embedded" else (2, True)
    shown = f"{workers} gunicorn worker{'s' * (workers > 1)}"
    shown += " + 1 recordings worker" if job_worker else ""
    print(f"\n=== {store} store ({mongo_uri.split('://')[0]}), {shown}")
    print("    our rate limits off: one loopback address plays every client")
    if args.neighbour_share:
        print(f"    a neighbour on the Daily key uses {args.neighbour_share:.0%} of each limit")
    sandbox = DailySandbox(api_key=DAILY_KEY, neighbour_share=args.neighbour_share).start()
    try:
        with Service(mongo_uri, sandbox, workers, job_worker, extra_env) as service:
            for name in SCENARIOS:
                if name not in args.only:
                    continue
                if name == "delete" and not job_worker:
                    print("delete: skipped (its rooms' jobs need a worker sharing the database)")
                    continue
                try:
                    RUN[name](service, sandbox, args)
                except (Exception, WrongAnswer) as error:  # the others still run
                    reason = getattr(error, "reason", repr(error))
                    print(f"{name}: failed: {reason}")
                    failed.append(f"{store} {name}: {reason}")
        print("server log (warnings and errors, by shape):")
        print(service.log_summary() or "  none")
    finally:
        sandbox.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--store", default="embedded,wire")
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--spread", type=float, default=60.0)
    parser.add_argument("--recordings", type=int, default=20)
    parser.add_argument("--deletions", type=int, default=100)
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--neighbour-share", type=float, default=0.0, help="e.g. 0.25")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    args.only = args.only.split(",")
    extra_env = dict(setting.split("=", 1) for setting in args.env)
    if extra_env:
        print(f"service settings: {extra_env}")
    stores, failed = args.store.split(","), []
    if "embedded" in stores:
        run_store("embedded", "mongomock://localhost/bench_daily", args, extra_env, failed)
    if "wire" in stores:
        database = f"bench_daily_{int(time.time())}_{secrets.token_hex(3)}"
        given = os.environ.get("BENCH_MONGODB_URI")
        server = contextlib.nullcontext(given.rstrip("/")) if given else secantus_server()
        with server as mongo_uri:
            run_store("wire", f"{mongo_uri}/{database}", args, extra_env, failed)
    if failed:  # any answer but the expected ones (bench/expect.py) fails the run
        raise WrongAnswer("\n".join(failed))


if __name__ == "__main__":
    main()
