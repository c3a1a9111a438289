"""Rate limits shared by the processes of one deployment: the Procfile's gunicorn with two
workers on a real MongoDB wire server (SecantusDB), hit from many connections at once."""

import time
from concurrent.futures import ThreadPoolExecutor

import jwt as pyjwt
import pytest
import requests

from devtools.sandbox import DailySandbox
from livesessions.errors import TOO_MANY_REQUESTS
from tests.support.factories import session_payload
from tests.support.processes import (
    free_port,
    procfile_web_command,
    served_by,
    start,
    stop,
    wait_for,
    wait_for_workers,
)
from tests.support.secantus import secantus_server

pytestmark = pytest.mark.slow  # a database server and gunicorn in subprocesses: ~6 s

SECRET = "rate-limit-test-secret-" + "z" * 48
LIMIT = 20
ATTEMPTS = 60


def bearer(user="owner-1"):
    token = pyjwt.encode({"sub": user, "exp": int(time.time()) + 600}, SECRET, "HS256")
    return {"Authorization": f"Bearer {token}"}


def test_two_workers_share_one_limit_through_the_database(server_env, tmp_path):
    sandbox = DailySandbox(api_key="rate-key").start()
    with secantus_server() as mongo_uri:
        port = free_port()
        env = server_env | {
            "JWT_SECRET_KEY": SECRET,
            "DAILY_API_URL": sandbox.api_url,
            "DAILY_API_KEY": "rate-key",
            "MONGODB_URI": f"{mongo_uri}/ratelimits",
            "LOG_LEVEL": "INFO",
            "RATE_LIMIT_CLASS_ADMISSIONS": f"{LIMIT}/minute",
        }
        log = (tmp_path / "gunicorn.log").open("w+")  # a file: a full pipe would stop a worker
        process = start(procfile_web_command(port, workers=2), env, output=log)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{base}/healthz", process)
            wait_for_workers(base, log.name, 2)  # not rate-limited: probes never are
            created = requests.post(
                f"{base}/sessions", json=session_payload(), headers=bearer(), timeout=10
            )
            assert created.status_code == 201, created.text
            session_id = created.json()["_id"]

            def add(index):  # a fresh connection each: the two workers share them out
                response = requests.post(
                    f"{base}/sessions/{session_id}/participants",
                    json={"studentId": f"student-{index}"},
                    timeout=10,
                )
                return index, response

            with ThreadPoolExecutor(max_workers=6) as pool:
                answers = list(pool.map(add, range(ATTEMPTS)))
            stored = requests.get(
                f"{base}/sessions/{session_id}", headers=bearer(), timeout=10
            ).json()["participants"]
        finally:
            stop(process)
            sandbox.stop()
            log.seek(0)
            output = log.read()
            log.close()

    admitted = {index for index, response in answers if response.status_code == 200}
    refused = [response for _, response in answers if response.status_code == 429]
    assert len(admitted) == LIMIT, [r.status_code for _, r in answers]
    assert len(refused) == ATTEMPTS - LIMIT
    assert {tuple(r.json().items()) for r in refused} == {(("message", TOO_MANY_REQUESTS),)}
    assert all(1 <= int(r.headers["Retry-After"]) <= 60 for r in refused)
    assert sorted(stored) == sorted(f"student-{index}" for index in admitted)
    # both workers took requests, so the limit held across processes, not within one
    workers = served_by(output, f"/sessions/{session_id}/participants")
    assert len(workers) == 2, {pid: len(statuses) for pid, statuses in workers.items()}
    assert sum(statuses.count(200) for statuses in workers.values()) == LIMIT
