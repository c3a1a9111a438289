"""Emit an outbound event: give it a stable id and queue one delivery job per enabled
endpoint that asked for its type. The services call it after the change is stored."""

import logging
import uuid

from ..clock import iso, utcnow
from ..store import JobStore, WebhookStore

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

    def emit(self, event_type: str, data: dict, event_id: str | None = None) -> str | None:
        """Queue `{"id", "type", "createdAt", "data"}` for each subscribed, enabled endpoint;
        return the event's id. Never raises: a failure is logged (and returns None), so that
        the change the event reports stands."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {event_type!r}")
        event = {
            "id": event_id or str(uuid.uuid4()),
            "type": event_type,
            "createdAt": iso(utcnow()),
            "data": data,
        }
        try:
            for endpoint in self.endpoints.subscribed(event_type):
                self.jobs.enqueue_webhook(endpoint["_id"], event)
        except Exception:
            log.exception("webhook event %s (%s) could not be queued", event["id"], event_type)
            return None
        return event["id"]
