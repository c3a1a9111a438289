"""A real gunicorn on loopback: 200 concurrent mixed requests, and a graceful SIGTERM.

With the embedded store gunicorn runs one worker (the store lives in one process), whose
gevent greenlets take all 200 at once; with TEST_MONGODB_URI it runs two workers against
that MongoDB.
"""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import jwt as pyjwt
import pytest
import requests

from devtools.sandbox import DailySandbox
from tests.support.abuse import HangingDaily
from tests.support.app_config import database_uri_for_test
from tests.support.factories import session_payload
from tests.support.processes import free_port, procfile_web_command, start, wait_for, wait_until

pytestmark = pytest.mark.slow  # a real gunicorn under load and SIGTERM: up to 4 s a test

SECRET = "load-test-secret-" + "y" * 48
OWNER = "owner-1"


def bearer(user=OWNER):
    token = pyjwt.encode({"sub": user, "exp": int(time.time()) + 600}, SECRET, "HS256")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def gunicorn(server_env):
    """The Procfile's gunicorn, its Daily the sandbox behind a relay that counts the
    connections made to it: (base URL, process, sandbox, relay)."""
    sandbox = DailySandbox(api_key="load-key").start()
    relay = HangingDaily(sandbox.api_url).start()  # never told to hang: it forwards
    port = free_port()
    real_mongo = bool(os.environ.get("TEST_MONGODB_URI"))
    env = server_env | {
        "JWT_SECRET_KEY": SECRET,
        "DAILY_API_URL": relay.api_url,
        "DAILY_API_KEY": "load-key",
        "MONGODB_URI": database_uri_for_test() if real_mongo else "mongomock://localhost/load",
        "LOG_LEVEL": "WARNING",
        # 200 anonymous writes from one address in a second: far over the default limits,
        # which tests/e2e/test_rate_limits.py checks; here, the writes' consistency
        "RATE_LIMITS_ENABLED": "false",
    }
    command = procfile_web_command(port, workers=2 if real_mongo else 1)
    process = start(command, env)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", process)
    yield base, process, sandbox, relay
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    relay.stop()
    sandbox.stop()


@pytest.mark.wire  # two workers on one database when there is a real one
def test_200_concurrent_mixed_requests_leave_a_consistent_session(gunicorn):
    base, *_ = gunicorn
    created = requests.post(
        f"{base}/sessions", json=session_payload(maxParticipants=50), headers=bearer(), timeout=10
    )
    assert created.status_code == 201, created.text
    sid = created.json()["_id"]

    # 100 distinct students race for 50 seats (s60..s79 try twice, s0..s39 are also
    # removed) while 20 status changes (live, and back to scheduled, which is refused once
    # live) and 20 capacity changes (20..58 seats) race with them.
    calls = [("add", f"s{n}") for n in range(100)]
    calls += [("add", f"s{n}") for n in range(60, 80)]
    calls += [("remove", f"s{n}") for n in range(40)]
    statuses = ["live", "scheduled"] * 10
    calls += [("status", status) for status in statuses]
    calls += [("capacity", 20 + 2 * n) for n in range(20)]
    assert len(calls) == 200
    barrier = threading.Barrier(len(calls))

    def send(call):
        kind, value = call
        session = requests.Session()
        barrier.wait()
        if kind == "add":
            r = session.post(f"{base}/sessions/{sid}/participants", json={"studentId": value})
        elif kind == "remove":
            r = session.delete(f"{base}/sessions/{sid}/participants/{value}")
        elif kind == "status":
            r = session.patch(f"{base}/sessions/{sid}/status", json={"status": value})
        else:
            r = session.put(
                f"{base}/sessions/{sid}", json={"maxParticipants": value}, headers=bearer()
            )
        session.close()
        return kind, value, r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        results = list(pool.map(send, calls))

    assert {status for *_, status, _ in results} <= {200, 400, 404}
    for kind, value, status, body in results:
        if status != 200:
            assert list(body) == ["message"], (kind, value, body)
            assert body["message"], (kind, value, body)

    final = requests.get(f"{base}/sessions/{sid}", headers=bearer(), timeout=10).json()
    participants = final["participants"]
    assert len(participants) == len(set(participants))
    assert len(participants) <= final["maxParticipants"]

    admitted = {v for k, v, s, _ in results if k == "add" and s == 200}
    removed = {v for k, v, s, _ in results if k == "remove" and s == 200}
    assert set(participants) == admitted - removed
    # a successful removal only ever follows that student's successful admission
    assert removed <= admitted

    changed_to = [v for k, v, s, _ in results if k == "status" and s == 200]
    assert final["status"] in (changed_to or ["scheduled"])
    capacities = [v for k, v, s, _ in results if k == "capacity" and s == 200]
    assert final["maxParticipants"] in (capacities or [50])
    print(
        f"\n200 requests: {len(admitted)} admitted, {len(removed)} removed, "
        f"{len(changed_to)} status changes, {len(capacities)} capacity changes succeeded; "
        f"final {final['status']}, {len(participants)}/{final['maxParticipants']}"
    )


def test_sigterm_lets_in_flight_requests_finish(gunicorn):
    base, process, sandbox, relay = gunicorn
    sandbox.latency = 1.5  # Daily answers slowly: the create stays in flight 1.5 s more
    outcome = {}

    def create():
        outcome["response"] = requests.post(
            f"{base}/sessions", json=session_payload(), headers=bearer(), timeout=30
        )

    request = threading.Thread(target=create)
    before = relay.connections
    request.start()
    wait_until(lambda: relay.connections > before)  # its call to Daily is open: in flight
    process.send_signal(signal.SIGTERM)
    request.join(timeout=30)
    output = process.communicate(timeout=30)[0]
    assert outcome["response"].status_code == 201, output
    assert outcome["response"].json()["roomName"] in sandbox.rooms
    assert process.returncode == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/healthz", timeout=2)
