"""The Daily.co webhook endpoint: check the signature, read the event, hand it on, answer."""

import base64
import binascii
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field

from flask import Blueprint, g, request

from ..clock import unix_now
from ..errors import INVALID_SIGNATURE, TOO_MANY_REQUESTS, WEBHOOK_NOT_JSON, error_response
from ..extensions import services
from ..http import parse_json
from ..metrics import WEBHOOKS
from ..openapi import Note, documented
from ..ratelimit import webhook
from ..schemas import WebhookAckSchema, WebhookEventSchema

log = logging.getLogger(__name__)

bp = Blueprint("daily", __name__, url_prefix="/sessions/webhook")

MAX_FIELD_LENGTH = 512
# A Unix time in seconds or milliseconds: ASCII digits only, no sign, point or exponent
# (10 digits today in seconds, 13 in milliseconds).
TIMESTAMP = re.compile(r"[0-9]{1,15}")
MILLISECONDS_FROM = 10**11  # a larger timestamp is in milliseconds (10**11 s is year 5138)
# Without a valid signature (when a secret is set) only a body this small is parsed: room
# for Daily's set-up check, `{"test": "test"}`, which must get its 200 unsigned.
MAX_UNSIGNED_BODY = 1024


def signature_is_valid(secret, timestamp, signature, body, tolerance_seconds, now=None):
    """Check Daily's `X-Webhook-Signature` over `timestamp + "." + body`, and freshness.

    Daily's secret is base64; the signature is base64(HMAC-SHA256). The timestamp is Unix
    seconds, but milliseconds are accepted too. It must be a plain integer, as Daily sends
    it: `float()` would also take "nan", which is never stale (every comparison with it is
    false), so one signed request could be replayed for ever; and "inf", "1e3", "12.5",
    "+5" or "-1" are no time Daily sends either.
    """
    if not signature or not TIMESTAMP.fullmatch(timestamp or ""):
        return False
    try:
        key = base64.b64decode(secret, validate=True)
    except (ValueError, binascii.Error):
        return False
    sent_at = int(timestamp)
    if sent_at > MILLISECONDS_FROM:
        sent_at /= 1000
    if abs((now or unix_now()) - sent_at) > tolerance_seconds:
        return False
    message = timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest())
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a 500).
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))


@dataclass(frozen=True)
class SignatureCheck:
    """Daily's webhook secrets, DAILY_WEBHOOK_SECRET (None: deliveries are not signed) and,
    during a rotation, DAILY_WEBHOOK_PREVIOUS_SECRET, and how far a signed delivery's
    timestamp may be from now (DAILY_WEBHOOK_TOLERANCE_SECONDS)."""

    secret: str | None = None
    previous_secret: str | None = None
    tolerance_seconds: float = 300

    @classmethod
    def from_config(cls, config) -> "SignatureCheck":
        return cls(
            config["DAILY_WEBHOOK_SECRET"],
            config["DAILY_WEBHOOK_PREVIOUS_SECRET"],
            config["DAILY_WEBHOOK_TOLERANCE_SECONDS"],
        )

    def signed(self, timestamp, signature, body) -> bool:
        """Whether a delivery carries a valid signature of either secret (False when no
        secret is set)."""
        secrets = (self.secret, self.previous_secret)
        return bool(self.secret) and any(
            signature_is_valid(secret, timestamp, signature, body, self.tolerance_seconds)
            for secret in secrets
            if secret
        )


def refused_unsigned(size, event_type=None):
    """A delivery without a valid signature is someone's attempt or a secret out of step
    with Daily's (a rotation gone wrong): WARNING, with what can be told of it."""
    log.warning(
        "webhook refused: no valid signature (%s bytes%s)",
        size,
        f", type {event_type!r}" if event_type else "",
        extra={"event_type": event_type, "bytes": size},
    )


def delivery_is_signed() -> bool:
    """Whether this request carries a valid signature of DAILY_WEBHOOK_SECRET (or of
    DAILY_WEBHOOK_PREVIOUS_SECRET; False when no secret is set). Worked out once per
    request: the rate limits ask first."""
    if "webhook_signed" not in g:
        # during a rotation, DAILY_WEBHOOK_PREVIOUS_SECRET too: deliveries Daily signed
        # before `daily webhook ensure` installed the new secret
        g.webhook_signed = services().daily_signature.signed(
            request.headers.get("X-Webhook-Timestamp", ""),
            request.headers.get("X-Webhook-Signature", ""),
            request.get_data(),
        )
    return g.webhook_signed


@dataclass
class Event:
    """A webhook event: its type, the fields of its payload, and Daily's event id (the
    envelope's `id`; None for the spec's flat payload)."""

    type: str
    data: dict = field(default_factory=dict)
    id: str | None = None

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
    """Read Daily's envelope (`{type, id, payload: {...}}`) or the spec's flat payload.

    The envelope's payload is never merged over it: its own `type` is the recording type
    ("cloud"), not the event. Returns None for anything that isn't an event.
    """
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return None
    payload = body.get("payload")
    if isinstance(payload, dict):
        event_id = body.get("id")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_FIELD_LENGTH:
            event_id = None
        return Event(body["type"], payload, event_id)
    return Event(body["type"], {k: v for k, v in body.items() if k != "type"})


@bp.post("/daily")
@documented(
    "Receive a Daily.co webhook event",
    response=WebhookAckSchema,
    body=WebhookEventSchema,
    body_required=False,  # an empty body is acknowledged (Daily's endpoint check)
    errors={
        400: (WEBHOOK_NOT_JSON,),
        401: (
            INVALID_SIGNATURE,
            Note(
                "(only when DAILY_WEBHOOK_SECRET is set; a body of at most 1 KB that is not an "
                "event, such as Daily's set-up check, is acknowledged unsigned; a larger one "
                "is refused unread)"
            ),
        ),
        429: (
            TOO_MANY_REQUESTS,
            Note("(unsigned posts over RATE_LIMIT_UNSIGNED_WEBHOOKS; signed ones never)"),
        ),
    },
)
@webhook(verified=delivery_is_signed)
def daily_webhook():
    """Take a Daily.co event: check its signature, record it, queue uploads; answer at once.

    With a secret, the signature is checked on the raw bytes before anything is parsed, and
    an unsigned body is parsed only if it is small enough to be Daily's set-up check:
    anyone can post unsigned bytes, and parsing a megabyte of JSON takes a quarter second.
    """
    raw = request.get_data()
    secret = services().daily_signature.secret
    unsigned = bool(secret) and not delivery_is_signed()
    if unsigned and len(raw) > MAX_UNSIGNED_BODY:
        refused_unsigned(len(raw))
        return error_response(INVALID_SIGNATURE, 401)  # refused unread
    body = parse_json(raw, WEBHOOK_NOT_JSON) if raw.strip() else {}
    event = parse_event(body)
    if event is None:  # not an event (e.g. Daily's {"test": "test"}): acknowledged, unused.
        return {"received": True}  # Signed or not: Daily's set-up check must get its 200.
    signature = ("invalid" if unsigned else "valid") if secret else "none"
    # a type Daily sends, or "other": posted types must not make new series without end
    known = event.type if event.type in services().events.handlers else "other"
    WEBHOOKS.labels(known, signature).inc()
    if unsigned:
        refused_unsigned(len(raw), event.type)
        return error_response(INVALID_SIGNATURE, 401)
    services().events.handle(event, trusted=bool(secret))
    return {"received": True}
