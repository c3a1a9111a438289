"""What every outbound delivery relies on: the endpoint's secret and the signature (Daily's
encoding: base64 HMAC-SHA256 of `timestamp.body`, keyed with the base64-decoded secret).
The guard that keeps deliveries off private networks is in `destinations`."""

import base64
import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Livesessions-Signature"
TIMESTAMP_HEADER = "X-Livesessions-Timestamp"


def new_secret() -> str:
    """A fresh endpoint secret: 32 random bytes, base64 (as Daily's webhook secrets are)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(base64decode(secret), `timestamp.body`))."""
    key = base64.b64decode(secret)
    message = timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
