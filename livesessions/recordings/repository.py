"""Recordings started through the API, and those adopted (started outside it), in the
`recordings` collection."""

from datetime import datetime
from typing import TypedDict

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..clock import utcnow

COLLECTION = "recordings"
INDEXES = [
    ([("dailyId", ASCENDING)], {}),
    ([("session", ASCENDING)], {}),
    ([("createdAt", ASCENDING)], {}),  # the reconciler's recent recordings
]


def either_id(recording_id: str) -> dict:
    """Match a recording by the service's id or by Daily's."""
    return {"$or": [{"_id": recording_id}, {"dailyId": recording_id}]}


class RecordingDoc(TypedDict, total=False):
    """`recordings`: a recording started through the API (`_id` ours, `dailyId` Daily's),
    or one started outside it and adopted (`_id` and `dailyId` Daily's)."""

    _id: str
    session: str
    room: str
    dailyId: str | None
    status: str  # starting, recording, finished, error
    startedAt: datetime
    stoppedAt: datetime | None
    duration: float
    error: str | None
    deletedAt: datetime | None  # deleted before any upload (a failed recording)
    adopted: bool  # started outside the API (Daily's UI, another service): recordings/adoption.py
    instanceId: str | None  # an adopted one's Daily instance (None: Daily's default one)
    createdAt: datetime
    updatedAt: datetime


class RecordingStore:
    """A recording per start: ours is `_id`, Daily's (learnt from a webhook) `dailyId`; an
    adopted one (started outside the API) has Daily's id as both."""

    def __init__(self, database):
        self.recordings = database[COLLECTION]

    def insert(self, doc: RecordingDoc) -> RecordingDoc:
        self.recordings.insert_one(doc)
        return doc

    def adopt(self, doc: RecordingDoc) -> bool:
        """Insert a recording started outside the API (`_id` Daily's id); False if it is
        stored already: another delivery of its event, maybe at the same time, adopted it."""
        try:
            self.recordings.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def find_adopted(
        self, session_id: str, instance_id: str | None, statuses: tuple[str, ...]
    ) -> RecordingDoc | None:
        """The session's latest adopted recording of Daily's instance `instance_id` (None:
        the default one, as from Daily's UI) in one of `statuses`, or None. Daily's
        `recording.error` names only the instance and the room."""
        return self.recordings.find_one(
            {
                "session": session_id,
                "adopted": True,
                "instanceId": instance_id,
                "status": {"$in": list(statuses)},
            },
            sort=[("startedAt", DESCENDING)],
        )

    def delete(self, recording_id: str) -> None:
        self.recordings.delete_one({"_id": recording_id})

    def find(self, recording_id: str) -> RecordingDoc | None:
        """Find a recording by the service's id or by Daily's."""
        return self.recordings.find_one(either_id(recording_id))

    def update(
        self, recording_id: str, changes: dict, only_if_status: str | tuple[str, ...] = ()
    ) -> RecordingDoc | None:
        """Apply `changes` to the recording (by either id), if it is in `only_if_status` (one
        status or several) when given; return it updated, or None. One conditional update, so
        an event that arrives late can't undo a later state."""
        filter_ = either_id(recording_id)
        if isinstance(only_if_status, str):
            filter_["status"] = only_if_status
        elif only_if_status:
            filter_["status"] = {"$in": list(only_if_status)}
        return self.recordings.find_one_and_update(
            filter_,
            {"$set": {**changes, "updatedAt": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )

    def sessions_recorded_since(self, since: datetime) -> list[str]:
        """Ids of the sessions with a recording started (or adopted) since `since`."""
        return self.recordings.distinct("session", {"createdAt": {"$gte": since}})

    def for_session(self, session_id: str) -> list[RecordingDoc]:
        """Every recording of the session started through the API (or adopted)."""
        return list(self.recordings.find({"session": session_id}))

    def mark_deleted(self, recording_id: str) -> RecordingDoc | None:
        """Mark a recording that was never uploaded deleted (it stays, for the audit
        trail); return it as it now is."""
        now = utcnow()
        marked = self.recordings.find_one_and_update(
            {**either_id(recording_id), "deletedAt": None},
            {"$set": {"deletedAt": now, "updatedAt": now}},
            return_document=ReturnDocument.AFTER,
        )
        return marked or self.find(recording_id)  # deleted by another first
