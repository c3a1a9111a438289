"""Live sessions in the `livesessions` collection.

Writes that depend on a session's state (capacity, status, not deleted) are single
conditional updates, so they are atomic on a real MongoDB whatever else runs at the same
time. When one matches nothing, the session is read again only to say why.

Daily's meeting events are noted on the session as `meeting: {running, startedAt,
endedAt}` (never shown: the API's JSON takes its keys from SessionSchema). Daily may
deliver an event twice, late or out of order, so each event is placed by the start of the
meeting it is about, `start_ts`, which both meeting.started and meeting.ended carry:

- a meeting.started counts only if its meeting started after the one noted (`startedAt`):
  the meeting is then running;
- a meeting.ended counts unless its meeting started before the one noted: that meeting (or
  a later one whose meeting.started was lost) is over, at `end_ts`.

So for one meeting `ended` wins over `started` whatever their order, and an event of an
earlier meeting changes nothing. An event without its timestamp (Daily always sends one) is
taken in the order it arrives. The note is not part of the session as the API shows it, so
writing it leaves `updatedAt` alone.
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
from ..lifecycle import (
    STATUS_SOURCES,
    STATUSES,
    is_open,
    meeting_is_running,
    status_after_meeting,
    update_rejection,
)
from .documents import SESSION_DEFAULTS, SessionDoc, session_problems, with_defaults
from .filters import NOT_DELETED, OPEN, status_in

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


MEETING_RUNNING = "meeting.running"
MEETING_STARTED_AT = "meeting.startedAt"
# Each lost race means another write to the same session in the meantime; a few in a row
# are as good as impossible, so the event's status change is then given up.
RACE_ATTEMPTS = 3


# The fields of the recording a session shows: its latest uploaded one, or none.
NOTHING_SHOWN = {
    "recordingUrl": None,
    "recordingDuration": None,
    "isRecorded": False,
    "recordingStatus": "none",
    "recordingNumber": None,
    "recordingAsset": None,
}


def showing(number: int, url: str, duration, asset: dict | None) -> dict:
    """The fields of a session that shows its `number`th recording, uploaded."""
    return {
        "recordingUrl": url,
        "recordingDuration": duration,
        "isRecorded": True,
        "recordingStatus": "ready",
        "recordingNumber": number,
        "recordingAsset": asset,
    }


# Only classes that ended this recently: not the whole history on the first run.
LOOKBACK = timedelta(days=2)


class SessionStore:
    """Live sessions: reads, conditional writes, and the status changes events make."""

    def __init__(self, database):
        self.sessions = database[COLLECTION]

    def _one(self, filter_, update) -> SessionDoc | None:
        return with_defaults(
            self.sessions.find_one_and_update(filter_, update, return_document=ReturnDocument.AFTER)
        )

    # -- reads (each session read through with_defaults) ---------------------------------------

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

    # -- writes of the API ---------------------------------------------------------------------

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

    # -- writes of the worker and the sweep (meeting events: below) ----------------------------

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

    # -- Daily's meeting events (see the module's docstring) -----------------------------------
    def record_meeting_start(self, room_name: str, started_at: datetime | None) -> bool:
        """Note that the room's meeting is running, unless the event is of a meeting already
        noted or an earlier one. Return whether the note was written."""
        if started_at is None:  # no timestamp: by the order of arrival, it is the latest
            return self._note_meeting(room_name, {MEETING_RUNNING: True}, {MEETING_RUNNING: True})
        stale = {MEETING_STARTED_AT: {"$gte": started_at}}
        return self._note_meeting(
            room_name, stale, {MEETING_RUNNING: True, MEETING_STARTED_AT: started_at}
        )

    def record_meeting_end(
        self, room_name: str, started_at: datetime | None, ended_at: datetime | None
    ) -> bool:
        """Note that the room's meeting (the one that began at `started_at`) is over, unless
        a later one was noted or this end already was. Return whether the note was written."""
        changes = {MEETING_RUNNING: False, "meeting.endedAt": ended_at or utcnow()}
        if started_at is None:  # no timestamp: by the order of arrival, it is the latest
            return self._note_meeting(room_name, {MEETING_RUNNING: False}, changes)
        stale = {
            "$or": [
                {MEETING_STARTED_AT: {"$gt": started_at}},  # a later meeting was noted
                {MEETING_STARTED_AT: started_at, MEETING_RUNNING: False},  # a duplicate
            ]
        }
        return self._note_meeting(room_name, stale, {**changes, MEETING_STARTED_AT: started_at})

    def _note_meeting(self, room_name, stale, changes) -> bool:
        """One conditional write: the note changes unless the session's note is `stale`."""
        result = self.sessions.update_one(
            {"roomName": room_name, **NOT_DELETED, "$nor": [stale]}, {"$set": changes}
        )
        return result.modified_count > 0

    def start_if_scheduled(self, room_name: str) -> SessionDoc | None:
        """Mark the room's scheduled session live while its meeting runs; return it, or None."""
        return self._one(
            {
                "roomName": room_name,
                **NOT_DELETED,
                "status": status_in(["scheduled"]),
                MEETING_RUNNING: True,
            },
            {"$set": {"status": "live", "updatedAt": utcnow()}},
        )

    def settle_after_meeting(
        self, room_name: str, now: datetime, unless_meeting_runs: bool = True
    ) -> SessionDoc | None:
        """Give the room's session the status `lifecycle.status_after_meeting` says, the room
        being empty (or expired: `unless_meeting_runs=False`); return it if it changed.

        With `unless_meeting_runs`, nothing changes while the meeting is noted running (the
        event was of an earlier meeting). The decision rests on the status, `scheduledAt` and
        `duration` read, so the write is conditional on all of them (and on the meeting):
        when another write came first, the session is read and decided again.
        """
        for _ in range(RACE_ATTEMPTS):
            doc = self.find_by_room(room_name)
            if doc is None or (unless_meeting_runs and meeting_is_running(doc)):
                return None
            status = status_after_meeting(doc, now)
            if status is None:
                return None
            filter_ = {
                "_id": doc["_id"],
                **NOT_DELETED,
                "status": status_in([doc["status"]]),  # as read: with its default
                "scheduledAt": doc["scheduledAt"],
                "duration": doc.get("duration"),  # None matches a missing one
            }
            if unless_meeting_runs:
                filter_[MEETING_RUNNING] = {"$ne": True}
            changed = self._one(filter_, {"$set": {"status": status, "updatedAt": now}})
            if changed is not None:
                return changed
        return None

    # -- the recording side: who records, how many, what is shown ------------------------------
    def claim_recording(
        self, session_id: str, recording_id: str, now: datetime, until: datetime
    ) -> bool:
        """Mark the open session as being recorded by `recording_id` unless another
        recording holds it; True if claimed. A claim lapses at `until` (the room's closing:
        no recording outlives its room), so a recording whose end was never heard of can't
        block the session for ever."""
        claimed = self.sessions.find_one_and_update(
            {
                "_id": session_id,
                **NOT_DELETED,
                "status": OPEN,
                "$or": [
                    {"activeRecording": None},
                    {"activeRecordingUntil": {"$lte": now}},
                ],
            },
            {"$set": {"activeRecording": recording_id, "activeRecordingUntil": until}},
            projection={"_id": 1},
        )
        return claimed is not None

    def release_recording(self, session_id: str, recording_id: str) -> None:
        """End `recording_id`'s claim on the session (not another recording's)."""
        self.sessions.update_one(
            {"_id": session_id, "activeRecording": recording_id},
            {"$set": {"activeRecording": None, "activeRecordingUntil": None}},
        )

    def next_recording_number(self, session: SessionDoc) -> int:
        """Count one more recording of `session` and return its number (1, 2, ...).

        A session recorded before the counter existed (by the Node service or older code)
        starts at 1, so that its existing `-recording` asset is never reused. The counter
        only ever appears, so once a read has shown it, starting it is skipped.
        """
        if "recordingCount" not in session:
            self.sessions.update_one(
                {"_id": session["_id"], "recordingCount": {"$exists": False}},
                {"$set": {"recordingCount": 1 if session.get("isRecorded") else 0}},
            )
        doc = self.sessions.find_one_and_update(
            {"_id": session["_id"]},
            {"$inc": {"recordingCount": 1}},
            projection={"recordingCount": 1},
            return_document=ReturnDocument.AFTER,
        )
        return doc["recordingCount"]

    def set_recording_status(
        self,
        session_id: str,
        status: str,
        only_if: str | None = None,
        only_if_latest: int | None = None,
    ):
        """Set `recordingStatus` (none, recording, processing, ready, failed): where the
        session's latest recording is, kept on the session so that reading it is free.

        `only_if`: only from that status. `only_if_latest`: only while the recording of that
        number is still the latest: none later is shown (`recordingNumber`), queued
        (`recordingCount`) or being recorded (a recording in progress has no number yet and
        is later than all), so that an older recording failing, or retried, never hides a
        later one. One conditional update, so a later recording's own change always wins.
        """
        filter_ = {"_id": session_id}
        conditions = []
        if only_if is not None:
            conditions.append({"recordingStatus": only_if})
        if only_if_latest is not None:
            conditions += [
                {"$or": [{"recordingNumber": None}, {"recordingNumber": {"$lt": only_if_latest}}]},
                {"$or": [{"recordingCount": None}, {"recordingCount": {"$lte": only_if_latest}}]},
                {"recordingStatus": {"$ne": "recording"}},
            ]
        if conditions:
            filter_["$and"] = conditions
        self.sessions.update_one(filter_, {"$set": {"recordingStatus": status}})

    def reconcile_candidates(self, since: datetime, session_ids) -> list[SessionDoc]:
        """Sessions whose recordings are worth checking on Daily: those in `session_ids`
        (a recording was started), and those scheduled since `since` that ended without
        one. Only `_id` and `roomName` are read."""
        filter_ = {
            "$or": [
                {"_id": {"$in": list(session_ids)}},
                {"status": "ended", "isRecorded": {"$ne": True}, "scheduledAt": {"$gte": since}},
            ]
        }
        return list(self.sessions.find(filter_, {"roomName": 1}))

    def record_upload(
        self, session_id: str, number: int, url: str, duration, asset: dict | None = None
    ) -> None:
        """Attach the session's `number`th recording, uploaded, unless a later one is shown
        already (uploads may finish out of order); then end the session unless it was
        cancelled, its class has not begun (a test recording before it), or its meeting is
        still running (a class recorded in two halves: meeting.ended or the sweep ends it).

        Idempotent writes, so a job that runs again after a crash repeats them harmlessly.
        """
        now = utcnow()
        self.sessions.update_one(
            {
                "_id": session_id,
                "$or": [{"recordingNumber": None}, {"recordingNumber": {"$lte": number}}],
            },
            {"$set": {**showing(number, url, duration, asset), "updatedAt": now}},
        )
        self.sessions.update_one(
            {
                "_id": session_id,
                "status": OPEN,
                MEETING_RUNNING: {"$ne": True},
                "scheduledAt": {"$lte": now},
            },
            {"$set": {"status": "ended", "updatedAt": now}},
        )

    def show_instead(self, session_id: str, number: int, shown: dict | None) -> None:
        """Replace the session's recording `number` (deleted) by `shown`, an earlier one
        ({number, url, duration, asset}), or by none. Only while `number` is the one shown:
        an upload that landed meanwhile is left alone."""
        changes = NOTHING_SHOWN if shown is None else showing(**shown)
        self.sessions.update_one(
            {"_id": session_id, "recordingNumber": number},
            {"$set": {**changes, "updatedAt": utcnow()}},
        )

    # -- final attendance: ended sessions whose event is not yet queued ------------------------
    def final_attendance_due(self, now: datetime, grace: timedelta, limit: int = 100) -> list[dict]:
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

    def mark_final_attendance_queued(self, session_id: str, now: datetime) -> None:
        """Note that the session's `attendance.final` was queued."""
        self.sessions.update_one({"_id": session_id}, {"$set": {"attendanceFinalAt": now}})
