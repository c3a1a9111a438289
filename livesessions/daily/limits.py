"""Daily.co's rate limits, kept by the client itself: every call takes a turn in its
endpoint family's windows before it goes, so Daily is never asked more than it allows,
and a call that would have to wait too long is refused here instead.

Each family has both of Daily's numbers (a rate per second and a longer window, read
strictly: both hold). Turns are reservations, handed out in order: the earliest time at
which one more call keeps every window of the family at or under its limit
(`windows`). A call Daily refuses all the same (429: another service on the same
key, a late arrival) does not lose its place: its retry takes the family's first turn
from Daily's `Retry-After` (or the backoff) on, and the calls waiting move one place
down. Turns are kept in memory for one process, or in the service's MongoDB for all the
processes that share one API key (`turns`). Written here rather than taken
from `limits` (which the service uses for its own limits): its `hit` only says yes or
no, so waiting callers would poll and race at each expiry; pacing needs first come,
first served.
"""

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import NamedTuple, Protocol

from . import windows
from .windows import Limit, NoTurn, checked_turn, next_turn

log = logging.getLogger(__name__)
__all__ = ["Limit", "NoTurn", "checked_turn", "next_turn"]

STANDARD, SLOW, RECORDING_START = "standard", "slow", "recording-start"
# Daily's documented limits, read strictly (docs/reliability.md): most endpoints 20 calls
# per second and 100 in 5 s; DELETE /rooms/:name and GET /recordings 2 per second and 50
# in 30 s; starting a recording 1 per second and 5 in 5 s.
LIMITS = {
    STANDARD: (Limit(20, 1.0), Limit(100, 5.0)),
    SLOW: (Limit(2, 1.0), Limit(50, 30.0)),
    RECORDING_START: (Limit(1, 1.0), Limit(5, 5.0)),
}
# The client's windows are this much longer than Daily's: a call's arrival at Daily may
# lag its turn (the network, a busy process, and the wait for an in-flight slot, which
# the service adds: DAILY_QUEUE_SECONDS), and Daily's window must not see the next one
# first. The per-second windows get only RATE_MARGIN_SECONDS: a longer one would cut the
# rate by as much (2 per 1.75 s is not 2 per second), and a call that does arrive early
# costs one 429 whose retry goes first.
MARGIN_SECONDS = 0.25
RATE_MARGIN_SECONDS = 0.1


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


def with_margins(limits, margin: float, rate_margin: float = RATE_MARGIN_SECONDS):
    """Each family's limits with the client's margins added to their windows."""
    return {
        name: tuple(
            Limit(lim.calls, lim.seconds + (rate_margin if lim.seconds <= 1 else margin))
            for lim in family_limits
        )
        for name, family_limits in limits.items()
    }


class Turn(NamedTuple):
    at: float  # Unix seconds
    owner: str


class Turns(Protocol):
    def reserve(self, family: str, limits, clock: Callable[[], float], deadline, owner) -> float:
        """Hand out the next turn of `family` to `owner` and return it, if it comes by
        `deadline` (or is free now); else hand out nothing and raise NoTurn. `clock` is read
        at the moment of the reservation (after any wait for a lock or a lost
        compare-and-set), so that "now" is never older than a turn handed out meanwhile."""

    def cut_in(self, family, limits, clock, deadline, owner, not_before) -> float:
        """As `reserve`, for a call that goes first from `not_before` on
        (`windows.cut_in`)."""

    def when(self, family: str, owner: str) -> float | None:
        """The time of `owner`'s turn now (later than given if others cut in)."""

    def give_back(self, family: str, owner: str) -> None:
        """Forget a turn handed out but not used."""


class KeptTurns:
    """`Turns` over `_change(family, change)` and `_entries(family)`, wherever kept."""

    def reserve(self, family, limits, clock, deadline, owner):
        return self._change(
            family, lambda kept: windows.take(kept, clock(), limits, deadline, owner)
        )

    def cut_in(self, family, limits, clock, deadline, owner, not_before):
        return self._change(
            family,
            lambda kept: windows.cut_in(kept, clock(), limits, deadline, owner, not_before),
        )

    def when(self, family, owner):
        return windows.when(self._entries(family), owner)

    def give_back(self, family, owner):
        def drop(kept):
            left = windows.without(kept, owner)
            return None, (left if left != kept else None)

        self._change(family, drop)


class LocalTurns(KeptTurns):
    """The turns of one process, shared by its threads."""

    def __init__(self):
        self._turns: dict[str, list[list]] = {}
        self._lock = threading.Lock()

    def _entries(self, family):
        with self._lock:
            return list(self._turns.get(family, []))

    def _change(self, family, change):
        """Apply `change` (entries -> (result, new entries or None)); return the result."""
        with self._lock:
            result, changed = change(self._turns.get(family, []))
            if changed is not None:
                self._turns[family] = changed
            return result


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

    def reserve(self, family, limits, clock, deadline, owner):
        return self._either("reserve", family, limits, clock, deadline, owner)

    def cut_in(self, family, limits, clock, deadline, owner, not_before):
        return self._either("cut_in", family, limits, clock, deadline, owner, not_before)

    def _either(self, method, *args):
        if self._failed_at is not None and self.monotonic() - self._failed_at < self.retry_seconds:
            return getattr(self.local, method)(*args)
        try:
            turn = getattr(self.shared, method)(*args)
        except NoTurn:
            self._failed_at = None
            raise
        except Exception as error:
            if self._failed_at is None:
                log.warning("Daily turns are per process while the database fails: %r", error)
            self._failed_at = self.monotonic()
            return getattr(self.local, method)(*args)
        self._failed_at = None
        return turn

    def when(self, family, owner):
        try:
            found = self.shared.when(family, owner) if self._failed_at is None else None
        except Exception:  # the turn stands as given
            found = None
        return found if found is not None else self.local.when(family, owner)

    def give_back(self, family, owner):
        if self._failed_at is not None:
            self.local.give_back(family, owner)
            return
        try:
            self.shared.give_back(family, owner)
        except Exception:  # a turn not given back only makes the window more careful
            self.local.give_back(family, owner)


class Pacer:
    """Wait for a call's turn, up to a deadline (both in `clock` time, Unix seconds)."""

    def __init__(
        self,
        turns: Turns | None = None,
        *,
        limits: dict[str, tuple[Limit, ...]] = LIMITS,
        margin: float = MARGIN_SECONDS,
        rate_margin: float = RATE_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
    ):
        self.turns = turns or LocalTurns()
        self.limits = with_margins(limits, margin, rate_margin)
        self.clock = clock
        self.sleep = sleep

    def wait_turn(self, family: str, deadline: float, not_before: float | None = None) -> Turn:
        """Sleep until the call's turn and return it; or, if the turn would come after
        `deadline` (and is not free now), take none and raise NoTurn. With `not_before` (a
        429's retry), the call goes first in its family from then on. A call that slept
        reads its turn again: one Daily refused may have cut in meanwhile."""
        owner, limits = uuid.uuid4().hex[:16], self.limits[family]
        if not_before is None:
            at = self.turns.reserve(family, limits, self.clock, deadline, owner)
        else:
            at = self.turns.cut_in(family, limits, self.clock, deadline, owner, not_before)
        while (wait := at - self.clock()) > 0:
            self.sleep(wait)
            moved = self.turns.when(family, owner)
            if moved is None or moved <= at:
                break
            if moved > deadline:
                self.turns.give_back(family, owner)
                raise NoTurn(moved - self.clock())
            at = moved
        return Turn(at, owner)

    def give_back(self, family: str, turn: Turn) -> None:
        """Give back a turn the call could not use (e.g. no slot for it)."""
        self.turns.give_back(family, turn.owner)
