"""Every MongoDB query of the service, one module per collection."""

from . import attendance, jobs, recordings, sessions
from .attendance import AttendanceStore
from .jobs import JobStore
from .platform import POPULATED_LABEL, PlatformStore
from .recordings import RecordingStore
from .sessions import SessionStore, new_id
from .state import StateStore

__all__ = [
    "POPULATED_LABEL",
    "AttendanceStore",
    "JobStore",
    "PlatformStore",
    "RecordingStore",
    "SessionStore",
    "StateStore",
    "ensure_indexes",
    "new_id",
]


def ensure_indexes(database) -> None:
    """Create the indexes the queries need; safe to call on every start."""
    for module in (sessions, recordings, jobs, attendance):
        for keys, options in module.INDEXES:
            database[module.COLLECTION].create_index(keys, **options)
