"""The sessions whose attendance is final (ended, and their room closed), and the mark that
their `attendance.final` event was queued: queries of the `livesessions` collection, kept
apart from SessionStore's (the indexes are its)."""

from datetime import datetime, timedelta

from ..clock import class_ends_at
from .documents import with_defaults
from .filters import NOT_DELETED

COLLECTION = "livesessions"
# Only classes that ended this recently: not the whole history on the first run.
LOOKBACK = timedelta(days=2)


class FinalAttendanceStore:
    """Find the ended sessions whose final attendance is not yet sent; mark one sent."""

    def __init__(self, database):
        self.sessions = database[COLLECTION]

    def due(self, now: datetime, grace: timedelta, limit: int = 100) -> list[dict]:
        """Ended sessions whose room closed (class end plus `grace`) before `now`, within
        LOOKBACK, not yet marked; oldest first."""
        found = self.sessions.find(
            {
                **NOT_DELETED,
                "status": "ended",
                "attendanceFinalAt": None,
                "scheduledAt": {"$lt": now - grace, "$gt": now - LOOKBACK - grace},
            }
        ).sort([("scheduledAt", 1)])
        due = [with_defaults(doc) for doc in found.limit(limit)]
        return [doc for doc in due if class_ends_at(doc) + grace < now]

    def mark(self, session_id: str, now: datetime) -> None:
        """Note that the session's `attendance.final` was queued."""
        self.sessions.update_one({"_id": session_id}, {"$set": {"attendanceFinalAt": now}})
