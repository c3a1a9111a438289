"""Configuration read from the environment, with the aliases the Node service used.

`load_config` reads every setting, then checks them all (here and in `config_checks`) and
names every problem in one `ConfigError`, so that a start-up fails once with the whole list.
"""

import os
import secrets
from collections.abc import Callable, Mapping
from typing import NamedTuple

from limits import parse_many

from .config_checks import production_problems, value_problems


def comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def lower(value: str) -> str:
    """A word, whatever its case (`APP_ENV=Production` is production)."""
    return value.strip().lower()


def upper(value: str) -> str:
    return value.strip().upper()


def boolean(value: str) -> bool:
    word = value.strip().lower()
    if word not in ("true", "false"):
        raise ValueError(value)
    return word == "true"


def rate(value: str) -> str:
    """A rate limit such as `100/minute` (or several: `20/second;600/minute`)."""
    if any(item.amount < 1 for item in parse_many(value)):  # parse_many refuses no rate
        raise ValueError(value)
    return value.strip()


# What a value that a type refuses should have been, for the error.
EXPECTED = {
    int: "a number",
    float: "a number",
    boolean: "true or false",
    rate: "a rate such as 100/minute",
}


class Setting(NamedTuple):
    """One setting: its default (as the environment would give it), how it is read, and the
    other names it may be given under."""

    default: str | None
    type: Callable = str
    aliases: tuple[str, ...] = ()


# Every name here is documented in .env.example and the README.
SETTINGS = {
    # Server
    "PORT": Setting("7000", int),
    "APP_ENV": Setting("development", lower),
    "LOG_LEVEL": Setting("INFO", upper),
    "LOG_FORMAT": Setting("json", lower),
    "CORS_ORIGINS": Setting("*", comma_list),
    "MAX_CONTENT_LENGTH": Setting(str(1024 * 1024), int),
    "DOCS_ENABLED": Setting(None, boolean),
    "METRICS_ENABLED": Setting("true", boolean),
    "METRICS_TOKEN": Setting(None),  # production serves /metrics only with it (bearer)
    "HSTS_SECONDS": Setting(None, int),
    "PROXY_HOPS": Setting("0", int),  # required in production (config_checks)
    # Rate limits (see docs/operations.md)
    "RATE_LIMITS_ENABLED": Setting("true", boolean),
    "RATE_LIMIT_STORAGE": Setting("database", lower),
    "RATE_LIMIT_READS": Setting("20/second", rate),
    "RATE_LIMIT_ANONYMOUS_WRITES": Setting("120/minute", rate),
    "RATE_LIMIT_SESSION_WRITES": Setting("300/minute", rate),
    "RATE_LIMIT_STUDENT_ADMISSIONS": Setting("10/minute", rate),
    "RATE_LIMIT_CLASS_ADMISSIONS": Setting("3000/minute", rate),  # 3 x the biggest class
    "RATE_LIMIT_USER_WRITES": Setting("600/minute", rate),  # room for a series of 100
    "RATE_LIMIT_UNSIGNED_WEBHOOKS": Setting("120/minute", rate),
    "SERIES_ROOMS_PER_HOUR": Setting("500", int),  # five series of the most, per user
    # Database
    "MONGODB_URI": Setting("mongomock://localhost/livesessions", aliases=("MONGO_URI",)),
    "MONGODB_TIMEOUT_MS": Setting("5000", int),
    # Authentication
    "JWT_SECRET_KEY": Setting(None, aliases=("JWT_SECRET",)),
    "JWT_PREVIOUS_SECRET_KEYS": Setting(None, comma_list),
    "JWT_LEEWAY_SECONDS": Setting("30", int),
    "JWT_IDENTITY_CLAIM": Setting("sub"),
    "JWT_ROLE_CLAIM": Setting("role"),
    "ADMIN_ROLES": Setting("admin", comma_list),
    "JWT_NAME_CLAIM": Setting("name"),
    "AUTH_POLICY": Setting("compat", lower),
    "INSTRUCTOR_ROLES": Setting("instructor", comma_list),
    # Daily.co
    "DAILY_API_KEY": Setting(None),
    "DAILY_API_URL": Setting("https://api.daily.co/v1"),
    "DAILY_WEBHOOK_SECRET": Setting(None),
    "DAILY_WEBHOOK_PREVIOUS_SECRET": Setting(None),
    "DAILY_WEBHOOK_TOLERANCE_SECONDS": Setting("300", int),
    "DAILY_TIMEOUT_SECONDS": Setting("10", float),
    "DAILY_RETRY_BACKOFF_SECONDS": Setting("0.5", float),
    "DAILY_MAX_CONCURRENT_CALLS": Setting("1", int),
    "DAILY_QUEUE_SECONDS": Setting("0.5", float),
    "DAILY_BREAKER_FAILURES": Setting("5", int),
    "DAILY_BREAKER_RESET_SECONDS": Setting("30", float),
    "DAILY_RATE_WAIT_SECONDS": Setting("24", float),
    "DAILY_PACING_STORAGE": Setting("database", lower),
    "DAILY_SELF_SIGNED_TOKENS": Setting("true", boolean),
    "DAILY_DOMAIN_ID": Setting(None),
    "DAILY_ROOM_EXP_GRACE_MINUTES": Setting("30", int),
    "DAILY_ROOM_PRIVACY": Setting("public", lower),
    "DAILY_KNOCKING": Setting("false", boolean),
    # owner: every owner's meeting token starts Daily's cloud recording as its holder joins
    "DAILY_AUTO_RECORD": Setting("off", lower),
    "JOIN_OPENS_MINUTES_BEFORE": Setting("15", int),
    # Calendar feeds
    "CALENDAR_FEED_SECRET": Setting(None),
    "JOIN_PAGE_URL": Setting(None),
    # Cloudinary
    "CLOUD_NAME": Setting(None),
    "CLOUD_API_KEY": Setting(None),
    "CLOUD_API_SECRET": Setting(None),
    "CLOUDINARY_UPLOAD_PREFIX": Setting(None),
    "CLOUDINARY_CHUNK_SIZE": Setting("6000000", int),
    "CLOUDINARY_TIMEOUT_SECONDS": Setting("60", float),
    "RECORDING_DELIVERY": Setting("public", lower),
    "RECORDING_URL_TTL_SECONDS": Setting("3600", int),
    # Recording jobs
    "RECORDING_RETRY_BASE_SECONDS": Setting("30", float),
    "RECORDING_MAX_ATTEMPTS": Setting("6", int),
    "RECORDING_LEASE_SECONDS": Setting("60", float),
    "RECORDING_POLL_SECONDS": Setting("2", float),
    # Job slots of each kind in one worker process; RECORDING_WORKER_CONCURRENCY, the one
    # count of slots shared by every kind before, now counts the upload slots.
    "WORKER_UPLOAD_CONCURRENCY": Setting("2", int, aliases=("RECORDING_WORKER_CONCURRENCY",)),
    "WORKER_ROOM_DELETION_CONCURRENCY": Setting("1", int),
    "WORKER_WEBHOOK_CONCURRENCY": Setting("4", int),
    "RECORDING_METRICS_PORT": Setting(None, int),
    "RECORDING_DOWNLOAD_TIMEOUT_SECONDS": Setting("60", float),
    "RECORDING_DOWNLOAD_DEADLINE_SECONDS": Setting("3600", float),
    "RECORDING_MAX_BYTES": Setting(str(20 * 1024**3), int),
    "RECORDING_RETENTION_DAYS": Setting(None, float),  # None: kept for ever
    "SESSION_SWEEP_SECONDS": Setting("60", float),
    "RECORDING_RECONCILE_SECONDS": Setting("600", float),
    "RECORDING_RECONCILE_LOOKBACK_HOURS": Setting("48", float),
    # Outbound webhooks (see docs/operations.md)
    "WEBHOOKS_ALLOW_PRIVATE": Setting("false", boolean),
    "WEBHOOKS_DEADLINE_SECONDS": Setting("5", float, aliases=("WEBHOOKS_TIMEOUT_SECONDS",)),
    "WEBHOOKS_RETRY_BASE_SECONDS": Setting("30", float),
    "WEBHOOKS_DISABLE_AFTER_FAILURES": Setting("20", int),
}
# Settings that take one of a few words.
CHOICES = {
    "APP_ENV": ("development", "test", "production"),
    "LOG_LEVEL": ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
    "LOG_FORMAT": ("json", "text"),
    "DAILY_ROOM_PRIVACY": ("public", "private"),
    "DAILY_AUTO_RECORD": ("off", "owner"),
    "AUTH_POLICY": ("compat", "audit", "strict"),
    "RECORDING_DELIVERY": ("public", "authenticated"),
    "RATE_LIMIT_STORAGE": ("database", "memory"),
    "DAILY_PACING_STORAGE": ("database", "memory"),
}
ORDER = {name: index for index, name in enumerate(SETTINGS)}


class ConfigError(Exception):
    """Settings are missing or malformed; the message names every problem, on one line."""


def _from_environ(name, aliases):
    for key in (name, *aliases):
        value = os.environ.get(key)
        if value not in (None, ""):
            return value
    return None


def _convert(name, setting, value):
    """Read `value` as the setting's type; values already typed (from `overrides`) pass,
    but numbers, which are made int or float whatever they were given as."""
    if setting.type is str or not (isinstance(value, str) or setting.type in (int, float)):
        return value
    try:
        return setting.type(value)
    except (TypeError, ValueError):
        expected = EXPECTED.get(setting.type, "valid")
        raise ConfigError(f"{name} must be {expected}, got {value!r}") from None


def _read(overrides):
    """(the settings, the values given for them, the problems of reading those values)."""
    config, given, problems = {}, {}, []
    for name, setting in SETTINGS.items():
        value = overrides.pop(name) if name in overrides else _from_environ(name, setting.aliases)
        if value is not None and value != "":
            given[name] = value
        value = given.get(name, setting.default)
        try:
            config[name] = None if value is None else _convert(name, setting, value)
        except ConfigError as error:
            config[name] = None
            problems.append(str(error))
    return config, given, problems


def _choice_problems(config, given):
    return [
        f"{name} must be {' or '.join(choices)}, got {given.get(name, config[name])!r}"
        for name, choices in CHOICES.items()
        if config[name] is not None and config[name] not in choices
    ]


def load_config(overrides: Mapping | None = None) -> dict:
    """Return the settings: `overrides`, else the environment (or an alias), else the default.

    Raise one ConfigError naming every problem, in the order of SETTINGS:
    `Invalid settings: JWT_SECRET_KEY is required in production; LOG_LEVEL must be ...`.
    """
    overrides = dict(overrides or {})
    config, given, problems = _read(overrides)
    config.update(overrides)  # Flask settings such as TESTING pass through untouched

    problems += _choice_problems(config, given)
    problems += value_problems(config)
    if config["APP_ENV"] == "production":
        problems += production_problems(config, set(given))
    if problems:
        problems.sort(key=lambda problem: ORDER.get(problem.split(" ", 1)[0], len(ORDER)))
        raise ConfigError("Invalid settings: " + "; ".join(problems))

    if config["DOCS_ENABLED"] is None:
        config["DOCS_ENABLED"] = config["APP_ENV"] != "production"
    config["JWT_SECRET_IS_GENERATED"] = config["JWT_SECRET_KEY"] is None
    if config["JWT_SECRET_IS_GENERATED"]:
        config["JWT_SECRET_KEY"] = secrets.token_urlsafe(32)
    return config


# Settings whose values are never logged: the start-up line says only whether they are set.
