"""Which worker runs each periodic task (reconcile, sweep, webhook check...), in the
`task_leases` collection: one document per task, held by one worker for one period, so
that N workers don't make N times the Daily list calls. The holder keeps it at each of its
turns; when it dies, the lease runs out and another worker's next turn takes it."""

from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

COLLECTION = "task_leases"
INDEXES = []  # looked up by _id only


class TaskLeaseStore:
    def __init__(self, database):
        self.leases = database[COLLECTION]

    def claim(self, task: str, holder: str, seconds: float, now: datetime) -> bool:
        """Hold `task` for `seconds` from `now` if nobody else holds it; True if we do."""
        until = now + timedelta(seconds=seconds)
        free_or_ours = {"_id": task, "$or": [{"until": {"$lte": now}}, {"holder": holder}]}
        try:
            self.leases.update_one(
                free_or_ours, {"$set": {"holder": holder, "until": until}}, upsert=True
            )
        except DuplicateKeyError:  # held by another: the upsert's insert found it there
            return False
        return True
