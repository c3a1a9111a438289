"""The recording pipeline: start/stop on Daily.co, webhook events, and the upload worker."""

import contextlib
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from .errors import NotFound, UpstreamFailed
from .gateways.cloudinary import CloudinaryError
from .gateways.daily import DailyError, download
from .schemas import utcnow
from .store import new_id

log = logging.getLogger(__name__)

RECORDING_NOT_FOUND = "Recording not found"
START_FAILED = "Failed to start recording on Daily.co"
STOP_FAILED = "Failed to stop recording on Daily.co"


class PermanentJobError(Exception):
    """Retrying cannot help (e.g. the session is gone): fail the job at once."""


class RecordingService:
    """Start and stop recordings, and turn webhook events into stored state and jobs."""

    HANDLERS = {  # webhook event type -> method (dispatched by events.DailyEvents)
        "recording.started": "on_started",
        "recording.stopped": "on_stopped",
        "recording.ready-to-download": "on_ready",
        "recording.error": "on_error",
    }

    def __init__(self, sessions, recordings, daily):
        self.sessions = sessions
        self.recordings = recordings
        self.daily = daily

    def start(self, room_name):
        """Start a cloud recording of the session's room; return the stored recording."""
        session = self.sessions.find_by_room(room_name)
        if session is None:
            raise NotFound()
        recording_id = new_id()  # Daily returns no id: ours travels as its instanceId
        now = utcnow()
        # Stored before Daily is asked, so that a `recording.started` webhook arriving
        # before Daily's answer finds the recording to link.
        self.recordings.insert_recording(
            {
                "_id": recording_id,
                "session": session["_id"],
                "room": room_name,
                "dailyId": None,
                "status": "starting",
                "startedAt": now,
                "stoppedAt": None,
                "duration": 0,
                "error": None,
                "createdAt": now,
                "updatedAt": now,
            }
        )
        try:
            self.daily.start_recording(room_name, recording_id)
        except DailyError as error:
            log.error("starting a recording of %s failed: %s", room_name, error)
            self.recordings.delete_recording(recording_id)
            raise UpstreamFailed(START_FAILED) from None
        self.sessions.set_recording_status(session["_id"], "recording")
        return self.recordings.update_recording(recording_id, {"status": "recording"})

    def stop(self, recording_id):
        """Stop a recording found by our id or Daily's; stopping a stopped one changes nothing."""
        recording = self.recordings.find_recording(recording_id)
        if recording is None:
            raise NotFound(RECORDING_NOT_FOUND)
        if recording["status"] != "recording":
            return recording
        try:
            self.daily.stop_recording(recording["room"], recording["_id"])
        except DailyError as error:
            log.error("stopping recording %s failed: %s", recording["_id"], error)
            raise UpstreamFailed(STOP_FAILED) from None
        finished = self._mark_finished(recording["_id"])
        return finished or self.recordings.find_recording(recording["_id"])

    def _mark_finished(self, recording_id, duration=None):
        recording = self.recordings.find_recording(recording_id)
        if recording is None or recording["status"] != "recording":
            return None
        now = utcnow()
        if duration is None:
            duration = max(0, round((now - recording["startedAt"]).total_seconds()))
        finished = self.recordings.update_recording(
            recording_id,
            {"status": "finished", "stoppedAt": now, "duration": duration},
            only_if_status="recording",
        )
        if finished is not None:  # Daily now prepares the file: "processing" until uploaded
            self.sessions.set_recording_status(
                recording["session"], "processing", only_if="recording"
            )
        return finished

    # -- webhook events -------------------------------------------------------------------------

    def on_started(self, event, trusted):
        instance_id, daily_id = event.text("instance_id"), event.text("recording_id")
        if instance_id and daily_id:
            self.recordings.update_recording(instance_id, {"dailyId": daily_id})
        log.info("recording started: %s (Daily %s)", instance_id, daily_id)

    def on_stopped(self, event, trusted):
        recording_id = event.text("instance_id", "recording_id")
        if recording_id:
            self._mark_finished(recording_id, event.number("duration"))
        log.info("recording stopped: %s", recording_id)

    def on_error(self, event, trusted):
        recording_id = event.text("instance_id", "recording_id")
        message = event.text("error_msg") or "recording error"
        if recording_id:
            failed = self.recordings.update_recording(
                recording_id, {"status": "error", "error": message}
            )
            if failed is not None:
                self.sessions.set_recording_status(failed["session"], "failed", only_if="recording")
        log.warning("recording error in %s: %s", event.text("room_name", "room"), message)

    def on_ready(self, event, trusted):
        """Queue the upload. `trusted` (a verified signature) is required before a payload's
        download URL is used: otherwise anyone could make the worker fetch any address."""
        recording_id = event.text("recording_id")
        room_name = event.text("room_name", "room")
        if not recording_id or not room_name:
            log.warning("ready-to-download without recording id or room: ignored")
            return
        session = self.sessions.find_by_room(room_name, include_deleted=True)
        if session is None:
            log.warning("ready-to-download for unknown room %s: ignored", room_name)
            return
        download_url = event.text("download_url") if trusted else None
        if download_url and not download_url.startswith(("https://", "http://")):
            download_url = None
        self.queue_upload(recording_id, session, event.number("duration"), download_url)

    def queue_upload(self, recording_id, session, duration, download_url=None):
        """Create the upload job of a finished recording unless it exists (webhook and
        reconciler alike: the job's id is Daily's recording id, so never two uploads)."""
        created = self.recordings.enqueue(
            recording_id,
            {
                "session": session["_id"],
                "room": session["roomName"],
                "duration": duration,
                "downloadUrl": download_url,
            },
        )
        if created:
            self.sessions.set_recording_status(session["_id"], "processing")
        state = "queued" if created else "known"
        log.info("recording %s of %s: %s", recording_id, session["roomName"], state)
        return created

    def retry_job(self, job_id):
        """Queue a failed upload job again (fresh attempts); return it, or None."""
        job = self.recordings.retry(job_id)
        if job is not None:
            self.sessions.set_recording_status(job["session"], "processing")
        return job

    # -- reconciliation with Daily ---------------------------------------------------------

    def reconcile(self, since):
        """Queue every finished recording Daily has for sessions that may have one we never
        heard of (a lost webhook): sessions with a recording started since `since`, and
        sessions scheduled since then that ended without a recording.

        Returns (sessions checked, jobs queued). A session whose listing fails is logged and
        left for the next run; the others are still checked.
        """
        started = self.recordings.sessions_recorded_since(since)
        checked = queued = 0
        for session in self.sessions.reconcile_candidates(since, started):
            checked += 1
            try:
                for recording in self.daily.list_recordings(session["roomName"]):
                    if recording.get("status") != "finished" or not recording.get("duration"):
                        continue  # in progress, canceled, or empty (Daily never sends those)
                    if self.queue_upload(recording["id"], session, recording["duration"]):
                        queued += 1
            except DailyError as error:
                log.warning("reconcile: listing %s failed: %s", session["roomName"], error)
        log.info("reconcile: %d session(s) checked, %d recording(s) queued", checked, queued)
        return checked, queued


@dataclass
class PeriodicTask:
    """Housekeeping the worker runs every `every_seconds` between jobs (first at start)."""

    name: str
    every_seconds: float
    action: Callable[[], object]
    due: float = 0.0  # time.monotonic() of the next run


class RecordingWorker:
    """Lease upload jobs and carry them out: download from Daily, upload to Cloudinary.

    Between jobs it also runs its periodic tasks (e.g. ending sessions whose time is over).
    """

    def __init__(
        self,
        recordings,
        sessions,
        daily,
        cloudinary,
        *,
        lease_seconds=900,
        max_attempts=6,
        retry_base_seconds=30,
        download_timeout=60,
        poll_seconds=2,
        worker_id=None,
        periodic=(),
    ):
        self.recordings = recordings
        self.sessions = sessions
        self.daily = daily
        self.cloudinary = cloudinary
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.download_timeout = download_timeout
        self.poll_seconds = poll_seconds
        self.periodic = list(periodic)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def process_next(self):
        """Lease and process one due job; return False when none is due."""
        job = self.recordings.lease(self.worker_id, self.lease_seconds, self.max_attempts)
        if job is None:
            return False
        try:
            with self._lease_kept(job):
                result = self.upload(job)
        except Exception as error:  # every failure is recorded on the job, never lost
            self._record_failure(job, error)
        else:
            self.recordings.complete(job["_id"], self.worker_id, result)
            log.info("recording %s uploaded to %s", job["_id"], result["recordingUrl"])
        return True

    @contextlib.contextmanager
    def _lease_kept(self, job):
        """Renew the job's lease every third of its length while the block runs, so a long
        upload is not taken over by another worker; stop if the lease was lost anyway."""
        done = threading.Event()

        def renew():
            while not done.wait(self.lease_seconds / 3):
                try:
                    kept = self.recordings.renew_lease(
                        job["_id"], self.worker_id, self.lease_seconds
                    )
                except Exception as error:  # the database may be back before the lease ends
                    log.warning("recording job %s: lease renewal failed: %r", job["_id"], error)
                    continue
                if not kept:
                    log.warning("recording job %s: lease lost to another worker", job["_id"])
                    return

        renewer = threading.Thread(target=renew, name=f"lease-{job['_id']}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join()

    def drain(self):
        """Process jobs until none is due; return how many were processed."""
        count = 0
        while self.process_next():
            count += 1
        return count

    def run_periodic(self):
        """Run the periodic tasks that are due; one that fails is logged and runs again at its
        next turn."""
        now = time.monotonic()
        for task in self.periodic:
            if now < task.due:
                continue
            task.due = now + task.every_seconds
            try:
                task.action()
            except Exception:
                log.exception("periodic task %r failed", task.name)

    def run(self, stop):
        """Process jobs until the `stop` event is set, finishing the job in hand first."""
        log.info("recording worker %s started", self.worker_id)
        while not stop.is_set():
            self.run_periodic()
            try:
                busy = self.process_next()
            except Exception:  # e.g. the database is down: wait and try again
                log.exception("recording worker could not lease a job")
                busy = False
            if not busy:
                stop.wait(self.poll_seconds)
        log.info("recording worker %s stopped", self.worker_id)

    def upload(self, job):
        """Download the recording to a temporary file and upload it; update the session."""
        session = self.sessions.find_any(job["session"])
        if session is None:
            raise PermanentJobError(f"session {job['session']} no longer exists")
        url = job.get("downloadUrl") or self.daily.access_link(job["_id"])
        with tempfile.NamedTemporaryFile(prefix="recording-", suffix=".mp4", delete=False) as tmp:
            path = tmp.name
        try:
            with open(path, "wb") as destination:
                size = download(url, destination, self.download_timeout)
            if size == 0:
                raise DailyError("the recording download was empty")
            uploaded = self.cloudinary.upload_video(
                path,
                folder=f"live-sessions/{session['course']}",
                public_id=f"{session['_id']}-recording",
            )
        finally:
            os.remove(path)
        duration = uploaded.get("duration")
        if duration is None:
            duration = job.get("duration")
        self.sessions.record_upload(session["_id"], uploaded["secure_url"], duration)
        return {
            "recordingUrl": uploaded["secure_url"],
            "publicId": uploaded.get("public_id"),
            "bytes": size,
            "duration": duration,
        }

    def _record_failure(self, job, error):
        reason = f"{type(error).__name__}: {error}"
        permanent = isinstance(error, PermanentJobError) or (
            isinstance(error, DailyError) and error.status == 404
        )
        if permanent or job["attempts"] >= self.max_attempts:
            if self.recordings.fail(job["_id"], self.worker_id, reason):
                self.sessions.set_recording_status(job["session"], "failed")
            log.error("recording job %s failed for good: %s", job["_id"], reason)
            return
        delay = self.retry_base_seconds * 2 ** (job["attempts"] - 1)
        run_at = utcnow() + timedelta(seconds=delay)
        self.recordings.reschedule(job["_id"], self.worker_id, reason, run_at)
        expected = isinstance(error, DailyError | CloudinaryError)
        (log.warning if expected else log.exception)(
            "recording job %s attempt %s failed (%s); retry in %ss",
            job["_id"],
            job["attempts"],
            reason,
            delay,
        )


def start_worker_thread(worker):
    """Run `worker` in a daemon thread (single-process setups); return its stop event."""
    stop = threading.Event()
    threading.Thread(target=worker.run, args=(stop,), name="recording-worker", daemon=True).start()
    return stop
