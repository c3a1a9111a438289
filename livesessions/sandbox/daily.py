"""A Daily.co REST API stand-in (rooms, recordings, webhooks). Development and tests only."""

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
BANNER = "Daily.co sandbox - a local development stand-in, not the real service"
MARKER = "LIVESESSIONS-SANDBOX-RECORDING"


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # http.server's default of 5 drops connections under load


class DailySandbox:
    """Rooms and recordings kept in memory, served under `/v1` like api.daily.co.

    Room pages are at `/<name>`, recording downloads at `/recordings/<id>/download`, and
    webhook events go to `webhook_url` the way Daily sends them.
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
    ):
        self.api_key = api_key  # when set, requests must carry it, as with the real API
        if webhook_secret is not None:
            base64.b64decode(webhook_secret, validate=True)  # fail now, not at each delivery
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.recording_bytes = recording_bytes
        self.ready_delay = ready_delay
        self.latency = 0.0  # seconds added to every API answer (to test slow calls)
        self.rooms = {}
        self.recordings = {}
        self.webhook_deliveries = []
        self.lock = threading.Lock()
        self._link_secret = secrets.token_bytes(32)  # signs download links, like S3 presigning
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

    # -- the API -----------------------------------------------------------------------------

    def create_room(self, body):
        name = body.get("name") or uuid.uuid4().hex[:20]
        properties = body.get("properties") or {}
        if not isinstance(name, str) or not ROOM_NAME.match(name):
            return 400, _error("invalid-request-error", f"{name!r} is not a valid room name")
        exp = properties.get("exp")
        if exp is not None and (not isinstance(exp, int | float) or exp < time.time()):
            return 400, _error("invalid-request-error", "exp must be a time in the future")
        with self.lock:
            if name in self.rooms:
                return 400, _error("invalid-request-error", f"a room named {name} already exists")
            room = {
                "id": str(uuid.uuid4()),
                "name": name,
                "api_created": True,
                "privacy": body.get("privacy", "public"),
                "url": f"{self.url}/{name}",
                "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "config": dict(properties),
            }
            self.rooms[name] = room
        return 200, room

    def update_room(self, name, body):
        with self.lock:
            room = self.rooms.get(name)
            if room is None:
                return 404, _error("not-found", f"room {name} not found")
            room["config"].update(body.get("properties") or {})
            if "privacy" in body:
                room["privacy"] = body["privacy"]
            return 200, room

    def get_room(self, name):
        with self.lock:
            room = self.rooms.get(name)
        if room is None:
            return 404, _error("not-found", f"room {name} not found")
        return 200, room

    def delete_room(self, name):
        with self.lock:
            if self.rooms.pop(name, None) is None:
                return 404, _error("not-found", f"room {name} not found")
        return 200, {"deleted": True, "name": name}

    def start_recording(self, name, body):
        instance_id = body.get("instanceId")
        if instance_id is not None and not isinstance(instance_id, str):
            return 400, _error("invalid-request-error", "instanceId must be a string (a UUID)")
        with self.lock:
            if name not in self.rooms:
                return 404, _error("not-found", f"room {name} is not hosting a call currently")
            if self._recording_in_progress(name, instance_id):
                return 400, _error("invalid-request-error", f"{name} is already being recorded")
            recording_id = str(uuid.uuid4())
            recording = {
                "id": recording_id,
                "room_name": name,
                "instance_id": instance_id,
                "start_ts": int(time.time()),
                "status": "in-progress",
                "max_participants": 1,
                "s3key": f"sandbox/{name}/{recording_id}",
                "mtgSessionId": str(uuid.uuid4()),
                "tracks": [],
            }
            self.recordings[recording_id] = recording
        payload = {
            "recording_id": recording_id,
            "action": "start-cloud-recording",
            "layout": {"preset": "default"},
            "started_by": "sandbox",
            "instance_id": instance_id,
            "start_ts": recording["start_ts"],
        }
        self._fire_later("recording.started", payload, 0)
        return 200, {"status": "sent"}

    def stop_recording(self, name, body):
        with self.lock:
            if name not in self.rooms:
                return 404, _error("not-found", f"room {name} is not hosting a call currently")
            recording = self._recording_in_progress(name, body.get("instanceId"))
            if recording is None:
                return 400, _error("invalid-request-error", f"no recording in progress in {name}")
            recording["status"] = "finished"
            recording["duration"] = max(1, round(time.time() - recording["start_ts"]))
            payload = {
                "type": "cloud",
                "recording_id": recording["id"],
                "room_name": name,
                "start_ts": recording["start_ts"],
                "status": "finished",
                "max_participants": recording["max_participants"],
                "duration": recording["duration"],
                "s3_key": recording["s3key"],
                "tracks": [],
            }
        self._fire_later("recording.ready-to-download", payload, self.ready_delay)
        return 200, {"status": "sent"}

    def get_recording(self, recording_id):
        with self.lock:
            recording = self.recordings.get(recording_id)
            if recording is None:
                return 404, _error("not-found", f"recording {recording_id} not found")
            return 200, dict(recording)

    def access_link(self, recording_id, query):
        try:
            valid_for = int(query.get("valid_for_secs", 3600))
        except ValueError:
            valid_for = 0
        if valid_for < 1:
            return 400, _error("invalid-request-error", "valid_for_secs must be a positive integer")
        status, recording = self.get_recording(recording_id)
        if status != 200:
            return status, recording
        if recording["status"] != "finished":
            return 400, _error("invalid-request-error", f"recording {recording_id} is not finished")
        expires = int(time.time()) + valid_for
        signed = urlencode({"expires": expires, "signature": self._sign(recording_id, expires)})
        link = f"{self.url}/recordings/{recording_id}/download?{signed}"
        return 200, {"download_link": link, "expires": expires}

    def download(self, recording_id, query):
        """Check a download link; return (200, recording) or (status, JSON error)."""
        expires, signature = query.get("expires", ""), query.get("signature", "")
        if not hmac.compare_digest(signature.encode(), self._sign(recording_id, expires).encode()):
            return 403, _error("forbidden-error", "the link's signature does not match")
        if int(expires) < time.time():  # a number this sandbox signed, so it parses
            return 403, _error("forbidden-error", "the link has expired")
        return self.get_recording(recording_id)

    def fire_webhook(self, event_type, payload):
        """POST one event to `webhook_url` now, signed when there is a secret; return its status."""
        url = self.webhook_url
        if url is None:
            return None
        status = None
        try:
            envelope = {
                "version": "1.0.0",
                "type": event_type,
                "id": str(uuid.uuid4()),
                "payload": payload,
                "event_ts": time.time(),
            }
            raw = json.dumps(envelope)
            headers = {"Content-Type": "application/json"}
            if self.webhook_secret is not None:
                timestamp = str(int(time.time()))
                key = base64.b64decode(self.webhook_secret)
                digest = hmac.new(key, f"{timestamp}.{raw}".encode(), hashlib.sha256).digest()
                headers["X-Webhook-Timestamp"] = timestamp
                headers["X-Webhook-Signature"] = base64.b64encode(digest).decode()
            request = urllib.request.Request(url, raw.encode(), headers, method="POST")
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as answer:  # the receiver answered, just not with a 2xx
            status = answer.code
            answer.close()
        except Exception:  # unreachable, timed out, bad URL or secret: recorded, never raised
            status = None
        with self.lock:
            self.webhook_deliveries.append({"type": event_type, "status": status})
        return status

    def route(self, method, path, body, query=None):
        """Dispatch one API call; return (status, JSON body)."""
        query = query or {}
        parts = [part for part in path.split("/") if part]
        if parts == ["rooms"] and method == "POST":
            return self.create_room(body)
        if len(parts) == 4 and parts[0] == "rooms" and parts[2] == "recordings":
            if (method, parts[3]) == ("POST", "start"):
                return self.start_recording(parts[1], body)
            if (method, parts[3]) == ("POST", "stop"):
                return self.stop_recording(parts[1], body)
        if method == "GET" and len(parts) == 2 and parts[0] == "recordings":
            return self.get_recording(parts[1])
        if method == "GET" and len(parts) == 3 and parts[0::2] == ["recordings", "access-link"]:
            return self.access_link(parts[1], query)
        if len(parts) == 2 and parts[0] == "rooms":
            name = parts[1]
            if method == "POST":
                return self.update_room(name, body)
            if method == "GET":
                return self.get_room(name)
            if method == "DELETE":
                return self.delete_room(name)
        return 404, _error("not-found", f"no route for {method} /v1{path}")

    def _recording_in_progress(self, name, instance_id):
        """The room's in-progress recording for `instance_id` (None: the default instance)."""
        for recording in self.recordings.values():
            same = recording["room_name"] == name and recording["instance_id"] == instance_id
            if same and recording["status"] == "in-progress":
                return recording
        return None

    def _sign(self, recording_id, expires):
        message = f"{recording_id}:{expires}".encode()  # `expires` exactly as in the link
        return hmac.new(self._link_secret, message, hashlib.sha256).hexdigest()

    def _fire_later(self, event_type, payload, delay):
        def deliver():
            time.sleep(delay)
            self.fire_webhook(event_type, payload)

        threading.Thread(target=deliver, name=f"daily-sandbox-{event_type}", daemon=True).start()


def recording_content(recording, total_bytes, piece_size=1024 * 1024):
    """Yield a finished recording's file: a marker line, then filler up to `total_bytes`."""
    marker = f"{MARKER} duration={recording['duration']}\n".encode()[:total_bytes]
    for start in range(0, len(marker), piece_size):
        yield marker[start : start + piece_size]
    pattern = hashlib.sha256(recording["id"].encode()).digest()
    # Each filler piece is a slice of one block, taken at the pattern's current phase, so the
    # content does not depend on piece_size and is never held in memory as a whole.
    block = pattern * (piece_size // len(pattern) + 2)
    sent, remaining = 0, total_bytes - len(marker)
    while remaining > 0:
        size = min(piece_size, remaining)
        phase = sent % len(pattern)
        yield block[phase : phase + size]
        sent += size
        remaining -= size


def _error(error_type, info):
    return {"error": error_type, "info": info}


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
                return self._send(400, _error("json-parsing-error", "body is not JSON"))
            if not isinstance(body, dict):
                return self._send(400, _error("invalid-request-error", "body must be an object"))
            return body

        def _api(self, method):
            url = urlsplit(self.path)
            path, query = url.path, dict(parse_qsl(url.query))
            if not path.startswith("/v1/"):
                return self._outside_api(method, path, query)
            time.sleep(sandbox.latency)
            expected = f"Bearer {sandbox.api_key}" if sandbox.api_key else None
            if expected and self.headers.get("Authorization") != expected:
                return self._send(401, _error("authentication-error", "bad API key"))
            body = self._body()
            if body is not None:
                self._send(*sandbox.route(method, path[len("/v1") :], body, query))

        def _outside_api(self, method, path, query):
            parts = path.strip("/").split("/")
            if method == "GET" and len(parts) == 3 and parts[0::2] == ["recordings", "download"]:
                return self._download(parts[1], query)
            if method == "POST" and parts == ["sandbox", "webhook"]:
                return self._webhook()
            return self._room_page(path) if method == "GET" else self._send(404, {})

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
            if body is None:
                return
            if sandbox.webhook_url is None:
                return self._send(400, _error("invalid-request-error", "no webhook_url is set"))
            if not isinstance(body.get("type"), str) or not isinstance(body.get("payload"), dict):
                info = 'send {"type": "<event>", "payload": {...}}'
                return self._send(400, _error("invalid-request-error", info))
            self._send(200, {"delivered": sandbox.fire_webhook(body["type"], body["payload"])})

        def _room_page(self, path):
            name = path.strip("/")
            status, _ = sandbox.get_room(name)
            text = (
                f"<!doctype html><title>{html.escape(name)}</title><h1>{BANNER}</h1>"
                f"<p>Room <code>{html.escape(name)}</code> "
                f"{'exists' if status == 200 else 'does not exist'}. No video is served here.</p>"
            )
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
