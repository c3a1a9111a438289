"""The arithmetic of Daily.co's turns (limits keeps them, in memory or in
MongoDB through turns): each endpoint family has several limits (a rate per
second and a longer window), and a turn keeps every window of every one of them at or
under its number of calls.

A family's turns are entries `[time, owner]`, oldest first: the time of the turn (Unix
seconds) and who holds it (a random id per reservation), so that a call Daily refused
(429) can go first: it takes the first turn still to come and every waiting call moves
one place down (`cut_in`); each waiting call reads its turn again when it wakes (`when`).
"""

from typing import NamedTuple


class Limit(NamedTuple):
    calls: int
    seconds: float


class NoTurn(Exception):
    """No turn comes by the deadline; `retry_in`: about how many seconds until one would."""

    def __init__(self, retry_in: float):
        super().__init__(f"the next turn is {retry_in:.2f}s away")
        self.retry_in = retry_in


def _all(limits) -> tuple[Limit, ...]:
    """One Limit or several, as a tuple."""
    return (limits,) if isinstance(limits, Limit) else tuple(limits)


def next_turn(turns: list[float], now: float, limits) -> float:
    """The earliest time, from `now`, at which one more call keeps every window of each
    limit (`limit.seconds` long) at `limit.calls` calls, given the turns already handed out
    (oldest first). Turns never go back in time, so each window holds consecutive turns."""
    turn = max(now, turns[-1]) if turns else now
    for limit in _all(limits):
        if len(turns) >= limit.calls:
            turn = max(turn, turns[-limit.calls] + limit.seconds)
    return turn


def checked_turn(turns: list[float], now: float, limits, deadline: float) -> float:
    """The next turn from `now`, if it comes by `deadline` or is free now; else NoTurn."""
    turn = next_turn(turns, now, limits)
    if turn > max(deadline, now):
        raise NoTurn(turn - now)
    return turn


def entries_of(stored) -> list[list]:
    """Entries as kept; a bare time (as stored before turns had owners) has no owner."""
    return [list(e) if isinstance(e, list | tuple) else [e, None] for e in stored or []]


def times(entries: list[list]) -> list[float]:
    return [entry[0] for entry in entries]


def pruned(entries: list[list], now: float, limits) -> list[list]:
    """The entries that can still share a window with a turn handed out from `now` on (by
    time, not by count, so that a turn given back never lets an older one be forgotten)."""
    horizon = now - max(limit.seconds for limit in _all(limits))
    return [entry for entry in entries if entry[0] > horizon]


def take(entries, now, limits, deadline, owner):
    """(the next turn, the entries with it held by `owner`), or NoTurn."""
    turn = checked_turn(times(entries), now, limits, deadline)
    return turn, [*pruned(entries, now, limits), [turn, owner]]


def cut_in(entries, now, limits, deadline, owner, not_before):
    """(the turn, the new entries) of a call that goes first in its family, not before
    `not_before` (a 429's Retry-After or backoff): it takes the first turn still to come
    from then on; every call waiting for a turn moves one place down, into the next one
    (the turns before `not_before` are dropped: nobody goes before the retry), the last
    into a new turn after them all. NoTurn (and no change) if it comes after `deadline`."""
    start = max(now, not_before)
    past = pruned([e for e in entries if e[0] <= now], now, limits)
    waiting = [e for e in entries if e[0] > now and e[1] != owner]
    free = [e[0] for e in waiting if e[0] >= start]
    kept = list(past)
    for who in [owner, *(e[1] for e in waiting)]:
        kept.append([free.pop(0) if free else next_turn(times(kept), start, limits), who])
    turn = kept[len(past)][0]
    if turn > max(deadline, now):
        raise NoTurn(turn - now)
    return turn, kept


def when(entries, owner):
    """The time of `owner`'s turn, or None if it holds none."""
    held = [entry[0] for entry in entries if entry[1] == owner]
    return held[-1] if held else None


def without(entries, owner):
    """The entries with `owner`'s turn given back. The turns after it stay where they are:
    a window can only hold fewer calls than it was planned with."""
    return [entry for entry in entries if entry[1] != owner]
