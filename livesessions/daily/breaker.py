"""A circuit breaker for calls to another service, safe to share between threads.

Closed: calls go through; `failures` outages in a row open it. Open: calls fail at once
for `reset_seconds`; then it is half-open: one trial call goes through (the others still
fail at once), and its outcome closes or reopens it. Written here because the well-known
library (pybreaker 1.4) holds one lock for the whole of every call, which would queue
every request thread of a process behind one hanging call: the very thing to avoid.
"""

import threading
import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker:
    def __init__(
        self,
        failures: int = 5,
        reset_seconds: float = 30,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.failures = failures
        self.reset_seconds = reset_seconds
        self.monotonic = monotonic
        self.state = CLOSED
        self._in_a_row = 0
        self._opened_at = 0.0
        self._lock = threading.Lock()  # held only to read or change the state, never a call

    def allow(self) -> bool:
        """Whether a call may go now (in half-open, only the one trial)."""
        with self._lock:
            if self.state == OPEN and self.monotonic() - self._opened_at >= self.reset_seconds:
                self.state = HALF_OPEN
                return True
            return self.state == CLOSED

    def succeeded(self) -> None:
        with self._lock:
            self.state, self._in_a_row = CLOSED, 0

    def failed(self) -> None:
        with self._lock:
            self._in_a_row += 1
            if self.state == HALF_OPEN or self._in_a_row >= self.failures:
                self.state, self._opened_at = OPEN, self.monotonic()

    def gave_up(self) -> None:
        """An allowed call did not reach the service (no outcome): in half-open, the next
        call is the trial."""
        with self._lock:
            if self.state == HALF_OPEN:
                self.state, self._opened_at = OPEN, self._opened_at - self.reset_seconds
