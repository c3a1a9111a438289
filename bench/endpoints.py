"""The endpoints `make bench` measures: each one's request and its expected answer.
BENCHMARK ONLY.

The wrk scripts (bench/http_bench.py) send these requests; `preflight` checks each
endpoint's answer once before it is timed, and tests/api/test_bench_store_double.py sends
the same requests to the benchmark's store double and to the real store, so the double
can't drift from what it stands in for.
"""

from dataclasses import dataclass, field

import requests

from bench.apps import SEARCH, seed
from bench.expect import expect, expect_keys

SESSION_KEYS = ("_id", "title", "course", "instructor", "status", "participants", "roomUrl")
PAGE_KEYS = ("sessions", "page", "pageCount", "totalItems", "totalPages", "hasNextPage")


@dataclass
class Endpoint:
    """One endpoint measured: its request (`path` and `body` are templates: `%s` an id
    from `ids`, the two `%d`s wrk's thread and request counter) and its expected answer."""

    name: str
    path: str
    status: int = 200
    keys: tuple = SESSION_KEYS  # every session in the answer has these
    method: str = "GET"
    body: str | None = None
    ids: list = field(default_factory=list)

    def request(self, thread=0, counter=0):
        """(method, path, JSON body or None) of one request, as the wrk script makes it."""
        if self.body is None:
            return self.method, self.path, None
        path = self.path % self.ids[counter % len(self.ids)] if "%s" in self.path else self.path
        counters = (thread, counter)[: self.body.count("%d")]  # Lua ignores the rest
        return self.method, path, self.body % counters


def endpoints():
    """Every endpoint measured, in order."""
    sessions, courses, _ = seed()
    first = sessions[0]["_id"]
    course = courses[0]["_id"]
    create_body = (
        '{"title":"Bench %d-%d","courseId":"' + course + '",'
        '"scheduledAt":"2031-01-01T10:00:00Z","duration":60}'
    )
    join = '{"studentId":"bench-%d-%d"}'  # thread and counter: a new student each time
    return [
        Endpoint("get by id", f"/sessions/{first}"),
        Endpoint("list page", "/sessions?page=1&pageCount=10", keys=PAGE_KEYS),
        Endpoint("list search", f"/sessions?search={SEARCH.replace(' ', '%20')}", keys=PAGE_KEYS),
        Endpoint("by course", f"/sessions/course/{course}"),
        Endpoint(
            "participant add",
            "/sessions/%s/participants",
            method="POST",
            body=join,
            ids=[s["_id"] for s in sessions],
        ),
        Endpoint(
            "status no-op",
            "/sessions/%s/status",
            method="PATCH",
            body='{"status":"scheduled"}',
            ids=[first],
        ),
        Endpoint("create", "/sessions", 201, method="POST", body=create_body, ids=[""]),
    ]


def preflight(endpoint, base, token):
    """Send `endpoint`'s request once and check its answer (status and body shape) before
    timing it: WrongAnswer if it is not the expected one."""
    method, path, body = endpoint.request()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answer = requests.request(method, base + path, data=body, headers=headers, timeout=30)
    expect(answer, endpoint.status, endpoint.keys)
    if endpoint.keys == PAGE_KEYS:
        expect_keys(answer.json()["sessions"], SESSION_KEYS, f"{method} {path}")
