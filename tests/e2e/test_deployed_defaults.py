"""The top of the hour as deployed (issue 27): the Procfile's web and worker with only the
settings production requires, on a MongoDB wire server (SecantusDB), behind a loopback
reverse proxy that appends `X-Forwarded-For` as a PaaS router does. 200 students of 4
classes admit themselves and join: 150 from one address (a campus NAT), 50 each from an
address of its own. Every admission and every join succeeds, and every class stores its
students. (On the code of before, the one address got 120 admissions and then 429s.)"""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest

from devtools.sandbox import DailySandbox
from livesessions.config import ConfigError, load_config
from livesessions.config_checks import PRODUCTION_REQUIRED
from tests.support.app_config import DAILY_KEY, PRODUCTION
from tests.support.factories import iso, session_payload
from tests.support.forwarding_proxy import ForwardingProxy, LoopbackClient
from tests.support.processes import (
    SERVER_SECRET,
    free_port,
    procfile_web_command,
    procfile_worker_command,
    start,
    stop,
    wait_for,
)
from tests.support.secantus import secantus_server

# gunicorn, the worker and a SecantusDB of its own (so not `wire`: once per `make test`)
pytestmark = pytest.mark.slow

CLASSES = 4
SEATS = 50
BEHIND_ONE_ADDRESS = 150  # more than the 120/minute an address had before
NAT = "127.0.0.1"


def bearer(user, role):
    claims = {"sub": user, "role": role, "exp": int(time.time()) + 600}
    return {"Authorization": f"Bearer {pyjwt.encode(claims, SERVER_SECRET, 'HS256')}"}


def required_settings(mongo_uri, daily_url):
    """Every setting production requires (the values of tests/support/app_config.py), and
    nothing else but where Daily and the database are."""
    given = {name: str(PRODUCTION[name]) for name in PRODUCTION_REQUIRED}
    return given | {
        "JWT_SECRET_KEY": SERVER_SECRET,
        "DAILY_API_KEY": DAILY_KEY,
        "MONGODB_URI": f"{mongo_uri}/deployed",
        "DAILY_API_URL": daily_url,
    }


def test_required_settings_are_a_whole_production_configuration():
    """They would start in production, but for the sandbox's http:// (production wants
    https:// for Daily): the storm below runs with APP_ENV left at its default for that."""
    settings = required_settings("mongodb://127.0.0.1:27017", "http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError) as error:
        load_config(settings | {"APP_ENV": "production"})
    assert str(error.value) == (
        "Invalid settings: DAILY_API_URL must be an https:// URL in production"
    )


def student_address(index):
    """NAT for the first 150 students, then one loopback address each (127.0.1.x)."""
    return NAT if index < BEHIND_ONE_ADDRESS else f"127.0.1.{index - BEHIND_ONE_ADDRESS + 1}"


@pytest.fixture
def deployment(server_env, tmp_path):
    """(proxy URL, web process, worker process): the Procfile's two, behind the proxy."""
    sandbox = DailySandbox(api_key=DAILY_KEY).start()
    with secantus_server() as mongo_uri:
        env = server_env | required_settings(mongo_uri, sandbox.api_url)
        port = free_port()
        web_log = (tmp_path / "web.log").open("w+")  # files: a full pipe would stop them
        worker_log = (tmp_path / "worker.log").open("w+")
        web = start(procfile_web_command(port, workers=2), env, output=web_log)
        worker = start(procfile_worker_command(), env, output=worker_log)
        proxy = ForwardingProxy(f"http://127.0.0.1:{port}").start()
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", web)
            yield proxy.url, web, worker
        finally:
            proxy.stop()
            stop(web)
            stop(worker)
            sandbox.stop()
            web_log.close()
            worker_log.close()


def test_a_top_of_the_hour_storm_behind_a_proxy_admits_and_joins_everyone(deployment):
    url, web, worker = deployment
    router = LoopbackClient(url)
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
    classes = []
    for number in range(CLASSES):
        body = session_payload(maxParticipants=SEATS, scheduledAt=iso(starts))
        status, created = router.request(
            "POST", "/sessions", body, bearer(f"instructor-{number}", "instructor")
        )
        assert status == 201, created
        classes.append(created["_id"])
    students = [
        (index, f"student-{index}", classes[index % CLASSES]) for index in range(CLASSES * SEATS)
    ]

    def arrive(student):
        index, student_id, session_id = student
        client = LoopbackClient(url, source=student_address(index))
        added = client.request(
            "POST", f"/sessions/{session_id}/participants", {"studentId": student_id}
        )
        joined = client.request(
            "POST", f"/sessions/{session_id}/join", None, bearer(student_id, "student")
        )
        return student_id, added, joined

    with ThreadPoolExecutor(max_workers=16) as pool:
        arrivals = list(pool.map(arrive, students))

    refused = [(s, a[0], j[0]) for s, a, j in arrivals if a[0] != 200 or j[0] != 200]
    assert refused == [], refused[:5]
    for student_id, (_, added), (_, joined) in arrivals:
        assert student_id in added["participants"]
        assert joined["joinUrl"].endswith(f"?t={joined['token']}")
    for number, session_id in enumerate(classes):
        status, stored = router.request(
            "GET", f"/sessions/{session_id}", None, bearer(f"instructor-{number}", "instructor")
        )
        assert status == 200, stored
        expected = {sid for _, sid, cls in students if cls == session_id}
        assert sorted(stored["participants"]) == sorted(expected)
    assert (web.poll(), worker.poll()) == (None, None)  # both still up
