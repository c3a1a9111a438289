"""The cost of one request inside the process, without a server or a socket.

    .venv/bin/python -m bench.request_cost [--path /sessions/<id>] [--count 2000]

Builds the benchmark's service app (bench/apps.py: the store double; settings from the
BENCH_* and app environment variables, e.g. `BENCH_RATE_LIMITS=true`,
`RATE_LIMIT_STORAGE=memory`, `BENCH_LOG_LEVEL=WARNING`), sends `count` GETs straight into
its WSGI callable, each from one of 3,000 users and 20,000 addresses in turn (so that the
rate limits count but never refuse), its log lines to /dev/null, and prints the best of 5
rounds in µs per request. Every answer must be a 200.
"""

import argparse
import itertools
import logging
import os
import time

import jwt

from bench.apps import JWT_SECRET, service_app, uid
from bench.expect import WrongAnswer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=f"/sessions/{uid(3, 0)}")
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    app = service_app()
    for handler in logging.getLogger("livesessions").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the run)
    expires = int(time.time()) + 3600
    tokens = itertools.cycle(
        [
            jwt.encode({"sub": f"u{n}", "role": "admin", "exp": expires}, JWT_SECRET)
            for n in range(3000)
        ]
    )
    addresses = itertools.cycle(
        [f"10.{n // 65536}.{n // 256 % 256}.{n % 256}" for n in range(20000)]
    )
    path, query = [*args.path.split("?", 1), ""][:2]
    base = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "bench",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
        "wsgi.input": None, "wsgi.errors": None,
    }  # fmt: skip

    def one():
        statuses = []
        environ = dict(
            base, REMOTE_ADDR=next(addresses), HTTP_AUTHORIZATION=f"Bearer {next(tokens)}"
        )
        b"".join(app.wsgi_app(environ, lambda status, headers, info=None: statuses.append(status)))
        if not statuses[0].startswith("200"):
            raise WrongAnswer(f"GET {args.path}: {statuses[0]}")

    for _ in range(300):  # warm-up
        one()
    best = min(_round(one, args.count) for _ in range(5))
    print(f"GET {args.path}: {best * 1e6:.0f} µs per request (best of 5 x {args.count})")


def _round(one, count) -> float:
    started = time.perf_counter()
    for _ in range(count):
        one()
    return (time.perf_counter() - started) / count


if __name__ == "__main__":
    main()
