"""Every MongoDB query: live sessions, recordings, recording jobs, attendance, worker state.

Writes that depend on a session's state (capacity, status, not deleted) are single
conditional updates, so they are atomic on a real MongoDB whatever else runs at the same
time. When one matches nothing, the session is read again only to say why.
"""

import re
import uuid
from datetime import timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

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
POPULATED_LABEL = {field: selected for field, (_, selected) in POPULATE.items()}


def class_ends_at(doc):
    """When the class of `doc` (anything with `scheduledAt` and `duration`) is over."""
    return doc["scheduledAt"] + timedelta(minutes=doc.get("duration") or 0)


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


def list_filter(
    search="", status=None, course=None, instructor=None, scheduled_from=None, scheduled_to=None
):
    """The list's query: not deleted, plus each criterion given (the range is inclusive)."""
    filter_ = dict(NOT_DELETED)
    if search:
        filter_["title"] = {"$regex": re.escape(search), "$options": "i"}
    if status is not None:
        filter_["status"] = status
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

    def find_by_room(self, room_name, include_deleted=False):
        """Return the session that owns the Daily room, or None."""
        filter_ = (
            {"roomName": room_name} if include_deleted else {"roomName": room_name, **NOT_DELETED}
        )
        with self.database.serialized():
            return self.sessions.find_one(filter_)

    def find_any(self, session_id):
        """Return the session even if it was deleted, or None (for the recording pipeline)."""
        with self.database.serialized():
            return self.sessions.find_one({"_id": session_id})

    def set_recording_status(self, session_id, status, only_if=None):
        """Set `recordingStatus` (none, recording, processing, ready, failed): where the
        session's latest recording is, kept on the session so that reading it is free."""
        filter_ = {"_id": session_id}
        if only_if is not None:
            filter_["recordingStatus"] = only_if
        with self.database.serialized():
            self.sessions.update_one(filter_, {"$set": {"recordingStatus": status}})

    def reconcile_candidates(self, since, session_ids):
        """Sessions whose recordings are worth checking on Daily: those in `session_ids`
        (a recording was started), and those scheduled since `since` that ended without
        one. Only `_id` and `roomName` are read."""
        filter_ = {
            "$or": [
                {"_id": {"$in": list(session_ids)}},
                {"status": "ended", "isRecorded": {"$ne": True}, "scheduledAt": {"$gte": since}},
            ]
        }
        with self.database.serialized():
            return list(self.sessions.find(filter_, {"roomName": 1}))

    def record_upload(self, session_id, recording_url, duration):
        """Attach the uploaded recording; end the session unless it was cancelled.

        Two idempotent writes, so a job that runs again after a crash repeats them harmlessly.
        """
        now = utcnow()
        with self.database.serialized():
            self.sessions.update_one(
                {"_id": session_id},
                {
                    "$set": {
                        "recordingUrl": recording_url,
                        "recordingDuration": duration,
                        "isRecorded": True,
                        "recordingStatus": "ready",
                        "updatedAt": now,
                    }
                },
            )
            self.sessions.update_one(
                {"_id": session_id, "status": {"$in": list(OPEN_STATUSES)}},
                {"$set": {"status": "ended", "updatedAt": now}},
            )

    def start_if_scheduled(self, room_name):
        """Mark the room's scheduled session live (its meeting started); return it, or None."""
        return self._one(
            {"roomName": room_name, **NOT_DELETED, "status": "scheduled"},
            {"$set": {"status": "live", "updatedAt": utcnow()}},
        )

    def end_if_live(self, room_name):
        """End the room's live session (meeting over, room expired); return it, or None."""
        return self._one(
            {"roomName": room_name, **NOT_DELETED, "status": "live"},
            {"$set": {"status": "ended", "updatedAt": utcnow()}},
        )

    def end_overdue(self, now, grace):
        """End every open session whose class ended more than `grace` ago; return their ids.

        Candidates come from the index (open, scheduled before now); the end time depends on
        each one's duration, so it is checked here, and the update is again conditional on
        the status, so a session cancelled meanwhile stays cancelled.
        """
        filter_ = {**NOT_DELETED, "status": {"$in": list(OPEN_STATUSES)}}
        with self.database.serialized():
            candidates = self.sessions.find(
                {**filter_, "scheduledAt": {"$lt": now - grace}},
                {"scheduledAt": 1, "duration": 1},
            )
            overdue = [doc["_id"] for doc in candidates if class_ends_at(doc) + grace < now]
            if overdue:
                self.sessions.update_many(
                    {**filter_, "_id": {"$in": overdue}},
                    {"$set": {"status": "ended", "updatedAt": now}},
                )
        return overdue

    def page(self, page, page_count, **criteria):
        """Return one page of sessions (by schedule) matching `list_filter(**criteria)`,
        and how many match in all."""
        filter_ = list_filter(**criteria)
        with self.database.serialized():
            total = self.sessions.count_documents(filter_)
            cursor = (
                self.sessions.find(filter_)
                .sort(SORT_BY_SCHEDULE)
                .skip((page - 1) * page_count)
                .limit(page_count)
            )
            return list(cursor), total

    def count(self, **filter_):
        with self.database.serialized():
            return self.sessions.count_documents(filter_)

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
                    # Mongoose's populate output, `_id` first whatever order the server used.
                    found = {
                        ref["_id"]: {"_id": ref["_id"], selected: ref[selected]}
                        if selected in ref
                        else {"_id": ref["_id"]}
                        for ref in cursor
                    }
            for doc in docs:
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


class AttendanceStore:
    """Visits to sessions' rooms: one document per Daily participant session (one join).

    Written with `$min`/`$max` on the join and leave times, so duplicate and out-of-order
    `participant.joined` / `participant.left` events converge on the same document.
    """

    def __init__(self, database):
        self.database = database
        self.visits = database["attendance"]

    def record_visit(self, visit_id, fields, joined_at, left_at=None):
        update = {
            "$setOnInsert": fields,
            "$min": {"joinedAt": joined_at},
            "$set": {"updatedAt": utcnow()},
        }
        if left_at is not None:
            update["$max"] = {"leftAt": left_at}
        for attempt in (1, 2):
            try:
                with self.database.serialized():
                    self.visits.update_one({"_id": visit_id}, update, upsert=True)
                return
            except DuplicateKeyError:  # two deliveries upserted at once: the retry updates
                if attempt == 2:
                    raise

    def of_session(self, session_id):
        with self.database.serialized():
            return list(self.visits.find({"session": session_id}).sort([("joinedAt", ASCENDING)]))


class StateStore:
    """Small named documents the worker leaves for the web processes (e.g. the Daily
    webhook's last known state, shown by /readyz)."""

    COLLECTION = "service_state"

    def __init__(self, database):
        self.database = database
        self.state = database[self.COLLECTION]

    def put(self, key, value):
        upsert_documents(self.database, self.COLLECTION, [{"_id": key, **value}])

    def get(self, key):
        with self.database.serialized():
            return self.state.find_one({"_id": key})


def upsert_documents(database, collection, docs):
    """Insert or replace `docs` by `_id` in one of the platform's collections (demo data)."""
    with database.serialized():
        for doc in docs:
            database[collection].replace_one({"_id": doc["_id"]}, doc, upsert=True)


class RecordingStore:
    """Recordings started through the API, and the durable upload jobs of finished ones.

    A job's `_id` is Daily's recording id, so every delivery of the same webhook (and any
    other path that finds the recording) lands on the same job: one upload per recording.
    Workers lease a job with one conditional update; a lease that expires (worker killed)
    makes the job available again.
    """

    def __init__(self, database):
        self.database = database
        self.recordings = database["recordings"]
        self.jobs = database["recording_jobs"]

    # -- recordings ---------------------------------------------------------------------------

    def insert_recording(self, doc):
        with self.database.serialized():
            self.recordings.insert_one(doc)
        return doc

    def delete_recording(self, recording_id):
        with self.database.serialized():
            self.recordings.delete_one({"_id": recording_id})

    def find_recording(self, recording_id):
        """Find a recording by the service's id or by Daily's."""
        with self.database.serialized():
            return self.recordings.find_one(
                {"$or": [{"_id": recording_id}, {"dailyId": recording_id}]}
            )

    def update_recording(self, recording_id, changes, only_if_status=None):
        """Apply `changes` to the recording (by either id); return it updated, or None."""
        filter_ = {"$or": [{"_id": recording_id}, {"dailyId": recording_id}]}
        if only_if_status:
            filter_["status"] = only_if_status
        with self.database.serialized():
            return self.recordings.find_one_and_update(
                filter_,
                {"$set": {**changes, "updatedAt": utcnow()}},
                return_document=ReturnDocument.AFTER,
            )

    def sessions_recorded_since(self, since):
        """Ids of the sessions with a recording started through the API since `since`."""
        with self.database.serialized():
            return self.recordings.distinct("session", {"createdAt": {"$gte": since}})

    # -- jobs ---------------------------------------------------------------------------------

    def enqueue(self, recording_id, fields):
        """Create the upload job for a recording unless it exists; return True if created."""
        now = utcnow()
        job = {
            **fields,
            "status": "pending",
            "attempts": 0,
            "runAt": now,
            "leaseUntil": None,
            "worker": None,
            "error": None,
            "result": None,
            "createdAt": now,
            "updatedAt": now,
        }
        try:
            with self.database.serialized():
                outcome = self.jobs.update_one(
                    {"_id": recording_id}, {"$setOnInsert": job}, upsert=True
                )
        except DuplicateKeyError:  # a concurrent delivery inserted it first
            return False
        return outcome.upserted_id is not None

    def lease(self, worker_id, lease_seconds, max_attempts):
        """Take the most overdue job that is due and not leased; return it, or None."""
        now = utcnow()
        with self.database.serialized():
            # Jobs whose worker vanished during their last allowed attempt can't be retried.
            self.jobs.update_many(
                {
                    "status": "processing",
                    "leaseUntil": {"$lt": now},
                    "attempts": {"$gte": max_attempts},
                },
                {
                    "$set": {
                        "status": "failed",
                        "leaseUntil": None,
                        "updatedAt": now,
                        "error": "the worker stopped during the last attempt",
                    }
                },
            )
            return self.jobs.find_one_and_update(
                {
                    "attempts": {"$lt": max_attempts},
                    "$or": [
                        {"status": "pending", "runAt": {"$lte": now}},
                        {"status": "processing", "leaseUntil": {"$lt": now}},
                    ],
                },
                {
                    "$set": {
                        "status": "processing",
                        "worker": worker_id,
                        "leaseUntil": now + timedelta(seconds=lease_seconds),
                        "updatedAt": now,
                    },
                    "$inc": {"attempts": 1},
                },
                sort=[("runAt", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )

    def complete(self, job_id, worker_id, result):
        """Mark the job done, if this worker still holds it."""
        return self._finish(job_id, worker_id, {"status": "done", "result": result, "error": None})

    def reschedule(self, job_id, worker_id, error, run_at):
        return self._finish(
            job_id, worker_id, {"status": "pending", "error": error, "runAt": run_at}
        )

    def fail(self, job_id, worker_id, error):
        return self._finish(job_id, worker_id, {"status": "failed", "error": error})

    def _finish(self, job_id, worker_id, changes):
        return self._update_held(
            job_id, worker_id, {**changes, "leaseUntil": None, "updatedAt": utcnow()}
        )

    def renew_lease(self, job_id, worker_id, lease_seconds):
        """Extend this worker's lease on a job it is still processing; False if it lost it."""
        lease_until = utcnow() + timedelta(seconds=lease_seconds)
        return self._update_held(job_id, worker_id, {"leaseUntil": lease_until})

    def _update_held(self, job_id, worker_id, changes):
        """Set `changes` on the job only while this worker holds it; True if it did."""
        with self.database.serialized():
            outcome = self.jobs.update_one(
                {"_id": job_id, "worker": worker_id, "status": "processing"}, {"$set": changes}
            )
        return outcome.modified_count == 1

    def list_jobs(self, status=None, limit=100):
        """Return jobs, newest first, optionally of one status."""
        filter_ = {"status": status} if status else {}
        with self.database.serialized():
            return list(self.jobs.find(filter_).sort([("createdAt", -1)]).limit(limit))

    def retry(self, job_id):
        """Make a failed job due again with a fresh set of attempts; return it, or None."""
        now = utcnow()
        with self.database.serialized():
            return self.jobs.find_one_and_update(
                {"_id": job_id, "status": "failed"},
                {"$set": {"status": "pending", "attempts": 0, "runAt": now, "updatedAt": now}},
                return_document=ReturnDocument.AFTER,
            )
