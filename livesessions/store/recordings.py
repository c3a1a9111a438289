"""Recordings started through the API, in the `recordings` collection."""

from datetime import datetime

from pymongo import ASCENDING, ReturnDocument

from ..clock import utcnow
from .documents import RecordingDoc

COLLECTION = "recordings"
INDEXES = [
    ([("dailyId", ASCENDING)], {}),
    ([("session", ASCENDING)], {}),
    ([("createdAt", ASCENDING)], {}),  # the reconciler's recent recordings
]


def either_id(recording_id: str) -> dict:
    """Match a recording by the service's id or by Daily's."""
    return {"$or": [{"_id": recording_id}, {"dailyId": recording_id}]}


class RecordingStore:
    """A recording per start: ours is `_id`, Daily's (learnt from a webhook) `dailyId`."""

    def __init__(self, database):
        self.recordings = database[COLLECTION]

    def insert(self, doc: RecordingDoc) -> RecordingDoc:
        self.recordings.insert_one(doc)
        return doc

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
        """Ids of the sessions with a recording started through the API since `since`."""
        return self.recordings.distinct("session", {"createdAt": {"$gte": since}})

    def for_session(self, session_id: str) -> list[RecordingDoc]:
        """Every recording of the session started through the API (or adopted)."""
        return list(self.recordings.find({"session": session_id}))

    def mark_deleted(self, recording_id: str) -> None:
        """Mark a recording that was never uploaded deleted (it stays, for the audit trail)."""
        now = utcnow()
        self.recordings.update_one(
            {**either_id(recording_id), "deletedAt": None},
            {"$set": {"deletedAt": now, "updatedAt": now}},
        )
