"""The worker's durable jobs, in the `recording_jobs` collection: uploads of finished
recordings, room deletions Daily's rate limit put off, and outbound webhook deliveries.

An upload job's `_id` is Daily's recording id, so every delivery of the same webhook (and
any other path that finds the recording) lands on the same job: one upload per recording.
A room deletion's is `room:<room name>`: one per room, however often it is asked for.
Workers lease a job with one conditional update, each of a worker's job slots only jobs
of its own kind (so that one kind's jobs can't hold the others'); a lease that expires
(worker killed) makes the job available again.
"""

from __future__ import annotations  # `list[...]` below: the class has a method `list`

from datetime import datetime, timedelta
from typing import TypedDict

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..clock import utcnow

COLLECTION = "recording_jobs"
INDEXES = [
    ([("status", ASCENDING), ("runAt", ASCENDING)], {}),
    # a kind's slots lease its due jobs, however many of another kind are due before them
    ([("kind", ASCENDING), ("status", ASCENDING), ("runAt", ASCENDING)], {}),
    ([("createdAt", DESCENDING)], {}),
    ([("session", ASCENDING)], {}),  # a session's recordings
]
STATUSES = ("pending", "processing", "done", "failed")
UPLOAD = "upload"  # what uploads are called (in `counts`, by `lease`): they have no `kind`
ROOM_DELETION = "room-deletion"  # the `kind` of a room deletion
WEBHOOK = "webhook"  # an outbound webhook's delivery to one endpoint
ENDPOINT_DISABLED = "the webhook endpoint is disabled"  # such a job waits for `enable`
UPLOADS = {"kind": None}  # a filter: the upload jobs only (older ones have no `kind` either)
# The jobs of each kind; a kind other than uploads is retried until done, whatever its
# number of attempts (a room deletion until the room is gone, a webhook for about a day).
OF_KIND = {UPLOAD: UPLOADS, ROOM_DELETION: {"kind": ROOM_DELETION}, WEBHOOK: {"kind": WEBHOOK}}
WORKER_VANISHED = "the worker stopped during the last attempt"


def kind_of(job: dict) -> str:
    """A job's kind: its `kind`, or an upload (whose documents have none)."""
    return job.get("kind") or UPLOAD


class JobDoc(TypedDict, total=False):
    """`recording_jobs`: the durable upload job of a finished recording (`_id` Daily's id),
    or the deletion of a deleted session's room (`_id` `room:<room>`; only the fields
    down to `room`, then the status ones), or an outbound webhook's delivery (`_id`
    `webhook:<endpoint>:<event id>`; `endpoint`, `event`, then the status ones)."""

    _id: str
    kind: str  # "room-deletion" or "webhook"; absent for an upload
    endpoint: str  # a webhook's: the endpoint's id
    event: dict  # a webhook's: the body POSTed, {"id", "type", "createdAt", "data"}
    session: str
    room: str
    duration: float | None
    downloadUrl: str | None
    startedAt: datetime | None  # when Daily started the recording (None: not known)
    finishedAt: datetime | None  # when Daily finished it, which retention counts from
    recordingNumber: int  # this recording's place among the session's (1, 2, ...)
    assetName: str  # its Cloudinary public id under live-sessions/{courseId}/, fixed once
    status: str  # pending, processing, done, failed
    attempts: int
    runAt: datetime
    leaseUntil: datetime | None
    worker: str | None
    error: str | None
    result: dict | None  # recordingUrl, publicId, bytes, duration, asset
    deletedAt: datetime | None  # its asset destroyed (DELETE or retention); the job stays
    createdAt: datetime
    updatedAt: datetime


class JobStore:
    """Enqueue, lease, renew, finish and retry upload jobs."""

    def __init__(self, database):
        self.jobs = database[COLLECTION]

    def enqueue(self, job_id: str, fields: dict) -> bool:
        """Create the job unless it exists; return True if created."""
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
            outcome = self.jobs.update_one({"_id": job_id}, {"$setOnInsert": job}, upsert=True)
        except DuplicateKeyError:  # a concurrent delivery inserted it first
            return False
        return outcome.upserted_id is not None

    def enqueue_room_deletion(self, room_name: str, session_id: str) -> bool:
        """Queue the deletion of a deleted session's room, due now (one job per room);
        return True if created."""
        fields = {"kind": ROOM_DELETION, "room": room_name, "session": session_id}
        return self.enqueue(f"room:{room_name}", fields)

    def enqueue_webhook(self, endpoint_id: str, event: dict) -> bool:
        """Queue an event's delivery to one endpoint, due now (once per endpoint and event
        id); return True if created."""
        fields = {"kind": WEBHOOK, "endpoint": endpoint_id, "event": event}
        return self.enqueue(f"webhook:{endpoint_id}:{event['id']}", fields)

    def resume_webhooks(self, endpoint_id: str) -> int:
        """Make an enabled endpoint's deliveries that stopped when it was disabled due
        again; return how many."""
        now = utcnow()
        resumed = self.jobs.update_many(
            {
                "kind": WEBHOOK,
                "endpoint": endpoint_id,
                "status": "failed",
                "error": ENDPOINT_DISABLED,
            },
            {"$set": {"status": "pending", "runAt": now, "updatedAt": now}},
        )
        return resumed.modified_count

    def name(self, job_id: str, number: int, asset_name: str) -> JobDoc | None:
        """Set the job's recording number and asset name unless it has a name; return the job."""
        named = self.jobs.find_one_and_update(
            {"_id": job_id, "assetName": None},
            {"$set": {"recordingNumber": number, "assetName": asset_name, "updatedAt": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        return named or self.jobs.find_one({"_id": job_id})  # named already by another

    def lease(
        self,
        worker_id: str,
        lease_seconds: float,
        max_attempts: int | None,
        kind: str | None = None,
    ) -> JobDoc | None:
        """Take the most overdue job that is due and not leased, of `kind` (the name of one,
        ours or a test's; None: any); return it (with `takenOverFrom`, the previous
        holder, when its lease had run out), or None."""
        now = utcnow()
        if kind in (None, UPLOAD):
            self._fail_vanished_uploads(max_attempts, now)
        taken = {
            "status": "processing",
            "worker": worker_id,
            "leaseUntil": now + timedelta(seconds=lease_seconds),
            "updatedAt": now,
        }
        before = self.jobs.find_one_and_update(
            self._leasable(kind, max_attempts, now),
            {"$set": taken, "$inc": {"attempts": 1}},
            sort=[("runAt", ASCENDING)],
            return_document=ReturnDocument.BEFORE,  # to tell a take-over from a first lease
        )
        if before is None:
            return None
        job = {**before, **taken, "attempts": before["attempts"] + 1}
        if before["status"] == "processing":  # its worker's lease ran out: a take-over
            job["takenOverFrom"] = before["worker"]
        return job

    def _fail_vanished_uploads(self, max_attempts, now):
        """Uploads whose worker vanished during their last allowed attempt can't be retried
        (the other kinds are retried by their own rules)."""
        self.jobs.update_many(
            {
                **UPLOADS,
                "status": "processing",
                "leaseUntil": {"$lt": now},
                "attempts": {"$gte": max_attempts},
            },
            {
                "$set": {
                    "status": "failed",
                    "leaseUntil": None,
                    "updatedAt": now,
                    "error": WORKER_VANISHED,
                }
            },
        )

    @staticmethod
    def _leasable(kind, max_attempts, now) -> dict:
        """The filter of the jobs `lease` may take: due, or held by a lease that ran out;
        uploads only while they have attempts left."""
        due = {
            "$or": [
                {"status": "pending", "runAt": {"$lte": now}},
                {"status": "processing", "leaseUntil": {"$lt": now}},
            ]
        }
        if kind == UPLOAD:
            return {**UPLOADS, "attempts": {"$lt": max_attempts}, **due}
        if kind is not None:
            return {**OF_KIND.get(kind, {"kind": kind}), **due}  # e.g. a kind a test made
        retried = {
            "$or": [
                {"attempts": {"$lt": max_attempts}},
                {"kind": {"$in": [ROOM_DELETION, WEBHOOK]}},  # retried by kind
            ]
        }
        return {"$and": [retried, due]}

    def counts(self) -> dict[tuple[str, str], int]:
        """{(kind, status): how many jobs}, uploads' kind being UPLOAD."""
        grouped = self.jobs.aggregate(
            [{"$group": {"_id": {"kind": "$kind", "status": "$status"}, "count": {"$sum": 1}}}]
        )
        return {
            (row["_id"].get("kind") or UPLOAD, row["_id"]["status"]): row["count"]
            for row in grouped
        }

    def oldest_due(self, now: datetime) -> JobDoc | None:
        """The pending job that has been due the longest, or None: how far behind the
        workers are."""
        due = self.jobs.find({"status": "pending", "runAt": {"$lte": now}})
        return next(iter(due.sort([("runAt", ASCENDING)]).limit(1)), None)

    def complete(self, job_id: str, worker_id: str, result: dict) -> bool:
        """Mark the job done, if this worker still holds it."""
        return self._finish(job_id, worker_id, {"status": "done", "result": result, "error": None})

    def reschedule(self, job_id: str, worker_id: str, error: str, run_at: datetime) -> bool:
        return self._finish(
            job_id, worker_id, {"status": "pending", "error": error, "runAt": run_at}
        )

    def fail(self, job_id: str, worker_id: str, error: str) -> bool:
        return self._finish(job_id, worker_id, {"status": "failed", "error": error})

    def _finish(self, job_id, worker_id, changes):
        return self._update_held(
            job_id, worker_id, {**changes, "leaseUntil": None, "updatedAt": utcnow()}
        )

    def renew_lease(self, job_id: str, worker_id: str, lease_seconds: float) -> bool:
        """Extend this worker's lease on a job it is still processing; False if it lost it."""
        lease_until = utcnow() + timedelta(seconds=lease_seconds)
        return self._update_held(job_id, worker_id, {"leaseUntil": lease_until})

    def _update_held(self, job_id, worker_id, changes):
        """Set `changes` on the job only while this worker holds it; True if it did."""
        outcome = self.jobs.update_one(
            {"_id": job_id, "worker": worker_id, "status": "processing"}, {"$set": changes}
        )
        return outcome.modified_count == 1

    def list(self, status: str | None = None, limit: int = 100) -> list[JobDoc]:
        """Return jobs, newest first, optionally of one status."""
        filter_ = {"status": status} if status else {}
        return list(self.jobs.find(filter_).sort([("createdAt", DESCENDING)]).limit(limit))

    def retry(self, job_id: str) -> JobDoc | None:
        """Make a failed job due again with a fresh set of attempts; return it, or None."""
        now = utcnow()
        return self.jobs.find_one_and_update(
            {"_id": job_id, "status": "failed"},
            {"$set": {"status": "pending", "attempts": 0, "runAt": now, "updatedAt": now}},
            return_document=ReturnDocument.AFTER,
        )

    # -- the recordings the jobs uploaded ---------------------------------------------------

    def for_session(self, session_id: str) -> list[JobDoc]:
        """Every upload job of the session (one per recording Daily finished)."""
        return list(self.jobs.find({**UPLOADS, "session": session_id}))

    def mark_deleted(self, job_id: str) -> JobDoc | None:
        """Mark the job's recording deleted (its asset is gone); the job stays, for the
        audit trail. Return the job as it now is, or None if it doesn't exist."""
        now = utcnow()
        marked = self.jobs.find_one_and_update(
            {"_id": job_id, "deletedAt": None},
            {"$set": {"deletedAt": now, "updatedAt": now}},
            return_document=ReturnDocument.AFTER,
        )
        return marked or self.jobs.find_one({"_id": job_id})  # deleted by another first

    def latest_ready(self, session_id: str) -> JobDoc | None:
        """The session's uploaded, not deleted recording with the highest number, or None."""
        ready = {**UPLOADS, "session": session_id, "status": "done", "deletedAt": None}
        found = self.jobs.find(ready).sort([("recordingNumber", DESCENDING)]).limit(1)
        return next(iter(found), None)

    def ready_before(self, cutoff: datetime) -> list[JobDoc]:
        """Uploaded, not deleted recordings that Daily finished before `cutoff`, oldest first:
        by their `finishedAt`, or, for a job without one (older code, an unsigned webhook),
        by when the job was made."""
        finished = {
            "$or": [
                {"finishedAt": {"$lt": cutoff}},
                {"finishedAt": None, "createdAt": {"$lt": cutoff}},
            ]
        }
        expired = {**UPLOADS, "status": "done", "deletedAt": None, **finished}
        found = self.jobs.find(expired)
        return sorted(
            found, key=lambda job: (job.get("finishedAt") or job["createdAt"], job["_id"])
        )
