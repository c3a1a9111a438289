"""The one retry policy of the worker's jobs: a delay that doubles with each failed attempt
from a base, up to a cap (every kind's retries are spaced by it).

Not for Daily's call retries inside one request (daily/transport.py after a 429,
daily/turns.py after a lost round): those are sleeps of a caller in hand, with full jitter
(processes contend), led by Daily's Retry-After and bounded by the request's deadline; a
job's retry is a `runAt` in the queue, and no job retry is jittered."""

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Backoff:
    """`base_seconds * 2 ** (attempt - 1)`, the exponent at most `max_doublings` (so that
    the number stays finite however many attempts), the delay at most `cap_seconds`."""

    base_seconds: float
    cap_seconds: float | None = None  # None: no cap (the kind's attempts are few)
    max_doublings: int = 30

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th (1, 2, ...) failed attempt."""
        delay = self.base_seconds * 2 ** min(attempt - 1, self.max_doublings)
        return delay if self.cap_seconds is None else min(delay, self.cap_seconds)

    def due(self, attempt: int, now: datetime) -> datetime:
        """When the next attempt is due, after the `attempt`-th failed at `now`."""
        return now + timedelta(seconds=self.delay(attempt))
