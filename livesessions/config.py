"""Configuration read from the environment, with the aliases the Node service used."""

import os
import secrets

# name -> (aliases, default). Every name here is documented in .env.example and the README.
SETTINGS = {
    # Server
    "PORT": ((), "7000"),
    "APP_ENV": ((), "development"),
    "LOG_LEVEL": ((), "INFO"),
    "LOG_FORMAT": ((), "json"),
    "CORS_ORIGINS": ((), "*"),
    "MAX_CONTENT_LENGTH": ((), str(1024 * 1024)),
    # Database
    "MONGODB_URI": (("MONGO_URI",), "mongomock://localhost/livesessions"),
    "MONGODB_TIMEOUT_MS": ((), "5000"),
    # Authentication
    "JWT_SECRET_KEY": (("JWT_SECRET",), None),
    "JWT_IDENTITY_CLAIM": ((), "sub"),
    "JWT_ROLE_CLAIM": ((), "role"),
    "ADMIN_ROLES": ((), "admin"),
    "JWT_NAME_CLAIM": ((), "name"),
    # Daily.co
    "DAILY_API_KEY": ((), None),
    "DAILY_API_URL": ((), "https://api.daily.co/v1"),
    "DAILY_WEBHOOK_SECRET": ((), None),
    "DAILY_WEBHOOK_TOLERANCE_SECONDS": ((), "300"),
    "DAILY_TIMEOUT_SECONDS": ((), "10"),
    "DAILY_RETRY_BACKOFF_SECONDS": ((), "0.5"),
    "DAILY_ROOM_EXP_GRACE_MINUTES": ((), "30"),
    "DAILY_ROOM_PRIVACY": ((), "public"),
    "JOIN_OPENS_MINUTES_BEFORE": ((), "15"),
    # Cloudinary
    "CLOUD_NAME": ((), None),
    "CLOUD_API_KEY": ((), None),
    "CLOUD_API_SECRET": ((), None),
    "CLOUDINARY_UPLOAD_PREFIX": ((), None),
    "CLOUDINARY_CHUNK_SIZE": ((), "6000000"),
    "CLOUDINARY_TIMEOUT_SECONDS": ((), "60"),
    # Recording jobs
    "RECORDING_RETRY_BASE_SECONDS": ((), "30"),
    "RECORDING_MAX_ATTEMPTS": ((), "6"),
    "RECORDING_LEASE_SECONDS": ((), "900"),
    "RECORDING_POLL_SECONDS": ((), "2"),
    "RECORDING_DOWNLOAD_TIMEOUT_SECONDS": ((), "60"),
    "SESSION_SWEEP_SECONDS": ((), "60"),
    "RECORDING_RECONCILE_SECONDS": ((), "600"),
    "RECORDING_RECONCILE_LOOKBACK_HOURS": ((), "48"),
}

INTEGER_SETTINGS = {
    "PORT",
    "MAX_CONTENT_LENGTH",
    "MONGODB_TIMEOUT_MS",
    "DAILY_ROOM_EXP_GRACE_MINUTES",
    "JOIN_OPENS_MINUTES_BEFORE",
    "RECORDING_MAX_ATTEMPTS",
    "CLOUDINARY_CHUNK_SIZE",
    "DAILY_WEBHOOK_TOLERANCE_SECONDS",
}
FLOAT_SETTINGS = {
    "DAILY_TIMEOUT_SECONDS",
    "DAILY_RETRY_BACKOFF_SECONDS",
    "RECORDING_RETRY_BASE_SECONDS",
    "RECORDING_LEASE_SECONDS",
    "RECORDING_POLL_SECONDS",
    "RECORDING_DOWNLOAD_TIMEOUT_SECONDS",
    "CLOUDINARY_TIMEOUT_SECONDS",
    "SESSION_SWEEP_SECONDS",
    "RECORDING_RECONCILE_SECONDS",
    "RECORDING_RECONCILE_LOOKBACK_HOURS",
}
LIST_SETTINGS = {"CORS_ORIGINS", "ADMIN_ROLES"}

# Settings that must be given explicitly when APP_ENV=production.
PRODUCTION_REQUIRED = (
    "JWT_SECRET_KEY",
    "MONGODB_URI",
    "DAILY_API_KEY",
    "CLOUD_NAME",
    "CLOUD_API_KEY",
    "CLOUD_API_SECRET",
)


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


def _from_environ(name, aliases):
    for key in (name, *aliases):
        value = os.environ.get(key)
        if value not in (None, ""):
            return value
    return None


def _convert(name, value):
    try:
        if name in INTEGER_SETTINGS:
            return int(value)
        if name in FLOAT_SETTINGS:
            return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"Setting {name} must be a number, got {value!r}") from None
    if name in LIST_SETTINGS and isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def load_config(overrides=None):
    """Return the settings: `overrides`, else the environment (or an alias), else the default."""
    overrides = dict(overrides or {})
    config = {}
    explicit = set()
    for name, (aliases, default) in SETTINGS.items():
        value = overrides.pop(name) if name in overrides else _from_environ(name, aliases)
        if value is None:
            value = default
        else:
            explicit.add(name)
        config[name] = _convert(name, value) if value is not None else None
    config.update(overrides)  # Flask settings such as TESTING pass through untouched

    if config["LOG_FORMAT"] not in ("json", "text"):
        raise ConfigError(f"LOG_FORMAT must be json or text, got {config['LOG_FORMAT']!r}")
    if config["DAILY_ROOM_PRIVACY"] not in ("public", "private"):
        raise ConfigError(
            f"DAILY_ROOM_PRIVACY must be public or private, got {config['DAILY_ROOM_PRIVACY']!r}"
        )
    if config["APP_ENV"] == "production":
        missing = [name for name in PRODUCTION_REQUIRED if name not in explicit]
        if missing:
            raise ConfigError("Missing required settings for production: " + ", ".join(missing))
        if config["MONGODB_URI"].startswith("mongomock://"):
            raise ConfigError("MONGODB_URI must point at a real MongoDB in production")
    config["JWT_SECRET_IS_GENERATED"] = config["JWT_SECRET_KEY"] is None
    if config["JWT_SECRET_IS_GENERATED"]:
        config["JWT_SECRET_KEY"] = secrets.token_urlsafe(32)
    return config
