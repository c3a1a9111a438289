"""A class's recordings as a resource: listed, deleted, and kept for a set time.

A recording is known from two documents: the one a start (or an adoption) made, in
`recordings`, and the upload job Daily's finished file made, in `recording_jobs` (keyed by
Daily's id). Either may be missing: a start that failed has no job, and a recording found
by the reconciler has no start. They are joined on Daily's id.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..auth.policy import may_list_recordings
from ..auth.tokens import Caller
from ..clock import utcnow
from ..errors import (
    CANNOT_DELETE_RECORDING,
    DELETE_RECORDING_FAILED,
    RECORDING_DELETE_FORBIDDEN,
    RECORDING_NOT_FOUND,
    RECORDINGS_FORBIDDEN,
    ApiError,
    Forbidden,
    NotFound,
    UpstreamFailed,
)
from ..events import EventHub, RecordingDeleted, RecordingReady
from ..jobs import JobStore
from ..sessions import SessionStore
from .cloudinary import CloudinaryClient, CloudinaryError
from .repository import RecordingStore

log = logging.getLogger(__name__)

# A start's status, while no file has come from Daily, as the listing says it.
BEFORE_UPLOAD = {"starting": "recording", "recording": "recording", "finished": "processing"}
DELETABLE = ("ready", "failed")


@dataclass
class Recording:
    """One recording of a class: its start (or None) and its upload job (or None)."""

    start: dict | None
    job: dict | None

    @property
    def id(self) -> str:
        return (self.start or self.job)["_id"]

    @property
    def daily_id(self) -> str | None:
        return self.job["_id"] if self.job else self.start.get("dailyId")

    @property
    def status(self) -> str:
        if (self.job or self.start).get("deletedAt"):
            return "deleted"
        if self.job:
            return {"done": "ready", "failed": "failed"}.get(self.job["status"], "processing")
        return BEFORE_UPLOAD.get(self.start["status"], "failed")  # "error"

    @property
    def result(self) -> dict:
        return (self.job or {}).get("result") or {}

    @property
    def started_at(self) -> datetime | None:
        if self.start:
            return self.start["startedAt"]
        if self.job.get("startedAt"):  # as Daily said
            return self.job["startedAt"]
        duration = self.job.get("duration") or 0  # Daily's finish less the recording's length
        return self.job["createdAt"] - timedelta(seconds=duration)

    def matches(self, recording_id: str) -> bool:
        return recording_id in (self.id, self.daily_id)


class RecordingLibrary:
    """List a session's recordings, delete one, and delete those past their retention."""

    def __init__(
        self,
        session_store: SessionStore,
        recording_store: RecordingStore,
        job_store: JobStore,
        cloudinary: CloudinaryClient,
        retention_days: float | None = None,
        events: EventHub | None = None,  # where a recording ready or deleted is published
    ):
        self.sessions = session_store
        self.recordings = recording_store
        self.jobs = job_store
        self.cloudinary = cloudinary
        self.retention_days = retention_days
        self.events = events or EventHub()

    def ready(self, job: dict) -> None:
        """The upload job `job` is done (the worker says so): its recording is ready."""
        self.events.publish(RecordingReady(job["session"], job["_id"]))

    def of_session(self, session_id: str, caller: Caller) -> list[Recording]:
        """The session's recordings by start, for its instructor, an admin, or a student
        admitted to it."""
        if not may_list_recordings(caller, self.sessions.get(session_id)):
            raise Forbidden(RECORDINGS_FORBIDDEN)
        return self._recordings(session_id)

    def _recordings(self, session_id):
        jobs = {job["_id"]: job for job in self.jobs.for_session(session_id)}
        found = []
        for start in self.recordings.for_session(session_id):
            found.append(Recording(start, jobs.pop(start.get("dailyId"), None)))
        found += [Recording(None, job) for job in jobs.values()]
        return sorted(found, key=lambda recording: (recording.started_at, recording.id))

    def find(self, session_id: str, recording_id: str) -> Recording | None:
        """One recording of the session, by the service's id or Daily's, or None."""
        return next((r for r in self._recordings(session_id) if r.matches(recording_id)), None)

    def delete(self, session_id: str, recording_id: str, caller: Caller) -> Recording:
        """Delete a ready recording's asset on Cloudinary (or forget a failed one), mark it
        deleted, and show the latest recording left on the session. Deleting it again
        answers it, deleted, as the first time did."""
        session = self.sessions.get(session_id)
        caller.require_owner(session, RECORDING_DELETE_FORBIDDEN)
        recording = next((r for r in self._recordings(session_id) if r.matches(recording_id)), None)
        if recording is None:
            raise NotFound(RECORDING_NOT_FOUND)
        if recording.status == "deleted":
            return recording
        if recording.status not in DELETABLE:
            raise ApiError(CANNOT_DELETE_RECORDING.format(status=recording.status))
        try:
            return self._delete(session_id, recording)
        except CloudinaryError as error:
            log.error("deleting recording %s failed: %s", recording.id, error)
            raise UpstreamFailed(DELETE_RECORDING_FAILED) from None

    def _delete(self, session_id, recording):
        """Destroy first, then mark: a failed destroy leaves everything as it was."""
        if recording.job is None:
            return Recording(self.recordings.mark_deleted(recording.id), None)
        if recording.status == "ready":
            self.cloudinary.destroy_video(self._asset(recording.job))
        job = self.jobs.mark_deleted(recording.job["_id"])
        number = job.get("recordingNumber")
        if number is not None:
            self.sessions.show_instead(session_id, number, self._shown(session_id))
        log.info("recording %s of session %s deleted", recording.id, session_id)
        self.events.publish(RecordingDeleted(session_id, recording.id))
        return Recording(recording.start, job)

    def _shown(self, session_id):
        latest = self.jobs.latest_ready(session_id)
        if latest is None:
            return None
        result = latest["result"]
        return {
            "number": latest["recordingNumber"],
            "url": result["recordingUrl"],
            "duration": result.get("duration"),
            "asset": self._asset(latest),
        }

    def _asset(self, job) -> dict:
        """The job's stored asset; jobs done before assets were kept have only a public id."""
        result = job["result"]
        return result.get("asset") or {
            "publicId": result["publicId"],
            "version": None,
            "format": "mp4",
            "type": self.cloudinary.delivery_type,
        }

    def poster_url(self, recording: Recording) -> str | None:
        if recording.status != "ready":
            return None
        return self.cloudinary.poster_url(self._asset(recording.job))

    def url(self, recording: Recording) -> str | None:
        """The video's URL, signed now when it is on the authenticated delivery type."""
        if recording.status != "ready":
            return None
        asset = self._asset(recording.job)
        if asset.get("type") == "authenticated":
            return self.cloudinary.signed_asset_url(asset)
        return recording.result["recordingUrl"]

    # -- retention ----------------------------------------------------------------------------

    def expired(self, now: datetime | None = None) -> list[dict]:
        """The upload jobs of the recordings past RECORDING_RETENTION_DAYS (none if unset)."""
        if self.retention_days is None:
            return []
        cutoff = (now or utcnow()) - timedelta(days=self.retention_days)
        return self.jobs.ready_before(cutoff)

    def purge(self, now: datetime | None = None) -> tuple[int, int]:
        """Delete the recordings past their retention, as DELETE would; return (deleted,
        failed). One that fails is logged and tried again at the next run."""
        deleted = failed = 0
        for job in self.expired(now):
            try:
                self._delete(job["session"], Recording(None, job))
            except CloudinaryError as error:
                failed += 1
                log.error("retention: deleting recording %s failed: %s", job["_id"], error)
            else:
                deleted += 1
                log.info("retention: recording %s of %s deleted", job["_id"], job["session"])
        return deleted, failed
