"""The health and readiness probes: `/healthz` and `/readyz`."""

import logging

from flask import Blueprint

from .access import unauthenticated_counts
from .daily.setup import last_known_state
from .errors import DATABASE_UNAVAILABLE
from .extensions import services
from .openapi import documented
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
