"""A /metrics scrape before and after 3,000 requests with invented methods.

    .venv/bin/python -m bench.metrics_scrape [--requests 3000]

In-process (Flask's test client, the embedded store, the process's own metrics): the
median time of 20 scrapes, the page's bytes and sample lines, once after two invented
methods (the series every such method shares: a 404 and a 405) and again after
`--requests` more, each with a method and a path of its own. BENCHMARK ONLY: this
machine's figures; the tests judge the series (tests/api/test_metrics_abuse.py), not the
time.
"""

import argparse
import logging
import random
import statistics
import string
import time

from bench.expect import expect
from livesessions import create_app
from tests.support.exposition import invented_methods, random_path, sample_lines

SCRAPES = 20


# What an invented method may be answered (405 on a path that exists, 404 elsewhere; 501 on
# the code before issue 26): anything else, and any scrape but a 200, stops the bench.
INVENTED_ANSWERS = {404, 405, 501}


def scrape(client):
    """(median ms, bytes, sample lines) of SCRAPES scrapes."""
    times = []
    for _ in range(SCRAPES):
        started = time.perf_counter()
        body = expect(client.get("/metrics"), {200}).get_data(as_text=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, len(body.encode()), len(sample_lines(body))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # a line per request would be timed too
    app = create_app({"TESTING": True, "RATE_LIMITS_ENABLED": False})
    client = app.test_client()
    for path in ("/warm-up", "/sessions/warm-up"):  # the series invented methods share
        expect(client.open(path, method="FOO"), INVENTED_ANSWERS)
    expect(client.get("/metrics"), {200})
    rows = [("after two invented methods", scrape(client))]
    rng = random.Random(26)
    characters = string.ascii_uppercase + string.digits + "!$%&'*+-.^_`|~"
    for method in invented_methods(args.requests, 26, characters):
        expect(client.open(random_path(rng), method=method), INVENTED_ANSWERS)
    rows.append((f"after {args.requests:,} more", scrape(client)))
    for label, (median_ms, size, lines) in rows:
        print(f"{label:<28} {median_ms:9.2f} ms  {size:>10,} bytes  {lines:>7,} sample lines")


if __name__ == "__main__":
    main()
