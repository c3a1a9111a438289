"""Daily.co answered by `responses`: its URLs and `FakeDaily`, behind the `daily` fixture."""

import json
import re
import threading
import uuid
from contextlib import contextmanager

import responses

DAILY_URL = "https://api.daily.test/v1"
ROOMS_URL = f"{DAILY_URL}/rooms"
ROOM_URL = re.compile(re.escape(ROOMS_URL) + r"/[^/]+$")
RECORDING_START_URL = re.compile(re.escape(ROOMS_URL) + r"/[^/]+/recordings/start$")
RECORDING_STOP_URL = re.compile(re.escape(ROOMS_URL) + r"/[^/]+/recordings/stop$")
ACCESS_LINK_URL = re.compile(re.escape(DAILY_URL) + r"/recordings/[^/]+/access-link$")
RECORDING_URL = re.compile(re.escape(DAILY_URL) + r"/recordings/[^/]+$")
TOKENS_URL = f"{DAILY_URL}/meeting-tokens"
DOMAIN_URL = f"{DAILY_URL}/"
DOMAIN_ID = "3f6d1c52-7a3e-4e59-9d58-5b3c0a1e2f47"  # what FakeDaily's domain endpoint says
DOWNLOAD_URL = "https://download.daily.test/recordings"


class FakeDaily:
    """Daily.co answered by `responses`: rooms kept in a dict, recordings, downloads.

    `fail(kind, ...)` makes the next calls of one kind ("create", "update", "delete",
    "start", "stop", "access", "download", "token", "get") answer an error status or raise a
    `requests` exception instead, once `after` calls of that kind have succeeded.
    `hold(kind)` keeps the calls of one kind unanswered until its block ends, as a Daily
    that is slow to answer would (the caller keeps its in-flight slot meanwhile).
    `files[recording_id]` is what the download link of a recording serves;
    `recording_objects[recording_id]` what `GET /recordings/:id` answers.
    """

    def __init__(self, mock):
        self.mock = mock
        self.rooms = {}
        self.failures = {}
        self.recordings = []  # (room, body) of each start call
        self.files = {}
        self.recording_objects = {}
        self.declared = {}  # recording id -> the Content-Length its download claims (a lie)
        self.tokens = []  # properties of each meeting token made
        self.domain_calls = 0  # GET / (the domain's configuration)
        self.held = {}  # kind -> (a call arrived, the calls may go on)
        routes = [
            (responses.POST, TOKENS_URL, "token", self._token),
            (responses.GET, re.compile(re.escape(DOMAIN_URL) + "$"), "domain", self._domain),
            (responses.POST, ROOMS_URL, "create", self._create),
            (responses.POST, ROOM_URL, "update", self._update),
            (responses.DELETE, ROOM_URL, "delete", self._delete),
            (responses.POST, RECORDING_START_URL, "start", self._start),
            (responses.POST, RECORDING_STOP_URL, "stop", self._stop),
            (responses.GET, ACCESS_LINK_URL, "access", self._access_link),
            (responses.GET, RECORDING_URL, "get", self._get_recording),
            (
                responses.GET,
                re.compile(re.escape(DOWNLOAD_URL) + r"/.+"),
                "download",
                self._download,
            ),
        ]
        for method, url, kind, answer in routes:
            mock.add_callback(method, url, callback=self._handler(kind, answer))

    def fail(self, kind, status=None, body=None, exception=None, times=None, after=0):
        self.failures[kind] = {
            "status": status,
            "body": body,
            "exception": exception,
            "times": times,
            "after": after,
        }

    @contextmanager
    def hold(self, kind):
        """Hold the calls of `kind` until the block ends; yields an Event set once one of
        them has arrived (and so holds the caller's slot)."""
        arrived, release = threading.Event(), threading.Event()
        self.held[kind] = (arrived, release)
        try:
            yield arrived
        finally:
            del self.held[kind]
            release.set()

    def _handler(self, kind, answer):
        def handle(request):
            if kind in self.held:
                arrived, release = self.held[kind]
                arrived.set()
                release.wait(timeout=60)  # only a broken test waits this long
            failure = self.failures.get(kind)
            if failure is None:
                return answer(request)
            if failure["after"] > 0:
                answered = answer(request)
                if answered[0] < 300:  # e.g. a taken room name does not count
                    failure["after"] -= 1
                return answered
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

    def _domain(self, request):
        self.domain_calls += 1
        return _json(200, {"domain_name": "test", "domain_id": DOMAIN_ID, "config": {}})

    def _token(self, request):
        properties = json.loads(request.body)["properties"]
        self.tokens.append(properties)
        return _json(200, {"token": f"token-{len(self.tokens)}"})

    def _start(self, request):
        self.recordings.append((request.url.split("/")[-3], json.loads(request.body)))
        return _json(200, {"status": "sent"})

    def _stop(self, request):
        return _json(200, {"status": "sent"})

    def _get_recording(self, request):
        recording = self.recording_objects.get(request.url.split("/")[-1])
        if recording is None:
            return _json(404, {"error": "not-found", "info": "no such recording"})
        return _json(200, recording)

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
        data = self.files[recording_id]
        length = self.declared.get(recording_id, len(data))
        return 200, {"Content-Type": "video/mp4", "Content-Length": str(length)}, data

    def calls(self, method=None, kind=None):
        """Calls made, optionally of one HTTP method, or of one kind (by URL)."""
        patterns = {
            "start": RECORDING_START_URL,
            "stop": RECORDING_STOP_URL,
            "access": ACCESS_LINK_URL,
            "get": RECORDING_URL,
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
