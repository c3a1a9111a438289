"""Daily.co webhooks: signature check and turning either payload shape into one event."""

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass, field

MAX_FIELD_LENGTH = 512


def signature_is_valid(secret, timestamp, signature, body, tolerance_seconds, now=None):
    """Check Daily's `X-Webhook-Signature` over `timestamp + "." + body`, and freshness.

    Daily's secret is base64; the signature is base64(HMAC-SHA256). The timestamp is Unix
    seconds, but milliseconds are accepted too.
    """
    if not timestamp or not signature:
        return False
    try:
        sent_at = float(timestamp)
        key = base64.b64decode(secret, validate=True)
    except (ValueError, binascii.Error):
        return False
    if sent_at > 1e11:  # milliseconds
        sent_at /= 1000
    if abs((now or time.time()) - sent_at) > tolerance_seconds:
        return False
    message = timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


@dataclass
class Event:
    """A webhook event: its type and the fields of its payload."""

    type: str
    data: dict = field(default_factory=dict)

    def text(self, *names):
        """The first of `names` that is a non-empty, reasonably short string, else None."""
        for name in names:
            value = self.data.get(name)
            if isinstance(value, str) and 0 < len(value) <= MAX_FIELD_LENGTH:
                return value
        return None

    def number(self, name):
        value = self.data.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return value
        return None


def parse_event(body):
    """Read Daily's envelope (`{type, payload: {...}}`) or the spec's flat payload.

    The envelope's payload is never merged over it: its own `type` is the recording type
    ("cloud"), not the event. Returns None for anything that isn't an event.
    """
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return None
    payload = body.get("payload")
    if isinstance(payload, dict):
        return Event(body["type"], payload)
    return Event(body["type"], {k: v for k, v in body.items() if k != "type"})
