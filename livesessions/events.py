"""Daily.co webhook events: each type goes to what it changes.

Recording events go to the recording pipeline; meeting and room events move a session's
status (never out of `cancelled`); participant events record attendance. Every handler is
idempotent, because Daily may deliver an event twice or out of order.
"""

import logging
from datetime import UTC, datetime

from .schemas import utcnow

log = logging.getLogger(__name__)


LATEST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime holds


def _moment(seconds):
    """A Unix timestamp from an event as an aware datetime (milliseconds, like BSON), or None
    when it is out of range."""
    if seconds is None or seconds > LATEST_TIMESTAMP:
        return None
    return datetime.fromtimestamp(round(seconds, 3), UTC)


class DailyEvents:
    HANDLERS = {  # event type -> method of this class (recording events: the pipeline's)
        "meeting.started": "_on_meeting_started",
        "meeting.ended": "_on_meeting_over",
        "room.exp": "_on_meeting_over",
        "participant.joined": "_on_participant",
        "participant.left": "_on_participant",
    }

    def __init__(self, sessions, attendance, recordings):
        self.sessions = sessions
        self.attendance = attendance
        self.handlers = {  # one table, built once: event type -> bound method
            **{kind: getattr(recordings, name) for kind, name in recordings.HANDLERS.items()},
            **{kind: getattr(self, name) for kind, name in self.HANDLERS.items()},
        }

    def handle(self, event, trusted):
        """Act on one event; unknown types are acknowledged and ignored. `trusted`: the
        signature was verified."""
        handler = self.handlers.get(event.type)
        if handler is None:
            log.info("webhook %s ignored", event.type)
            return
        handler(event, trusted)

    def _on_meeting_started(self, event, trusted):
        room_name = event.text("room", "room_name")
        if room_name and self.sessions.start_if_scheduled(room_name):
            log.info("meeting started in %s: its session is live", room_name)

    def _on_meeting_over(self, event, trusted):
        room_name = event.text("room", "room_name")
        if room_name and self.sessions.end_if_live(room_name):
            log.info("%s in %s: its live session ended", event.type, room_name)

    def _on_participant(self, event, trusted):
        """Record one visit: its join time, and its leave time once Daily reports it."""
        room_name, visit_id = event.text("room", "room_name"), event.text("session_id")
        joined_at = _moment(event.number("joined_at"))
        if not room_name or not visit_id or joined_at is None:
            log.warning("%s without room, session_id or joined_at: ignored", event.type)
            return
        session = self.sessions.find_by_room(room_name, include_deleted=True)
        if session is None:
            log.info("%s in unknown room %s: ignored", event.type, room_name)
            return
        left_at = None
        if event.type == "participant.left":
            # Daily gives the visit's length; without it, now is close enough (Daily sends
            # the event within seconds).
            duration = event.number("duration")
            left_at = utcnow() if duration is None else _moment(joined_at.timestamp() + duration)
            left_at = max(joined_at, left_at or joined_at)  # an absurd duration: no time
        fields = {
            "session": session["_id"],
            "room": room_name,
            "userId": event.text("user_id"),
            "userName": event.text("user_name"),
            "owner": event.data.get("owner") is True,
        }
        self.attendance.record_visit(visit_id, fields, joined_at, left_at)
