"""Recordings on Daily.co: start and stop, what their webhook events change, the upload
jobs of finished ones, and the reconciliation that finds those whose webhook was lost."""

import logging
from datetime import datetime
from urllib.parse import urlsplit

from ..auth.policy import AccessPolicy
from ..auth.tokens import Caller
from ..clock import iso, seconds_between, utcnow
from ..daily import DailyClient, DailyError
from ..db import new_id
from ..errors import (
    CANNOT_RECORD,
    RECORD_NOT_YET,
    RECORDING_FORBIDDEN,
    RECORDING_IN_PROGRESS,
    RECORDING_NOT_FOUND,
    SESSION_OVER,
    START_FAILED,
    STOP_FAILED,
    ApiError,
    NotFound,
    UpstreamFailed,
)
from ..jobs import JobStore
from ..lifecycle import ClassWindow, is_open
from ..sessions import SessionStore
from .adoption import Adoption
from .naming import name_job
from .repository import RecordingStore
from .timing import recording_times

log = logging.getLogger(__name__)

STILL_RECORDING = ("starting", "recording")  # an error can still end these


class RecordingService:
    """Start and stop recordings, and turn webhook events into stored state and jobs.

    The `on_*` methods are the recording events' handlers (services.daily_handlers maps them).
    """

    def __init__(
        self,
        session_store: SessionStore,
        recording_store: RecordingStore,
        job_store: JobStore,
        daily: DailyClient,
        *,
        window: ClassWindow | None = None,
        policy: AccessPolicy | None = None,
    ):
        self.sessions = session_store
        self.recordings = recording_store
        self.jobs = job_store
        self.daily = daily
        self.window = window or ClassWindow()
        self.policy = policy or AccessPolicy()
        self.adoption = Adoption(session_store, recording_store, daily, self.window)

    def start(self, room_name: str, caller: Caller | None = None) -> dict:
        """Start a cloud recording of the session's room; return the stored recording.

        Only an open session, inside its class window, and one recording at a time: the
        session is claimed for the recording by one conditional update, before Daily is
        asked, so two starts at once can't both reach Daily.
        """
        session = self.sessions.find_by_room(room_name)
        if session is None:
            raise NotFound()
        self.policy.check_owner(caller, session, RECORDING_FORBIDDEN)
        now = utcnow()
        closes = self._check_recordable(session, now)
        recording_id = new_id()  # Daily returns no id: ours travels as its instanceId
        if not self.sessions.claim_recording(session["_id"], recording_id, now, closes):
            raise ApiError(RECORDING_IN_PROGRESS)
        # Stored before Daily is asked, so that a `recording.started` webhook arriving
        # before Daily's answer finds the recording to link.
        self.recordings.insert(
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
            self.recordings.delete(recording_id)
            self.sessions.release_recording(session["_id"], recording_id)
            raise UpstreamFailed(START_FAILED) from None
        started = self.recordings.update(
            recording_id, {"status": "recording"}, only_if_status="starting"
        )
        if started is None:  # Daily's recording.error came first: the error stands
            return self.recordings.find(recording_id)
        self.sessions.set_recording_status(session["_id"], "recording")
        return started

    def _check_recordable(self, session, now):
        """Refuse a closed session or one outside its class window; return when it closes."""
        if not is_open(session):
            raise ApiError(CANNOT_RECORD.format(status=session["status"]))
        opens, closes = self.window.opens_at(session), self.window.room_closes_at(session)
        if now < opens:
            raise ApiError(RECORD_NOT_YET.format(opens=iso(opens)))
        if now >= closes:
            raise ApiError(SESSION_OVER)
        return closes

    def stop(self, recording_id: str, caller: Caller | None = None) -> dict:
        """Stop a recording found by our id or Daily's; stopping a stopped one changes nothing."""
        recording = self.recordings.find(recording_id)
        if recording is None:
            raise NotFound(RECORDING_NOT_FOUND)
        if self.policy.strict:
            session = self.sessions.find_any(recording["session"]) or {}
            self.policy.check_owner(caller, session, RECORDING_FORBIDDEN)
        if recording["status"] != "recording":
            return recording
        try:
            self.daily.stop_recording(recording["room"], _instance_of(recording))
        except DailyError as error:
            log.error("stopping recording %s failed: %s", recording["_id"], error)
            raise UpstreamFailed(STOP_FAILED) from None
        finished = self._mark_finished(recording["_id"])
        return finished or self.recordings.find(recording["_id"])

    def _mark_finished(self, recording_id, duration=None):
        recording = self.recordings.find(recording_id)
        if recording is None or recording["status"] != "recording":
            return None
        now = utcnow()
        if duration is None:
            duration = seconds_between(recording["startedAt"], now)
        finished = self.recordings.update(
            recording_id,
            {"status": "finished", "stoppedAt": now, "duration": duration},
            only_if_status="recording",
        )
        if finished is not None:  # Daily now prepares the file: "processing" until uploaded
            self.sessions.set_recording_status(
                recording["session"], "processing", only_if="recording"
            )
            self.sessions.release_recording(recording["session"], recording["_id"])
        return finished

    # -- webhook events -------------------------------------------------------------------------

    def on_started(self, event, trusted):
        """Learn Daily's id of a recording we started (its instance id is ours); adopt one
        started outside the API (no instance id, or one we don't know)."""
        instance_id, daily_id = event.text("instance_id"), event.text("recording_id")
        log.info("recording started: %s (Daily %s)", instance_id, daily_id)
        if not daily_id:
            return
        if instance_id and self.recordings.update(instance_id, {"dailyId": daily_id}):
            return
        self.adoption.adopt(daily_id, instance_id, event.number("start_ts"))

    def on_stopped(self, event, trusted):
        """Mark the recording finished; Daily now prepares the file."""
        ids = [event.text("instance_id"), event.text("recording_id")]  # ours, else Daily's
        for recording_id in filter(None, ids):
            if self._mark_finished(recording_id, event.number("duration")) is not None:
                break
        log.info("recording stopped: %s", ids)

    def on_error(self, event, trusted):
        """Mark a recording still starting or running (and the session's recordingStatus)
        failed. Daily may send the error late, or again: a recording already `finished` (its
        file is on its way) or `error` is left as it is, and so is its session."""
        recording_id = event.text("instance_id", "recording_id")
        room_name = event.text("room_name", "room")
        message = event.text("error_msg") or "recording error"
        failed = self._fail(recording_id, message) if recording_id else None
        if failed is None and room_name:
            # Not one of ours: an adopted one, known by its room and Daily's instance (the
            # event names no recording id; from Daily's UI, no instance either).
            session = self.sessions.find_by_room(room_name, include_deleted=True)
            adopted = self.adoption.running_in(session, event.text("instance_id"), STILL_RECORDING)
            failed = adopted and self._fail(adopted["_id"], message)
        if failed:
            self.sessions.set_recording_status(failed["session"], "failed", only_if="recording")
            self.sessions.release_recording(failed["session"], failed["_id"])
        log.warning("recording error in %s: %s", room_name, message)

    def _fail(self, recording_id, message):
        return self.recordings.update(
            recording_id, {"status": "error", "error": message}, only_if_status=STILL_RECORDING
        )

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
        ours = self.recordings.find(recording_id)
        if ours is not None:  # its file is ready, so it is over, whatever else was lost
            # (stopped in Daily's UI, or its stop's answer lost): finished, then released
            self._mark_finished(ours["_id"], event.number("duration"))
            self.sessions.release_recording(ours["session"], ours["_id"])
        download_url = event.text("download_url") if trusted else None
        if download_url and not self._from_daily(download_url):
            log.warning("ready-to-download with a foreign download_url: the access link is used")
            download_url = None
        # its times only from Daily itself: an unsigned start_ts could age it past retention
        times = recording_times(event.data) if trusted else None
        self.queue_upload(recording_id, session, event.number("duration"), download_url, times)

    def _from_daily(self, url):
        """Whether `url` is on Daily's own hosts: the API's host, or one of its domain's
        (api.daily.co -> *.daily.co); anything else is fetched by its access link instead."""
        target, api = urlsplit(url), urlsplit(self.daily.base_url)
        if target.scheme not in ("https", "http") or not target.hostname:
            return False
        if target.hostname == api.hostname:
            return True
        domain = (api.hostname or "").partition(".")[2]
        named = domain and not domain.replace(".", "").isdigit()  # an IP has no domain
        return bool(named) and target.hostname.endswith("." + domain)

    def queue_upload(self, recording_id, session, duration, download_url=None, times=None):
        """Create the upload job of a finished recording unless it exists (webhook and
        reconciler alike: the job's id is Daily's recording id, so never two uploads).
        `times`: when Daily started and finished it (`recording_times`), if known."""
        created = self.jobs.enqueue(
            recording_id,
            {
                "session": session["_id"],
                "room": session["roomName"],
                "duration": duration,
                "downloadUrl": download_url,
                **(times or {"startedAt": None, "finishedAt": None}),
            },
        )
        if created:
            name_job(self.jobs, self.sessions, {"_id": recording_id}, session)
            self.sessions.set_recording_status(session["_id"], "processing")
        state = "queued" if created else "known"
        log.info("recording %s of %s: %s", recording_id, session["roomName"], state)
        return created

    def retry_job(self, job_id: str) -> dict | None:
        """Queue a failed upload job again (fresh attempts); return it, or None."""
        job = self.jobs.retry(job_id)
        if job is not None:  # a later recording shown or on its way keeps its status
            self.sessions.set_recording_status(
                job["session"], "processing", only_if_latest=job.get("recordingNumber")
            )
        return job

    # -- reconciliation with Daily ---------------------------------------------------------

    def reconcile(self, since: datetime) -> tuple[int, int]:
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
                    times = recording_times(recording)
                    if self.queue_upload(
                        recording["id"], session, recording["duration"], None, times
                    ):
                        queued += 1
            except DailyError as error:
                log.warning("reconcile: listing %s failed: %s", session["roomName"], error)
        log.info("reconcile: %d session(s) checked, %d recording(s) queued", checked, queued)
        return checked, queued


def _instance_of(recording) -> str | None:
    """The Daily instance to stop: ours is our id (sent as instanceId at the start); an
    adopted one's, the instance it was started with (None: Daily's default one, as from
    Daily's UI, stopped with no instanceId)."""
    return recording.get("instanceId") if recording.get("adopted") else recording["_id"]
