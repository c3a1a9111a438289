"""Every MongoDB query of the service, one module per collection."""

from .attendance import AttendanceStore
from .indexes import IndexState, ensure_indexes
from .jobs import JobStore
from .platform import POPULATED_LABEL, PlatformStore
from .recordings import RecordingStore
from .sessions import SessionStore, new_id
from .state import StateStore
from .task_leases import TaskLeaseStore
from .webhook_attempts import WebhookAttemptStore
from .webhook_events import WebhookEventStore
from .webhooks import WebhookStore
from .workers import WorkerStore

__all__ = [
    "POPULATED_LABEL",
    "AttendanceStore",
    "IndexState",
    "JobStore",
    "PlatformStore",
    "RecordingStore",
    "SessionStore",
    "StateStore",
    "TaskLeaseStore",
    "WebhookAttemptStore",
    "WebhookEventStore",
    "WebhookStore",
    "WorkerStore",
    "ensure_indexes",
    "new_id",
]
