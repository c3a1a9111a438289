"""The health and readiness probes: `/healthz` and `/readyz`."""

import logging

from flask import Blueprint, abort, request

from .auth.access import unauthenticated_counts
from .daily.setup import last_known_state
from .errors import (
    DATABASE_UNAVAILABLE,
    HTTP_MESSAGES,
    INVALID_TOKEN,
    MISSING_TOKEN,
    Unauthenticated,
)
from .extensions import services
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import exposition
from .openapi import Note, documented
from .ratelimit import unlimited
from .schemas import HealthSchema, NotReadySchema, ReadySchema

log = logging.getLogger(__name__)

bp = Blueprint("probes", __name__)


@bp.get("/healthz")
@documented("Liveness probe", response=HealthSchema, tag="operations")
@unlimited
def healthz():
    """The process is up (no dependency is checked)."""
    return {"status": "ok"}


@bp.get("/readyz")
@documented(
    "Readiness probe",
    response=ReadySchema,
    tag="operations",
    errors={503: (DATABASE_UNAVAILABLE,)},
    error_schemas={503: NotReadySchema},
)
@unlimited
def readyz():
    """Ready to serve: the database answers a ping within MONGODB_TIMEOUT_MS.

    `webhook` is the Daily webhook's state as the worker last saw it (`active`, `failed`,
    `missing`, or `unknown` before its first check); it never makes the service unready.
    `workers` (recording workers alive: heartbeats of the last LIVE_SECONDS) and
    `oldestDueJobSeconds` (how long the most overdue job has waited; null: none) say how
    the job queue is served, informational too.
    With AUTH_POLICY=audit, `unauthenticatedWrites` counts the calls made without a token."""
    try:
        services().database.ping()
        ready = {
            "status": "ready",
            "database": "up",
            "webhook": last_known_state(services().state_store),
            **services().queue_health().counts(),
        }
        if services().policy.audits:  # what is left to fix before AUTH_POLICY=strict
            ready["unauthenticatedWrites"] = unauthenticated_counts()
    except Exception as error:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness: database ping failed: %r", error)
        return {"message": DATABASE_UNAVAILABLE, "database": "down"}, 503
    return ready


@bp.get("/metrics")
@documented(
    "Prometheus metrics",
    response="text/plain",
    tag="operations",
    errors={
        401: (MISSING_TOKEN, INVALID_TOKEN, Note("(METRICS_TOKEN set: not sent as a bearer)")),
        404: (
            HTTP_MESSAGES[404],
            Note("(METRICS_ENABLED=false, or production without METRICS_TOKEN)"),
        ),
    },
)
@unlimited
def metrics():
    """Requests by route and status with latencies, Daily.co calls by endpoint family and
    answer, the circuit breaker, uploads, webhook deliveries, unauthenticated writes, and
    the job queue, in Prometheus's text format. With METRICS_TOKEN set, only for
    `Authorization: Bearer <METRICS_TOKEN>`; in production, off until it is set (off
    anywhere with METRICS_ENABLED=false)."""
    refusal = services().metrics_access.refusal(request.headers.get("Authorization"))
    if refusal == 401:
        raise Unauthenticated()  # worded by whether a token was sent
    if refusal:
        abort(refusal)
    return exposition(services()), 200, {"Content-Type": METRICS_CONTENT_TYPE}
