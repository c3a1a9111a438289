"""Flask extensions (CORS, JWT authentication) and the one accessor for the services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app
from flask_cors import CORS

from .auth import init_auth

if TYPE_CHECKING:
    from .services import Services

SERVICES_KEY = "livesessions"  # app.extensions[SERVICES_KEY] is the app's Services


def init_extensions(app) -> None:
    """Attach CORS and JWT authentication."""
    # always_send=False: no CORS work for requests without an Origin (not from a browser)
    CORS(
        app,
        origins=app.config["CORS_ORIGINS"],
        expose_headers=["X-Request-ID"],
        always_send=False,
    )
    init_auth(app)


def services() -> Services:
    """The current app's services (store, gateways, domain services)."""
    return current_app.extensions[SERVICES_KEY]
