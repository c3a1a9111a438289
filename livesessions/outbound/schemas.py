"""Schemas of the outbound webhooks (`/webhooks`): the registration body, and the endpoint
and delivery attempts the API shows."""

from urllib.parse import urlsplit

from marshmallow import ValidationError, fields

from ..schemas.responses import ResponseSchema
from ..validation import JoiChoices, JoiSchema, JoiString, max_length
from .emitter import EVENT_TYPES

URL_MAX_LENGTH = 2048


def http_url(value):
    """Joi's `uri({scheme: ["http", "https"]})`: an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("must be a valid uri with a scheme matching the http|https pattern")
    if any(char.isspace() for char in value):
        raise ValidationError("must be a valid uri with a scheme matching the http|https pattern")


class RegisterWebhookSchema(JoiSchema):
    url = JoiString(
        required=True,
        validate=[max_length(URL_MAX_LENGTH), http_url],
        metadata={"format": "uri", "maxLength": URL_MAX_LENGTH},
    )
    events = JoiChoices(EVENT_TYPES, required=True)


def _time():
    return fields.String(
        required=True, metadata={"format": "date-time", "example": "2025-12-25T10:00:00.000Z"}
    )


class WebhookEndpointSchema(ResponseSchema):
    """A registered endpoint, without its secret."""

    id = fields.String(required=True, metadata={"format": "uuid"})
    url = fields.String(required=True)
    events = fields.List(fields.String(metadata={"enum": list(EVENT_TYPES)}), required=True)
    enabled = fields.Boolean(required=True)
    consecutiveFailures = fields.Integer(required=True)
    disabledAt = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    createdAt = _time()


class CreatedWebhookEndpointSchema(WebhookEndpointSchema):
    """The endpoint just registered, with its secret: shown this once."""

    secret = fields.String(
        required=True,
        metadata={
            "description": "base64; the key of X-Livesessions-Signature "
            "(base64 HMAC-SHA256 of `timestamp.body` keyed with the decoded secret)"
        },
    )


class WebhookAttemptSchema(ResponseSchema):
    """One delivery attempt."""

    eventId = fields.String(required=True, metadata={"format": "uuid"})
    type = fields.String(required=True, metadata={"enum": list(EVENT_TYPES)})
    attempt = fields.Integer(required=True)
    status = fields.Integer(required=True, allow_none=True, metadata={"description": "HTTP"})
    error = fields.String(required=True, allow_none=True)
    at = _time()
    durationMs = fields.Integer(required=True)
