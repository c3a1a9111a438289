"""Daily.co webhook deliveries as Daily makes them: the signature and the envelope, written
here independently of the service's code."""

import base64
import hashlib
import hmac
import time
import uuid

SECRET = base64.b64encode(b"daily-webhook-secret-for-tests").decode()


def sign(body, timestamp=None, secret=SECRET):
    """Daily's signature headers for the raw `body`: base64(HMAC-SHA256(base64-decoded
    secret, `timestamp.body`)); `timestamp` is sent as given (now, in seconds, by default)."""
    timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
    digest = hmac.new(base64.b64decode(secret), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": base64.b64encode(digest.digest()).decode(),
        "Content-Type": "application/json",
    }


def envelope(event_type, payload, event_id=None):
    """Daily's envelope of one event; a fresh event id unless `event_id` is given."""
    return {
        "version": "1.0.0",
        "type": event_type,
        "id": event_id or str(uuid.uuid4()),
        "payload": payload,
        "event_ts": time.time(),
    }
