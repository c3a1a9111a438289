"""Fixtures of the API tests: an app configured for production."""

import pytest


@pytest.fixture
def production_app(make_app):
    """An app configured for production (its MongoDB is unreachable and not needed)."""
    return make_app(
        APP_ENV="production",
        MONGODB_URI="mongodb://127.0.0.1:1/x",
        MONGODB_TIMEOUT_MS=50,
        CLOUD_NAME="c",
        CLOUD_API_KEY="k",
        CLOUD_API_SECRET="s",
    )
