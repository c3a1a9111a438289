"""The service container: every store, gateway and domain service of one app, wired once."""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .auth.policy import PLATFORM, AccessPolicy
from .auth.tokens import TokenVerifier
from .clock import utcnow
from .config_report import log_startup_report
from .daily.client import DailyClient
from .daily.events import DailyEvents
from .daily.receive import SignatureCheck
from .daily.repository import WebhookEventStore
from .daily.setup import check_webhook
from .db import Database, connect
from .events import EventHub
from .jobs.heartbeats import QueueHealth, WorkerStore
from .jobs.leases import TaskLeaseStore
from .jobs.repository import JobStore
from .jobs.worker import Worker
from .lifecycle import ClassWindow
from .metrics import MetricsAccess
from .outbound.attempts_repository import WebhookAttemptStore
from .outbound.attendance_events import FinalAttendance
from .outbound.delivery import WebhookDelivery
from .outbound.emitter import WebhookEmitter
from .outbound.recording_events import RecordingEvents
from .outbound.repository import WebhookStore
from .outbound.service import WebhookService
from .outbound.session_events import SessionEvents
from .recordings.cloudinary import CloudinaryClient
from .recordings.library import RecordingLibrary
from .recordings.repository import RecordingStore
from .recordings.service import RecordingService
from .service_state import StateStore
from .sessions.attendance_repository import AttendanceStore
from .sessions.feed_keys import CalendarFeeds
from .sessions.meeting_events import MeetingEvents
from .sessions.platform_repository import PlatformStore
from .sessions.repository import SessionStore
from .sessions.serialize import POPULATED, SessionPresenter
from .sessions.series_service import SeriesService
from .sessions.service import SessionService
from .worker import JobSettings, build_worker


@dataclass
class Services:
    """What the views, commands and workers use, built once per app."""

    database: Database
    session_store: SessionStore
    recording_store: RecordingStore
    job_store: JobStore
    attendance_store: AttendanceStore
    platform_store: PlatformStore
    state_store: StateStore
    worker_store: WorkerStore
    task_leases: TaskLeaseStore
    daily: DailyClient
    cloudinary: CloudinaryClient
    session_service: SessionService
    series_service: SeriesService
    recording_service: RecordingService
    recording_library: RecordingLibrary
    events: DailyEvents
    webhook_store: WebhookStore
    webhook_service: WebhookService
    webhook_delivery: WebhookDelivery
    webhook_emitter: WebhookEmitter
    final_attendance: FinalAttendance
    tokens: TokenVerifier
    daily_signature: SignatureCheck
    calendar_feeds: CalendarFeeds
    metrics_access: MetricsAccess
    startup_report: Callable[[], None]  # logged by a server (a `recordings worker`) as it starts
    production: bool  # APP_ENV=production: the development commands refuse
    policy: AccessPolicy = field(default_factory=AccessPolicy)
    presenter: SessionPresenter = field(default_factory=SessionPresenter)
    worker_settings: JobSettings = field(default_factory=JobSettings)
    sweep_seconds: float = 60
    reconcile_seconds: float = 600
    reconcile_lookback: timedelta = timedelta(hours=48)

    def reconcile(self, since: datetime | None = None) -> tuple[int, int]:
        """Find finished recordings whose webhook never came (see RecordingService)."""
        return self.recording_service.reconcile(since or utcnow() - self.reconcile_lookback)

    def queue_health(self) -> QueueHealth:
        now = utcnow()
        return QueueHealth(self.worker_store.live(now), self.job_store.oldest_due(now), now)

    def check_webhook(self) -> dict:
        return check_webhook(self.daily, self.state_store)

    def make_worker(self, **overrides) -> Worker:
        """A worker running this app's job kinds and periodic tasks (see worker.py)."""
        return build_worker(self, **overrides)


def build_services(config) -> Services:
    """Connect to MongoDB and build the stores, gateways and services `config` describes."""
    database = connect(config["MONGODB_URI"], config["MONGODB_TIMEOUT_MS"])
    session_store = SessionStore(database)
    recording_store = RecordingStore(database)
    job_store = JobStore(database)
    attendance_store = AttendanceStore(database)
    platform_store = PlatformStore(database)
    webhook_store = WebhookStore(database)
    webhook_attempts = WebhookAttemptStore(database)
    emitter = WebhookEmitter(webhook_store, job_store)
    daily = DailyClient.from_config(config, database)
    cloudinary = CloudinaryClient.from_config(config)
    policy = AccessPolicy.from_config(config)
    hub = EventHub()  # the features publish their stored changes; outbound subscribes
    presenter = SessionPresenter(sign=cloudinary.signed_asset_url, policy=policy)

    def shown(doc):
        """A session as GET /sessions/:id shows it to an admin (course and instructor
        populated): the platform's receivers get what an admin would."""
        detail = presenter.detail(doc, PLATFORM)
        platform_store.populate([detail], *POPULATED)
        return detail

    window = ClassWindow.from_config(config)
    session_service = SessionService(
        session_store,
        daily,
        window,
        policy=policy,
        attendance_store=attendance_store,
        platform_store=platform_store,
        job_store=job_store,
        room_privacy=config["DAILY_ROOM_PRIVACY"],
        # Daily's waiting room is for private rooms (a public one lets everyone in)
        room_knocking=config["DAILY_KNOCKING"] and config["DAILY_ROOM_PRIVACY"] == "private",
        auto_record=config["DAILY_AUTO_RECORD"] == "owner",
        events=hub,
    )
    recording_service = RecordingService(
        session_store, recording_store, job_store, daily, window=window, policy=policy
    )
    recording_library = RecordingLibrary(
        session_store,
        recording_store,
        job_store,
        cloudinary,
        retention_days=config["RECORDING_RETENTION_DAYS"],
        events=hub,
    )
    # the outbound webhooks subscribe to the domain events
    SessionEvents(emitter, shown, session_store.find_any).subscribe(hub)
    RecordingEvents(emitter, recording_library).subscribe(hub)
    meetings = MeetingEvents(session_store, attendance_store, events=hub)
    services = Services(
        database=database,
        session_store=session_store,
        recording_store=recording_store,
        job_store=job_store,
        attendance_store=attendance_store,
        platform_store=platform_store,
        state_store=StateStore(database),
        worker_store=WorkerStore(database),
        task_leases=TaskLeaseStore(database),
        daily=daily,
        cloudinary=cloudinary,
        session_service=session_service,
        series_service=SeriesService(session_service, session_store, job_store),
        recording_service=recording_service,
        recording_library=recording_library,
        events=DailyEvents(
            WebhookEventStore(database), daily_handlers(meetings, recording_service)
        ),
        webhook_store=webhook_store,
        webhook_service=WebhookService(
            webhook_store,
            webhook_attempts,
            job_store,
            allow_private=config["WEBHOOKS_ALLOW_PRIVATE"],
        ),
        webhook_delivery=WebhookDelivery.from_config(
            config, webhook_store, webhook_attempts, job_store
        ),
        webhook_emitter=emitter,
        final_attendance=FinalAttendance(session_store, attendance_store, window, emitter),
        tokens=TokenVerifier.from_config(config),
        daily_signature=SignatureCheck.from_config(config),
        calendar_feeds=CalendarFeeds.from_config(config),
        metrics_access=MetricsAccess.from_config(config),
        startup_report=functools.partial(log_startup_report, config),
        production=config["APP_ENV"] == "production",
        policy=policy,
        presenter=presenter,
        worker_settings=JobSettings.from_config(config),
        sweep_seconds=config["SESSION_SWEEP_SECONDS"],
        reconcile_seconds=config["RECORDING_RECONCILE_SECONDS"],
        reconcile_lookback=timedelta(hours=config["RECORDING_RECONCILE_LOOKBACK_HOURS"]),
    )
    return services


def daily_handlers(meetings: MeetingEvents, recordings: RecordingService) -> dict:
    """Each Daily event type -> what it changes (one explicit table)."""
    return {
        "meeting.started": meetings.on_meeting_started,
        "meeting.ended": meetings.on_meeting_ended,
        "room.exp": meetings.on_meeting_over,
        "participant.joined": meetings.on_participant,
        "participant.left": meetings.on_participant,
        "recording.started": recordings.on_started,
        "recording.stopped": recordings.on_stopped,
        "recording.ready-to-download": recordings.on_ready,
        "recording.error": recordings.on_error,
    }
