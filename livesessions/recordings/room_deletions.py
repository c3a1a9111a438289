"""The worker's room-deletion jobs: the rooms of deleted sessions that Daily's rate limit
put off, deleted in their turn and retried until they are gone."""

import logging
from datetime import timedelta

from ..clock import utcnow
from ..daily.client import DailyRateLimited

log = logging.getLogger(__name__)

# A room deletion is retried until the room is gone, at least this often.
ROOM_DELETION_MAX_DELAY_SECONDS = 900


class PermanentJobError(Exception):
    """Retrying cannot help (e.g. the session is gone): fail the job at once."""


class RoomDeletions:
    """The room-deletion part of `RecordingWorker` (its `jobs`, `sessions`, `daily`,
    `retry_base_seconds` and `max_attempts`)."""

    def delete_room(self, job: dict) -> dict:
        """Delete a deleted session's room, in its turn under Daily's rate limit."""
        session = self.sessions.find_any(job["session"])
        if session is not None and session.get("deletedAt") is None:
            # never happens by the service's own doing; a room in use is never deleted
            raise PermanentJobError(f"session {job['session']} is not deleted")
        self.daily.delete_room(job["room"])
        return {"deleted": job["room"]}

    def _retry_room_deletion(self, job, error, holder):
        """A room deletion is retried until the room is gone: when Daily's rate limit
        leaves a turn, or after a doubling delay (at most ROOM_DELETION_MAX_DELAY_SECONDS)."""
        if isinstance(error, PermanentJobError):
            self.jobs.fail(job["_id"], holder, f"{type(error).__name__}: {error}")
            log.error("room deletion %s failed for good: %s", job["_id"], error)
            return
        if isinstance(error, DailyRateLimited):
            delay = max(error.retry_in, 1.0)
        else:
            delay = self.retry_base_seconds * 2 ** min(job["attempts"] - 1, 16)
            delay = min(delay, ROOM_DELETION_MAX_DELAY_SECONDS)
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
