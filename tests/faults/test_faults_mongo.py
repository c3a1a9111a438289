"""MongoDB faults under pymongo's real driver: no server, a server that comes and goes, and a
MockupDB that hangs up, answers errors or never answers while the app is serving.

What the service promises: a database failure is 500 `{"message": "Database query failed"}`
(no driver text in it), `/readyz` says 503 while `/healthz` stays 200, nothing waits longer
than MONGODB_TIMEOUT_MS allows, and the same process recovers when the server is back.

Timing notes (pymongo 4.20, measured): server selection waits in steps of 500 ms
(`MIN_HEARTBEAT_INTERVAL`), so with MONGODB_TIMEOUT_MS=300 a request to a closed port takes
about 0.5 s; reads and (on a replica set) writes are retried once, so a server that never
answers a `find` costs 2 x socketTimeoutMS.
"""

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from mockupdb import MockupDB

from tests.support.factories import EMPTY_PAGE, seed_session, session_payload
from tests.support.processes import free_port

pytestmark = pytest.mark.slow  # MongoDB faults wait out real driver timeouts: up to 5 s a test

DB_FAILED = {"message": "Database query failed"}
NOT_READY = {"message": "Database unavailable", "database": "down"}
READY = {
    "status": "ready",
    "database": "up",
    "webhook": "unknown",
    "workers": 0,
    "oldestDueJobSeconds": None,
}
# Nothing of the driver's error may reach a client.
LEAK_MARKERS = (
    "27017",
    "127.0.0.1",
    "localhost",
    "ServerSelection",
    "Timeout",
    "timed out",
    "Topology",
    "AutoReconnect",
    "pymongo",
    "errmsg",
    "exceeded",
    "lsfault",
)
ROOM = "fault-room"
# What MONGODB_TIMEOUT_MS replaces: pymongo's defaults wait 30 s for a server selection and
# forever for a socket read. Every failure here is configured to come within about a second
# (measured 0.4-1.5 s, 22 requests at once included): 10 s is ten times that, and a third of
# what a client on the defaults would wait, so it tells one from the other at any speed.
WITHIN_TIMEOUTS_S = 10
SELECTION_LOGGER = "pymongo.serverSelection"  # pymongo logs each selection there (DEBUG)


def timed(call, *args, **kwargs):
    started = time.perf_counter()
    response = call(*args, **kwargs)
    return response, time.perf_counter() - started


def selection_events(records):
    """(message, operationId) of each of pymongo's server-selection log records: every
    database operation selects a server first, so none means the database was not used."""
    return [
        (event["message"], event["operationId"])
        for event in (json.loads(r.getMessage()) for r in records if r.name == SELECTION_LOGGER)
    ]


def most_selections_at_once(records):
    """How many server selections were waiting at the same time, by the log's order."""
    waiting, most = set(), 0
    for message, operation in selection_events(records):
        if message == "Server selection started":
            waiting.add(operation)
        elif message in ("Server selection succeeded", "Server selection failed"):
            waiting.discard(operation)
        most = max(most, len(waiting))
    return most


def assert_healthz_left_the_database_alone(client, caplog, fake=None):
    """/healthz is 200 without asking the database anything: pymongo selected no server
    for it (so it sent nothing and waited for nothing), and `fake` got no request."""
    caplog.set_level(logging.DEBUG, logger=SELECTION_LOGGER)
    already, sent = len(caplog.records), len(fake.requests) if fake else 0
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert selection_events(caplog.records[already:]) == []
    if fake:
        assert fake.requests[sent:] == []


def assert_db_failed(response, *secrets):
    """500 with exactly the generic body, and no trace of the driver's error in it."""
    assert response.status_code == 500, response.get_data(as_text=True)
    assert response.get_json() == DB_FAILED
    text = response.get_data(as_text=True)
    for marker in (*LEAK_MARKERS, *secrets):
        assert marker not in text, f"{marker!r} leaked in {text!r}"


def ready_envelope(room=ROOM):
    """Daily's `recording.ready-to-download` envelope for `room`."""
    return {
        "version": "1.0.0",
        "type": "recording.ready-to-download",
        "id": "evt-fault-1",
        "payload": {
            "type": "cloud",
            "recording_id": "daily-rec-fault-1",
            "room_name": room,
            "start_ts": 1703500800,
            "status": "finished",
            "max_participants": 3,
            "duration": 60,
            "s3_key": f"domain/{room}/1703500800",
            "tracks": [],
        },
        "event_ts": time.time(),
    }


class FakeMongo:
    """A MockupDB playing the primary of a one-member replica set with sessions (as Atlas
    would, so pymongo's retryable reads and writes are on), that answers every command with
    an empty success. `documents[collection]` is what a `find` on it returns.

    `on(command, handler)` scripts a fault: `handler(request)` replies (`command_err`),
    hangs up (`hangup`), or returns False to leave the request unanswered for good.
    `requests` lists `(command, document)` of everything but the monitor's hellos.
    """

    def __init__(self, port=None):
        self.server = MockupDB(port=port)
        self.faults = {}
        self.documents = {}
        self.requests = []
        self.running = False
        self.server.autoresponds(self._dispatch)

    def start(self):
        self.server.run()
        self.running = True
        return self

    def stop(self):
        if self.running:
            self.running = False
            self.server.stop()

    @property
    def host(self):
        return f"127.0.0.1:{self.server.port}"

    @property
    def uri(self):
        return f"mongodb://{self.host}/lsfault"

    def reset(self):
        self.faults.clear()
        self.documents.clear()
        self.requests.clear()

    def on(self, command, handler):
        self.faults[command] = handler

    def heal(self, command):
        self.faults.pop(command, None)

    def sent(self, command):
        return [doc for name, doc in self.requests if name == command]

    def _hello(self):
        return {
            "ismaster": True,
            "isWritablePrimary": True,
            "setName": "rs0",
            "hosts": [self.host],
            "primary": self.host,
            "me": self.host,
            "logicalSessionTimeoutMinutes": 30,
            "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48_000_000,
            "maxWriteBatchSize": 100_000,
            "minWireVersion": 0,
            "maxWireVersion": 21,
        }

    def _dispatch(self, request):
        # Runs in MockupDB's connection threads, under its lock.
        name = getattr(request, "command_name", None) or ""
        if name.lower() in ("hello", "ismaster"):
            if "hello" in self.faults:
                return self.faults["hello"](request)
            return request.ok(self._hello())
        self.requests.append((name, request.doc))
        if name in self.faults:
            return self.faults[name](request)
        if name in ("find", "aggregate"):
            batch = self.documents.get(request[name], []) if name == "find" else []
            ns = f"{request['$db']}.{request[name]}"
            return request.ok(cursor={"id": 0, "firstBatch": batch, "ns": ns})
        if name == "findAndModify":
            return request.ok(value=None, lastErrorObject={"n": 0, "updatedExisting": False})
        if name in ("insert", "update", "delete"):
            return request.ok(n=1)
        if name in ("ping", "createIndexes", "endSessions"):
            return request.ok()
        return request.command_err(code=59, errmsg=f"no such command: '{name}'")


@pytest.fixture(scope="module")
def mongo_server():
    # One server for the module: stopping a MockupDB takes up to 1 s (its accept loop polls).
    fake = FakeMongo().start()
    yield fake
    fake.stop()


@pytest.fixture
def mongo(mongo_server):
    """The module's fake server, answering normally again, with no requests recorded."""
    mongo_server.reset()
    yield mongo_server
    mongo_server.reset()


def served_by(make_app, uri, timeout_ms):
    """An app on pymongo's real driver (`make_app` closes its client after the test)."""
    return make_app(MONGODB_URI=uri, MONGODB_TIMEOUT_MS=timeout_ms)


# -- 1. nothing listening ----------------------------------------------------------------------

DOWN_TIMEOUT_MS = 300  # measured about 0.5 s a request: one 500 ms server-selection step


def database_calls(auth):
    """(label, method, path, options) of every endpoint that touches the database."""
    sid = "5f0c8e1e-0000-4000-8000-000000000001"
    return [
        ("create", "post", "/sessions", {"json": session_payload(), "headers": auth}),
        ("list", "get", "/sessions?page=1&pageCount=5", {"headers": auth}),
        ("search", "get", "/sessions?search=js", {"headers": auth}),
        ("get", "get", f"/sessions/{sid}", {"headers": auth}),
        ("by course", "get", "/sessions/course/some-course", {}),
        ("by instructor", "get", "/sessions/instructor/some-instructor", {}),
        ("update", "put", f"/sessions/{sid}", {"json": {"title": "New title"}, "headers": auth}),
        ("reschedule", "put", f"/sessions/{sid}", {"json": {"duration": 90}, "headers": auth}),
        ("delete", "delete", f"/sessions/{sid}", {"headers": auth}),
        ("join", "post", f"/sessions/{sid}/participants", {"json": {"studentId": "s-1"}}),
        ("leave", "delete", f"/sessions/{sid}/participants/s-1", {}),
        ("status", "patch", f"/sessions/{sid}/status", {"json": {"status": "live"}}),
        ("record start", "post", "/sessions/recording/start", {"json": {"roomName": ROOM}}),
        ("record stop", "post", "/sessions/recording/stop", {"json": {"recordingId": "r-1"}}),
        ("webhook", "post", "/sessions/webhook/daily", {"json": ready_envelope()}),
        ("filtered list", "get", "/sessions?status=live&from=2026-01-01", {"headers": auth}),
        ("join room", "post", f"/sessions/{sid}/join", {"headers": auth}),
        ("attendance", "get", f"/sessions/{sid}/attendance", {"headers": auth}),
        ("course calendar", "get", "/sessions/course/c-1/calendar.ics", {}),
        ("instructor calendar", "get", "/sessions/instructor/i-1/calendar.ics", {}),
        (
            "participant event",
            "post",
            "/sessions/webhook/daily",
            {
                "json": {
                    "type": "participant.joined",
                    "payload": {"room": ROOM, "session_id": "v", "joined_at": 1},
                }
            },
        ),
        (
            "meeting event",
            "post",
            "/sessions/webhook/daily",
            {"json": {"type": "meeting.started", "payload": {"room": ROOM}}},
        ),
    ]


def test_with_nothing_listening_every_database_endpoint_fails_fast_and_generically(
    make_app, auth, daily, caplog
):
    port = free_port()
    app = served_by(make_app, f"mongodb://127.0.0.1:{port}/lsfault", DOWN_TIMEOUT_MS)
    calls = database_calls(auth)
    caplog.set_level(logging.DEBUG, logger=SELECTION_LOGGER)
    before_calls = len(caplog.records)  # the start-up's index creation selected too

    def call(entry):
        label, method, path, options = entry
        response, elapsed = timed(getattr(app.test_client(), method), path, **options)
        return label, response, elapsed

    # All at once, as gunicorn's threads would be: nobody waits behind anybody.
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        results, wall = timed(lambda: list(pool.map(call, calls)))

    failures = {}
    for label, response, elapsed in results:
        try:
            assert_db_failed(response, str(port))
            # waited out the configured server selection, not pymongo's 30 s
            assert DOWN_TIMEOUT_MS / 1000 <= elapsed < WITHIN_TIMEOUTS_S, f"took {elapsed:.3f} s"
        except AssertionError as error:
            failures[label] = str(error)
    assert not failures
    slowest = max(elapsed for _, _, elapsed in results)
    print(f"nothing listening: {len(results)} endpoints, slowest {slowest:.3f} s, all {wall:.3f} s")
    # Their server selections waited side by side: nothing queued one behind another.
    assert most_selections_at_once(caplog.records[before_calls:]) > 1

    # The room made for the session that could not be stored was deleted again.
    assert daily.rooms == {}
    assert len(daily.calls("POST")) == 1
    assert len(daily.calls("DELETE")) == 1

    # Each 500 left its real cause in the log, under the request's id: a server selection
    # that gave up after the configured 0.3 s.
    logged = [r.getMessage() for r in caplog.records if r.name == "livesessions.errors"]
    for _, response, _ in results:
        request_id = response.headers["X-Request-ID"]
        assert any(
            request_id in m and "ServerSelectionTimeoutError" in m and "Timeout: 0.3s," in m
            for m in logged
        )

    client = app.test_client()
    response, elapsed = timed(client.get, "/readyz")
    assert (response.status_code, response.get_json()) == (503, NOT_READY)
    assert DOWN_TIMEOUT_MS / 1000 <= elapsed < WITHIN_TIMEOUTS_S
    assert_healthz_left_the_database_alone(client, caplog)


# -- 2. the server comes back (and goes again), same app object ----------------------------------


def wait_until_ready(client, deadline_s):
    started = time.perf_counter()
    while True:
        response = client.get("/readyz")
        if response.status_code == 200 or time.perf_counter() - started > deadline_s:
            return response, time.perf_counter() - started


# The driver finds the server back within a heartbeat step or two (measured 0.5 s); the
# polling gives up only long after that.
RECOVERY_DEADLINE_S = 30


def test_the_same_app_recovers_when_the_server_comes_back_and_fails_again_when_it_goes(
    make_app, auth
):
    port = free_port()
    app = served_by(make_app, f"mongodb://127.0.0.1:{port}/lsfault", DOWN_TIMEOUT_MS)
    client = app.test_client()
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()) == (503, NOT_READY)
    assert_db_failed(client.get("/sessions/course/x"), str(port))

    fake = FakeMongo(port=port).start()
    try:
        response, recovery = wait_until_ready(client, deadline_s=RECOVERY_DEADLINE_S)
        assert (response.status_code, response.get_json()) == (200, READY)
        print(f"recovered {recovery:.3f} s after the server started")

        response = client.get("/sessions/course/x")
        assert (response.status_code, response.get_json()) == (200, [])
        assert fake.sent("find")[-1]["filter"] == {"course": "x", "deletedAt": None}
        response = client.get("/sessions", headers=auth)
        assert response.status_code == 200
        assert response.get_json() == EMPTY_PAGE
    finally:
        fake.stop()

    response, elapsed = timed(client.get, "/sessions/course/x")
    assert_db_failed(response, str(port))
    assert elapsed < WITHIN_TIMEOUTS_S
    response, elapsed_ready = timed(client.get, "/readyz")
    assert (response.status_code, response.get_json()) == (503, NOT_READY)
    assert elapsed_ready < WITHIN_TIMEOUTS_S
    print(f"server gone: 500 in {elapsed:.3f} s, 503 in {elapsed_ready:.3f} s")


# -- 3. scripted wire-level faults while the app serves ------------------------------------------

SCRIPTED_TIMEOUT_MS = 1000  # room for the driver to re-discover the server after a hang-up


def test_a_hang_up_during_find_is_500_and_the_next_request_succeeds(mongo, make_app, db):
    app = served_by(make_app, mongo.uri, SCRIPTED_TIMEOUT_MS)
    client = app.test_client()
    stored = seed_session(db, course="course-x", roomName=ROOM)  # a stored session, as served
    mongo.documents["livesessions"] = [stored]

    mongo.on("find", lambda request: request.hangup())
    response, elapsed = timed(client.get, "/sessions/course/course-x")
    assert_db_failed(response, mongo.host)
    assert len(mongo.sent("find")) == 2  # pymongo's one retryable-read retry, no more
    assert elapsed < WITHIN_TIMEOUTS_S  # the retry's server selection bounded by 1 s, not 30

    mongo.heal("find")
    response = client.get("/sessions/course/course-x")
    assert response.status_code == 200
    [session] = response.get_json()
    assert (session["_id"], session["roomName"]) == (stored["_id"], ROOM)
    assert session["instructor"] is None  # the fake has no users to populate from
    assert len(mongo.sent("find")) == 4  # the session, then its instructor


@pytest.mark.parametrize(
    ("code", "errmsg", "attempts"),
    [
        (50, "operation exceeded time limit", 1),  # MaxTimeMSExpired: not retryable
        (91, "The server is in quiesce mode and will shut down", 2),  # ShutdownInProgress
    ],
)
def test_a_command_error_is_500_without_the_servers_message(
    mongo, make_app, code, errmsg, attempts
):
    app = served_by(make_app, mongo.uri, SCRIPTED_TIMEOUT_MS)
    client = app.test_client()
    mongo.on("find", lambda request: request.command_err(code=code, errmsg=errmsg))

    response = client.get("/sessions/instructor/someone")
    assert_db_failed(response, errmsg, str(code), mongo.host)
    assert len(mongo.sent("find")) == attempts

    mongo.heal("find")
    response = client.get("/sessions/instructor/someone")
    assert (response.status_code, response.get_json()) == (200, [])


HANG_TIMEOUT_MS = 400
# A read is tried twice (pymongo's retryable reads), each attempt waiting socketTimeoutMS.
ONE_HANG_S = HANG_TIMEOUT_MS / 1000 * 0.95  # at least, less a hair a timer may fire early


def test_a_server_that_never_answers_a_find_costs_at_most_two_socket_timeouts(mongo, make_app):
    app = served_by(make_app, mongo.uri, HANG_TIMEOUT_MS)
    mongo.on("find", lambda request: False)  # left unanswered

    response, elapsed = timed(app.test_client().get, "/sessions/course/x")
    assert_db_failed(response, mongo.host)
    assert len(mongo.sent("find")) == 2  # each attempt waited its full socket timeout
    assert 2 * ONE_HANG_S <= elapsed < WITHIN_TIMEOUTS_S  # not forever, pymongo's default

    # Eight at once (a gunicorn worker's threads): each is bounded on its own.
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: timed(app.test_client().get, "/sessions/course/x"), range(8))
        )
    for response, took in results:
        assert_db_failed(response, mongo.host)
        assert 2 * ONE_HANG_S <= took < WITHIN_TIMEOUTS_S
    slowest = max(took for _, took in results)
    print(f"hanging find: {elapsed:.3f} s alone, slowest of 8 concurrent {slowest:.3f} s")

    mongo.heal("find")
    response = app.test_client().get("/sessions/course/x")
    assert (response.status_code, response.get_json()) == (200, [])


@pytest.mark.parametrize(
    ("fault", "attempts"),
    [
        (lambda request: request.hangup(), 2),  # retryable write: one retry, same txnNumber
        (lambda request: request.command_err(code=50, errmsg="operation exceeded time limit"), 1),
    ],
    ids=["hang-up", "command-error"],
)
def test_a_failing_find_and_modify_is_500_without_a_retry_storm(mongo, make_app, fault, attempts):
    app = served_by(make_app, mongo.uri, SCRIPTED_TIMEOUT_MS)
    mongo.on("findAndModify", fault)

    response = app.test_client().post("/sessions/s-1/participants", json={"studentId": "stu-1"})
    assert_db_failed(response, mongo.host)
    sent = mongo.sent("findAndModify")
    assert len(sent) == attempts
    assert sent[0]["query"]["participants"] == {"$ne": "stu-1"}  # the conditional admission
    # A retry is the same write (same session and txnNumber), so the server applies it once.
    assert len({(doc["lsid"]["id"], doc["txnNumber"]) for doc in sent}) == 1
    assert mongo.sent("find") == []  # no fallback read after the failed write

    mongo.heal("findAndModify")
    response = app.test_client().post("/sessions/s-1/participants", json={"studentId": "stu-1"})
    # The fake knows no session: the write matches nothing, the re-read finds nothing.
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session not found"},
    )


# -- 4. the readiness probe is bounded too -------------------------------------------------------


@pytest.mark.parametrize(
    "hanging",
    ["ping", "hello"],  # the server ignores pings / accepts connections but never speaks
)
def test_readyz_is_503_within_the_timeout_when_the_server_hangs(mongo, make_app, caplog, hanging):
    mongo.on(hanging, lambda request: False)
    app = served_by(make_app, mongo.uri, HANG_TIMEOUT_MS)
    client = app.test_client()

    response, elapsed = timed(client.get, "/readyz")
    assert (response.status_code, response.get_json()) == (503, NOT_READY)
    # the ping's socket timeout, or the selection's: the configured one, not pymongo's
    assert ONE_HANG_S <= elapsed < WITHIN_TIMEOUTS_S
    if hanging == "ping":
        assert len(mongo.sent("ping")) == 1  # a command is not retried
    assert_healthz_left_the_database_alone(client, caplog, mongo)
    print(f"readyz with {hanging} hanging: 503 in {elapsed:.3f} s")
