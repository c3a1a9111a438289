"""A Daily.co REST API stand-in (rooms) on loopback. Development and tests only."""

import html
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ROOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
BANNER = "Daily.co sandbox - a local development stand-in, not the real service"


class DailySandbox:
    """Rooms kept in memory, served under `/v1` like api.daily.co; room pages at `/<name>`."""

    def __init__(self, host="127.0.0.1", port=0, api_key=None):
        self.api_key = api_key  # when set, requests must carry it, as with the real API
        self.rooms = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), _handler_for(self))
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
            target=self.server.serve_forever, name="daily-sandbox", daemon=True
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

    def route(self, method, path, body):
        """Dispatch one API call; return (status, JSON body)."""
        parts = [part for part in path.split("/") if part]
        if parts == ["rooms"] and method == "POST":
            return self.create_room(body)
        if len(parts) == 2 and parts[0] == "rooms":
            name = parts[1]
            if method == "POST":
                return self.update_room(name, body)
            if method == "GET":
                return self.get_room(name)
            if method == "DELETE":
                return self.delete_room(name)
        return 404, _error("not-found", f"no route for {method} /v1{path}")


def _error(error_type, info):
    return {"error": error_type, "info": info}


def _handler_for(sandbox):
    class Handler(BaseHTTPRequestHandler):
        server_version = "daily-sandbox"

        def log_message(self, *args):  # keep test and dev output quiet
            pass

        def _send(self, status, body, content_type="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Sandbox", "daily")
            self.end_headers()
            self.wfile.write(data)

        def _api(self, method):
            path = urlsplit(self.path).path
            if not path.startswith("/v1/"):
                return self._room_page(path) if method == "GET" else self._send(404, {})
            expected = f"Bearer {sandbox.api_key}" if sandbox.api_key else None
            if expected and self.headers.get("Authorization") != expected:
                return self._send(401, _error("authentication-error", "bad API key"))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                return self._send(400, _error("json-parsing-error", "body is not JSON"))
            if not isinstance(body, dict):
                return self._send(400, _error("invalid-request-error", "body must be an object"))
            self._send(*sandbox.route(method, path[len("/v1") :], body))

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

        def do_POST(self):
            self._api("POST")

        def do_DELETE(self):
            self._api("DELETE")

    return Handler
