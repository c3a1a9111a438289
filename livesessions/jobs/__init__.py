"""The job platform: one durable queue in MongoDB (`recording_jobs`: repository), the kinds
the features register (kinds: each its handler, slots, lease, attempts), the generic worker,
the one retry policy (backoff), the worker processes' heartbeats and the periodic tasks'
leases. Below: what the features may use (the rest is the app's wiring)."""

from .backoff import Backoff
from .kinds import JobKind, PermanentJobError, RetriedJobs
from .repository import ENDPOINT_DISABLED, ROOM_DELETION, STATUSES, UPLOAD, WEBHOOK, JobStore

__all__ = [
    "ENDPOINT_DISABLED",
    "ROOM_DELETION",
    "STATUSES",
    "UPLOAD",
    "WEBHOOK",
    "Backoff",
    "JobKind",
    "JobStore",
    "PermanentJobError",
    "RetriedJobs",
]
