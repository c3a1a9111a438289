"""A Daily.co REST API stand-in (rooms, recordings, webhooks, meeting tokens, Daily's rate
limits). Development and tests only."""

from .calls import BANNER
from .limits import RATE_LIMITS
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
    "RATE_LIMITS",
    "RETRY_TYPES",
    "ROOM_NAME",
    "DailySandbox",
    "recording_content",
]
