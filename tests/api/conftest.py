"""Fixtures of the API tests: an app configured for production."""

import pytest

from tests.support.sandbox import WEBHOOK_SECRET


@pytest.fixture
def production_app(make_app):
    """An app configured for production (its MongoDB is unreachable and not needed), with
    every setting production requires."""
    return make_app(
        APP_ENV="production",
        MONGODB_URI="mongodb://127.0.0.1:1/x",
        MONGODB_TIMEOUT_MS=50,
        CORS_ORIGINS="https://app.example.com",
        DAILY_WEBHOOK_SECRET=WEBHOOK_SECRET,
        CLOUD_NAME="c",
        CLOUD_API_KEY="k",
        CLOUD_API_SECRET="s",
    )
