"""The indexes the queries need, made at every start and by `db init`, compared with the
ones a collection has by key pattern: another index on the same keys (another name, or
other options, such as the `roomName_1` older Mongoose made with `background: true`) is
used as it is or reported, and never stops the other indexes from being made."""

import logging
from dataclasses import dataclass

from . import ratelimit_storage as rate_limits
from .daily import repository as webhook_events
from .daily import turns as daily_turns
from .jobs import heartbeats as workers
from .jobs import leases as task_leases
from .jobs import repository as jobs
from .outbound import attempts_repository as webhook_attempts
from .outbound import repository as webhooks
from .recordings import repository as recordings
from .sessions import attendance_repository as attendance
from .sessions import repository as sessions

log = logging.getLogger(__name__)

MODULES = (
    sessions,
    recordings,
    jobs,
    attendance,
    webhook_events,
    webhooks,
    webhook_attempts,
    rate_limits,
    daily_turns,
    workers,
    task_leases,
)
# The options that change what an index does; others (`background`, `v`, the name) don't.
MEANINGFUL = ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression")


@dataclass(frozen=True)
class IndexState:
    collection: str
    keys: tuple
    state: str  # "made", "missing", "present" (as wanted, under any name), "conflict"
    detail: str = ""

    def __str__(self):
        keys = "+".join(field for field, _ in self.keys)
        return f"{self.collection} {keys}: {self.state}{f' ({self.detail})' if self.detail else ''}"


def ensure_indexes(database, *, make: bool = True) -> list[IndexState]:
    """Make every wanted index a collection lacks (safe to call on every start; `make`
    False only looks: "missing"); return the state of each, conflicts logged (one line
    each)."""
    states = []
    for module in MODULES:
        collection = database[module.COLLECTION]
        existing = {
            _pattern(info["key"]): (name, info)
            for name, info in collection.index_information().items()
        }
        for keys, options in module.INDEXES:
            found = existing.get(_pattern(keys))
            if found is None:
                if make:
                    collection.create_index(keys, **options)
                state = "made" if make else "missing"
                states.append(IndexState(module.COLLECTION, _pattern(keys), state))
                continue
            name, info = found
            different = _differences(info, options)
            state = "conflict" if different else "present"
            detail = f"{name}: {different}, not as wanted; left as it is" if different else name
            states.append(IndexState(module.COLLECTION, _pattern(keys), state, detail))
    if make:
        for conflict in (state for state in states if state.state == "conflict"):
            log.warning("index conflict: %s", conflict)
    return states


def _pattern(keys) -> tuple:
    """A key pattern as comparable tuples: (field, 1), (field, -1)..."""
    return tuple((field, int(way) if isinstance(way, int | float) else way) for field, way in keys)


def _differences(info, options) -> str:
    """How an existing index's meaningful options differ from the wanted ones ("" if not)."""
    found = []
    for option in MEANINGFUL:
        has, wanted = info.get(option), options.get(option)
        if option in ("unique", "sparse"):
            has, wanted = bool(has), bool(wanted)
        if has != wanted:
            found.append(f"{option} {has!r} instead of {wanted!r}")
    return ", ".join(found)
