"""Outbound webhook endpoints under `/webhooks`, for admins: register, list, delete, and
an endpoint's recent delivery attempts."""

from flask import Blueprint

from ..auth.tokens import current_caller, token_required
from ..errors import (
    WEBHOOK_NOT_FOUND,
    WEBHOOK_URL_AMBIGUOUS,
    WEBHOOK_URL_REFUSED,
    WEBHOOK_URL_UNRESOLVED,
    WEBHOOKS_FORBIDDEN,
)
from ..extensions import services
from ..openapi import VALIDATION, documented, request_body
from .schemas import (
    CreatedWebhookEndpointSchema,
    RegisterWebhookSchema,
    WebhookAttemptSchema,
    WebhookEndpointSchema,
)
from .service import attempt_json, endpoint_json

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("")
@documented(
    "Register a webhook endpoint",
    response=CreatedWebhookEndpointSchema,
    status=201,
    auth=True,
    body=RegisterWebhookSchema,
    tag="webhooks",
    errors={
        400: (VALIDATION, WEBHOOK_URL_AMBIGUOUS, WEBHOOK_URL_REFUSED, WEBHOOK_URL_UNRESOLVED),
        403: (WEBHOOKS_FORBIDDEN,),
    },
)
@token_required
def register_webhook():
    """Register an http(s) URL for some events; the answer holds the endpoint's secret,
    shown this once. The URL must be plain (read alike by every URL parser) and its host
    must resolve to public addresses only (unless WEBHOOKS_ALLOW_PRIVATE); a user and
    password in it are sent as Basic auth and never shown again. For admins."""
    data = request_body()
    endpoint = services().webhook_service.register(data, current_caller())
    return endpoint_json(endpoint, with_secret=True), 201


@bp.get("")
@documented(
    "The webhook endpoints",
    response=[WebhookEndpointSchema],
    auth=True,
    tag="webhooks",
    errors={403: (WEBHOOKS_FORBIDDEN,)},
)
@token_required
def list_webhooks():
    """Every registered endpoint, oldest first, without secrets. For admins."""
    endpoints = services().webhook_service.list(current_caller())
    return [endpoint_json(endpoint) for endpoint in endpoints]


@bp.delete("/<webhook_id>")
@documented(
    "Delete a webhook endpoint",
    response=WebhookEndpointSchema,
    auth=True,
    tag="webhooks",
    errors={403: (WEBHOOKS_FORBIDDEN,), 404: (WEBHOOK_NOT_FOUND,)},
)
@token_required
def delete_webhook(webhook_id):
    """Delete an endpoint and its delivery record; nothing more is sent to it. For admins."""
    endpoint = services().webhook_service.delete(webhook_id, current_caller())
    return endpoint_json(endpoint)


@bp.get("/<webhook_id>/deliveries")
@documented(
    "A webhook endpoint's recent deliveries",
    response=[WebhookAttemptSchema],
    auth=True,
    tag="webhooks",
    errors={403: (WEBHOOKS_FORBIDDEN,), 404: (WEBHOOK_NOT_FOUND,)},
)
@token_required
def webhook_deliveries(webhook_id):
    """The endpoint's most recent delivery attempts (at most 100), newest first: the
    event's id and type, the attempt's number, the HTTP status or the error, when, and how
    long it took. For admins."""
    attempts = services().webhook_service.deliveries(webhook_id, current_caller())
    return [attempt_json(attempt) for attempt in attempts]
