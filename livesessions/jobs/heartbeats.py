"""The recording workers' heartbeats, in the `workers` collection: one document per running
worker, written every HEARTBEAT_SECONDS, so that `/readyz` and `recordings status` can say
how many are alive (a worker killed without a word stops beating and is counted out after
LIVE_SECONDS; its document expires a day later)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo import ASCENDING

COLLECTION = "workers"
HEARTBEAT_SECONDS = 10
LIVE_SECONDS = 3 * HEARTBEAT_SECONDS  # two beats missed: no longer counted alive
INDEXES = [([("beatAt", ASCENDING)], {"expireAfterSeconds": 24 * 3600})]


class WorkerStore:
    def __init__(self, database):
        self.workers = database[COLLECTION]

    def beat(self, worker_id: str, slots: dict[str, int], now: datetime) -> None:
        """The worker is alive, with `slots`, {job kind: its job slots}: kept as they are
        (`slotsByKind`) and as their total (`slots`)."""
        self.workers.update_one(
            {"_id": worker_id},
            {
                "$set": {"beatAt": now, "slots": sum(slots.values()), "slotsByKind": slots},
                "$setOnInsert": {"startedAt": now},
            },
            upsert=True,
        )

    def leave(self, worker_id: str) -> None:
        """The worker stopped cleanly: no longer alive at once."""
        self.workers.delete_one({"_id": worker_id})

    def live(self, now: datetime) -> list[dict]:
        """The workers that beat within LIVE_SECONDS, most recent first."""
        recent = {"beatAt": {"$gte": now - timedelta(seconds=LIVE_SECONDS)}}
        return list(self.workers.find(recent).sort([("beatAt", -1)]))


@dataclass
class QueueHealth:
    """How the job queue is served: the recording workers alive (their heartbeats), and the
    job that has been due the longest (None: none is due)."""

    workers: list[dict]
    oldest_due: dict | None
    now: datetime

    @property
    def oldest_due_seconds(self) -> float | None:
        if self.oldest_due is None:
            return None
        return round((self.now - self.oldest_due["runAt"]).total_seconds(), 1)

    def counts(self) -> dict:
        """As /readyz shows them."""
        return {"workers": len(self.workers), "oldestDueJobSeconds": self.oldest_due_seconds}
