"""Fixtures of the end-to-end tests: the environment of a server subprocess."""

import os

import pytest

from tests.support.processes import SERVER_SECRET


@pytest.fixture
def server_env():
    """The environment for a server subprocess: none of the developer's own settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MONGO", "DAILY_", "JWT_", "APP_ENV", "CLOUD", "RECORDING_"))
    }
    return env | {"JWT_SECRET_KEY": SERVER_SECRET, "PYTHONUNBUFFERED": "1"}
