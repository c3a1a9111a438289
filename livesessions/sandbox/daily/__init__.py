"""A Daily.co REST API stand-in (rooms, recordings, webhooks). Development and tests only."""

from .calls import BANNER
from .recordings import MARKER, MAX_LIST_LIMIT, recording_content
from .rooms import ROOM_NAME
from .server import DailySandbox
from .tokens import MAX_USER_ID
from .webhooks import CIRCUIT_BREAKER_FAILURES, RETRY_TYPES

__all__ = [
    "BANNER",
    "CIRCUIT_BREAKER_FAILURES",
    "MARKER",
    "MAX_LIST_LIMIT",
    "MAX_USER_ID",
    "RETRY_TYPES",
    "ROOM_NAME",
    "DailySandbox",
    "recording_content",
]
