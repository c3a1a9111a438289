"""Outbound webhooks: the endpoints admins register, in `webhook_endpoints` (their attempts
are in `webhook_attempts`)."""

from __future__ import annotations

import uuid

from pymongo import ASCENDING, ReturnDocument

from ..clock import utcnow

COLLECTION = "webhook_endpoints"
INDEXES = [([("events", ASCENDING), ("enabled", ASCENDING)], {})]


class WebhookStore:
    """Register, list, delete, disable and enable endpoints."""

    def __init__(self, database):
        self.endpoints = database[COLLECTION]

    def create(self, url: str, events: list[str], secret: str) -> dict:
        """Store a new, enabled endpoint; return it (secret included)."""
        now = utcnow()
        endpoint = {
            "_id": str(uuid.uuid4()),
            "url": url,
            "events": list(events),
            "secret": secret,
            "enabled": True,
            "consecutiveFailures": 0,
            "disabledAt": None,
            "createdAt": now,
            "updatedAt": now,
        }
        self.endpoints.insert_one(endpoint)
        return endpoint

    def list(self) -> list[dict]:
        """Every endpoint, oldest first."""
        return list(self.endpoints.find().sort([("createdAt", ASCENDING), ("_id", ASCENDING)]))

    def find(self, endpoint_id: str) -> dict | None:
        return self.endpoints.find_one({"_id": endpoint_id})

    def delete(self, endpoint_id: str) -> bool:
        """Delete the endpoint; False if there was none."""
        return self.endpoints.delete_one({"_id": endpoint_id}).deleted_count == 1

    def subscribed(self, event_type: str) -> list[dict]:
        """The enabled endpoints that asked for `event_type`, oldest first."""
        found = self.endpoints.find({"events": event_type, "enabled": True})
        return list(found.sort([("createdAt", ASCENDING), ("_id", ASCENDING)]))

    def succeeded(self, endpoint_id: str) -> None:
        """A delivery succeeded: the run of failures is over."""
        self.endpoints.update_one({"_id": endpoint_id}, {"$set": {"consecutiveFailures": 0}})

    def failed(self, endpoint_id: str, disable_after: int) -> bool:
        """Count a failed delivery; disable the endpoint once `disable_after` failed in a row.
        Return True if the endpoint is (now or already) disabled."""
        counted = self.endpoints.find_one_and_update(
            {"_id": endpoint_id},
            {"$inc": {"consecutiveFailures": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if counted is None:
            return True
        if counted["enabled"] and counted["consecutiveFailures"] >= disable_after:
            now = utcnow()
            self.endpoints.update_one(
                {"_id": endpoint_id, "enabled": True},
                {"$set": {"enabled": False, "disabledAt": now, "updatedAt": now}},
            )
            return True
        return not counted["enabled"]

    def enable(self, endpoint_id: str) -> dict | None:
        """Enable the endpoint with a fresh run of failures; return it, or None."""
        return self.endpoints.find_one_and_update(
            {"_id": endpoint_id},
            {
                "$set": {
                    "enabled": True,
                    "consecutiveFailures": 0,
                    "disabledAt": None,
                    "updatedAt": utcnow(),
                }
            },
            return_document=ReturnDocument.AFTER,
        )
