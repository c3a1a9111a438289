"""Simulated calls: room pages, participants joining and leaving, the meeting events, and
recordings started and stopped from inside the call (as with Daily's own UI)."""

import html
import uuid

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from .common import error
from .recordings import started_payload

BANNER = "Daily.co sandbox - a local development stand-in, not the real service"

RULES = [
    Rule("/sandbox/rooms/<part:name>/join", methods=["POST"], endpoint="join"),
    Rule("/sandbox/rooms/<part:name>/leave", methods=["POST"], endpoint="leave"),
    Rule("/sandbox/rooms/<part:name>/recordings/start", methods=["POST"], endpoint="ui_record"),
    Rule("/sandbox/rooms/<part:name>/recordings/stop", methods=["POST"], endpoint="ui_stop"),
    # Werkzeug prefers the fixed parts above; any other action is refused before the body is read.
    Rule("/sandbox/rooms/<part:name>/<part:action>", methods=["POST"], endpoint="_no_call_action"),
    Rule(
        "/sandbox/rooms/<part:name>/recordings/<part:action>",
        methods=["POST"],
        endpoint="_no_call_action",
    ),
]


class Calls:
    """The calls part of `DailySandbox` (the call in progress in each room is kept in
    `self.meetings`)."""

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

    def _page(self, name, query):
        """The room page as an HTTP answer: what any GET the URL map does not route gets."""
        status, text = self.room_page(name, query.get("t"))
        return Response(text, status, content_type="text/html; charset=utf-8")

    def join(self, name, body):
        """Add a participant to the room's call; fire meeting.started (first one) and
        participant.joined. Returns (status, JSON body) like the API methods."""
        problem = _join_problem(body)
        if problem is not None:
            return 400, error("invalid-request-error", problem)
        with self._call_lock:
            with self.lock:
                room = self.rooms.get(name)
            if room is None:
                return 404, error("not-found", f"room {name} not found")
            token = body.get("token")
            claims = self.verify_meeting_token(token, name) if token is not None else None
            if token is not None and claims is None:
                return 403, error("forbidden-error", f"the meeting token is not valid for {name}")
            if room["privacy"] == "private" and claims is None:
                info = f"{name} is private: a valid meeting token is required"
                return 403, error("forbidden-error", info)
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
            self.record_on_join(name, claims, participant["session_id"])
        return 200, {"session_id": participant["session_id"], "meeting_id": meeting["meeting_id"]}

    def leave(self, name, body):
        """Take a participant out of the room's call; fire participant.left, and meeting.ended
        when the call is empty."""
        session_id = body.get("session_id")
        if not isinstance(session_id, str):
            return 400, error("invalid-request-error", "session_id must be a string")
        with self._call_lock:
            with self.lock:
                meeting = self.meetings.get(name)
                if meeting is None and name not in self.rooms:
                    return 404, error("not-found", f"room {name} not found")
                participants = meeting["participants"] if meeting else {}
                participant = participants.pop(session_id, None)
                if participant is None:
                    return 404, error("not-found", f"no participant {session_id} in {name}")
                ended = not participants
                if ended:
                    del self.meetings[name]
            self.fire_webhook("participant.left", _left_payload(participant, self.clock()))
            if ended:
                self.fire_webhook(
                    "meeting.ended", _meeting_payload(name, meeting, end_ts=int(self.clock()))
                )
                self.stop_token_recordings(name)
        return 200, {"left": True}

    def ui_record(self, name, body):
        """Start a cloud recording as an owner does with Daily's own record button: not through
        the API, so with no instanceId (Daily's default instance). `recording.started` is sent,
        as for one started through the API, before the answer: the recording's Daily id.
        `session_id`, if given, is the participant in the call who pressed record
        (`started_by`)."""
        session_id = body.get("session_id")
        if session_id is not None and not isinstance(session_id, str):
            return 400, error("invalid-request-error", "session_id must be a string")
        with self._call_lock:  # in order with the joins' and leaves' events
            with self.lock:
                if name not in self.rooms:
                    return 404, error("not-found", f"room {name} not found")
                participants = self.meetings.get(name, {}).get("participants", {})
                if session_id is not None and session_id not in participants:
                    return 404, error("not-found", f"no participant {session_id} in {name}")
                if self._recording_in_room(name) is not None:  # the UI offers "stop" then
                    return 400, error("invalid-request-error", f"{name} is already being recorded")
                recording = self._new_recording(name, None, int(self.clock()))
            payload = started_payload(recording, started_by=session_id or "sandbox")
            delivered = self.fire_webhook("recording.started", payload)
        return 200, {
            "recording_id": recording["id"],
            "room_name": name,
            "start_ts": recording["start_ts"],
            "delivered": delivered,
        }

    def ui_stop(self, name):
        """Stop the recording started from the UI (the default instance) as the UI's stop
        button does: exactly `POST /v1/rooms/<name>/recordings/stop` with no body."""
        return self.stop_recording(name, {})

    def record_from_ui(self, room, session_id=None):
        """`ui_record` for in-process tests: the recording's Daily id, or raise (LookupError:
        no room or participant, ValueError: already recording or a bad argument)."""
        body = {} if session_id is None else {"session_id": session_id}
        status, answer = self.ui_record(room, body)
        _raise_unless_ok(status, answer)
        return answer["recording_id"]

    def _no_call_action(self, name, action):
        """`POST /sandbox/rooms/<name>/<action>` (or `.../recordings/<action>`) for any action
        but those above."""
        return 404, error("not-found", f"no call action {action}")

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
            self.stop_token_recordings(name)


def _raise_unless_ok(status, answer):
    """Turn an error answer into the exception an in-process caller would expect."""
    if status == 200:
        return
    kind = {404: LookupError, 403: PermissionError}.get(status, ValueError)
    raise kind(answer["info"])


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
