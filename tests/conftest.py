"""Fixtures: app -> client -> db, a `responses`-backed Daily.co, tokens, the e2e stack.

Only fixtures live here (and in a folder's own conftest.py, for fixtures only that folder
uses); the helpers they and the tests use are in `tests/support/`.
Set TEST_MONGODB_URI to run every test against a real MongoDB (each test gets its own
database, dropped afterwards) instead of the embedded mongomock store; or
TEST_MONGODB=secantus to have the suite start a SecantusDB server for the run and use it
(`make test` does both runs).
"""

import contextlib
import os
import threading

import pytest
import responses
from flask_jwt_extended import create_access_token
from hypothesis import HealthCheck, settings
from werkzeug.serving import make_server

from devtools.sandbox import CloudinarySandbox, DailySandbox
from livesessions import create_app
from livesessions.config import SETTINGS
from tests.support.app_config import DAILY_KEY, JWT_SECRET, database_uri_for_test
from tests.support.counting import CountingCollection
from tests.support.factories import INSTRUCTOR, session_payload
from tests.support.fake_daily import DAILY_URL, FakeDaily
from tests.support.openapi_client import OpenAPIValidatingClient
from tests.support.sandbox import STACK_API_KEY, WEBHOOK_SECRET
from tests.support.secantus import ON_SECANTUS, secantus_server

_SERVERS = contextlib.ExitStack()


def pytest_configure(config):
    """With TEST_MONGODB=secantus, start a SecantusDB on a free loopback port for the run
    (for each process of it, with `-n`): every test's database is then on it, and so are
    the servers the e2e tests start.

    Hypothesis times each example (a 200 ms deadline, the `too_slow` health check): both
    are verdicts on the machine's speed, so neither applies to any property here."""
    settings.register_profile(
        "livesessions", deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.load_profile("livesessions")
    if _runs_no_tests(config):
        return
    if ON_SECANTUS and not os.environ.get("TEST_MONGODB_URI"):
        os.environ["TEST_MONGODB_URI"] = _SERVERS.enter_context(secantus_server())


def _runs_no_tests(config):
    """The controller of a run spread over processes (pytest-xdist's `-n`): each of its
    workers starts a server of its own, so that two servers share the load."""
    return bool(config.getoption("numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_unconfigure(config):
    _SERVERS.close()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Keep the developer's own settings (APP_ENV, DAILY_API_KEY...) out of the tests."""
    for name, setting in SETTINGS.items():
        for key in (name, *setting.aliases):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def config():
    return {
        "TESTING": True,
        "MONGODB_URI": database_uri_for_test(),
        "MONGODB_TIMEOUT_MS": 2000,
        "JWT_SECRET_KEY": JWT_SECRET,
        "DAILY_API_KEY": DAILY_KEY,
        "DAILY_API_URL": DAILY_URL,
        "DAILY_RETRY_BACKOFF_SECONDS": 0,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMITS_ENABLED": False,  # tests/api/test_rate_limits.py turns them on
        "WEBHOOKS_ALLOW_PRIVATE": True,  # receivers on loopback; test_webhooks turns it off
    }


@pytest.fixture
def make_app(config):
    """Build apps from the test config plus overrides; their databases are cleaned up after."""
    apps = []

    def make(**overrides):
        app = create_app(config | overrides)
        app.test_client_class = OpenAPIValidatingClient
        apps.append(app)
        return app

    yield make
    for app in apps:
        database = app.extensions["livesessions"].database
        if not database.embedded and app.config["MONGODB_URI"] == config["MONGODB_URI"]:
            database.client.drop_database(database.db.name)
        database.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    """The raw database, to seed and inspect stored documents."""
    return app.extensions["livesessions"].database.db


@pytest.fixture
def token_for(app):
    def make(user_id=INSTRUCTOR, role="instructor", **claims):
        with app.app_context():
            return create_access_token(identity=user_id, additional_claims={"role": role, **claims})

    return make


@pytest.fixture
def auth(token_for):
    """Authorization header of the default instructor."""
    return {"Authorization": f"Bearer {token_for()}"}


@pytest.fixture
def daily():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeDaily(mock)


@pytest.fixture
def create_session(client, auth, daily):
    """Create a session through the API and return its JSON."""

    def make(headers=None, **overrides):
        response = client.post(
            "/sessions", json=session_payload(**overrides), headers=headers or auth
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.fixture
def queries(app, monkeypatch):
    """The (collection, method) calls the store makes during a test."""
    from livesessions.db import Database

    log = []
    store = app.extensions["livesessions"].session_store
    monkeypatch.setattr(store, "sessions", CountingCollection(store.sessions, log))
    monkeypatch.setattr(
        Database, "__getitem__", lambda self, name: CountingCollection(self.db[name], log)
    )
    return log


# -- end to end over loopback: the API on a real server, both sandboxes --------------------


@pytest.fixture
def stack_config():
    """Extra settings of the `stack` app (a test module may override this fixture)."""
    return {}


@pytest.fixture
def stack(make_app, tmp_path, token_for, stack_config):
    """Daily sandbox -> API (real HTTP server) <- worker -> Cloudinary sandbox."""
    daily = DailySandbox(
        api_key=STACK_API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        recording_bytes=300_000,
        ready_delay=0,
        rate_limits=False,  # the flow, not pacing: the tests with their own sandbox meet them
    )
    cloud = CloudinarySandbox(storage_dir=str(tmp_path / "cloud"), min_chunk_bytes=64 * 1024)
    daily.start()
    cloud.start()
    app = make_app(
        DAILY_API_URL=daily.api_url,
        DAILY_API_KEY=STACK_API_KEY,
        DAILY_WEBHOOK_SECRET=WEBHOOK_SECRET,
        CLOUD_NAME=cloud.cloud_name,
        CLOUD_API_KEY=cloud.api_key,
        CLOUD_API_SECRET=cloud.api_secret,
        CLOUDINARY_UPLOAD_PREFIX=cloud.url,
        CLOUDINARY_CHUNK_SIZE=100_000,
        RECORDING_RETRY_BASE_SECONDS=0,
        **stack_config,
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    daily.webhook_url = f"{base}/sessions/webhook/daily"
    auth = {"Authorization": f"Bearer {token_for()}"}
    yield base, auth, daily, cloud, app
    server.shutdown()
    daily.stop()
    cloud.stop()
