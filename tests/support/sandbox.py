"""The Daily sandbox over loopback: its API, rooms, webhook signatures and a receiver."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

# the key of the `make_sandbox` fixture's sandboxes: as long as Daily's, since the service
# signs meeting tokens with it (PyJWT warns about shorter HMAC keys)
SANDBOX_API_KEY = "sandbox-test-key-" + "0123456789abcdef" * 3
STACK_API_KEY = "e2e-daily-key-" + "0123456789abcdef" * 3  # the `stack` fixture's
SANDBOX_AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
WEBHOOK_SECRET = base64.b64encode(b"e2e-webhook-secret").decode()  # the `stack` fixture's


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

    def wait_for(self, count, timeout=10):
        """The posts so far, once there are at least `count`. (Deliveries take milliseconds,
        a fifth of a second when delayed: `timeout` only bounds how long a failure waits.)"""
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


UPLOAD_CHUNK = 4096  # the recording tests' Cloudinary chunk (the sandbox's minimum too)


def cloudinary_settings(cloud):
    """The settings of an app that uploads to the Cloudinary sandbox `cloud`."""
    return {
        "CLOUD_NAME": cloud.cloud_name,
        "CLOUD_API_KEY": cloud.api_key,
        "CLOUD_API_SECRET": cloud.api_secret,
        "CLOUDINARY_UPLOAD_PREFIX": cloud.url,
        "CLOUDINARY_CHUNK_SIZE": UPLOAD_CHUNK,
        "CLOUDINARY_TIMEOUT_SECONDS": 5,
    }
