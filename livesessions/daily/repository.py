"""The Daily.co webhook deliveries already taken, in the `webhook_events` collection: one
document per envelope `id` (Daily's event id), so that a signed event is processed once
however often it is delivered.

Inserting the id is the atomic "first time?" check: `_id` is unique, so of two deliveries
at once one inserts and the other gets DuplicateKeyError. The insert is a *claim*, made
before the handler runs; it becomes `done` after the handler succeeded and is deleted if
the handler failed (Daily then delivers again, and that retry must be processed). A claim
whose delivery died without either (a killed worker) lapses after CLAIM_LEASE, and the
next retry takes it over.
"""

import uuid
from datetime import datetime, timedelta
from typing import TypedDict

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

COLLECTION = "webhook_events"
# Long past anything that can deliver the same id again: Daily's retries of one event end
# within about an hour (`exponential`: 5 attempts, backoff up to 15 min), and a replayed
# request is stale after DAILY_WEBHOOK_TOLERANCE_SECONDS anyway. Three days is a wide margin
# (Daily doesn't document whether a re-activated webhook sends old events again) and keeps
# the collection small: one document of under 200 bytes per event.
RETENTION = timedelta(days=3)
# Longer than any handler takes (a few queries, each bounded by MONGODB_TIMEOUT_MS; gunicorn
# kills a request after 30 s), so a claim is only taken over once its delivery is dead.
CLAIM_LEASE = timedelta(seconds=60)
INDEXES = [
    ([("seenAt", ASCENDING)], {"expireAfterSeconds": int(RETENTION.total_seconds())}),
]


class WebhookEventDoc(TypedDict, total=False):
    """`webhook_events`: a signed Daily event taken (`_id` the envelope's `id`), kept for
    webhook_events.RETENTION so that its repeats are ignored."""

    _id: str
    type: str
    seenAt: datetime  # its first delivery (the TTL index's field)
    claim: str  # the token of the delivery processing it
    claimedUntil: datetime  # when that claim lapses, unless done
    done: bool  # processed: every later delivery is a repeat
    doneAt: datetime


class WebhookEventStore:
    """Claim an event id before handling it; mark it done, or release it on failure."""

    def __init__(self, database):
        self.events = database[COLLECTION]

    def claim(self, event_id: str, event_type: str, now: datetime) -> str | None:
        """Claim `event_id` for this delivery: a token for `finish`/`release`, or None when
        the event was processed already or another delivery of it is being processed."""
        token = uuid.uuid4().hex
        until = now + CLAIM_LEASE
        doc: WebhookEventDoc = {
            "_id": event_id,
            "type": event_type,
            "seenAt": now,
            "claim": token,
            "claimedUntil": until,
            "done": False,
        }
        try:
            self.events.insert_one(doc)
            return token
        except DuplicateKeyError:
            pass
        # Seen before: ours only if that delivery died half-way (its lease is over), or if
        # it is older than RETENTION (MongoDB's TTL monitor removes such marks only at its
        # next pass, up to a minute later: until then it must not count either).
        taken = self.events.find_one_and_update(
            {
                "_id": event_id,
                "$or": [
                    {"done": False, "claimedUntil": {"$lte": now}},
                    {"seenAt": {"$lt": now - RETENTION}},
                ],
            },
            {"$set": {key: value for key, value in doc.items() if key != "_id"}},
            projection={"_id": 1},
        )
        return token if taken is not None else None

    def finish(self, event_id: str, token: str, now: datetime) -> None:
        """The event was processed: every later delivery of it is a repeat."""
        self.events.update_one(
            {"_id": event_id, "claim": token}, {"$set": {"done": True, "doneAt": now}}
        )

    def release(self, event_id: str, token: str) -> None:
        """Processing failed: forget the id, so that Daily's retry is processed. Only our own
        claim (one taken over after our lease lapsed belongs to another delivery)."""
        self.events.delete_one({"_id": event_id, "claim": token, "done": False})
