"""livesessions: live classes on Daily.co, a drop-in port of the Node Live Sessions API."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from flask_cors import CORS

from .auth import init_auth
from .cli import register_commands
from .config import load_config
from .daily_webhook import check_webhook
from .db import Database, connect
from .errors import register_error_handlers
from .events import DailyEvents
from .gateways.cloudinary import CloudinaryClient
from .gateways.daily import DailyClient
from .jsonprovider import OrjsonProvider
from .observability import bp as probes_bp
from .observability import configure_logging, register_request_hooks
from .openapi import register_docs
from .recordings import PeriodicTask, RecordingService, RecordingWorker
from .routes import bp as sessions_bp
from .schemas import utcnow
from .service import SessionService
from .store import AttendanceStore, RecordingStore, SessionStore, StateStore

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the views and commands use, built once per app."""

    database: Database
    store: SessionStore
    daily: DailyClient
    service: SessionService
    recording_store: RecordingStore
    cloudinary: CloudinaryClient
    recordings: RecordingService
    events: DailyEvents
    state: StateStore
    worker_settings: dict
    sweep_seconds: float
    reconcile_seconds: float
    reconcile_lookback: timedelta

    def reconcile(self, since=None):
        """Find finished recordings whose webhook never came (see RecordingService)."""
        return self.recordings.reconcile(since or utcnow() - self.reconcile_lookback)

    def check_webhook(self):
        return check_webhook(self.daily, self.state)

    def make_worker(self, **overrides):
        """A recording worker over this app's store and gateways, with its periodic tasks."""
        settings = {
            "periodic": [
                PeriodicTask("end overdue sessions", self.sweep_seconds, self.service.end_overdue),
                PeriodicTask("reconcile recordings", self.reconcile_seconds, self.reconcile),
                PeriodicTask("check the Daily webhook", self.reconcile_seconds, self.check_webhook),
            ],
            **self.worker_settings,
            **overrides,
        }
        return RecordingWorker(
            self.recording_store, self.store, self.daily, self.cloudinary, **settings
        )


def create_app(config=None):
    """Build the Flask app; `config` values override environment variables of the same name."""
    app = Flask(__name__, static_folder=None)
    app.json = OrjsonProvider(app)  # keeps the spec's key order (no sorting)
    app.config.update(load_config(config))
    app.url_map.strict_slashes = False  # Express matched `/sessions/` like `/sessions`
    app.url_map.merge_slashes = False  # `//` is a 404 {"message"}, not an HTML redirect
    configure_logging(app)
    warn_about_development_defaults(app)
    register_extensions(app)
    register_services(app)
    app.register_blueprint(sessions_bp)
    app.register_blueprint(probes_bp)
    register_docs(app)
    register_error_handlers(app)
    register_request_hooks(app)
    register_commands(app)
    return app


def warn_about_development_defaults(app):
    """Say loudly which stand-ins are in use, so nobody ships them by accident."""
    if app.config["JWT_SECRET_IS_GENERATED"]:
        log.warning("JWT_SECRET_KEY is not set: using a random secret valid for this process only")
    if app.config["MONGODB_URI"].startswith("mongomock://"):
        log.warning("MONGODB_URI is the embedded in-memory store: data is lost on exit")
    if not app.config["DAILY_WEBHOOK_SECRET"]:
        log.warning("DAILY_WEBHOOK_SECRET is not set: webhooks are accepted without a signature")
    if not app.config["DAILY_API_KEY"]:
        log.warning(
            "DAILY_API_KEY is not set: Daily.co calls go unauthenticated to %s",
            app.config["DAILY_API_URL"],
        )


def register_extensions(app):
    """Attach CORS and JWT authentication."""
    # always_send=False: no CORS work for requests without an Origin (not from a browser)
    CORS(
        app,
        origins=app.config["CORS_ORIGINS"],
        expose_headers=["X-Request-ID"],
        always_send=False,
    )
    init_auth(app)


def register_services(app):
    """Connect to MongoDB, create the indexes, and build the store and gateways."""
    database = connect(app.config["MONGODB_URI"], app.config["MONGODB_TIMEOUT_MS"])
    try:
        database.ensure_indexes()
    except Exception as error:  # the service still starts; `flask db init` retries
        log.error("could not create indexes at start-up: %r", error)
    store = SessionStore(database)
    attendance = AttendanceStore(database)
    daily = DailyClient(
        app.config["DAILY_API_URL"],
        app.config["DAILY_API_KEY"],
        timeout=app.config["DAILY_TIMEOUT_SECONDS"],
        backoff=app.config["DAILY_RETRY_BACKOFF_SECONDS"],
    )
    service = SessionService(
        store,
        daily,
        app.config["DAILY_ROOM_EXP_GRACE_MINUTES"],
        attendance=attendance,
        room_privacy=app.config["DAILY_ROOM_PRIVACY"],
        join_early_minutes=app.config["JOIN_OPENS_MINUTES_BEFORE"],
    )
    recording_store = RecordingStore(database)
    recordings = RecordingService(store, recording_store, daily)
    cloudinary = CloudinaryClient(
        app.config["CLOUD_NAME"],
        app.config["CLOUD_API_KEY"],
        app.config["CLOUD_API_SECRET"],
        upload_prefix=app.config["CLOUDINARY_UPLOAD_PREFIX"],
        chunk_size=app.config["CLOUDINARY_CHUNK_SIZE"],
        timeout=app.config["CLOUDINARY_TIMEOUT_SECONDS"],
    )
    app.extensions["livesessions"] = Services(
        database=database,
        store=store,
        daily=daily,
        service=service,
        recording_store=recording_store,
        cloudinary=cloudinary,
        recordings=recordings,
        state=StateStore(database),
        events=DailyEvents(store, attendance, recordings),
        worker_settings={
            "lease_seconds": app.config["RECORDING_LEASE_SECONDS"],
            "max_attempts": app.config["RECORDING_MAX_ATTEMPTS"],
            "retry_base_seconds": app.config["RECORDING_RETRY_BASE_SECONDS"],
            "download_timeout": app.config["RECORDING_DOWNLOAD_TIMEOUT_SECONDS"],
            "poll_seconds": app.config["RECORDING_POLL_SECONDS"],
        },
        sweep_seconds=app.config["SESSION_SWEEP_SECONDS"],
        reconcile_seconds=app.config["RECORDING_RECONCILE_SECONDS"],
        reconcile_lookback=timedelta(hours=app.config["RECORDING_RECONCILE_LOOKBACK_HOURS"]),
    )
