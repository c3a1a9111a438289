"""Visits to sessions' rooms, in the `attendance` collection: one per Daily participant
session (one join, one leave)."""

from datetime import datetime
from typing import TypedDict

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from ..clock import utcnow

COLLECTION = "attendance"
INDEXES = [
    ([("session", ASCENDING), ("joinedAt", ASCENDING)], {}),
]


class VisitDoc(TypedDict, total=False):
    """`attendance`: one visit to a room (`_id` Daily's participant session id)."""

    _id: str
    session: str
    room: str
    userId: str | None
    userName: str | None
    owner: bool
    joinedAt: datetime
    leftAt: datetime | None
    updatedAt: datetime


class AttendanceStore:
    """Written with `$min`/`$max` on the join and leave times, so duplicate and out-of-order
    `participant.joined` / `participant.left` events converge on the same document."""

    def __init__(self, database):
        self.visits = database[COLLECTION]

    def record_visit(
        self, visit_id: str, fields: dict, joined_at: datetime, left_at: datetime | None = None
    ) -> None:
        update = {
            "$setOnInsert": fields,
            "$min": {"joinedAt": joined_at},
            "$set": {"updatedAt": utcnow()},
        }
        if left_at is not None:
            update["$max"] = {"leftAt": left_at}
        for attempt in (1, 2):
            try:
                self.visits.update_one({"_id": visit_id}, update, upsert=True)
                return
            except DuplicateKeyError:  # two deliveries upserted at once: the retry updates
                if attempt == 2:
                    raise

    def of_session(self, session_id: str) -> list[VisitDoc]:
        return list(self.visits.find({"session": session_id}).sort([("joinedAt", ASCENDING)]))

    def of_sessions(self, session_ids: list[str]) -> dict[str, list[VisitDoc]]:
        """The visits of each of `session_ids` (one query; the session+joinedAt index),
        by session id, in join order; a session without visits maps to []."""
        found = {session_id: [] for session_id in session_ids}
        cursor = self.visits.find({"session": {"$in": list(found)}})
        for visit in cursor.sort([("joinedAt", ASCENDING)]):
            found[visit["session"]].append(visit)
        return found
