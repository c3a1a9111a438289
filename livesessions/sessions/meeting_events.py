"""Daily's meeting, room and participant events, as they change sessions: meeting events
note whether the room's meeting is running (sessions/repository.py says how) and, with room
events, move a session's status (never out of `cancelled` or `ended`;
lifecycle.status_after_meeting says when); participant events record attendance. Every
handler is idempotent, because Daily may deliver an event twice or out of order
(daily/events.py receives them, and handles a signed one once)."""

import logging

from ..clock import from_seconds, utcnow
from ..events import EventHub, SessionStatusChanged
from .attendance_repository import AttendanceStore
from .repository import SessionStore

log = logging.getLogger(__name__)


class MeetingEvents:
    """The handlers of the meeting, room and participant events (each `(event, trusted)`)."""

    def __init__(
        self,
        session_store: SessionStore,
        attendance_store: AttendanceStore,
        events: EventHub | None = None,  # where a status change is published
    ):
        self.sessions = session_store
        self.attendance = attendance_store
        self.events = events or EventHub()

    def on_meeting_started(self, event, trusted):
        """Note the room's meeting running; its scheduled session goes live."""
        room_name = event.text("room", "room_name")
        if not room_name:
            return
        self.sessions.record_meeting_start(room_name, _not_later_than_now(event, "start_ts"))
        started = self.sessions.start_if_scheduled(room_name)
        if started:
            log.info("meeting started in %s: its session is live", room_name)
            self.events.publish(SessionStatusChanged(started))

    def on_meeting_ended(self, event, trusted):
        """Note the room's meeting over, then settle its session (unless a later meeting of
        the room is running: the event was late)."""
        room_name = event.text("room", "room_name")
        if not room_name:
            return
        started_at, ended_at = (_not_later_than_now(event, n) for n in ("start_ts", "end_ts"))
        self.sessions.record_meeting_end(room_name, started_at, ended_at)
        self._settle(event, room_name, unless_meeting_runs=True)

    def on_meeting_over(self, event, trusted):
        """The room expired: settle its session as when the meeting is over, whatever the
        meeting (people inside may stay past the room's `exp`)."""
        room_name = event.text("room", "room_name")
        if room_name:
            self._settle(event, room_name, unless_meeting_runs=False)

    def _settle(self, event, room_name, unless_meeting_runs):
        """The live session ends if its class time is over; before that it stays live (in
        its class time) or is scheduled again (class not begun)."""
        session = self.sessions.settle_after_meeting(room_name, utcnow(), unless_meeting_runs)
        if session is not None:
            log.info("%s in %s: its session is %s", event.type, room_name, session["status"])
            self.events.publish(SessionStatusChanged(session))

    def on_participant(self, event, trusted):
        """Record one visit: its join time, and its leave time once Daily reports it."""
        room_name, visit_id = event.text("room", "room_name"), event.text("session_id")
        joined_at = from_seconds(event.number("joined_at"))
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
            left_at = (
                utcnow() if duration is None else from_seconds(joined_at.timestamp() + duration)
            )
            left_at = max(joined_at, left_at or joined_at)  # an absurd duration: no time
        fields = {
            "session": session["_id"],
            "room": room_name,
            "userId": event.text("user_id"),
            "userName": event.text("user_name"),
            "owner": event.data.get("owner") is True,
        }
        self.attendance.record_visit(visit_id, fields, joined_at, left_at)


def _not_later_than_now(event, name):
    """An event's timestamp, but never in the future: an unsigned (or mistaken) far-future
    `start_ts` must not keep a meeting noted as running, ahead of every real event."""
    moment = from_seconds(event.number(name))
    return None if moment is None else min(moment, utcnow())
