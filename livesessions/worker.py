"""The worker process's composition: the job kinds the features register (uploads, room
deletions, outbound deliveries) and the periodic housekeeping, over an app's services
(`Services.make_worker`, `flask --app wsgi recordings worker`)."""

import dataclasses
import functools
from dataclasses import dataclass

from .daily.room_deletions import RoomDeletions
from .jobs.periodic import PeriodicTask
from .jobs.worker import Worker, WorkerSettings
from .recordings.downloads import Downloads
from .recordings.uploads import UploadJobs


@dataclass(frozen=True)
class JobSettings:
    """The worker's numbers, from config: its id and poll, each kind's slots, the jobs'
    lease and retries, the uploads' downloads (`make_worker`'s overrides replace them)."""

    worker_id: str | None = None
    poll_seconds: float = 2
    lease_seconds: float = 60
    max_attempts: int = 6
    retry_base_seconds: float = 30
    download_timeout: float = 60
    max_download_bytes: int = 20 * 1024**3
    download_deadline_seconds: float = 3600
    download_dir: str | None = None
    upload_concurrency: int = 2
    room_deletion_concurrency: int = 1
    webhook_concurrency: int = 4

    @classmethod
    def from_config(cls, config) -> "JobSettings":
        return cls(
            lease_seconds=config["RECORDING_LEASE_SECONDS"],
            max_attempts=config["RECORDING_MAX_ATTEMPTS"],
            retry_base_seconds=config["RECORDING_RETRY_BASE_SECONDS"],
            download_timeout=config["RECORDING_DOWNLOAD_TIMEOUT_SECONDS"],
            max_download_bytes=config["RECORDING_MAX_BYTES"],
            download_deadline_seconds=config["RECORDING_DOWNLOAD_DEADLINE_SECONDS"],
            poll_seconds=config["RECORDING_POLL_SECONDS"],
            upload_concurrency=config["WORKER_UPLOAD_CONCURRENCY"],
            room_deletion_concurrency=config["WORKER_ROOM_DELETION_CONCURRENCY"],
            webhook_concurrency=config["WORKER_WEBHOOK_CONCURRENCY"],
        )


def periodic_tasks(services) -> list[PeriodicTask]:
    """The worker's housekeeping, beside its jobs."""
    return [
        PeriodicTask(
            "end overdue sessions", services.sweep_seconds, services.session_service.end_overdue
        ),
        PeriodicTask("reconcile recordings", services.reconcile_seconds, services.reconcile),
        PeriodicTask(
            "emit final attendance", services.sweep_seconds, services.final_attendance.run
        ),
        PeriodicTask("check the Daily webhook", services.reconcile_seconds, services.check_webhook),
        PeriodicTask(
            "delete recordings past their retention",
            services.reconcile_seconds,
            services.recording_library.purge,
        ),
    ]


def build_worker(services, **overrides) -> Worker:
    """A worker over this app's stores and gateways, running the upload, room-deletion
    and webhook kinds, with its periodic tasks; `overrides` replace JobSettings' fields
    or the wiring (periodic, worker_store, task_leases, webhooks, recording_events)."""
    wiring = {
        "periodic": None,
        "worker_store": services.worker_store,
        "task_leases": services.task_leases,
        "webhooks": services.webhook_delivery,
        "recording_events": services.recording_library,  # publishes `ready(job)` to the hub
    }
    wiring.update({name: overrides.pop(name) for name in wiring if name in overrides})
    settings = dataclasses.replace(services.worker_settings, **overrides)
    downloads = Downloads(
        settings.download_dir,
        max_bytes=settings.max_download_bytes,
        deadline_seconds=settings.download_deadline_seconds,
        read_timeout=settings.download_timeout,
    )
    uploads = UploadJobs(
        services.job_store,
        services.session_store,
        services.daily,
        services.cloudinary,
        downloads,
        max_attempts=settings.max_attempts,
        retry_base_seconds=settings.retry_base_seconds,
        recording_events=wiring["recording_events"],
    )
    rooms = RoomDeletions(
        services.job_store,
        services.session_store,
        services.daily,
        max_attempts=settings.max_attempts,
        retry_base_seconds=settings.retry_base_seconds,
    )
    lease = settings.lease_seconds
    kinds = [  # in this order: the slots are numbered so
        uploads.kind(settings.upload_concurrency, lease),
        rooms.kind(settings.room_deletion_concurrency, lease),
        wiring["webhooks"].kind(settings.webhook_concurrency, lease),
    ]
    # a killed worker's downloads are cleared as a worker starts
    clear = functools.partial(downloads.remove_stale, older_than_seconds=lease)
    return Worker(
        services.job_store,
        kinds,
        WorkerSettings(settings.worker_id, settings.poll_seconds, on_start=clear),
        periodic=periodic_tasks(services) if wiring["periodic"] is None else wiring["periodic"],
        worker_store=wiring["worker_store"],
        task_leases=wiring["task_leases"],
    )
