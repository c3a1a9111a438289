"""The upload jobs: a finished recording downloaded from Daily.co to a temporary file,
uploaded to Cloudinary and shown on its session; a failed attempt retried with the job
platform's doubling delay, up to the kind's number of attempts."""

import logging
import time

from ..daily import DailyError
from ..jobs import UPLOAD, Backoff, JobKind, JobStore, PermanentJobError, RetriedJobs
from ..metrics import UPLOAD_BYTES, UPLOAD_SECONDS
from .cloudinary import CloudinaryError
from .downloads import Downloads, NotEnoughDiskError
from .naming import name_job
from .storage import RecordingDownloadError

log = logging.getLogger(__name__)


class UploadJobs(RetriedJobs):
    """Carry out upload jobs for a worker: download, upload, show on the session; then
    `recording_events.ready(job)` (the RecordingLibrary: it publishes RecordingReady to the
    hub, and outbound's `recording.ready` follows). A failure is retried after `retry_base_seconds`,
    doubling, up to `max_attempts`."""

    # Failures with a status: these statuses end the job at once (gone, too large).
    FETCH_FAILURES = (DailyError, RecordingDownloadError)
    # Failures a later attempt may get past: a warning, not a traceback.
    expected = (DailyError, RecordingDownloadError, NotEnoughDiskError, CloudinaryError)
    what = "recording job"
    log = log

    def __init__(
        self,
        jobs: JobStore,
        sessions,
        daily,
        cloudinary,
        downloads: Downloads,
        *,
        max_attempts=6,
        retry_base_seconds=30,
        recording_events=None,
    ):
        self.jobs = jobs
        self.sessions = sessions
        self.daily = daily
        self.cloudinary = cloudinary
        self.downloads = downloads
        self.max_attempts = max_attempts
        self.retry = Backoff(retry_base_seconds, max_doublings=max_attempts)
        self.recording_events = recording_events

    def kind(self, concurrency: int, lease_seconds: float) -> JobKind:
        """The upload kind, run by this handler."""
        return JobKind(UPLOAD, self, concurrency, lease_seconds, self.max_attempts)

    def carry_out(self, job: dict, holder: str) -> dict:
        return self.upload(job)

    def completed(self, job, result, holder, completed):
        log.info("recording %s uploaded to %s by %s", job["_id"], result["recordingUrl"], holder)
        if completed and self.recording_events is not None:
            self.recording_events.ready(job)

    def permanent(self, error):
        return isinstance(error, PermanentJobError) or (
            isinstance(error, self.FETCH_FAILURES) and error.status in (404, 413)  # gone, too large
        )

    def gave_up(self, job):
        # Unless a later recording of the session is shown or on its way: an older one
        # failing must not hide it. (A job that failed before it was named has no number
        # to compare: its session is gone, or its failure stands.)
        self.sessions.set_recording_status(
            job["session"], "failed", only_if_latest=job.get("recordingNumber")
        )

    def upload(self, job: dict) -> dict:
        """Download the recording to a temporary file and upload it; update the session."""
        log.info("recording %s: upload started (attempt %s)", job["_id"], job["attempts"])
        session = self.sessions.find_any(job["session"])
        if session is None:
            raise PermanentJobError(f"session {job['session']} no longer exists")
        # Jobs queued before names are named now; in place, so that a failure of this
        # attempt is judged by the job's number too (gave_up).
        job.update(name_job(self.jobs, self.sessions, job, session))
        started = time.monotonic()
        url = job.get("downloadUrl") or self.daily.access_link(job["_id"])
        with self.downloads.fetched(url) as (path, size):
            if size == 0:
                raise RecordingDownloadError("the recording download was empty")
            uploaded = self.cloudinary.upload_video(
                path,
                folder=f"live-sessions/{session['course']}",
                public_id=job["assetName"],
            )
        UPLOAD_BYTES.inc(size)
        UPLOAD_SECONDS.observe(time.monotonic() - started)
        duration = uploaded.get("duration")
        if duration is None:
            duration = job.get("duration")
        asset = {
            "publicId": uploaded.get("public_id"),
            "version": uploaded.get("version"),
            "format": uploaded.get("format") or "mp4",
            "type": uploaded.get("type") or "upload",
        }
        self.sessions.record_upload(
            session["_id"], job["recordingNumber"], uploaded["secure_url"], duration, asset
        )
        return {
            "recordingUrl": uploaded["secure_url"],
            "publicId": uploaded.get("public_id"),
            "bytes": size,
            "duration": duration,
            "asset": asset,  # to sign, frame and destroy this recording later
        }
