"""Every MongoDB query about live sessions, behind one small class.

Writes that depend on a session's state (capacity, status, not deleted) are single
conditional updates, so they are atomic on a real MongoDB whatever else runs at the same
time. When one matches nothing, the session is read again only to say why.
"""

import re
import uuid

from pymongo import ASCENDING, ReturnDocument

from .errors import ApiError, NotFound
from .schemas import utcnow

OPEN_STATUSES = ("scheduled", "live")
# new status -> statuses it may be reached from (same -> same is a no-op, handled apart).
STATUS_SOURCES = {
    "scheduled": (),
    "live": ("scheduled",),
    "ended": ("live",),
    "cancelled": ("scheduled", "live"),
}
STUDENT_NOT_FOUND = "Student not found in session participants"
SESSION_FULL = "Session has reached maximum participants"

NOT_DELETED = {"deletedAt": None}
# Documents written by older code may lack `participants`; count those as empty.
PARTICIPANT_COUNT = {"$size": {"$ifNull": ["$participants", []]}}
SORT_BY_SCHEDULE = [("scheduledAt", ASCENDING), ("_id", ASCENDING)]
POPULATE = {
    # field -> (collection, the one field Mongoose's populate selected)
    "course": ("courses", "title"),
    "instructor": ("users", "name"),
}


def new_id():
    return str(uuid.uuid4())


def update_rejection(doc, changes):
    """Return why `changes` can't be applied to `doc` (an ApiError), or None."""
    if doc["status"] not in OPEN_STATUSES:
        return ApiError(f"Cannot update a session that is {doc['status']}")
    capacity = changes.get("maxParticipants")
    taken = len(doc.get("participants") or [])
    if capacity is not None and capacity < taken:
        return ApiError(
            '"maxParticipants" must be greater than or equal to the current number of '
            f"participants ({taken})"
        )
    return None


class SessionStore:
    """Live sessions in the `livesessions` collection, plus population from the platform's."""

    def __init__(self, database):
        self.database = database
        self.sessions = database["livesessions"]

    def _one(self, filter_, update):
        with self.database.serialized():
            return self.sessions.find_one_and_update(
                filter_, update, return_document=ReturnDocument.AFTER
            )

    def _current(self, session_id):
        with self.database.serialized():
            return self.sessions.find_one({"_id": session_id, **NOT_DELETED})

    def get(self, session_id):
        """Return the session, or raise NotFound (also for deleted sessions)."""
        doc = self._current(session_id)
        if doc is None:
            raise NotFound()
        return doc

    def insert(self, doc):
        with self.database.serialized():
            self.sessions.insert_one(doc)
        return doc

    def page(self, page, page_count, search=""):
        """Return one page of sessions (by schedule) and the total number that match."""
        filter_ = dict(NOT_DELETED)
        if search:
            filter_["title"] = {"$regex": re.escape(search), "$options": "i"}
        with self.database.serialized():
            total = self.sessions.count_documents(filter_)
            cursor = (
                self.sessions.find(filter_)
                .sort(SORT_BY_SCHEDULE)
                .skip((page - 1) * page_count)
                .limit(page_count)
            )
            return list(cursor), total

    def by_field(self, field, value):
        """Return every session whose `field` (course or instructor) is `value`, by schedule."""
        with self.database.serialized():
            return list(self.sessions.find({field: value, **NOT_DELETED}).sort(SORT_BY_SCHEDULE))

    def populate(self, docs, *fields):
        """Replace ids in `fields` by `{_id, title|name}` (or None), one `$in` per collection."""
        for field in fields:
            collection, selected = POPULATE[field]
            ids = list({doc[field] for doc in docs if doc.get(field) is not None})
            found = {}
            if ids:
                with self.database.serialized():
                    cursor = self.database[collection].find({"_id": {"$in": ids}}, {selected: 1})
                    found = {ref["_id"]: ref for ref in cursor}
            for doc in docs:
                # The projection leaves exactly Mongoose's populate output: `_id` + the field.
                doc[field] = found.get(doc.get(field))
        return docs

    def update(self, session_id, changes):
        """Apply `changes` if the session is still open and big enough for its participants."""
        filter_ = {"_id": session_id, **NOT_DELETED, "status": {"$in": list(OPEN_STATUSES)}}
        if changes.get("maxParticipants") is not None:
            filter_["$expr"] = {"$lte": [PARTICIPANT_COUNT, changes["maxParticipants"]]}
        doc = self._one(filter_, {"$set": {**changes, "updatedAt": utcnow()}})
        if doc is None:
            raise update_rejection(self.get(session_id), changes) or NotFound()
        return doc

    def soft_delete(self, session_id):
        """Mark the session cancelled and deleted; return it as it was before and is now."""
        now = utcnow()
        with self.database.serialized():
            before = self.sessions.find_one_and_update(
                {"_id": session_id, **NOT_DELETED},
                {"$set": {"status": "cancelled", "deletedAt": now, "updatedAt": now}},
                return_document=ReturnDocument.BEFORE,
            )
        if before is None:
            raise NotFound()
        return before, {**before, "status": "cancelled", "deletedAt": now, "updatedAt": now}

    def undelete(self, before):
        """Put back a session that `soft_delete` removed (used when Daily refuses the delete)."""
        with self.database.serialized():
            self.sessions.update_one(
                {"_id": before["_id"], "deletedAt": {"$ne": None}},
                {
                    "$set": {"status": before["status"], "updatedAt": before["updatedAt"]},
                    "$unset": {"deletedAt": ""},
                },
            )

    def add_participant(self, session_id, student_id):
        """Admit a student atomically: open session, not yet in, below capacity. Idempotent."""
        doc = self._one(
            {
                "_id": session_id,
                **NOT_DELETED,
                "status": {"$in": list(OPEN_STATUSES)},
                "participants": {"$ne": student_id},
                "$expr": {"$lt": [PARTICIPANT_COUNT, "$maxParticipants"]},
            },
            {"$push": {"participants": student_id}, "$set": {"updatedAt": utcnow()}},
        )
        if doc is not None:
            return doc
        current = self.get(session_id)
        if student_id in current.get("participants", []):
            return current
        if current["status"] not in OPEN_STATUSES:
            raise ApiError(f"Cannot join a session that is {current['status']}")
        raise ApiError(SESSION_FULL)

    def remove_participant(self, session_id, student_id):
        doc = self._one(
            {"_id": session_id, **NOT_DELETED, "participants": student_id},
            {"$pull": {"participants": student_id}, "$set": {"updatedAt": utcnow()}},
        )
        if doc is not None:
            return doc
        self.get(session_id)
        raise NotFound(STUDENT_NOT_FOUND)

    def set_status(self, session_id, status):
        """Move the session to `status` if the transition is allowed (same -> same is a no-op)."""
        doc = self._one(
            {"_id": session_id, **NOT_DELETED, "status": {"$in": list(STATUS_SOURCES[status])}},
            {"$set": {"status": status, "updatedAt": utcnow()}},
        )
        if doc is not None:
            return doc
        current = self.get(session_id)
        if current["status"] == status:
            return current
        raise ApiError(f"Cannot change status from {current['status']} to {status}")
