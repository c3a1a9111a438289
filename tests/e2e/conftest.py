"""Fixtures of the end-to-end tests: the environment of a server subprocess."""

import os

import pytest

from livesessions.config import SETTINGS
from tests.support.processes import SERVER_SECRET

# Variables make run's own start-up reads (not settings of the app).
DEV_SERVER_VARIABLES = ("HOST", "DAILY_SANDBOX_PORT", "CLOUDINARY_SANDBOX_PORT")


@pytest.fixture
def server_env():
    """The environment for a server subprocess: none of the developer's own settings.

    Every setting is given, empty (which means unset), so that a `.env` left in the project
    by `make run` can't fill them in either: python-dotenv never overrides a variable that
    is there.
    """
    names = {key for name, setting in SETTINGS.items() for key in (name, *setting.aliases)} | set(
        DEV_SERVER_VARIABLES
    )
    env = {key: value for key, value in os.environ.items() if key not in names}
    return (
        env | dict.fromkeys(names, "") | {"JWT_SECRET_KEY": SERVER_SECRET, "PYTHONUNBUFFERED": "1"}
    )
