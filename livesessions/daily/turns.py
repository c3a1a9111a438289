"""Daily.co's turns shared by every process of one API key, in the `daily_turns`
collection: one document per endpoint family, holding the last turns handed out, each
`[time, owner]` (windows decides them; this module stores them).

A turn is taken with a compare-and-set on the document's `version`, so two processes
never get the same turn: the one whose write lost reads again and takes the next. Many
reservations at once (100 deletions released together across a web process's threads and
the worker) would lose round after round, each round won by only one of them, until some
gave up (`TurnsContended`) and fell back to turns per process. So the threads of one
process take their turns one at a time (a lock per family: they gain nothing by racing
each other through the database, whose document serializes them anyway), leaving as
contenders only the processes, a handful; and a lost round first waits a jittered while,
doubling up to a cap ("full jitter": anywhere from nothing to the whole of it), so that
they spread out. `ATTEMPTS` rounds bound it: about 5 s of waits at most, half on average.
"""

import random
import threading
import time
from collections.abc import Callable

from pymongo.errors import DuplicateKeyError

from .limits import FallingBackTurns, KeptTurns, LocalTurns, Turns
from .windows import entries_of

COLLECTION = "daily_turns"
INDEXES = []  # looked up by _id only
ATTEMPTS = 100  # compare-and-set rounds before giving up (each lost one means a turn given)
BACKOFF_SECONDS = 0.002  # after the first lost round, a wait of up to this; then doubling
BACKOFF_CAP_SECONDS = 0.05  # ... up to this (some round trips to the database)


class TurnsContended(Exception):
    """Other processes kept taking turns first, `ATTEMPTS` times running."""


class SharedTurns(KeptTurns):
    """`limits.Turns` for every process sharing the database."""

    def __init__(
        self,
        database,
        *,
        sleep: Callable[[float], object] = time.sleep,
        random_fraction: Callable[[], float] = random.random,
    ):
        self.turns = database[COLLECTION]
        self.sleep = sleep
        self.random_fraction = random_fraction
        self._locks: dict[str, threading.Lock] = {}  # per family: this process's threads

    def _entries(self, family):
        doc = self.turns.find_one({"_id": family})
        return entries_of(doc["turns"] if doc else [])

    def _change(self, family, change):
        """Apply `change` (the turns kept -> (its result, the new turns or None for no
        change)) to the family's document by compare-and-set; return the result."""
        with self._locks.setdefault(family, threading.Lock()):
            return self._compare_and_set(family, change)

    def _compare_and_set(self, family, change):
        for lost in range(ATTEMPTS):
            if lost:
                most = min(BACKOFF_CAP_SECONDS, BACKOFF_SECONDS * 2 ** (lost - 1))
                self.sleep(most * self.random_fraction())
            doc = self.turns.find_one({"_id": family})
            result, changed = change(entries_of(doc["turns"] if doc else []))
            if changed is None:
                return result
            if doc is None:
                try:
                    self.turns.insert_one({"_id": family, "version": 1, "turns": changed})
                except DuplicateKeyError:  # another process took the first turn
                    continue
                return result
            won = self.turns.update_one(
                {"_id": family, "version": doc["version"]},
                {"$set": {"turns": changed}, "$inc": {"version": 1}},
            )
            if won.modified_count == 1:
                return result
        raise TurnsContended(f"the {family} turns kept changing, {ATTEMPTS} times running")


def daily_turns(config, database) -> Turns:
    """Where the Daily client keeps its turns, following DAILY_PACING_STORAGE: shared in
    the database (falling back to this process's own while it fails), or per process (as
    with the embedded store, which lives in one process anyway)."""
    if config["DAILY_PACING_STORAGE"] == "memory" or database.embedded:
        return LocalTurns()
    return FallingBackTurns(SharedTurns(database))
