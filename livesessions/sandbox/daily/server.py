"""The Daily sandbox itself: its state, its HTTP server, and the routes to each section."""

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .calls import Calls
from .common import error
from .recordings import Recordings, recording_content
from .rooms import Rooms
from .tokens import MeetingTokens
from .webhooks import Webhooks


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # http.server's default of 5 drops connections under load


class DailySandbox(Rooms, Recordings, MeetingTokens, Calls, Webhooks):
    """Rooms, recordings, meeting tokens and webhooks kept in memory, served under `/v1` like
    api.daily.co.

    Room pages are at `/<name>` (`?t=<token>` for private rooms), recording downloads at
    `/recordings/<id>/download`, and simulated calls at `/sandbox/rooms/<name>/join|leave`.
    Webhook events go to the webhook configured with `POST /v1/webhooks` or, until there is
    one, to `webhook_url`, the way Daily sends them.
    """

    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        api_key=None,
        webhook_url=None,
        webhook_secret=None,
        recording_bytes=1_000_000,
        ready_delay=0.2,
        clock=time.time,
    ):
        # Unix seconds now, read wherever the sandbox needs the time (exp checks, links,
        # timestamps), so that a test can move one sandbox's clock without patching `time`.
        self.clock = clock
        self.api_key = api_key  # when set, requests must carry it, as with the real API
        if webhook_secret is not None:
            base64.b64decode(webhook_secret, validate=True)  # fail now, not at each delivery
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.recording_bytes = recording_bytes
        self.ready_delay = ready_delay
        self.latency = 0.0  # seconds added to every API answer (to test slow calls)
        self.rate_limit_list = None  # N: the next N `GET /recordings` answer 429 (None/0: off)
        self.rooms = {}
        self.recordings = {}
        self.meetings = {}  # room name -> the call in progress: meeting_id, start_ts, participants
        self.meeting_tokens = []  # the properties of every token issued, in order
        self.webhook = None  # the one webhook configured through `/v1/webhooks`, if any
        self.webhook_deliveries = []
        self.lock = threading.Lock()
        # Joins and leaves run one at a time, events included, so that they arrive in order.
        self._call_lock = threading.Lock()
        self._link_secret = secrets.token_bytes(32)  # signs download links, like S3 presigning
        self._token_secret = secrets.token_bytes(32)  # signs meeting tokens
        self.server = _Server((host, port), _handler_for(self))
        self.server.daemon_threads = True
        self._thread = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self):
        return f"{self.url}/v1"

    def start(self):
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits for the poll: keep it short
            name="daily-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # -- dispatch ----------------------------------------------------------------------------------

    def route(self, method, path, body, query=None):
        """Dispatch one API call; return (status, JSON body)."""
        query = query or {}
        parts = [part for part in path.split("/") if part]
        resource = parts[0] if parts else None
        answer = None
        if resource == "rooms":
            answer = self._route_rooms(method, parts, body)
        elif resource == "recordings":
            answer = self._route_recordings(method, parts, query)
        elif resource == "webhooks":
            answer = self._route_webhooks(method, parts, body)
        elif parts == ["meeting-tokens"] and method == "POST":
            answer = self.create_meeting_token(body)
        if answer is None:
            return 404, error("not-found", f"no route for {method} /v1{path}")
        return answer

    def _route_rooms(self, method, parts, body):
        if parts == ["rooms"] and method == "POST":
            return self.create_room(body)
        if len(parts) == 4 and parts[2] == "recordings":
            if (method, parts[3]) == ("POST", "start"):
                return self.start_recording(parts[1], body)
            if (method, parts[3]) == ("POST", "stop"):
                return self.stop_recording(parts[1], body)
        if len(parts) == 2:
            name = parts[1]
            if method == "POST":
                return self.update_room(name, body)
            if method == "GET":
                return self.get_room(name)
            if method == "DELETE":
                return self.delete_room(name)
        return None

    def _route_recordings(self, method, parts, query):
        if method != "GET":
            return None
        if len(parts) == 1:
            return self.list_recordings(query)
        if len(parts) == 2:
            return self.get_recording(parts[1])
        if len(parts) == 3 and parts[2] == "access-link":
            return self.access_link(parts[1], query)
        return None

    def _route_webhooks(self, method, parts, body):
        if parts == ["webhooks"] and method == "GET":
            return self.list_webhooks()
        if parts == ["webhooks"] and method == "POST":
            return self.create_webhook(body)
        if len(parts) == 2:
            webhook_id = parts[1]
            if method == "GET":
                return self.get_webhook(webhook_id)
            if method == "POST":
                return self.update_webhook(webhook_id, body)
            if method == "DELETE":
                return self.delete_webhook(webhook_id)
        return None


def _handler_for(sandbox):
    class Handler(BaseHTTPRequestHandler):
        server_version = "daily-sandbox"
        head_only = False  # HEAD: headers as for GET, no body

        def log_message(self, *args):  # keep test and dev output quiet
            pass

        def _send(self, status, body, content_type="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Sandbox", "daily")
            self.end_headers()
            if not self.head_only:
                self.wfile.write(data)

        def _body(self):
            """The JSON object sent, or None after answering 400."""
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                return self._send(400, error("json-parsing-error", "body is not JSON"))
            if not isinstance(body, dict):
                return self._send(400, error("invalid-request-error", "body must be an object"))
            return body

        def _api(self, method):
            url = urlsplit(self.path)
            path, query = url.path, dict(parse_qsl(url.query))
            if not path.startswith("/v1/"):
                return self._outside_api(method, path, query)
            time.sleep(sandbox.latency)
            expected = f"Bearer {sandbox.api_key}" if sandbox.api_key else None
            if expected and self.headers.get("Authorization") != expected:
                return self._send(401, error("authentication-error", "bad API key"))
            body = self._body()
            if body is not None:
                self._send(*sandbox.route(method, path[len("/v1") :], body, query))

        def _outside_api(self, method, path, query):
            parts = path.strip("/").split("/")
            if method == "GET" and len(parts) == 3 and parts[0::2] == ["recordings", "download"]:
                return self._download(parts[1], query)
            if method == "POST" and parts == ["sandbox", "webhook"]:
                return self._webhook()
            if method == "POST" and len(parts) == 4 and parts[:2] == ["sandbox", "rooms"]:
                return self._call(parts[2], parts[3])
            return self._room_page(path, query) if method == "GET" else self._send(404, {})

        def _call(self, name, action):
            """A simulated participant joining or leaving: `/sandbox/rooms/<name>/<action>`."""
            act = {"join": sandbox.join, "leave": sandbox.leave}.get(action)
            if act is None:
                return self._send(404, error("not-found", f"no call action {action}"))
            body = self._body()
            if body is not None:
                self._send(*act(name, body))

        def _download(self, recording_id, query):
            status, recording = sandbox.download(recording_id, query)
            if status != 200:
                return self._send(status, recording)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(sandbox.recording_bytes))
            self.send_header("X-Sandbox", "daily")
            self.end_headers()
            if self.head_only:
                return
            try:
                for piece in recording_content(recording, sandbox.recording_bytes):
                    self.wfile.write(piece)
            except ConnectionError:  # the client stopped reading; nothing to clean up
                pass

        def _webhook(self):
            body = self._body()
            if body is not None:
                self._send(*sandbox._fire_posted_event(body))

        def _room_page(self, path, query):
            status, text = sandbox.room_page(path.strip("/"), query.get("t"))
            self._send(status, text.encode(), "text/html; charset=utf-8")

        def do_GET(self):
            self._api("GET")

        def do_HEAD(self):
            self.head_only = True
            self._api("GET")

        def do_POST(self):
            self._api("POST")

        def do_DELETE(self):
            self._api("DELETE")

    return Handler
