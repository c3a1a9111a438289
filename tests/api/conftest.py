"""Fixtures of the API tests: an app configured for production."""

import pytest

from tests.support.app_config import PRODUCTION


@pytest.fixture
def production_app(make_app):
    """An app configured for production, with every setting production requires (CORS
    origins and a webhook secret included); its MongoDB is unreachable and not needed."""
    return make_app(**PRODUCTION)
