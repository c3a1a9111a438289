"""The room-deletion jobs: the rooms of deleted sessions that Daily's rate limit put off,
deleted in their turn and retried until they are gone."""

import logging
from datetime import timedelta

from ..clock import utcnow
from ..jobs import ROOM_DELETION, Backoff, JobKind, JobStore, PermanentJobError
from .client import DailyClient, DailyRateLimited

log = logging.getLogger(__name__)

# A room deletion is retried until the room is gone, at least this often.
ROOM_DELETION_MAX_DELAY_SECONDS = 900


class RoomDeletions:
    """Carry out room-deletion jobs for a worker. A failure is retried when Daily's rate
    limit leaves a turn, or after the doubling delay from `retry_base_seconds` (at most
    ROOM_DELETION_MAX_DELAY_SECONDS), until the room is gone; after `max_attempts` each
    failure is logged as an error."""

    def __init__(
        self, jobs: JobStore, sessions, daily: DailyClient, *, max_attempts=6, retry_base_seconds=30
    ):
        self.jobs = jobs
        self.sessions = sessions
        self.daily = daily
        self.max_attempts = max_attempts
        self.retry = Backoff(
            retry_base_seconds, cap_seconds=ROOM_DELETION_MAX_DELAY_SECONDS, max_doublings=16
        )

    def kind(self, concurrency: int, lease_seconds: float) -> JobKind:
        """The room-deletion kind, run by this handler (retried until done)."""
        return JobKind(ROOM_DELETION, self, concurrency, lease_seconds)

    def carry_out(self, job: dict, holder: str) -> dict:
        """Delete a deleted session's room, in its turn under Daily's rate limit."""
        session = self.sessions.find_any(job["session"])
        if session is not None and session.get("deletedAt") is None:
            # never happens by the service's own doing; a room in use is never deleted
            raise PermanentJobError(f"session {job['session']} is not deleted")
        self.daily.delete_room(job["room"])
        return {"deleted": job["room"]}

    def completed(self, job, result, holder, completed):
        log.info("room %s deleted by %s", job["room"], holder)

    def failed(self, job, error, holder):
        if isinstance(error, PermanentJobError):
            self.jobs.fail(job["_id"], holder, f"{type(error).__name__}: {error}")
            log.error("room deletion %s failed for good: %s", job["_id"], error)
            return
        if isinstance(error, DailyRateLimited):
            delay = max(error.retry_in, 1.0)
        else:
            delay = self.retry.delay(job["attempts"])
        run_at = utcnow() + timedelta(seconds=delay)
        self.jobs.reschedule(job["_id"], holder, f"{type(error).__name__}: {error}", run_at)
        if isinstance(error, DailyRateLimited):
            report = log.info  # the job waits its turn: what it is for
        else:
            report = log.warning if job["attempts"] < self.max_attempts else log.error
        report(
            "room deletion %s attempt %s by %s failed (%s); retry in %.1fs",
            job["_id"],
            job["attempts"],
            holder,
            error,
            delay,
        )
