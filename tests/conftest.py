"""Fixtures: app -> client -> db, a `responses`-backed Daily.co, and tokens.

Set TEST_MONGODB_URI to run every test against a real MongoDB (each test gets its own
database, dropped afterwards) instead of the embedded mongomock store.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import jsonschema
import pytest
import requests
import responses
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from livesessions import create_app
from livesessions.config import SETTINGS
from livesessions.openapi import build_spec, openapi_path
from livesessions.sandbox import CloudinarySandbox, DailySandbox

JWT_SECRET = "test-secret-" + "0123456789abcdef" * 4  # 76 bytes: long enough for HS512
DAILY_URL = "https://api.daily.test/v1"
ROOMS_URL = f"{DAILY_URL}/rooms"
ROOM_URL = re.compile(re.escape(ROOMS_URL) + r"/[^/]+$")
RECORDING_START_URL = re.compile(re.escape(ROOMS_URL) + r"/[^/]+/recordings/start$")
RECORDING_STOP_URL = re.compile(re.escape(ROOMS_URL) + r"/[^/]+/recordings/stop$")
ACCESS_LINK_URL = re.compile(re.escape(DAILY_URL) + r"/recordings/[^/]+/access-link$")
TOKENS_URL = f"{DAILY_URL}/meeting-tokens"
DOWNLOAD_URL = "https://download.daily.test/recordings"
INSTRUCTOR = "11111111-1111-4111-8111-111111111111"
OTHER_INSTRUCTOR = "22222222-2222-4222-8222-222222222222"
ADMIN = "33333333-3333-4333-8333-333333333333"
# The spec's key order for a stored session (without `deletedAt`), written out independently
# of the serializer so that a change there is caught here.
SESSION_KEYS = [
    "_id",
    "title",
    "description",
    "course",
    "instructor",
    "roomName",
    "roomUrl",
    "scheduledAt",
    "duration",
    "status",
    "maxParticipants",
    "participants",
    "isRecorded",
    "recordingUrl",
    "recordingDuration",
    "createdAt",
    "updatedAt",
]
# mongoose-paginate-v2's keys, in the spec's order, and the page of an empty collection.
PAGE_KEYS = [
    "sessions",
    "page",
    "pageCount",
    "totalItems",
    "totalPages",
    "hasPrevPage",
    "hasNextPage",
    "prevPage",
    "nextPage",
]
EMPTY_PAGE = {
    "sessions": [],
    "page": 1,
    "pageCount": 10,
    "totalItems": 0,
    "totalPages": 1,
    "hasPrevPage": False,
    "hasNextPage": False,
    "prevPage": None,
    "nextPage": None,
}
COURSE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
OTHER_COURSE = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


def database_uri_for_test():
    """mongomock by default; a fresh database on the real server when TEST_MONGODB_URI is set."""
    base = os.environ.get("TEST_MONGODB_URI")
    if not base:
        return "mongomock://localhost/livesessions_test"
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/livesessions_test_{uuid.uuid4().hex[:12]}"))


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
        "DAILY_API_KEY": "test-daily-key",
        "DAILY_API_URL": DAILY_URL,
        "DAILY_RETRY_BACKOFF_SECONDS": 0,
        "LOG_LEVEL": "WARNING",
    }


class OpenAPIValidatingClient(FlaskClient):
    """A test client that checks every JSON response against the app's OpenAPI document.

    The operation is found from the URL map; its response for the status must be documented
    and the body must match its schema. Requests that match no documented route must still
    answer the Error shape.
    """

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if response.is_json:
            check_against_openapi(self.application, response)
        return response


def check_against_openapi(app, response):
    spec = app.extensions.get("tests.openapi")
    if spec is None:
        spec = app.extensions["tests.openapi"] = build_spec(app)
    request = response.request
    try:
        rule, _ = app.url_map.bind("localhost").match(
            request.path, method=request.method, return_rule=True
        )
    except HTTPException:
        rule = None
    if rule is not None and rule.rule == "/openapi.json":
        return
    schema, where = {"$ref": "#/components/schemas/Error"}, "Error"
    operation = None
    if rule is not None:
        operation = spec["paths"].get(openapi_path(rule.rule), {}).get(request.method.lower())
    if operation is not None:
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, (
            f"{request.method} {rule.rule} answered {response.status_code}, which the "
            f"OpenAPI document does not list ({sorted(operation['responses'])})"
        )
        schema = documented["content"]["application/json"]["schema"]
        where = (rule.rule, request.method, response.status_code)
    validators = app.extensions.setdefault("tests.validators", {})
    if where not in validators:
        validators[where] = jsonschema.Draft202012Validator(
            {**schema, "components": spec["components"]}
        )
    errors = sorted(validators[where].iter_errors(response.get_json()), key=str)
    assert not errors, f"{request.method} {request.path} -> {response.status_code}: {errors[0]}"


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


class FakeDaily:
    """Daily.co answered by `responses`: rooms kept in a dict, recordings, downloads.

    `fail(kind, ...)` makes the next calls of one kind ("create", "update", "delete",
    "start", "stop", "access", "download", "token") answer an error status or raise a `requests`
    exception instead. `files[recording_id]` is what the download link of a recording serves.
    """

    def __init__(self, mock):
        self.mock = mock
        self.rooms = {}
        self.failures = {}
        self.recordings = []  # (room, body) of each start call
        self.files = {}
        self.tokens = []  # properties of each meeting token made
        routes = [
            (responses.POST, TOKENS_URL, "token", self._token),
            (responses.POST, ROOMS_URL, "create", self._create),
            (responses.POST, ROOM_URL, "update", self._update),
            (responses.DELETE, ROOM_URL, "delete", self._delete),
            (responses.POST, RECORDING_START_URL, "start", self._start),
            (responses.POST, RECORDING_STOP_URL, "stop", self._stop),
            (responses.GET, ACCESS_LINK_URL, "access", self._access_link),
            (
                responses.GET,
                re.compile(re.escape(DOWNLOAD_URL) + r"/.+"),
                "download",
                self._download,
            ),
        ]
        for method, url, kind, answer in routes:
            mock.add_callback(method, url, callback=self._handler(kind, answer))

    def fail(self, kind, status=None, body=None, exception=None, times=None):
        self.failures[kind] = {
            "status": status,
            "body": body,
            "exception": exception,
            "times": times,
        }

    def _handler(self, kind, answer):
        def handle(request):
            failure = self.failures.get(kind)
            if failure is None:
                return answer(request)
            if failure["times"] is not None:
                failure["times"] -= 1
                if failure["times"] == 0:
                    del self.failures[kind]
            if failure["exception"] is not None:
                return failure["exception"]
            return _json(failure["status"], failure["body"] or {})

        return handle

    def _create(self, request):
        body = json.loads(request.body)
        name = body["name"]
        if name in self.rooms:
            return _json(
                400,
                {"error": "invalid-request-error", "info": f"a room named {name} already exists"},
            )
        room = {
            "id": str(uuid.uuid4()),
            "name": name,
            "privacy": body.get("privacy", "public"),
            "url": f"https://test.daily.co/{name}",
            "config": body.get("properties", {}),
        }
        self.rooms[name] = room
        return _json(200, room)

    def _update(self, request):
        name = request.url.rsplit("/", 1)[1]
        if name not in self.rooms:
            return _json(404, {"error": "not-found", "info": "no such room"})
        self.rooms[name]["config"].update(json.loads(request.body)["properties"])
        return _json(200, self.rooms[name])

    def _delete(self, request):
        name = request.url.rsplit("/", 1)[1]
        if self.rooms.pop(name, None) is None:
            return _json(404, {"error": "not-found", "info": "no such room"})
        return _json(200, {"deleted": True, "name": name})

    def _token(self, request):
        properties = json.loads(request.body)["properties"]
        self.tokens.append(properties)
        return _json(200, {"token": f"token-{len(self.tokens)}"})

    def _start(self, request):
        self.recordings.append((request.url.split("/")[-3], json.loads(request.body)))
        return _json(200, {"status": "sent"})

    def _stop(self, request):
        return _json(200, {"status": "sent"})

    def _access_link(self, request):
        recording_id = request.url.split("/")[-2]
        if recording_id not in self.files:
            return _json(404, {"error": "not-found", "info": "no such recording"})
        return _json(
            200, {"download_link": f"{DOWNLOAD_URL}/{recording_id}.mp4?sig=x", "expires": 0}
        )

    def _download(self, request):
        recording_id = request.url.split("/")[-1].split(".mp4")[0]
        if recording_id not in self.files:
            return 403, {}, b"AccessDenied"
        return 200, {"Content-Type": "video/mp4"}, self.files[recording_id]

    def calls(self, method=None, kind=None):
        """Calls made, optionally of one HTTP method, or of one kind (by URL)."""
        patterns = {
            "start": RECORDING_START_URL,
            "stop": RECORDING_STOP_URL,
            "access": ACCESS_LINK_URL,
            "token": re.compile(re.escape(TOKENS_URL) + "$"),
        }
        return [
            c
            for c in self.mock.calls
            if (method is None or c.request.method == method)
            and (kind is None or patterns[kind].match(c.request.url))
        ]


def _json(status, body):
    return status, {"Content-Type": "application/json"}, json.dumps(body)


@pytest.fixture
def daily():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeDaily(mock)


def future(days=7, hour=10):
    """An aware datetime in the future, on the hour (so ISO strings are predictable)."""
    day = datetime.now(UTC) + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def iso(value):
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def session_payload(**overrides):
    body = {
        "title": "Introduction to JavaScript",
        "description": "Live coding session",
        "courseId": COURSE,
        "scheduledAt": iso(future()),
        "duration": 60,
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


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


def seed_session(db, **fields):
    """Insert a session document directly, as the Node service would have stored it."""
    now = datetime.now(UTC).replace(microsecond=0)
    doc = {
        "_id": str(uuid.uuid4()),
        "title": "Seeded session",
        "description": "",
        "course": COURSE,
        "instructor": INSTRUCTOR,
        "roomName": f"seeded-{uuid.uuid4().hex}",
        "roomUrl": "https://test.daily.co/seeded",
        "scheduledAt": future(),
        "duration": 60,
        "status": "scheduled",
        "maxParticipants": 100,
        "participants": [],
        "isRecorded": False,
        "recordingUrl": None,
        "recordingDuration": None,
        "createdAt": now,
        "updatedAt": now,
    }
    doc.update(fields)
    db.livesessions.insert_one(doc)
    return doc


def seed_recording(db, session, **fields):
    """Insert a recording as `POST /sessions/recording/start` stores it."""
    doc = {
        "_id": str(uuid.uuid4()),
        "session": session["_id"],
        "room": session["roomName"],
        "dailyId": None,
        "status": "recording",
        "startedAt": session["createdAt"],
        "stoppedAt": None,
        "duration": 0,
        "error": None,
        "createdAt": session["createdAt"],
        "updatedAt": session["createdAt"],
    }
    doc.update(fields)
    db.recordings.insert_one(doc)
    return doc


class CountingCollection:
    """Wraps a collection and records each method called on it: one entry per round trip."""

    def __init__(self, collection, log):
        self._collection = collection
        self._log = log

    def __getattr__(self, name):
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self._log.append((self._collection.name, name))
            return attr(*args, **kwargs)

        return call


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


# -- real servers on loopback -----------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SERVER_SECRET = "server-test-secret-" + "x" * 48


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url, process, timeout=20):
    """Poll `url` until the server answers; fail if the process dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{process.stdout.read()}")
        try:
            return requests.get(url, timeout=1)
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s")


@pytest.fixture
def server_env():
    """The environment for a server subprocess: none of the developer's own settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MONGO", "DAILY_", "JWT_", "APP_ENV", "CLOUD", "RECORDING_"))
    }
    return env | {"JWT_SECRET_KEY": SERVER_SECRET, "PYTHONUNBUFFERED": "1"}


def procfile_web_command(port, workers, threads):
    """The Procfile's `web:` command (gunicorn from this venv) with its variables filled in."""
    web = re.search(r"^web: (.+)$", (ROOT / "Procfile").read_text(), re.MULTILINE).group(1)
    for name, value in (("PORT", port), ("WEB_CONCURRENCY", workers), ("WEB_THREADS", threads)):
        web = re.sub(r"\$\{" + name + r":-\d+\}", str(value), web)
    command = shlex.split(web)
    assert command[0] == "gunicorn" and "$" not in web, web
    command[0] = str(Path(sys.executable).parent / "gunicorn")
    return command


def start(command, env):
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.communicate(timeout=20)[0]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


class TallySummary:
    """A pytest plugin printing a fuzzing tally at the end of the run.

    `tally` maps (item, "units" | "requests" | status) -> count, for one test file.
    """

    def __init__(self, title, tally, unit):
        self.title, self.tally, self.unit = title, tally, unit

    def pytest_terminal_summary(self, terminalreporter):
        items = sorted({item for item, _ in self.tally})
        if not items:
            return
        terminalreporter.write_sep("-", self.title)
        for item in items:
            answers = ", ".join(
                f"{status}: {count}"
                for (name, status), count in sorted(self.tally.items(), key=str)
                if name == item and isinstance(status, int)
            )
            terminalreporter.write_line(
                f"{item}: {self.tally[item, self.unit]} {self.unit}, "
                f"{self.tally[item, 'requests']} requests ({answers})"
            )
        units = sum(self.tally[item, self.unit] for item in items)
        requests = sum(self.tally[item, "requests"] for item in items)
        terminalreporter.write_line(f"total: {units} {self.unit}, {requests} requests")


def register_tally(config, name, title, tally, unit):
    """Register a TallySummary once per run."""
    if not config.pluginmanager.has_plugin(name):
        config.pluginmanager.register(TallySummary(title, tally, unit), name)


@pytest.fixture
def production_app(make_app):
    """An app configured for production (its MongoDB is unreachable and not needed)."""
    return make_app(
        APP_ENV="production",
        MONGODB_URI="mongodb://127.0.0.1:1/x",
        MONGODB_TIMEOUT_MS=50,
        CLOUD_NAME="c",
        CLOUD_API_KEY="k",
        CLOUD_API_SECRET="s",
    )


# -- end to end over loopback: the API on a real server, both sandboxes --------------------

WEBHOOK_SECRET = base64.b64encode(b"e2e-webhook-secret").decode()


@pytest.fixture
def stack_config():
    """Extra settings of the `stack` app (a test module may override this fixture)."""
    return {}


@pytest.fixture
def stack(make_app, tmp_path, token_for, stack_config):
    """Daily sandbox -> API (real HTTP server) <- worker -> Cloudinary sandbox."""
    daily = DailySandbox(
        api_key="e2e-daily", webhook_secret=WEBHOOK_SECRET, recording_bytes=300_000, ready_delay=0
    )
    cloud = CloudinarySandbox(storage_dir=str(tmp_path / "cloud"), min_chunk_bytes=64 * 1024)
    daily.start()
    cloud.start()
    app = make_app(
        DAILY_API_URL=daily.api_url,
        DAILY_API_KEY="e2e-daily",
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


def wait_until(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


# -- the Daily sandbox over loopback, and a webhook endpoint to receive its events ------------

SANDBOX_API_KEY = "sandbox-test-key"
SANDBOX_AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}


class WebhookReceiver:
    """A webhook endpoint on loopback: keeps each POST as (arrival, headers, raw body) and
    answers with `status`."""

    def __init__(self):
        self.posts = []
        self.status = 200
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.posts.append((time.monotonic(), self.headers, raw))
                    receiver.arrived.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/daily"
        serve = {"poll_interval": 0.05}  # so that shutdown() returns at once
        threading.Thread(target=self.server.serve_forever, kwargs=serve, daemon=True).start()

    def wait_for(self, count, timeout=3):
        """The posts so far, once there are at least `count`."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.posts) >= count, timeout)
            return list(self.posts)

    def bodies(self):
        with self.arrived:
            return [json.loads(raw) for _, _, raw in self.posts]

    def events(self, count=0):
        """The event envelopes received (not Daily's `{"test": "test"}` requests), after
        waiting for `count` posts."""
        self.wait_for(count)
        return [body for body in self.bodies() if "type" in body]

    def types(self):
        return [event["type"] for event in self.events()]


@pytest.fixture
def make_receiver():
    made = []

    def make():
        made.append(WebhookReceiver())
        return made[-1]

    yield make
    for receiver in made:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
def receiver(make_receiver):
    return make_receiver()


@pytest.fixture
def make_sandbox():
    """Start Daily sandboxes (API key SANDBOX_API_KEY, quick `ready` events); stop them after."""
    started = []

    def make(**options):
        options.setdefault("ready_delay", 0.05)
        started.append(DailySandbox(api_key=SANDBOX_API_KEY, **options).start())
        return started[-1]

    yield make
    for sandbox in started:
        sandbox.stop()


def make_room(sandbox, name="lesson", **body):
    """Create a room on the sandbox; return Daily's room object."""
    answer = sandbox_api(sandbox, "POST", "/rooms", json={"name": name, **body})
    assert answer.status_code == 200, answer.text
    return answer.json()


def signed_with(secret, headers, raw):
    """Whether a delivery carries Daily's signature of `raw` with the base64 `secret`."""
    message = headers["X-Webhook-Timestamp"].encode() + b"." + raw
    expected = hmac.new(base64.b64decode(secret), message, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64decode(headers["X-Webhook-Signature"]), expected)


def sandbox_api(sandbox, method, path, headers=SANDBOX_AUTH, **kwargs):
    """One call to the sandbox's `/v1` API."""
    return requests.request(
        method, f"{sandbox.api_url}{path}", headers=headers, timeout=5, **kwargs
    )
