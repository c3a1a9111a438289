"""The test app's settings: its JWT secret and its database."""

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

JWT_SECRET = "test-secret-" + "0123456789abcdef" * 4  # 76 bytes: long enough for HS512
# Daily's API keys are 64 characters; tokens signed with a shorter one warn (RFC 7518 3.2).
DAILY_KEY = "test-daily-key-" + "0123456789abcdef" * 3


def database_uri_for_test():
    """mongomock by default; a fresh database on the real server when TEST_MONGODB_URI is set."""
    base = os.environ.get("TEST_MONGODB_URI")
    if not base:
        return "mongomock://localhost/livesessions_test"
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/livesessions_test_{uuid.uuid4().hex[:12]}"))


# Every setting production requires, each valid; its MongoDB is unreachable (and not needed).
PRODUCTION = {
    "APP_ENV": "production",
    "MONGODB_URI": "mongodb://127.0.0.1:1/x",
    "MONGODB_TIMEOUT_MS": 50,
    "JWT_SECRET_KEY": JWT_SECRET,
    "CORS_ORIGINS": "https://app.example.com, https://admin.example.com",
    "DAILY_API_KEY": DAILY_KEY,
    "DAILY_WEBHOOK_SECRET": "cHJvZHVjdGlvbi13ZWJob29rLXNlY3JldA==",
    "CLOUD_NAME": "c",
    "CLOUD_API_KEY": "k",
    "CLOUD_API_SECRET": "s",
    "PROXY_HOPS": 1,  # the Procfile's PaaS: one router in front
}
