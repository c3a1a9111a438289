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


def participant_event(
    event_type="participant.joined", visit="visit-1", room="room-a", event_id=None, **fields
):
    """The envelope of a participant event of one visit (joined a minute ago), as Daily
    sends it; `participant.left` without a `duration` field makes the service take now."""
    payload = {"joined_at": time.time() - 60, "session_id": visit, "room": room, "user_id": "u1"}
    return envelope(event_type, {**payload, **fields}, event_id)
