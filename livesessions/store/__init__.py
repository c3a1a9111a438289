"""Every MongoDB query of the service, one module per collection."""

from . import attendance, daily_turns, jobs, rate_limits, recordings, sessions, webhook_events
from .attendance import AttendanceStore
from .jobs import JobStore
from .platform import POPULATED_LABEL, PlatformStore
from .recordings import RecordingStore
from .sessions import SessionStore, new_id
from .state import StateStore
from .webhook_events import WebhookEventStore

__all__ = [
    "POPULATED_LABEL",
    "AttendanceStore",
    "JobStore",
    "PlatformStore",
    "RecordingStore",
    "SessionStore",
    "StateStore",
    "WebhookEventStore",
    "ensure_indexes",
    "new_id",
]


def ensure_indexes(database) -> None:
    """Create the indexes the queries need; safe to call on every start."""
    modules = (sessions, recordings, jobs, attendance, webhook_events, rate_limits, daily_turns)
    for module in modules:
        for keys, options in module.INDEXES:
            database[module.COLLECTION].create_index(keys, **options)
