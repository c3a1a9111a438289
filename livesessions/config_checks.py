"""What `load_config` refuses beyond a malformed number or word: secrets and URLs that
can't work, and, when APP_ENV=production, whatever would run the service unprotected.

Each check returns its problems as sentences that start with the setting's name, so that
`load_config` can name every problem of a start-up in one line.
"""

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import urlsplit

from pymongo.errors import PyMongoError
from pymongo.uri_parser import parse_uri
from pymongo.uri_parser_shared import _validate_uri

# Settings that must be given explicitly when APP_ENV=production.
PRODUCTION_REQUIRED = (
    "JWT_SECRET_KEY",
    "MONGODB_URI",
    "CORS_ORIGINS",
    "DAILY_API_KEY",
    "DAILY_WEBHOOK_SECRET",
    "CLOUD_NAME",
    "CLOUD_API_KEY",
    "CLOUD_API_SECRET",
    # 0 behind a PaaS router would put every client in one rate-limit bucket
    "PROXY_HOPS",
)
# HS256 with a shorter secret can be brute-forced offline from one token (RFC 7518 3.2).
MIN_JWT_SECRET_BYTES = 32
# The calendar feeds' HMAC-SHA256 keys: the same reasoning, one feed URL being enough.
MIN_CALENDAR_SECRET_CHARACTERS = 32
# The scraper's bearer token: /metrics is not rate-limited, so it must not be guessable.
MIN_METRICS_TOKEN_CHARACTERS = 32
# What JOIN_PAGE_URL's template must hold: each session's id goes there.
SESSION_ID_PLACEHOLDER = "{sessionId}"
MONGODB_SCHEMES = ("mongodb://", "mongodb+srv://", "mongomock://")
NOT_NEGATIVE = (
    "JWT_LEEWAY_SECONDS",
    "HSTS_SECONDS",
    "PROXY_HOPS",
    "RECORDING_RETENTION_DAYS",
    "DAILY_RATE_WAIT_SECONDS",
)
# Counts that can't work at 0: no job slot, no attempt, no Daily call would be made.
AT_LEAST_ONE = (
    "WORKER_UPLOAD_CONCURRENCY",
    "WORKER_ROOM_DELETION_CONCURRENCY",
    "WORKER_WEBHOOK_CONCURRENCY",
    "RECORDING_MAX_ATTEMPTS",
    "DAILY_MAX_CONCURRENT_CALLS",
    "SERIES_ROOMS_PER_HOUR",
    "RECORDING_URL_TTL_SECONDS",
)


def mongodb_uri_problem(uri: str) -> str | None:
    """Why pymongo would refuse `uri`, checked without any network access.

    The value is never quoted: it may hold a password (and so may pymongo's reason).
    """
    if not uri.startswith(MONGODB_SCHEMES):
        return "MONGODB_URI must start with mongodb://, mongodb+srv:// or mongomock://"
    try:
        if uri.startswith("mongodb+srv://"):
            # parse_uri would also look the cluster's SRV and TXT records up in the DNS:
            # its other half checks everything else (pymongo is pinned; a test holds this)
            _validate_uri(uri)
        elif uri.startswith("mongodb://"):
            parse_uri(uri)  # no DNS, no connection for a plain host list
    except (PyMongoError, ValueError, TypeError):
        return "MONGODB_URI is not a valid MongoDB URI (check it with pymongo.uri_parser.parse_uri)"
    return None


def webhook_secret_problem(secret: str, name: str = "DAILY_WEBHOOK_SECRET") -> str | None:
    """Daily's secret is base64: otherwise every signed webhook would fail its check."""
    try:
        key = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        return f"{name} must be base64, as Daily gives it"
    return None


def join_page_url_problem(template: str) -> str | None:
    """The join page must be a URL with a host, and name the session (`{sessionId}`)."""
    url = urlsplit(template.replace(SESSION_ID_PLACEHOLDER, "id"))
    if SESSION_ID_PLACEHOLDER in template and url.scheme in ("http", "https") and url.hostname:
        return None
    return "JOIN_PAGE_URL must be an http:// or https:// URL containing {sessionId}"


def value_problems(config: Mapping) -> list[str]:
    """The problems of values that can't work in any APP_ENV."""
    problems = []
    if config["MONGODB_URI"] is not None:
        problems.append(mongodb_uri_problem(config["MONGODB_URI"]))
    for name in ("DAILY_WEBHOOK_SECRET", "DAILY_WEBHOOK_PREVIOUS_SECRET"):
        if config[name] is not None:
            problems.append(webhook_secret_problem(config[name], name))
    if config["JOIN_PAGE_URL"] is not None:
        problems.append(join_page_url_problem(config["JOIN_PAGE_URL"]))
    for name in NOT_NEGATIVE:
        if config[name] is not None and config[name] < 0:
            problems.append(f"{name} must not be negative, got {config[name]}")
    for name in AT_LEAST_ONE:
        if config[name] is not None and config[name] < 1:
            problems.append(f"{name} must be at least 1, got {config[name]}")
    problems.append(webhook_deadline_problem(config))
    return [problem for problem in problems if problem]


def webhook_deadline_problem(config: Mapping) -> str | None:
    deadline = config["WEBHOOKS_DEADLINE_SECONDS"]
    if deadline is not None and deadline <= 0:
        return f"WEBHOOKS_DEADLINE_SECONDS must be more than 0, got {deadline}"
    return None


def production_problems(config: Mapping, explicit: set[str]) -> list[str]:
    """The problems of a production configuration: every setting it needs given, none of
    the development conveniences (generated secret, embedded store, any origin)."""
    problems = [
        f"{name} is required in production" for name in PRODUCTION_REQUIRED if name not in explicit
    ]
    secret = config["JWT_SECRET_KEY"]
    if "JWT_SECRET_KEY" in explicit and len(secret.encode()) < MIN_JWT_SECRET_BYTES:
        problems.append(
            f"JWT_SECRET_KEY must be at least {MIN_JWT_SECRET_BYTES} bytes in production"
        )
    for previous in config["JWT_PREVIOUS_SECRET_KEYS"] or ():
        if len(previous.encode()) < MIN_JWT_SECRET_BYTES:
            problems.append(
                f"each of JWT_PREVIOUS_SECRET_KEYS must be at least {MIN_JWT_SECRET_BYTES} "
                "bytes in production"
            )
    calendar_secret = config["CALENDAR_FEED_SECRET"]
    if calendar_secret is not None and len(calendar_secret) < MIN_CALENDAR_SECRET_CHARACTERS:
        problems.append(
            f"CALENDAR_FEED_SECRET must be at least {MIN_CALENDAR_SECRET_CHARACTERS} characters "
            "in production"
        )
    metrics_token = config["METRICS_TOKEN"]
    if metrics_token is not None and len(metrics_token) < MIN_METRICS_TOKEN_CHARACTERS:
        problems.append(
            f"METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_CHARACTERS} characters "
            "in production"
        )
    if "MONGODB_URI" in explicit and str(config["MONGODB_URI"]).startswith("mongomock://"):
        problems.append("MONGODB_URI must point at a real MongoDB in production")
    if "CORS_ORIGINS" in explicit and "*" in config["CORS_ORIGINS"]:
        problems.append("CORS_ORIGINS must list the allowed origins in production, not *")
    api_url = urlsplit(str(config["DAILY_API_URL"]))
    if api_url.scheme != "https" or not api_url.netloc:
        problems.append("DAILY_API_URL must be an https:// URL in production")
    join_page = config["JOIN_PAGE_URL"]
    if join_page is not None and not join_page.startswith("https://"):
        problems.append("JOIN_PAGE_URL must be an https:// URL in production")
    return problems
