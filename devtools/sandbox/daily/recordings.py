"""Cloud recordings: start and stop, the list's pages, access links and the files behind them."""

import hashlib
import hmac
import uuid
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from .common import error

MARKER = "LIVESESSIONS-SANDBOX-RECORDING"
MAX_LIST_LIMIT = 100  # GET /recordings: default and largest page

RULES = [
    Rule("/v1/rooms/<part:name>/recordings/start", methods=["POST"], endpoint="start_recording"),
    Rule("/v1/rooms/<part:name>/recordings/stop", methods=["POST"], endpoint="stop_recording"),
    Rule("/v1/recordings", methods=["GET"], endpoint="list_recordings"),
    Rule("/v1/recordings/<part:recording_id>", methods=["GET"], endpoint="get_recording"),
    Rule("/v1/recordings/<part:recording_id>/access-link", methods=["GET"], endpoint="access_link"),
    # The file an access link points at, outside the API: the link's signature is its key.
    Rule("/recordings/<part:recording_id>/download", methods=["GET"], endpoint="_download_file"),
]


class Recordings:
    """The recordings part of `DailySandbox` (kept in `self.recordings`, by id)."""

    def start_recording(self, name, body):
        with self.lock:
            self.recording_start_calls += 1  # every REST start asked for, refused or not
        instance_id = body.get("instanceId")
        if instance_id is not None and not isinstance(instance_id, str):
            return 400, error("invalid-request-error", "instanceId must be a string (a UUID)")
        with self.lock:
            if name not in self.rooms:
                return 404, error("not-found", f"room {name} is not hosting a call currently")
            if self._recording_in_progress(name, instance_id):
                return 400, error("invalid-request-error", f"{name} is already being recorded")
            recording = self._new_recording(name, instance_id, int(self.clock()))
        self._fire_later("recording.started", started_payload(recording), 0)
        return 200, {"status": "sent"}

    def stop_recording(self, name, body):
        with self.lock:
            if name not in self.rooms:
                return 404, error("not-found", f"room {name} is not hosting a call currently")
            recording = self._recording_in_progress(name, body.get("instanceId"))
            if recording is None:
                return 400, error("invalid-request-error", f"no recording in progress in {name}")
            payload = self._finish(recording)
        self._fire_later("recording.ready-to-download", payload, self.ready_delay)
        return 200, {"status": "sent"}

    def record_on_join(self, name, claims, session_id):
        """A token's `start_cloud_recording` as its holder joins: Daily's default-instance
        recording, as from its record button, if the room is recordable and not already being
        recorded; `recording.started` is sent. The caller holds `_call_lock`."""
        if not (claims and claims.get("start_cloud_recording")):
            return
        with self.lock:
            room = self.rooms.get(name)
            recordable = room is not None and room["config"].get("enable_recording") == "cloud"
            if not recordable or self._recording_in_room(name) is not None:
                return
            recording = self._new_recording(name, None, int(self.clock()))
            recording["started_by_token"] = True
        self.fire_webhook("recording.started", started_payload(recording, started_by=session_id))

    def stop_token_recordings(self, name):
        """At the meeting's end, as Daily does: stop the recordings tokens started in the
        room and send each one's `recording.ready-to-download`."""
        with self.lock:
            payloads = [
                self._finish(recording)
                for recording in self.recordings.values()
                if recording["room_name"] == name
                and recording["status"] == "in-progress"
                and recording.get("started_by_token")
            ]
        for payload in payloads:
            self._fire_later("recording.ready-to-download", payload, self.ready_delay)

    def _finish(self, recording):
        """Mark an in-progress recording finished; its ready-to-download payload. The caller
        holds the lock."""
        recording["status"] = "finished"
        recording["duration"] = max(1, round(self.clock() - recording["start_ts"]))
        return {
            "type": "cloud",
            "recording_id": recording["id"],
            "room_name": recording["room_name"],
            "start_ts": recording["start_ts"],
            "status": "finished",
            "max_participants": recording["max_participants"],
            "duration": recording["duration"],
            "s3_key": recording["s3key"],
            "tracks": [],
        }

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
                return 404, error("not-found", f"recording {recording_id} not found")
            return 200, dict(recording)

    def list_recordings(self, query):
        """Daily's `GET /recordings`: newest first, cursor pages, `total_count` of the filter."""
        with self.lock:
            if self.rate_limit_list:  # a countdown, so that tests can exercise a backoff
                self.rate_limit_list -= 1
                return 429, error("rate-limit-error", "too many requests: back off and retry")
            cursors = {}
            for name in ("starting_after", "ending_before"):
                if name in query:
                    cursor = self.recordings.get(query[name])
                    if cursor is None:
                        return 400, error("invalid-request-error", f"{name}: no such recording")
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
            return 400, error("invalid-request-error", info)
        return 200, {"total_count": len(matching), "data": _page(matching, cursors, limit)}

    def access_link(self, recording_id, query):
        try:
            valid_for = int(query.get("valid_for_secs", 3600))
        except ValueError:
            valid_for = 0
        if valid_for < 1:
            return 400, error("invalid-request-error", "valid_for_secs must be a positive integer")
        status, recording = self.get_recording(recording_id)
        if status != 200:
            return status, recording
        if recording["status"] != "finished":
            return 400, error("invalid-request-error", f"recording {recording_id} is not finished")
        expires = int(self.clock()) + valid_for
        signed = urlencode({"expires": expires, "signature": self._sign(recording_id, expires)})
        link = f"{self.url}/recordings/{recording_id}/download?{signed}"
        return 200, {"download_link": link, "expires": expires}

    def download(self, recording_id, query):
        """Check a download link; return (200, recording) or (status, JSON error)."""
        expires, signature = query.get("expires", ""), query.get("signature", "")
        if not hmac.compare_digest(signature.encode(), self._sign(recording_id, expires).encode()):
            return 403, error("forbidden-error", "the link's signature does not match")
        if int(expires) < self.clock():  # a number this sandbox signed, so it parses
            return 403, error("forbidden-error", "the link has expired")
        return self.get_recording(recording_id)

    def _download_file(self, recording_id, query):
        """`GET /recordings/<id>/download`: the file, or the JSON error of a bad link."""
        status, recording = self.download(recording_id, query)
        if status != 200:
            return status, recording
        # Streamed piece by piece, so that memory stays bounded whatever recording_bytes is.
        content = recording_content(recording, self.recording_bytes)
        response = Response(content, 200, content_type="video/mp4")
        response.headers["Content-Length"] = str(self.recording_bytes)
        return response

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

    def _recording_in_room(self, name):
        """Any recording in progress in the room, whatever its instance; the caller holds the
        lock."""
        for recording in self.recordings.values():
            if recording["room_name"] == name and recording["status"] == "in-progress":
                return recording
        return None

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


def started_payload(recording, started_by="sandbox"):
    """The `recording.started` payload of a recording (Daily's documented fields: no room)."""
    return {
        "recording_id": recording["id"],
        "action": "start-cloud-recording",
        "layout": {"preset": "default"},
        "started_by": started_by,
        "instance_id": recording["instance_id"],
        "start_ts": recording["start_ts"],
    }


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


# -- the list's pages ----------------------------------------------------------------------------


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
