"""Live sessions in the `livesessions` collection.

Writes that depend on a session's state (capacity, status, not deleted) are single
conditional updates, so they are atomic on a real MongoDB whatever else runs at the same
time. When one matches nothing, the session is read again only to say why.
"""

import re
from datetime import datetime, timedelta

from pymongo import ASCENDING, ReturnDocument

from ..clock import class_ends_at, utcnow
from ..domain_errors import (
    SessionFull,
    SessionNotFound,
    SessionNotJoinable,
    StudentNotFound,
    TransitionRefused,
)
from ..lifecycle import STATUS_SOURCES, STATUSES, is_open, update_rejection
from .documents import SESSION_DEFAULTS, SessionDoc, session_problems, with_defaults
from .filters import NOT_DELETED, OPEN, status_in
from .meetings_repository import MeetingEvents
from .recordings_repository import SessionRecordingMarks

COLLECTION = "livesessions"
# Default index names (`roomName_1`, ...) are the ones Mongoose creates, so an index the
# Node service already made is recognised instead of clashing under another name.
INDEXES = [
    ([("roomName", ASCENDING)], {"unique": True}),
    ([("scheduledAt", ASCENDING), ("_id", ASCENDING)], {}),
    # The list (not deleted, by schedule) and its count, without a collection scan.
    ([("deletedAt", ASCENDING), ("scheduledAt", ASCENDING), ("_id", ASCENDING)], {}),
    ([("course", ASCENDING), ("scheduledAt", ASCENDING)], {}),
    ([("instructor", ASCENDING), ("scheduledAt", ASCENDING)], {}),
    # A student's calendar feed: the sessions they are admitted to (multikey), by schedule.
    ([("participants", ASCENDING), ("scheduledAt", ASCENDING)], {}),
    ([("status", ASCENDING)], {}),
    # A recurring series' sessions (only they have a `seriesId`).
    ([("seriesId", ASCENDING), ("scheduledAt", ASCENDING)], {"sparse": True}),
    # The list filtered by status, in schedule order; the automatic-status sweep.
    (
        [
            ("deletedAt", ASCENDING),
            ("status", ASCENDING),
            ("scheduledAt", ASCENDING),
            ("_id", ASCENDING),
        ],
        {},
    ),
]

# Documents written by older code may lack `participants` or `maxParticipants`: in the
# `$expr` of conditional updates they count as with_defaults reads them.
PARTICIPANT_COUNT = {"$size": {"$ifNull": ["$participants", []]}}
MAX_PARTICIPANTS = {"$ifNull": ["$maxParticipants", SESSION_DEFAULTS["maxParticipants"]]}
SORT_BY_SCHEDULE = [("scheduledAt", ASCENDING), ("_id", ASCENDING)]
# The statuses of the sessions an attendance report counts: all but cancelled.
COUNTED_STATUSES = tuple(status for status in STATUSES if status != "cancelled")


def list_filter(
    search="", status=None, course=None, instructor=None, scheduled_from=None, scheduled_to=None
) -> dict:
    """The list's query: not deleted, plus each criterion given (the range is inclusive)."""
    filter_ = dict(NOT_DELETED)
    if search:
        filter_["title"] = {"$regex": re.escape(search), "$options": "i"}
    if status is not None:
        filter_["status"] = status_in([status])
    if course is not None:
        filter_["course"] = course
    if instructor is not None:
        filter_["instructor"] = instructor
    if scheduled_from is not None or scheduled_to is not None:
        filter_["scheduledAt"] = {}
        if scheduled_from is not None:
            filter_["scheduledAt"]["$gte"] = scheduled_from
        if scheduled_to is not None:
            filter_["scheduledAt"]["$lte"] = scheduled_to
    return filter_


class SessionStore(SessionRecordingMarks, MeetingEvents):
    """Live sessions: reads, conditional writes, and the status changes events make."""

    def __init__(self, database):
        self.sessions = database[COLLECTION]

    def _one(self, filter_, update) -> SessionDoc | None:
        return with_defaults(
            self.sessions.find_one_and_update(filter_, update, return_document=ReturnDocument.AFTER)
        )

    # -- reads (each session read through with_defaults) --------------------------------------

    def get(self, session_id: str) -> SessionDoc:
        """Return the session, or raise SessionNotFound (also for deleted sessions)."""
        doc = self.sessions.find_one({"_id": session_id, **NOT_DELETED})
        if doc is None:
            raise SessionNotFound()
        return with_defaults(doc)

    def find_by_room(self, room_name: str, include_deleted: bool = False) -> SessionDoc | None:
        """Return the session that owns the Daily room, or None."""
        filter_ = (
            {"roomName": room_name} if include_deleted else {"roomName": room_name, **NOT_DELETED}
        )
        return with_defaults(self.sessions.find_one(filter_))

    def unreadable(self) -> tuple[int, list[tuple[object, list[str]]]]:
        """(how many sessions are stored, [(id, why the service can't read it), ...]): for
        `db check`, e.g. documents another service wrote."""
        checked, found = 0, []
        for doc in self.sessions.find({}):
            checked += 1
            problems = session_problems(doc)
            if problems:
                found.append((doc.get("_id"), problems))
        return checked, found

    def find_any(self, session_id: str) -> SessionDoc | None:
        """Return the session even if it was deleted, or None (for the recording pipeline)."""
        return with_defaults(self.sessions.find_one({"_id": session_id}))

    def page(self, page: int, page_count: int, **criteria) -> tuple[list[SessionDoc], int]:
        """Return one page of sessions (by schedule) matching `list_filter(**criteria)`,
        and how many match in all."""
        filter_ = list_filter(**criteria)
        total = self.sessions.count_documents(filter_)
        cursor = (
            self.sessions.find(filter_)
            .sort(SORT_BY_SCHEDULE)
            .skip((page - 1) * page_count)
            .limit(page_count)
        )
        return [with_defaults(doc) for doc in cursor], total

    def count(self, **filter_) -> int:
        return self.sessions.count_documents(filter_)

    def by_field(self, field: str, value: str) -> list[SessionDoc]:
        """Return every session whose `field` (course or instructor) is `value`, by schedule."""
        cursor = self.sessions.find({field: value, **NOT_DELETED}).sort(SORT_BY_SCHEDULE)
        return [with_defaults(doc) for doc in cursor]

    def admitted(self, student_id: str) -> list[SessionDoc]:
        """Return every session whose `participants` holds the student, by schedule."""
        cursor = self.sessions.find({"participants": student_id, **NOT_DELETED})
        return [with_defaults(doc) for doc in cursor.sort(SORT_BY_SCHEDULE)]

    def counted_in_course(self, course_id: str, instructor: str | None = None) -> list[SessionDoc]:
        """The course's sessions an attendance report counts (not deleted, not cancelled),
        only `instructor`'s if given, by schedule (the course+scheduledAt index)."""
        filter_ = {"course": course_id, **NOT_DELETED, "status": status_in(COUNTED_STATUSES)}
        if instructor is not None:
            filter_["instructor"] = instructor
        return [with_defaults(doc) for doc in self.sessions.find(filter_).sort(SORT_BY_SCHEDULE)]

    def of_series(self, series_id: str) -> list[SessionDoc]:
        """Return the series' sessions that are not deleted, by schedule."""
        cursor = self.sessions.find({"seriesId": series_id, **NOT_DELETED})
        return [with_defaults(doc) for doc in cursor.sort(SORT_BY_SCHEDULE)]

    # -- writes of the API -------------------------------------------------------------------

    def remove_series(self, series_id: str) -> int:
        """Remove every session of the series for good (a creation rolled back)."""
        return self.sessions.delete_many({"seriesId": series_id}).deleted_count

    def insert(self, doc: SessionDoc) -> SessionDoc:
        self.sessions.insert_one(doc)
        return doc

    def update(self, session_id: str, changes: dict) -> SessionDoc:
        """Apply `changes` if the session is still open and big enough for its participants."""
        filter_ = {"_id": session_id, **NOT_DELETED, "status": OPEN}
        if changes.get("maxParticipants") is not None:
            filter_["$expr"] = {"$lte": [PARTICIPANT_COUNT, changes["maxParticipants"]]}
        doc = self._one(filter_, {"$set": {**changes, "updatedAt": utcnow()}})
        if doc is None:
            raise update_rejection(self.get(session_id), changes) or SessionNotFound()
        return doc

    def soft_delete(self, session_id: str) -> tuple[SessionDoc, SessionDoc]:
        """Mark the session cancelled and deleted; return the document as it was stored (for
        `undelete`, so without defaults) and the session as it now reads."""
        now = utcnow()
        before = self.sessions.find_one_and_update(
            {"_id": session_id, **NOT_DELETED},
            {"$set": {"status": "cancelled", "deletedAt": now, "updatedAt": now}},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            raise SessionNotFound()
        deleted = {**before, "status": "cancelled", "deletedAt": now, "updatedAt": now}
        return before, with_defaults(deleted)

    def undelete(self, before: SessionDoc) -> None:
        """Put back a session that `soft_delete` removed (used when Daily refuses the delete),
        exactly: a field it lacked before is removed again."""
        restored = {key: before[key] for key in ("status", "updatedAt") if key in before}
        removed = {key: "" for key in ("status", "updatedAt", "deletedAt") if key not in restored}
        update = {"$unset": removed}
        if restored:
            update["$set"] = restored
        self.sessions.update_one({"_id": before["_id"], "deletedAt": {"$ne": None}}, update)

    def add_participant(self, session_id: str, student_id: str) -> SessionDoc:
        """Admit a student atomically: open session, not yet in, below capacity. Idempotent."""
        return self.admit(session_id, student_id)[0]

    def admit(self, session_id: str, student_id: str) -> tuple[SessionDoc, bool]:
        """`add_participant`, and whether the student was added (False: already in)."""
        doc = self._one(
            {
                "_id": session_id,
                **NOT_DELETED,
                "status": OPEN,
                "participants": {"$ne": student_id},
                "$expr": {"$lt": [PARTICIPANT_COUNT, MAX_PARTICIPANTS]},
            },
            {"$push": {"participants": student_id}, "$set": {"updatedAt": utcnow()}},
        )
        if doc is not None:
            return doc, True
        current = self.get(session_id)
        if student_id in current.get("participants", []):
            return current, False
        if not is_open(current):
            raise SessionNotJoinable(current["status"])
        raise SessionFull()

    def remove_participant(self, session_id: str, student_id: str) -> SessionDoc:
        doc = self._one(
            {"_id": session_id, **NOT_DELETED, "participants": student_id},
            {"$pull": {"participants": student_id}, "$set": {"updatedAt": utcnow()}},
        )
        if doc is not None:
            return doc
        self.get(session_id)
        raise StudentNotFound()

    def set_status(self, session_id: str, status: str) -> SessionDoc:
        """Move the session to `status` if the transition is allowed (same -> same is a no-op)."""
        return self.change_status(session_id, status)[0]

    def change_status(self, session_id: str, status: str) -> tuple[SessionDoc, bool]:
        """`set_status`, and whether the status changed (False: it was `status` already)."""
        doc = self._one(
            {"_id": session_id, **NOT_DELETED, "status": status_in(STATUS_SOURCES[status])},
            {"$set": {"status": status, "updatedAt": utcnow()}},
        )
        if doc is not None:
            return doc, True
        current = self.get(session_id)
        if current["status"] == status:
            return current, False
        raise TransitionRefused(current["status"], status)

    def reopen(self, session_id: str, from_status: str, to_status: str) -> SessionDoc:
        """Move the session back from `from_status` (a reopening the caller was allowed);
        if its status changed meanwhile, refuse as an unallowed transition."""
        doc = self._one(
            {"_id": session_id, **NOT_DELETED, "status": status_in([from_status])},
            {"$set": {"status": to_status, "updatedAt": utcnow()}},
        )
        if doc is None:
            current = self.get(session_id)
            raise TransitionRefused(current["status"], to_status)
        return doc

    # -- writes of the worker and the sweep (those of meeting events: meetings.py) ----------

    def end_overdue(self, now: datetime, grace: timedelta) -> list[str]:
        """End every open session whose class ended more than `grace` ago; return their ids.

        Candidates come from the index (open, scheduled before now); the end time depends on
        each one's duration, so it is checked here, and the update is again conditional on
        the status, so a session cancelled meanwhile stays cancelled.
        """
        filter_ = {**NOT_DELETED, "status": OPEN}
        candidates = self.sessions.find(
            {**filter_, "scheduledAt": {"$lt": now - grace}}, {"scheduledAt": 1, "duration": 1}
        )
        overdue = [doc["_id"] for doc in candidates if class_ends_at(doc) + grace < now]
        if overdue:
            self.sessions.update_many(
                {**filter_, "_id": {"$in": overdue}},
                {"$set": {"status": "ended", "updatedAt": now}},
            )
        return overdue
