"""The worker's upload jobs: a finished recording downloaded from Daily.co to a temporary
file, uploaded to Cloudinary and shown on its session; a failed attempt retried with a
doubling delay, up to the worker's number of attempts."""

import logging
import time
from datetime import timedelta

from ..clock import utcnow
from ..daily.client import DailyError
from ..metrics import UPLOAD_BYTES, UPLOAD_SECONDS
from .cloudinary import CloudinaryError
from .downloads import NotEnoughDiskError
from .naming import name_job
from .room_deletions import PermanentJobError
from .storage import RecordingDownloadError

log = logging.getLogger(__name__)

# Failures with a status: these statuses end the job at once (gone, too large).
FETCH_FAILURES = DailyError | RecordingDownloadError
# Failures a later attempt may get past: a warning, not a traceback.
EXPECTED_FAILURES = DailyError | RecordingDownloadError | NotEnoughDiskError | CloudinaryError


class Uploads:
    """The upload part of `RecordingWorker` (its `jobs`, `sessions`, `daily`, `cloudinary`,
    `downloads`, `retry_base_seconds` and `max_attempts`)."""

    def upload(self, job: dict) -> dict:
        """Download the recording to a temporary file and upload it; update the session."""
        log.info("recording %s: upload started (attempt %s)", job["_id"], job["attempts"])
        session = self.sessions.find_any(job["session"])
        if session is None:
            raise PermanentJobError(f"session {job['session']} no longer exists")
        # Jobs queued before names are named now; in place, so that a failure of this
        # attempt is judged by the job's number too (_record_failure).
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

    def _record_failure(self, job, error, holder):
        reason = f"{type(error).__name__}: {error}"
        permanent = isinstance(error, PermanentJobError) or (
            isinstance(error, FETCH_FAILURES) and error.status in (404, 413)  # gone, too large
        )
        if permanent or job["attempts"] >= self.max_attempts:
            if self.jobs.fail(job["_id"], holder, reason):
                # Unless a later recording of the session is shown or on its way: an older
                # one failing must not hide it. (A job that failed before it was named has
                # no number to compare: its session is gone, or its failure stands.)
                self.sessions.set_recording_status(
                    job["session"], "failed", only_if_latest=job.get("recordingNumber")
                )
            log.error(
                "recording job %s failed for good (attempt %s by %s): %s",
                job["_id"],
                job["attempts"],
                holder,
                reason,
            )
            return
        delay = self.retry_base_seconds * 2 ** (job["attempts"] - 1)
        run_at = utcnow() + timedelta(seconds=delay)
        self.jobs.reschedule(job["_id"], holder, reason, run_at)
        expected = isinstance(error, EXPECTED_FAILURES)
        (log.warning if expected else log.exception)(
            "recording job %s attempt %s by %s failed (%s); retry in %ss",
            job["_id"],
            job["attempts"],
            holder,
            reason,
            delay,
        )
