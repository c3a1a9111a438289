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

import jwt

ROOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
BANNER = "Daily.co sandbox - a local development stand-in, not the real service"
MARKER = "LIVESESSIONS-SANDBOX-RECORDING"
MAX_USER_ID = 36  # Daily's limit on a meeting token's user_id
MAX_LIST_LIMIT = 100  # GET /recordings: default and largest page
RETRY_TYPES = ("circuit-breaker", "exponential")
CIRCUIT_BREAKER_FAILURES = 3  # failed deliveries before a circuit-breaker webhook is FAILED


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # http.server's default of 5 drops connections under load


class DailySandbox:
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

    # -- the API -----------------------------------------------------------------------------

    def create_room(self, body):
        name = body.get("name") or uuid.uuid4().hex[:20]
        properties = body.get("properties") or {}
        if not isinstance(name, str) or not ROOM_NAME.match(name):
            return 400, _error("invalid-request-error", f"{name!r} is not a valid room name")
        exp = properties.get("exp")
        if exp is not None and (not isinstance(exp, int | float) or exp < self.clock()):
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
                "created_at": _iso(self.clock()),
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
            meeting = self.meetings.pop(name, None)
        if meeting is not None:  # deleting a room ejects everyone inside, as on Daily
            threading.Thread(
                target=self._end_meeting,
                args=(name, meeting),
                name="daily-sandbox-eject",
                daemon=True,
            ).start()
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
            recording = self._new_recording(name, instance_id, int(self.clock()))
        payload = {
            "recording_id": recording["id"],
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
            recording["duration"] = max(1, round(self.clock() - recording["start_ts"]))
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

    def add_finished_recording(self, room_name, duration=10, start_ts=None):
        """Store a finished recording and fire nothing: one whose webhook got lost. Its id."""
        if start_ts is None:
            start_ts = int(self.clock()) - duration
        with self.lock:
            recording = self._new_recording(room_name, None, start_ts)
            recording["status"] = "finished"
            recording["duration"] = duration
            return recording["id"]

    def get_recording(self, recording_id):
        with self.lock:
            recording = self.recordings.get(recording_id)
            if recording is None:
                return 404, _error("not-found", f"recording {recording_id} not found")
            return 200, dict(recording)

    def list_recordings(self, query):
        """Daily's `GET /recordings`: newest first, cursor pages, `total_count` of the filter."""
        with self.lock:
            if self.rate_limit_list:  # a countdown, so that tests can exercise a backoff
                self.rate_limit_list -= 1
                return 429, _error("rate-limit-error", "too many requests: back off and retry")
            cursors = {}
            for name in ("starting_after", "ending_before"):
                if name in query:
                    cursor = self.recordings.get(query[name])
                    if cursor is None:
                        return 400, _error("invalid-request-error", f"{name}: no such recording")
                    cursors[name] = _newest_first(cursor)
            room = query.get("room_name")
            matching = [
                dict(recording)
                for recording in sorted(self.recordings.values(), key=_newest_first)
                if room is None or recording["room_name"] == room
            ]
        limit = _list_limit(query)
        if limit is None:
            info = f"limit must be an integer from 1 to {MAX_LIST_LIMIT}"
            return 400, _error("invalid-request-error", info)
        return 200, {"total_count": len(matching), "data": _page(matching, cursors, limit)}

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
        expires = int(self.clock()) + valid_for
        signed = urlencode({"expires": expires, "signature": self._sign(recording_id, expires)})
        link = f"{self.url}/recordings/{recording_id}/download?{signed}"
        return 200, {"download_link": link, "expires": expires}

    def download(self, recording_id, query):
        """Check a download link; return (200, recording) or (status, JSON error)."""
        expires, signature = query.get("expires", ""), query.get("signature", "")
        if not hmac.compare_digest(signature.encode(), self._sign(recording_id, expires).encode()):
            return 403, _error("forbidden-error", "the link's signature does not match")
        if int(expires) < self.clock():  # a number this sandbox signed, so it parses
            return 403, _error("forbidden-error", "the link has expired")
        return self.get_recording(recording_id)

    # -- meeting tokens --------------------------------------------------------------------------

    def create_meeting_token(self, body):
        """Daily's `POST /meeting-tokens`: an HS256 JWT whose claims are the properties."""
        properties = body.get("properties")
        problem = _token_problem(properties, self.clock())
        if problem is not None:
            return 400, _error("invalid-request-error", problem)
        token = jwt.encode(dict(properties), self._token_secret, algorithm="HS256")
        with self.lock:
            self.meeting_tokens.append(dict(properties))
        return 200, {"token": token}

    def verify_meeting_token(self, token, room_name):
        """The token's properties if this sandbox signed it for `room_name` and it is valid
        now, else None.

        nbf and exp are checked here against `self.clock`, not by PyJWT, so that tests can
        move the sandbox's clock.
        """
        try:
            claims = jwt.decode(
                token,
                self._token_secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_nbf": False},
            )
        except jwt.InvalidTokenError:
            return None
        now = self.clock()
        if claims.get("room_name") != room_name:
            return None
        if "nbf" in claims and now < claims["nbf"]:
            return None
        if "exp" in claims and now >= claims["exp"]:
            return None
        return claims

    def room_page(self, name, token=None):
        """The human page at `/<name>`: (status, HTML). Private rooms need a meeting token."""
        status, room = self.get_room(name)
        if status != 200:
            return 404, _page_html(name, "does not exist")
        claims = self.verify_meeting_token(token, name) if token else None
        if claims is not None:
            owner = "yes" if claims.get("is_owner") else "no"
            return 200, _page_html(
                name,
                f"exists; token accepted for user_name {claims.get('user_name')}, "
                f"user_id {claims.get('user_id')}, owner: {owner}",
            )
        if room["privacy"] == "private":
            return 403, _page_html(name, "is a private room: a valid meeting token is required")
        if token:  # a public room opens anyway; the page just says the token is bad
            return 200, _page_html(name, "exists; the token is not valid for it")
        return 200, _page_html(name, "exists")

    # -- simulated calls -------------------------------------------------------------------------

    def join(self, name, body):
        """Add a participant to the room's call; fire meeting.started (first one) and
        participant.joined. Returns (status, JSON body) like the API methods."""
        problem = _join_problem(body)
        if problem is not None:
            return 400, _error("invalid-request-error", problem)
        with self._call_lock:
            with self.lock:
                room = self.rooms.get(name)
            if room is None:
                return 404, _error("not-found", f"room {name} not found")
            token = body.get("token")
            claims = self.verify_meeting_token(token, name) if token is not None else None
            if token is not None and claims is None:
                return 403, _error("forbidden-error", f"the meeting token is not valid for {name}")
            if room["privacy"] == "private" and claims is None:
                info = f"{name} is private: a valid meeting token is required"
                return 403, _error("forbidden-error", info)
            participant = _participant(name, body, claims, self.clock())
            with self.lock:
                meeting = self.meetings.get(name)
                started = meeting is None
                if started:
                    meeting = {"meeting_id": str(uuid.uuid4()), "start_ts": int(self.clock())}
                    meeting["participants"] = {}
                    self.meetings[name] = meeting
                meeting["participants"][participant["session_id"]] = participant
            if started:
                self.fire_webhook("meeting.started", _meeting_payload(name, meeting))
            self.fire_webhook("participant.joined", dict(participant))
        return 200, {"session_id": participant["session_id"], "meeting_id": meeting["meeting_id"]}

    def leave(self, name, body):
        """Take a participant out of the room's call; fire participant.left, and meeting.ended
        when the call is empty."""
        session_id = body.get("session_id")
        if not isinstance(session_id, str):
            return 400, _error("invalid-request-error", "session_id must be a string")
        with self._call_lock:
            with self.lock:
                meeting = self.meetings.get(name)
                if meeting is None and name not in self.rooms:
                    return 404, _error("not-found", f"room {name} not found")
                participants = meeting["participants"] if meeting else {}
                participant = participants.pop(session_id, None)
                if participant is None:
                    return 404, _error("not-found", f"no participant {session_id} in {name}")
                ended = not participants
                if ended:
                    del self.meetings[name]
            self.fire_webhook("participant.left", _left_payload(participant, self.clock()))
            if ended:
                self.fire_webhook(
                    "meeting.ended", _meeting_payload(name, meeting, end_ts=int(self.clock()))
                )
        return 200, {"left": True}

    def join_call(self, room, user_id=None, user_name=None, owner=False, token=None):
        """`join` for in-process tests: the participant's session id, or raise
        (LookupError: no room, PermissionError: token refused, ValueError: bad argument)."""
        body = {"user_id": user_id, "user_name": user_name, "owner": owner, "token": token}
        status, answer = self.join(room, {k: v for k, v in body.items() if v is not None})
        _raise_unless_ok(status, answer)
        return answer["session_id"]

    def leave_call(self, room, session_id):
        """`leave` for in-process tests; LookupError for an unknown room or session."""
        _raise_unless_ok(*self.leave(room, {"session_id": session_id}))

    def fire_room_expiry(self, name):
        """Fire `room.exp` for a room (its `exp`, or now if it has none); the delivery status."""
        with self.lock:
            room = self.rooms.get(name)
            if room is None:
                raise LookupError(f"room {name} not found")
            exp = room["config"].get("exp") or int(self.clock())
        return self.fire_webhook("room.exp", {"room": name, "exp": exp})

    def _end_meeting(self, name, meeting):
        """Fire what Daily sends when everyone is ejected: each participant.left, then
        meeting.ended."""
        with self._call_lock:
            for participant in meeting["participants"].values():
                self.fire_webhook("participant.left", _left_payload(participant, self.clock()))
            self.fire_webhook(
                "meeting.ended", _meeting_payload(name, meeting, end_ts=int(self.clock()))
            )

    # -- webhooks configuration ------------------------------------------------------------------

    def list_webhooks(self):
        with self.lock:
            return 200, [dict(self.webhook)] if self.webhook else []

    def get_webhook(self, webhook_id):
        with self.lock:
            hook = self._webhook_by_id(webhook_id)
            if hook is None:
                return 404, _error("not-found", f"webhook {webhook_id} not found")
            return 200, dict(hook)

    def create_webhook(self, body):
        """Daily's `POST /webhooks`: one per domain, and only once the URL answered a test."""
        fields, problem = _webhook_fields(body, creating=True)
        with self.lock:
            if problem is None and self.webhook is not None:  # Daily: one per domain
                problem = "a webhook already exists for this domain: update or delete it"
        if problem is not None:
            return 400, _error("invalid-request-error", problem)
        now = _iso(self.clock())
        hook = {
            "uuid": str(uuid.uuid4()),
            "url": fields["url"],
            "hmac": fields.get("hmac") or base64.b64encode(secrets.token_bytes(32)).decode(),
            "basicAuth": None,
            "retryType": fields.get("retryType", "circuit-breaker"),
            "eventTypes": fields.get("eventTypes", []),
            "state": "ACTIVE",
            "failedCount": 0,
            "lastMomentPushed": None,
            "domainId": "sandbox",
            "createdAt": now,
            "updatedAt": now,
        }
        problem = self._test_endpoint(hook["url"], hook["hmac"])
        with self.lock:
            if problem is None and self.webhook is not None:  # created while we were testing
                problem = "a webhook already exists for this domain: update or delete it"
            if problem is not None:
                return 400, _error("invalid-request-error", problem)
            self.webhook = hook
            return 200, dict(hook)

    def update_webhook(self, webhook_id, body):
        """Daily's `POST /webhooks/:id`: tests the URL again, then re-activates the webhook."""
        fields, problem = _webhook_fields(body, creating=False)
        if problem is not None:
            return 400, _error("invalid-request-error", problem)
        with self.lock:
            hook = self._webhook_by_id(webhook_id)
            if hook is None:
                return 404, _error("not-found", f"webhook {webhook_id} not found")
            url, secret = fields.get("url", hook["url"]), fields.get("hmac", hook["hmac"])
        problem = self._test_endpoint(url, secret)
        if problem is not None:
            return 400, _error("invalid-request-error", problem)
        with self.lock:
            if self.webhook is not hook:
                return 404, _error("not-found", f"webhook {webhook_id} not found")
            hook.update(fields, state="ACTIVE", failedCount=0, updatedAt=_iso(self.clock()))
            return 200, dict(hook)

    def delete_webhook(self, webhook_id):
        with self.lock:
            if self._webhook_by_id(webhook_id) is None:
                return 404, _error("not-found", f"webhook {webhook_id} not found")
            self.webhook = None
        return 200, {"deleted": True, "uuid": webhook_id}

    def fail_webhook(self):
        """Put the configured webhook in the FAILED state, as after 3 failed deliveries."""
        with self.lock:
            if self.webhook is None:
                raise LookupError("no webhook is configured through /v1/webhooks")
            self.webhook.update(state="FAILED", failedCount=CIRCUIT_BREAKER_FAILURES)

    def _webhook_by_id(self, webhook_id):
        hook = self.webhook
        return hook if hook is not None and hook["uuid"] == webhook_id else None

    def _test_endpoint(self, url, secret):
        """Daily's check before it saves a webhook: None if the URL answered 200, else why not."""
        status = _post_json(url, {"test": "test"}, secret, timeout=5, now=self.clock())
        if status == 200:
            return None
        answer = "no answer" if status is None else f"status {status}"
        return f"the webhook URL must answer 200 to a test request; it gave {answer}"

    # -- webhook delivery ------------------------------------------------------------------------

    def fire_webhook(self, event_type, payload):
        """POST one event now to the configured webhook (or `webhook_url`), signed when there
        is a secret; return its status, or None when it was not delivered."""
        target = self._webhook_target(event_type)
        if target is None:
            return None
        url, secret, hook = target
        now = self.clock()  # one reading: the sandbox sends each event the moment it happens
        envelope = {
            "version": "1.0.0",
            "type": event_type,
            "id": str(uuid.uuid4()),
            "payload": payload,
            "event_ts": now,
        }
        status = _post_json(url, envelope, secret, timeout=10, now=now)
        with self.lock:
            self.webhook_deliveries.append({"type": event_type, "status": status})
            if hook is not None and hook is self.webhook:  # not deleted meanwhile
                _count_delivery(hook, status, self.clock())
        return status

    def _webhook_target(self, event_type):
        """(url, secret, webhook object or None) to deliver `event_type` to, or None."""
        with self.lock:
            hook = self.webhook
            if hook is None:  # none configured through the API: the constructor's settings
                if self.webhook_url is None:
                    return None
                return self.webhook_url, self.webhook_secret, None
            if hook["state"] != "ACTIVE":
                return None
            if hook["eventTypes"] and event_type not in hook["eventTypes"]:
                return None
            return hook["url"], hook["hmac"], hook

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
            return 404, _error("not-found", f"no route for {method} /v1{path}")
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

    def _new_recording(self, name, instance_id, start_ts):
        """Store and return a new in-progress recording; the caller holds the lock."""
        recording_id = str(uuid.uuid4())
        recording = {
            "id": recording_id,
            "room_name": name,
            "instance_id": instance_id,
            "start_ts": start_ts,
            "status": "in-progress",
            "max_participants": 1,
            "s3key": f"sandbox/{name}/{recording_id}",
            "mtgSessionId": str(uuid.uuid4()),
            "tracks": [],
        }
        self.recordings[recording_id] = recording
        return recording

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


def _iso(timestamp):
    """Unix seconds as Daily writes times in its objects (milliseconds always zero)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _raise_unless_ok(status, answer):
    """Turn an error answer into the exception an in-process caller would expect."""
    if status == 200:
        return
    kind = {404: LookupError, 403: PermissionError}.get(status, ValueError)
    raise kind(answer["info"])


# -- meeting tokens and calls ------------------------------------------------------------------


def _token_problem(properties, now):
    """Why Daily would refuse these token properties (or this sandbox, for room_name)."""
    if not isinstance(properties, dict):
        return "properties must be an object"
    # Daily accepts a token without room_name (it then opens every room of the domain); the
    # service must never issue one, so the sandbox refuses it.
    if not isinstance(properties.get("room_name"), str) or not properties["room_name"]:
        return "room_name is required (a string)"
    user_id = properties.get("user_id", "")
    if not isinstance(user_id, str) or len(user_id) > MAX_USER_ID:
        return f"user_id must be a string of at most {MAX_USER_ID} characters"
    if not isinstance(properties.get("user_name", ""), str):
        return "user_name must be a string"
    if not isinstance(properties.get("is_owner", False), bool):
        return "is_owner must be a boolean"
    for name in ("nbf", "exp"):
        if name in properties and not _is_number(properties[name]):
            return f"{name} must be a number (Unix seconds)"
    if "exp" in properties and properties["exp"] < now:
        return "exp must be a time in the future"
    return None


def _join_problem(body):
    for name in ("user_id", "user_name", "token"):
        if body.get(name) is not None and not isinstance(body[name], str):
            return f"{name} must be a string"
    if not isinstance(body.get("owner", False), bool):
        return "owner must be a boolean"
    return None


def _participant(room_name, body, claims, now):
    """The participant.joined payload. A token's user_id, user_name and is_owner win over the
    body's; without either, user_id is the session id, as on Daily."""
    session_id = str(uuid.uuid4())
    if claims is not None:
        owner = bool(claims.get("is_owner", False))
    else:
        claims, owner = {}, body.get("owner", False)
    return {
        "joined_at": int(now),
        "session_id": session_id,
        "room": room_name,
        "user_id": claims.get("user_id") or body.get("user_id") or session_id,
        "user_name": claims.get("user_name") or body.get("user_name"),
        "owner": owner,
        "will_eject_at": None,
        "permissions": {
            "hasPresence": True,
            "canSend": True,
            "canReceive": {"base": True},
            "canAdmin": owner,
        },
    }


def _left_payload(participant, now):
    duration = max(0, int(now) - participant["joined_at"])
    return dict(participant, duration=duration)


def _meeting_payload(room_name, meeting, end_ts=None):
    payload = {"start_ts": meeting["start_ts"], "meeting_id": meeting["meeting_id"]}
    if end_ts is not None:
        payload["end_ts"] = end_ts
    return payload | {"room": room_name}


def _page_html(name, status_text):
    return (
        f"<!doctype html><title>{html.escape(name)}</title><h1>{BANNER}</h1>"
        f"<p>Room <code>{html.escape(name)}</code> {html.escape(status_text)}. "
        "No video is served here.</p>"
    )


# -- recordings list ---------------------------------------------------------------------------


def _newest_first(recording):
    """Sort key for Daily's list order: newest `start_ts` first, ties by id."""
    return (-recording["start_ts"], recording["id"])


def _list_limit(query):
    """`limit` as an int in 1..100, or None when it is anything else."""
    try:
        limit = int(query.get("limit", MAX_LIST_LIMIT))
    except ValueError:
        return None
    return limit if 1 <= limit <= MAX_LIST_LIMIT else None


def _page(ordered, cursors, limit):
    """The page of `ordered` after `starting_after` and/or before `ending_before` (sort keys).

    With `ending_before` the page is the one just before that cursor, as with Stripe-style
    cursors: the last `limit` items before it, still newest first.
    """
    after, before = cursors.get("starting_after"), cursors.get("ending_before")
    window = [
        recording
        for recording in ordered
        if (after is None or _newest_first(recording) > after)
        and (before is None or _newest_first(recording) < before)
    ]
    return window[-limit:] if before is not None else window[:limit]


# -- webhooks ----------------------------------------------------------------------------------


def _webhook_fields(body, creating):
    """(fields to set, None) from a `/webhooks` create or update body, or (None, why not)."""
    fields = {}
    if creating or "url" in body:
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return None, "url must be an http(s) URL"
        fields["url"] = url
    if "hmac" in body:
        try:
            if not base64.b64decode(body["hmac"], validate=True):
                raise ValueError("empty")
        except (TypeError, ValueError):
            return None, "hmac must be a non-empty base64 string"
        fields["hmac"] = body["hmac"]
    if "eventTypes" in body:
        types = body["eventTypes"]
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            return None, "eventTypes must be a list of event type names"
        fields["eventTypes"] = list(types)
    if "retryType" in body:
        if body["retryType"] not in RETRY_TYPES:
            return None, f"retryType must be one of {', '.join(RETRY_TYPES)}"
        fields["retryType"] = body["retryType"]
    return fields, None


def _count_delivery(hook, status, now):
    """Daily's circuit breaker: consecutive failures counted, FAILED at the third."""
    if status is not None and 200 <= status < 300:
        hook.update(failedCount=0, lastMomentPushed=_iso(now))
        return
    hook["failedCount"] += 1
    if hook["retryType"] == "circuit-breaker" and hook["failedCount"] >= CIRCUIT_BREAKER_FAILURES:
        hook["state"] = "FAILED"


def _post_json(url, body, secret, timeout, now):
    """POST `body` as JSON, signed like Daily (at `now`) when there is a secret; the status,
    or None."""
    try:
        raw = json.dumps(body)
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            timestamp = str(int(now))
            key = base64.b64decode(secret)
            digest = hmac.new(key, f"{timestamp}.{raw}".encode(), hashlib.sha256).digest()
            headers["X-Webhook-Timestamp"] = timestamp
            headers["X-Webhook-Signature"] = base64.b64encode(digest).decode()
        request = urllib.request.Request(url, raw.encode(), headers, method="POST")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as answer:  # the receiver answered, just not with a 2xx
        answer.close()
        return answer.code
    except Exception:  # unreachable, timed out, bad URL or secret: reported, never raised
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
            if method == "POST" and len(parts) == 4 and parts[:2] == ["sandbox", "rooms"]:
                return self._call(parts[2], parts[3])
            return self._room_page(path, query) if method == "GET" else self._send(404, {})

        def _call(self, name, action):
            """A simulated participant joining or leaving: `/sandbox/rooms/<name>/<action>`."""
            act = {"join": sandbox.join, "leave": sandbox.leave}.get(action)
            if act is None:
                return self._send(404, _error("not-found", f"no call action {action}"))
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
            if body is None:
                return
            if sandbox.webhook_url is None and sandbox.webhook is None:
                return self._send(400, _error("invalid-request-error", "no webhook_url is set"))
            if not isinstance(body.get("type"), str) or not isinstance(body.get("payload"), dict):
                info = 'send {"type": "<event>", "payload": {...}}'
                return self._send(400, _error("invalid-request-error", info))
            self._send(200, {"delivered": sandbox.fire_webhook(body["type"], body["payload"])})

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
