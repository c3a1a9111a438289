"""Daily.co: the REST client (client, transport, pacing in limits/windows/turns, breaker,
names and tokens), the room-deletion job kind, and its webhook in the order an event
travels: received and verified (receive, repository), claimed once and dispatched to what
it changes (events), kept delivering (setup). Below: what the features may use."""

from .client import DailyBusy, DailyClient, DailyError, DailyRateLimited
from .names import daily_user_id
from .transport import CONNECT_TIMEOUT_SECONDS

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "DailyBusy",
    "DailyClient",
    "DailyError",
    "DailyRateLimited",
    "daily_user_id",
]
