"""Emit an outbound event: give it a stable id and queue one delivery job per enabled
endpoint that asked for its type. The services call it after the change is stored."""

import logging
import uuid

from ..clock import iso, utcnow
from ..jobs import JobStore
from .repository import WebhookStore

log = logging.getLogger(__name__)

EVENT_TYPES = (
    "session.created",
    "session.updated",
    "session.cancelled",
    "session.started",
    "session.ended",
    "participant.added",
    "participant.removed",
    "recording.ready",
    "recording.deleted",
    "attendance.final",
)


class WebhookEmitter:
    """Queue events for the endpoints that subscribed to them."""

    def __init__(self, endpoints: WebhookStore, jobs: JobStore):
        self.endpoints = endpoints
        self.jobs = jobs

    def emit(self, event_type: str, data, event_id: str | None = None) -> str | None:
        """Queue `{"id", "type", "createdAt", "data"}` for each subscribed, enabled endpoint;
        return the event's id. `data` may be a function, called only if some endpoint wants
        the event (no work, no query for an event nobody asked for). Never raises: a
        failure is logged (and returns None), so that the change the event reports stands."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {event_type!r}")
        event = {"id": event_id or str(uuid.uuid4()), "type": event_type, "createdAt": None}
        try:
            endpoints = self.endpoints.subscribed(event_type)
            if endpoints:
                event["createdAt"] = iso(utcnow())
                event["data"] = data() if callable(data) else data
            for endpoint in endpoints:
                self.jobs.enqueue_webhook(endpoint["_id"], event)
        except Exception:
            log.exception("webhook event %s (%s) could not be queued", event["id"], event_type)
            return None
        return event["id"]
