"""The caller of an endpoint the spec leaves open, as AUTH_POLICY wants it read: required
in `strict`; optional otherwise, and in `audit` every call without one is reported."""

import logging

from flask import request

from ..extensions import services
from ..metrics import UNAUTHENTICATED_WRITES
from .tokens import Caller, optional_caller, required_caller

# the name operators filter on since before this module moved into auth/
log = logging.getLogger("livesessions.access")

AUDIT_KEY = "unauthenticated_writes"  # service_state document of the audit's counts


def open_write_caller(endpoint: str, target: str) -> Caller | None:
    """The caller of the open write `endpoint` (a view's name) on `target` (a session id or
    a room or recording id): the token's caller, or None when there is none to use."""
    policy = services().policy
    if policy.strict:
        return required_caller()
    caller = optional_caller()
    if caller is None and policy.audits:
        report_unauthenticated(endpoint, target)
    return caller


def report_unauthenticated(endpoint: str, target: str) -> None:
    """One WARNING line and one count (shared by every process, in MongoDB) per call."""
    log.warning(
        "unauthenticated %s on %s",
        endpoint,
        target,
        extra={
            "endpoint": endpoint,
            "target": target,
            "user_agent": request.headers.get("User-Agent"),
            "client_request_id": request.headers.get("X-Request-ID"),
        },
    )
    services().state_store.increment(AUDIT_KEY, endpoint)
    UNAUTHENTICATED_WRITES.labels(endpoint).inc()


def unauthenticated_counts() -> dict[str, int]:
    """The audit's counts per endpoint, since the counts were last reset (never, so far)."""
    saved = services().state_store.get(AUDIT_KEY) or {}
    return {name: count for name, count in sorted((saved.get("counts") or {}).items())}
