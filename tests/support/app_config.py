"""The test app's settings: its JWT secret and its database."""

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

JWT_SECRET = "test-secret-" + "0123456789abcdef" * 4  # 76 bytes: long enough for HS512


def database_uri_for_test():
    """mongomock by default; a fresh database on the real server when TEST_MONGODB_URI is set."""
    base = os.environ.get("TEST_MONGODB_URI")
    if not base:
        return "mongomock://localhost/livesessions_test"
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/livesessions_test_{uuid.uuid4().hex[:12]}"))
