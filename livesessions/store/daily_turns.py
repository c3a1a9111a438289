"""Daily.co's turns shared by every process of one API key, in the `daily_turns`
collection: one document per endpoint family, holding the last turns handed out, each
`[time, owner]` (gateways.daily_windows decides them; this module stores them).

A turn is taken with a compare-and-set on the document's `version`, so two processes
never get the same turn: the one whose write lost reads again and takes the next.
"""

from pymongo.errors import DuplicateKeyError

from ..gateways.daily_limits import FallingBackTurns, KeptTurns, LocalTurns, Turns
from ..gateways.daily_windows import entries_of

COLLECTION = "daily_turns"
INDEXES = []  # looked up by _id only
ATTEMPTS = 50  # compare-and-set rounds before giving up (each lost one means a turn given)


class TurnsContended(Exception):
    """Other processes kept taking turns first, `ATTEMPTS` times running."""


class SharedTurns(KeptTurns):
    """`daily_limits.Turns` for every process sharing the database."""

    def __init__(self, database):
        self.turns = database[COLLECTION]

    def _entries(self, family):
        doc = self.turns.find_one({"_id": family})
        return entries_of(doc["turns"] if doc else [])

    def _change(self, family, change):
        """Apply `change` (the turns kept -> (its result, the new turns or None for no
        change)) to the family's document by compare-and-set; return the result."""
        for _ in range(ATTEMPTS):
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
