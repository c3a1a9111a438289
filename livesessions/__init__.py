"""livesessions: live classes on Daily.co, a drop-in port of the Node Live Sessions API."""

import logging
from collections.abc import Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .auth.tokens import init_auth
from .cli import register_commands
from .config import load_config
from .daily.receive import bp as daily_bp
from .errors import register_error_handlers
from .extensions import SERVICES_KEY, init_extensions
from .http import OrjsonProvider
from .indexes import ensure_indexes
from .observability import configure_logging, register_request_hooks
from .openapi import register_docs
from .outbound.routes import bp as webhooks_bp
from .probes import bp as probes_bp
from .ratelimit import init_rate_limits
from .recordings.routes import bp as recordings_bp
from .recordings.routes import library_bp as recording_library_bp
from .services import build_services
from .sessions.feeds import bp as feeds_bp
from .sessions.reports import bp as reports_bp
from .sessions.routes import bp as sessions_bp
from .sessions.series import bp as series_bp

log = logging.getLogger(__name__)


def create_app(config: Mapping | None = None) -> Flask:
    """Build the Flask app; `config` values override environment variables of the same name.

    Settings that can't work raise ConfigError before anything else is done. The app logs
    nothing about its settings: a command prints its own output only, and the servers log
    the start-up report themselves (livesessions/startup.py)."""
    app = Flask(__name__, static_folder=None)
    app.json = OrjsonProvider(app)  # keeps the spec's key order (no sorting)
    app.config.update(load_config(config))
    app.url_map.strict_slashes = False  # Express matched `/sessions/` like `/sessions`
    app.url_map.merge_slashes = False  # `//` is a 404 {"message"}, not an HTML redirect
    configure_logging(app.config)
    init_extensions(app)
    init_auth(app)
    register_services(app)
    blueprints = (
        sessions_bp,
        series_bp,
        feeds_bp,
        reports_bp,
        recordings_bp,
        recording_library_bp,
        daily_bp,
        webhooks_bp,
        probes_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    register_docs(app)
    register_error_handlers(app)
    register_request_hooks(app)
    init_rate_limits(app)
    register_commands(app)
    if app.config["PROXY_HOPS"]:  # the client's address is what the proxies in front saw
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"])
    return app


def register_services(app: Flask) -> None:
    """Build the app's services and create the indexes their queries need."""
    services = app.extensions[SERVICES_KEY] = build_services(app.config)
    try:
        ensure_indexes(services.database)
    except Exception as error:  # the service still starts; `flask db init` retries
        log.error("could not create indexes at start-up: %r", error)
