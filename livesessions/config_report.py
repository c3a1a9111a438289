"""What the start-up log says about the settings: one line with every setting (secrets
masked), then a warning for each choice that should not ship by accident; and the
settings derived from others. Only the servers log it (livesessions/startup.py)."""

import logging
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from .config import SETTINGS

log = logging.getLogger(__name__)

SECRETS = (
    "JWT_SECRET_KEY",
    "JWT_PREVIOUS_SECRET_KEYS",
    "DAILY_API_KEY",
    "DAILY_WEBHOOK_SECRET",
    "DAILY_WEBHOOK_PREVIOUS_SECRET",
    "CALENDAR_FEED_SECRET",
    "METRICS_TOKEN",
    "CLOUD_API_KEY",
    "CLOUD_API_SECRET",
)


def webhook_deadline(config: Mapping) -> float:
    """A delivery's total deadline: WEBHOOKS_DEADLINE_SECONDS, but at most half the lease
    (which a delivery does not renew), so that no second worker makes the same delivery
    while the first still waits for its receiver."""
    return min(config["WEBHOOKS_DEADLINE_SECONDS"], config["RECORDING_LEASE_SECONDS"] / 2)


def settings_summary(config: Mapping) -> str:
    """Every setting as the start-up line shows it: `NAME=value; ...`, secrets as `set` or
    `unset` (a generated JWT secret as `generated`), MONGODB_URI without its credentials
    and options."""
    shown = []
    for name in SETTINGS:
        value = config.get(name)
        if name == "JWT_SECRET_KEY" and config.get("JWT_SECRET_IS_GENERATED"):
            value = "generated"
        elif name in SECRETS:
            value = "set" if value else "unset"
        elif name == "MONGODB_URI" and value:
            parts = urlsplit(value)
            # no user, password or query options (which may hold a key's password)
            value = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query=""))
        shown.append(f"{name}={value}")
    return "; ".join(shown)


def startup_warnings(config: Mapping) -> list[str]:
    """What to say loudly at start-up: the stand-ins in use, so nobody ships them by
    accident, a production that still lets anyone change classes, and one whose /metrics is
    off for want of a token."""
    warnings = []
    production = config["APP_ENV"] == "production"
    if production and config["AUTH_POLICY"] == "compat":
        warnings.append(
            "AUTH_POLICY=compat: participants, status and recording start/stop accept calls "
            "without a token, as the Node service did; see docs/access.md to move to audit, "
            "then strict"
        )
    if production and config["METRICS_ENABLED"] and not config["METRICS_TOKEN"]:
        warnings.append(
            "/metrics is off: in production it needs METRICS_TOKEN (a random value of at "
            "least 32 characters), sent by the scraper as a bearer token (Prometheus: "
            "authorization: credentials:); see docs/operations.md#metrics"
        )
    if config["JWT_SECRET_IS_GENERATED"]:
        warnings.append(
            "JWT_SECRET_KEY is not set: using a random secret valid for this process only"
        )
    if config["DAILY_KNOCKING"] and config["DAILY_ROOM_PRIVACY"] == "public":
        warnings.append("DAILY_KNOCKING has no effect: Daily's knocking is for private rooms")
    if config["MONGODB_URI"].startswith("mongomock://"):
        warnings.append("MONGODB_URI is the embedded in-memory store: data is lost on exit")
    if not config["DAILY_WEBHOOK_SECRET"]:
        warnings.append(
            "DAILY_WEBHOOK_SECRET is not set: webhooks are accepted without a signature"
        )
    if config["WEBHOOKS_DEADLINE_SECONDS"] > webhook_deadline(config):
        warnings.append(
            "WEBHOOKS_DEADLINE_SECONDS is over half of RECORDING_LEASE_SECONDS: deliveries "
            f"are cut off at {webhook_deadline(config)} s, inside their lease"
        )
    if not config["DAILY_API_KEY"]:
        warnings.append(
            "DAILY_API_KEY is not set: Daily.co calls go unauthenticated to "
            + config["DAILY_API_URL"]
        )
    return warnings


def log_startup_report(config: Mapping) -> None:
    """Log the configuration line (INFO), then each warning about the settings (WARNING):
    what a server says when it starts (livesessions/startup.py says which do)."""
    log.info("configuration (secrets masked): %s", settings_summary(config))
    for warning in startup_warnings(config):
        log.warning(warning)
