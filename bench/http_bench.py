"""HTTP benchmark: the service against bare Flask and bare Express, side by side.

    .venv/bin/python -m bench.http_bench [--duration 10] [--connections 32] [--only NAME,...]

wrk (Debian's package) drives each endpoint for a fixed time at 32 connections on four
servers in turn: the service under the Procfile's server, the service under granian (`make
serve-fast`), a bare Flask app serving the same JSON bodies from memory under the Procfile's
server (the limit for this stack), and a bare Express 4 app serving the same bodies
(bench/express/: the framework of the Node service this one replaces). The service's
figures are given as ratios to both. The service's store
is an in-process double (BENCHMARK ONLY, see bench/apps.py) unless BENCH_MONGODB_URI is
set, in which case it runs on that MongoDB, seeded first, and prints each query's plan.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jwt
import requests

from bench.apps import DAILY_KEY, JWT_SECRET, SEARCH, bare_app, bare_bodies, seed
from bench.endpoints import endpoints, preflight
from bench.expect import WrongAnswer, wrk_failures
from bench.loopback import ROOT, free_port

TARGETS = {"get by id": 0.70, "list page": 0.50, "participant add": 0.60}  # of bare Flask
EXPRESS_TARGETS = {"get by id": 0.50, "list page": 0.50, "by course": 0.35}  # of bare Express
READS = {"get by id", "list page", "list search", "by course"}
# Where the load generator and the servers run: by default anywhere (they share the
# cores); --pin gives wrk its own core and the servers the others, so wrk's bursts don't
# steal the servers' CPU time in the middle of a measurement.
PIN = {"wrk": [], "server": [], "wrk_threads": 2}
APPS = {  # label -> (server, app)
    "service": ("gunicorn", "bench.apps:service_app()"),
    "bare": ("gunicorn", "bench.apps:bare_app()"),
    "granian": ("granian", "bench.apps:service_app"),  # the service under `make serve-fast`
    "express": ("node", "bench/express/server.js"),  # the Node service's framework, bare
}
EXPRESS = ROOT / "bench" / "express"


def start_server(server, target, port, env):
    """Start `target` under gunicorn (the Procfile's settings), granian (`serve-fast`'s) or
    Node (bare Express, as many processes as gunicorn has workers)."""
    start = {"granian": granian, "node": express, "gunicorn": gunicorn}[server]
    return wait_until_serving(start(target, port, env), target, port)


def web_processes() -> str:
    return os.environ.get("WEB_CONCURRENCY", "2")


def express(script, port, env):
    """bench/express/server.js (installed by `make bench`'s `npm ci`), serving the bare
    Flask app's bodies, written once to a file it reads."""
    bodies = Path(env["BENCH_TMP"]) / "bodies.json"
    bodies.write_bytes(bare_app().json.dumps(bare_bodies()).encode())
    env = dict(env, PORT=str(port), WORKERS=web_processes(), BENCH_BODIES=str(bodies))
    return subprocess.Popen(
        [*PIN["server"], "node", str(ROOT / script)],
        cwd=EXPRESS,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def serve_fast_command(factory, port) -> list[str]:
    """The Makefile's `serve-fast` server command, with `factory` as the app."""
    make = (ROOT / "Makefile").read_text()
    line = re.search(r"^serve-fast:.*\n\t(.+)$", make, re.MULTILINE).group(1)
    # the recipe checks the settings first (`startup && exec granian ...`): the server is the
    # last command (the benchmark's settings are its own)
    line = line.split("&&")[-1].strip().removeprefix("exec ")
    line = line.replace("$(BIN)/", str(Path(sys.executable).parent) + "/")
    line = line.replace("$${PORT:-7000}", str(port)).replace("wsgi:app", f"--factory {factory}")
    line = line.replace("$${WEB_CONCURRENCY:-2}", os.environ.get("WEB_CONCURRENCY", "2"))
    line = line.replace("$${WEB_THREADS:-2}", os.environ.get("WEB_THREADS", "2"))
    line = line.replace("--host 0.0.0.0", "--host 127.0.0.1")
    return shlex.split(line)


def granian(factory, port, env):
    return subprocess.Popen(
        [*PIN["server"], *serve_fast_command(factory, port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def gunicorn(target, port, env):
    """Start `target` with the Procfile's web settings (2 workers unless WEB_CONCURRENCY)."""
    web = (ROOT / "Procfile").read_text().splitlines()[0].removeprefix("web: ")
    web = web.replace("wsgi:app", shlex.quote(target)).replace("${PORT:-7000}", str(port))
    web = web.replace("${WEB_CONCURRENCY:-2}", os.environ.get("WEB_CONCURRENCY", "2"))
    # BENCH_GUNICORN_ARGS="--worker-class sync --workers 4" tries other settings (later wins)
    extra = shlex.split(os.environ.get("BENCH_GUNICORN_ARGS", ""))
    command = [str(Path(sys.executable).parent / "gunicorn"), *shlex.split(web)[1:], *extra]
    command = [*PIN["server"], *command]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_until_serving(process, target, port):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/sessions/course/x", timeout=5)
            return process
        except (requests.ConnectionError, requests.Timeout):  # not listening, or still loading
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{target} did not start")


def lua_script(directory, endpoint, token):
    """A wrk script sending `endpoint`'s request with a fresh body each time (per-thread
    counters: the same bodies as `Endpoint.request`)."""
    ids_lua = ", ".join(f'"{i}"' for i in endpoint.ids)
    script = f"""
wrk.method = "{endpoint.method}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
local ids = {{{ids_lua}}}
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
request = function()
  counter = counter + 1
  local id = ids[(counter % #ids) + 1]
  local path = string.format("{endpoint.path}", id)
  local body = string.format('{endpoint.body}', tid, counter)
  return wrk.format(nil, path, nil, body)
end
"""
    path = Path(directory) / f"{endpoint.name.replace(' ', '-')}.lua"
    path.write_text(script)
    return str(path)


LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url, duration, connections, script=None, token=None):
    """One wrk run: requests/s, p50 and p99 in ms; WrongAnswer if any answer was not a
    2xx or 3xx, or a socket failed (wrk counts them; the preflight checked the status)."""
    command = [*PIN["wrk"], "wrk", f"-t{PIN['wrk_threads']}", f"-c{connections}"]
    command += [f"-d{duration}s", "--latency", url]
    if script:
        command += ["-s", script]
    elif token:
        command += ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    failures = wrk_failures(output)
    if failures:
        raise WrongAnswer(f"wrk {url}{' -s ' + script if script else ''}: {failures}")
    latency = {pct: float(value) * TO_MS[unit] for pct, value, unit in LATENCY.findall(output)}
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "p50": latency["50"],
        "p99": latency["99"],
    }


def seed_mongo(uri):
    """Load the benchmark's documents into the MongoDB at `uri` (its collections replaced)."""
    from livesessions.db import connect
    from livesessions.indexes import ensure_indexes

    database = connect(uri)
    sessions, courses, users = seed()
    for name, docs in (("livesessions", sessions), ("courses", courses), ("users", users)):
        database[name].drop()
        database[name].insert_many(docs)
    ensure_indexes(database)
    return database


def plan_stages(plan):
    stages = [plan.get("stage")]
    for key in ("inputStage", "queryPlan"):
        if isinstance(plan.get(key), dict):
            stages += plan_stages(plan[key])
    for child in plan.get("inputStages", []):
        stages += plan_stages(child)
    return [s for s in stages if s]


def explain_plans(database):
    """Print the winning plan of each query the endpoints make; return False on a COLLSCAN."""
    sessions, courses, users = seed()
    by_schedule = {"scheduledAt": 1, "_id": 1}
    live = {"deletedAt": None}
    search = {**live, "title": {"$regex": re.escape(SEARCH), "$options": "i"}}
    queries = [
        ("get by id", {"find": "livesessions", "filter": {"_id": sessions[0]["_id"], **live}}),
        ("list count", {"count": "livesessions", "query": live}),
        ("list page", {"find": "livesessions", "filter": live, "sort": by_schedule, "limit": 10}),
        ("search count", {"count": "livesessions", "query": search}),
        ("search page", {"find": "livesessions", "filter": search, "sort": by_schedule, "limit": 10}),  # noqa: E501
        ("by course", {"find": "livesessions", "filter": {"course": courses[0]["_id"], **live}, "sort": by_schedule}),  # noqa: E501
        ("populate course", {"find": "courses", "filter": {"_id": {"$in": [c["_id"] for c in courses]}}}),  # noqa: E501
        ("populate user", {"find": "users", "filter": {"_id": {"$in": [u["_id"] for u in users]}}}),
        ("participant add", {"find": "livesessions", "filter": {"_id": sessions[0]["_id"], **live, "participants": {"$ne": "x"}}}),  # noqa: E501
        ("status filter", {"find": "livesessions", "filter": {**live, "status": "live"}, "sort": by_schedule, "limit": 10}),  # noqa: E501
        ("course filter", {"find": "livesessions", "filter": {**live, "course": courses[0]["_id"], "scheduledAt": {"$gte": sessions[0]["scheduledAt"]}}, "sort": by_schedule, "limit": 10}),  # noqa: E501
        ("overdue sweep", {"find": "livesessions", "filter": {**live, "status": {"$in": ["scheduled", "live"]}, "scheduledAt": {"$lt": sessions[0]["scheduledAt"]}}}),  # noqa: E501
    ]  # fmt: skip
    ok = True
    print("query plans (BENCH_MONGODB_URI):")
    for name, command in queries:
        explained = database.db.command("explain", command, verbosity="queryPlanner")
        stages = plan_stages(explained["queryPlanner"]["winningPlan"])
        scan = "COLLSCAN" in stages
        ok &= not scan
        print(f"  {name:<16} {' <- '.join(stages)}{'  COLLSCAN!' if scan else ''}")
    return ok


def measure(todo, servers, args, token):
    """Median of `rounds` runs per endpoint and app, after a warm-up, the apps alternating."""
    results = {}
    for endpoint, path, script in todo:
        name = endpoint.name
        for label, (port, _) in servers.items():
            try:
                preflight(endpoint, f"http://127.0.0.1:{port}", token)
            except WrongAnswer as wrong:
                raise WrongAnswer(f"{name} on {label}: {wrong.reason}") from None
        runs = {label: [] for label in servers}
        for port, _ in servers.values():  # warm-up, not counted
            run_wrk(f"http://127.0.0.1:{port}{path}", 2, args.connections, script, token)
        for _ in range(args.rounds):  # alternating, so the machine's drift hits both alike
            for label, (port, _) in servers.items():
                url = f"http://127.0.0.1:{port}{path}"
                try:
                    run = run_wrk(url, args.duration, args.connections, script, token)
                except WrongAnswer as wrong:
                    raise WrongAnswer(f"{name} on {label}: {wrong.reason}") from None
                runs[label].append(run)
        for label, measured in runs.items():
            results[(label, name)] = sorted(measured, key=lambda r: r["rps"])[len(measured) // 2]
    return results


def report(todo, results, args):
    """Print the table; return False if a target is missed."""
    store = (
        "MongoDB (BENCH_MONGODB_URI)"
        if os.environ.get("BENCH_MONGODB_URI")
        else "in-process store double (BENCHMARK ONLY: no query work)"
    )
    print(
        f"store: {store}; service: the Procfile's gunicorn; granian: make serve-fast's; bare "
        f"Flask under the Procfile's gunicorn; bare Express 4 in {web_processes()} "
        f"processes (cluster); wrk: {PIN['wrk_threads']} threads, {args.connections} "
        f"connections; median of {args.rounds} runs of {args.duration} s per endpoint, the "
        f"four servers alternating; {os.cpu_count()} cores. Targets: the service against "
        "Express (x) and against bare Flask (f); a read's p99 at most 3 x its p50"
    )
    header = (
        f"{'endpoint':<16} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'p99/p50':>7} | "
        f"{'granian':>7} {'p99/p50':>7} | {'Flask':>6} | {'Express':>7} {'p99':>6} | "
        f"{'/Express':>8} {'target':>6} | {'/Flask':>6} {'target':>6}"
    )
    print(header)
    print("-" * len(header))
    all_ok = True
    for endpoint, _, _ in todo:
        name = endpoint.name
        s, b, g, x = (results[(label, name)] for label in ("service", "bare", "granian", "express"))
        to_express, to_bare, tail = s["rps"] / x["rps"], s["rps"] / b["rps"], s["p99"] / s["p50"]
        notes = []
        for ratio, targets, peer in (
            (to_express, EXPRESS_TARGETS, "Express"),
            (to_bare, TARGETS, "bare Flask"),
        ):
            if name in targets and ratio < targets[name]:
                notes.append(f"BELOW TARGET ({peer})")
        if name in READS and tail > 3:
            notes.append("p99 > 3x p50")
        all_ok &= not notes
        x_target = f">={EXPRESS_TARGETS[name]:.2f}" if name in EXPRESS_TARGETS else ""
        f_target = f">={TARGETS[name]:.2f}" if name in TARGETS else ""
        print(
            f"{name:<16} {s['rps']:>7.0f} {s['p50']:>7.2f} {s['p99']:>7.2f} {tail:>7.1f} | "
            f"{g['rps']:>7.0f} {g['p99'] / g['p50']:>7.1f} | {b['rps']:>6.0f} | "
            f"{x['rps']:>7.0f} {x['p99']:>6.2f} | {to_express:>8.2f} {x_target:>6} | "
            f"{to_bare:>6.2f} {f_target:>6}  {'; '.join(notes)}"
        )
    print(json.dumps({f"{k[0]}:{k[1]}": v for k, v in results.items()}), file=sys.stderr)
    return all_ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="runs per app; the median counts")
    parser.add_argument(
        "--pin", action="store_true", help="wrk on the first core, the servers on the others"
    )
    parser.add_argument("--only", help="comma list of endpoint names")
    args = parser.parse_args()
    if args.pin:
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2:
            parser.error("--pin needs at least two cores")
        servers = ",".join(map(str, cores[1:]))
        PIN.update(wrk=["taskset", "-c", str(cores[0])], server=["taskset", "-c", servers])
        PIN["wrk_threads"] = 1
    # Tokens need an `exp` since the JWT leeway change; a day outlasts any run.
    claims = {"sub": "bench-user", "role": "admin", "exp": int(time.time()) + 86400}
    token = jwt.encode(claims, JWT_SECRET, "HS256")
    daily_port, cloud_port = free_port(), free_port()
    sandbox = subprocess.Popen(
        [
            *(sys.executable, "-m", "devtools.sandbox"),
            *("--daily-port", str(daily_port), "--cloudinary-port", str(cloud_port)),
            # the service's key; no Daily rate limits: the service's own work is measured
            # (bench/daily.py measures it at Daily's limits)
            *("--daily-api-key", DAILY_KEY, "--no-rate-limits"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    env = dict(
        os.environ, PYTHONPATH=str(ROOT), BENCH_DAILY_API_URL=f"http://127.0.0.1:{daily_port}/v1"
    )
    plans_ok = True
    if os.environ.get("BENCH_MONGODB_URI"):
        database = seed_mongo(os.environ["BENCH_MONGODB_URI"])
        plans_ok = explain_plans(database)
        database.close()
    servers = {}
    try:
        with tempfile.TemporaryDirectory() as directory:
            todo = [
                (e, "/", lua_script(directory, e, token)) if e.body else (e, e.path, None)
                for e in endpoints()
                if not args.only or e.name in args.only.split(",")
            ]
            env["BENCH_TMP"] = directory
            for label, (server, target) in APPS.items():
                port = free_port()
                servers[label] = (port, start_server(server, target, port, env))
            results = measure(todo, servers, args, token)
    finally:
        for _, server in servers.values():
            server.terminate()
            server.wait(timeout=30)
        sandbox.terminate()
        sandbox.wait(timeout=10)
    targets_ok = report(todo, results, args)
    sys.exit(0 if targets_ok and plans_ok else 1)


if __name__ == "__main__":
    main()
