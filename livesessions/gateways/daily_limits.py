"""Daily.co's rate limits, kept by the client itself: every call takes a turn in its
endpoint family's sliding window before it goes, so Daily is never asked more than it
allows, and a call that would have to wait too long is refused here instead.

Turns are reservations, handed out in order: the earliest time at which one more call
keeps every window of the family at or under Daily's limit. They are kept in memory for
one process, or in the service's MongoDB for all the processes that share one API key
(`store.daily_turns`). Written here rather than taken from `limits` (which the service
uses for its own limits): its `hit` only says yes or no, so waiting callers would poll
and race at each expiry, and a caller could be passed over until its deadline; pacing
needs first come, first served.
"""

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

log = logging.getLogger(__name__)


class Limit(NamedTuple):
    calls: int
    seconds: float


STANDARD, SLOW, RECORDING_START = "standard", "slow", "recording-start"
# Daily's documented limits (docs/reliability.md): most endpoints 100 calls in 5 s;
# DELETE /rooms/:name and GET /recordings 50 in 30 s; starting a recording 5 in 5 s.
LIMITS = {
    STANDARD: Limit(100, 5.0),
    SLOW: Limit(50, 30.0),
    RECORDING_START: Limit(5, 5.0),
}
# The client's windows are this much longer than Daily's: a call's arrival at Daily may
# lag its turn (the network, a busy process, and the wait for an in-flight slot, which
# the service adds: DAILY_QUEUE_SECONDS), and Daily's window must not see the next one
# first.
MARGIN_SECONDS = 0.25


def family(method: str, path: str) -> str:
    """The endpoint family of a call to Daily (`path` under /v1, query string and all)."""
    path = path.split("?", 1)[0]
    if method == "DELETE" and re.fullmatch(r"/rooms/[^/]+", path):
        return SLOW
    if method == "GET" and path == "/recordings":
        return SLOW
    if method == "POST" and re.fullmatch(r"/rooms/[^/]+/recordings/start", path):
        return RECORDING_START
    return STANDARD


def next_turn(turns: list[float], now: float, limit: Limit) -> float:
    """The earliest time, from `now`, at which one more call keeps every window of
    `limit.seconds` at `limit.calls` calls, given the turns already handed out (oldest
    first). Turns never go back in time, so each window holds consecutive turns."""
    turn = max(now, turns[-1]) if turns else now
    if len(turns) >= limit.calls:
        turn = max(turn, turns[-limit.calls] + limit.seconds)
    return turn


def with_turn(turns: list[float], turn: float, limit: Limit, now: float) -> list[float]:
    """`turns` with `turn` added, keeping those that can still share a window with a turn
    handed out from `now` on (all `next_turn` reads; by time, not by count, so that a turn
    given back never lets an older one be forgotten)."""
    horizon = now - limit.seconds
    return [taken for taken in turns if taken > horizon] + [turn]


def without_turn(turns: list[float], turn: float) -> list[float]:
    """`turns` with one `turn` given back (if still kept). The turns after it stay where
    they are: a window can only hold fewer calls than it was planned with."""
    if turn not in turns:
        return turns
    kept = list(turns)
    kept.remove(turn)
    return kept


class NoTurn(Exception):
    """No turn comes by the deadline; `retry_in`: about how many seconds until one would."""

    def __init__(self, retry_in: float):
        super().__init__(f"the next turn is {retry_in:.2f}s away")
        self.retry_in = retry_in


class Turns(Protocol):
    def reserve(
        self, family: str, limit: Limit, clock: Callable[[], float], deadline: float
    ) -> float:
        """Hand out the next turn of `family` and return it, if it comes by `deadline` (or
        is free now); else hand out nothing and raise NoTurn. `clock` is read at the moment
        of the reservation (after any wait for a lock or a lost compare-and-set), so that
        "now" is never older than a turn handed out meanwhile."""

    def give_back(self, family: str, turn: float) -> None:
        """Forget a turn handed out but not used."""


def checked_turn(turns: list[float], now: float, limit: Limit, deadline: float) -> float:
    """The next turn from `now`, if it comes by `deadline` or is free now; else NoTurn."""
    turn = next_turn(turns, now, limit)
    if turn > max(deadline, now):
        raise NoTurn(turn - now)
    return turn


class LocalTurns:
    """The turns of one process, shared by its threads."""

    def __init__(self):
        self._turns: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def reserve(self, family, limit, clock, deadline):
        with self._lock:
            turns, now = self._turns.get(family, []), clock()
            turn = checked_turn(turns, now, limit, deadline)
            self._turns[family] = with_turn(turns, turn, limit, now)
            return turn

    def give_back(self, family, turn):
        with self._lock:
            self._turns[family] = without_turn(self._turns.get(family, []), turn)


class FallingBackTurns:
    """Shared turns that fall back to this process's own while the shared store fails (a
    warning once per failure spell), trying it again every `retry_seconds`: Daily's 429s
    are still handled meanwhile, and no call waits on a database known to be down."""

    def __init__(
        self,
        shared: Turns,
        local: Turns | None = None,
        *,
        retry_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.shared = shared
        self.local = local or LocalTurns()
        self.retry_seconds = retry_seconds
        self.monotonic = monotonic
        self._failed_at = None  # monotonic time of the last failure, None while it works

    def reserve(self, family, limit, clock, deadline):
        if self._failed_at is not None and self.monotonic() - self._failed_at < self.retry_seconds:
            return self.local.reserve(family, limit, clock, deadline)
        try:
            turn = self.shared.reserve(family, limit, clock, deadline)
        except NoTurn:
            self._failed_at = None
            raise
        except Exception as error:
            if self._failed_at is None:
                log.warning("Daily turns are per process while the database fails: %r", error)
            self._failed_at = self.monotonic()
            return self.local.reserve(family, limit, clock, deadline)
        self._failed_at = None
        return turn

    def give_back(self, family, turn):
        if self._failed_at is not None:
            self.local.give_back(family, turn)
            return
        try:
            self.shared.give_back(family, turn)
        except Exception:  # a turn not given back only makes the window more careful
            self.local.give_back(family, turn)


class Pacer:
    """Wait for a call's turn, up to a deadline (both in `clock` time, Unix seconds)."""

    def __init__(
        self,
        turns: Turns | None = None,
        *,
        limits: dict[str, Limit] = LIMITS,
        margin: float = MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
    ):
        self.turns = turns or LocalTurns()
        self.limits = {name: Limit(lim.calls, lim.seconds + margin) for name, lim in limits.items()}
        self.clock = clock
        self.sleep = sleep

    def wait_turn(self, family: str, deadline: float) -> float:
        """Sleep until the call's turn and return it; or, if the turn would come after
        `deadline` (and is not free now), take none and raise NoTurn."""
        turn = self.turns.reserve(family, self.limits[family], self.clock, deadline)
        wait = turn - self.clock()
        if wait > 0:
            self.sleep(wait)
        return turn

    def give_back(self, family: str, turn: float) -> None:
        """Give back a turn the call could not use (e.g. no slot for it)."""
        self.turns.give_back(family, turn)
