"""Flask extensions (CORS) and the one accessor for the services."""

from flask import current_app
from flask_cors import CORS

SERVICES_KEY = "livesessions"  # app.extensions[SERVICES_KEY] is the app's Services


def init_extensions(app) -> None:
    """Attach CORS."""
    # always_send=False: no CORS work for requests without an Origin (not from a browser)
    CORS(
        app,
        origins=app.config["CORS_ORIGINS"],
        expose_headers=["X-Request-ID"],
        always_send=False,
    )


def services():
    """The current app's `services.Services` (stores, gateways, domain services). Not
    imported here, so that every module may use this accessor without an import cycle."""
    return current_app.extensions[SERVICES_KEY]
