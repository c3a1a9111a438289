"""`attendance.final`: once a class has ended and its room closed (no visit can change any
more), its attendance summary, as GET /sessions/:id/attendance shows it. A periodic task of
the worker; the event's id is derived from the session, so a run interrupted between the
queueing and the mark queues the same event again, which the job's `_id` makes a no-op."""

import logging
import uuid

from ..clock import utcnow
from ..sessions import summarize

log = logging.getLogger(__name__)

NAMESPACE = uuid.UUID("5f1c7a52-8d0e-4b8e-9a57-0c4a3e1f2b6d")  # the events' uuid5 names


def final_attendance_id(session_id: str) -> str:
    """The stable id of a session's `attendance.final` event."""
    return str(uuid.uuid5(NAMESPACE, f"attendance.final:{session_id}"))


class FinalAttendance:
    """Emit `attendance.final` for each session whose attendance became final."""

    def __init__(self, session_store, attendance_store, window, emitter):
        self.final = session_store
        self.attendance = attendance_store
        self.window = window  # a ClassWindow: when a room closes
        self.emitter = emitter

    def run(self) -> int:
        """Queue the events now due; return how many sessions were done."""
        now = utcnow()
        done = 0
        for doc in self.final.final_attendance_due(now, self.window.room_grace):

            def summary(doc=doc):
                visits = self.attendance.of_session(doc["_id"])
                return summarize(doc, visits, now, self.window.room_closes_at(doc))

            event_id = final_attendance_id(doc["_id"])
            if self.emitter.emit("attendance.final", summary, event_id=event_id) is None:
                continue  # logged; tried again at the next run
            self.final.mark_final_attendance_queued(doc["_id"], now)
            done += 1
        if done:
            log.info("attendance.final queued for %d session(s)", done)
        return done
