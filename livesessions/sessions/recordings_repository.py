"""The recording side of a session's document in `livesessions`: who is recording it, how
many recordings it has had, where its latest recording is, and which sessions the
reconciler should look at."""

from datetime import datetime

from pymongo import ReturnDocument

from ..clock import utcnow
from .documents import SessionDoc
from .filters import NOT_DELETED, OPEN
from .meetings_repository import MEETING_RUNNING

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


class SessionRecordingMarks:
    """Mixed into SessionStore: needs `self.sessions` and the store's filters."""

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
