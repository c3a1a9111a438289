"""The delivery attempts of outbound webhooks, in `webhook_attempts`: the most recent
ATTEMPTS_KEPT of each endpoint, for `GET /webhooks/:id/deliveries`."""

from __future__ import annotations

import time
import uuid

from pymongo import ASCENDING, DESCENDING

COLLECTION = "webhook_attempts"
ATTEMPTS_KEPT = 100  # per endpoint
INDEXES = [([("endpoint", ASCENDING), ("order", DESCENDING)], {})]


class WebhookAttemptStore:
    """Record delivery attempts and list an endpoint's recent ones."""

    def __init__(self, database):
        self.attempts = database[COLLECTION]

    def record(self, endpoint_id: str, attempt: dict) -> None:
        """Keep one delivery attempt, and only the endpoint's ATTEMPTS_KEPT most recent."""
        # `order`: newest first even between attempts of the same millisecond
        stored = {"_id": str(uuid.uuid4()), "endpoint": endpoint_id, "order": time.time_ns()}
        self.attempts.insert_one({**stored, **attempt})
        older = self.attempts.find({"endpoint": endpoint_id}, {"_id": 1})
        stale = [doc["_id"] for doc in older.sort([("order", DESCENDING)]).skip(ATTEMPTS_KEPT)]
        if stale:
            self.attempts.delete_many({"_id": {"$in": stale}})

    def recent(self, endpoint_id: str, limit: int = ATTEMPTS_KEPT) -> list[dict]:
        """The endpoint's most recent attempts, newest first."""
        found = self.attempts.find({"endpoint": endpoint_id})
        return list(found.sort([("order", DESCENDING)]).limit(limit))

    def forget(self, endpoint_id: str) -> None:
        """Delete a deleted endpoint's attempts."""
        self.attempts.delete_many({"endpoint": endpoint_id})
