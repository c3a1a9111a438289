"""The recording worker: lease jobs and carry them out in several job slots at once (upload
a recording from Daily.co to Cloudinary, delete a deleted session's Daily room, or deliver
an outbound webhook), each kind in slots of its own, and run the periodic housekeeping
beside them."""

import contextlib
import logging
import os
import socket
import threading
import time
import uuid

from ..clock import utcnow
from ..daily.client import DailyClient
from ..jobs.heartbeats import HEARTBEAT_SECONDS, WorkerStore
from ..jobs.leases import TaskLeaseStore
from ..jobs.periodic import PeriodicTask
from ..jobs.repository import KINDS, ROOM_DELETION, UPLOAD, WEBHOOK, JobStore
from ..observability import job_context
from ..sessions.repository import SessionStore
from .cloudinary import CloudinaryClient
from .downloads import Downloads
from .room_deletions import RoomDeletions
from .uploads import Uploads

log = logging.getLogger(__name__)


class RecordingWorker(Uploads, RoomDeletions):
    """Lease jobs and carry them out: uploads (download from Daily, upload to Cloudinary),
    room deletions and outbound webhook deliveries.

    `run` carries out up to `upload_concurrency` uploads, `room_deletion_concurrency` room
    deletions and `webhook_concurrency` deliveries at once, each slot a thread that leases
    only jobs of its kind as `{worker_id}/{n}`: one stuck download holds one upload slot, and
    slow webhook receivers hold webhook slots, never an upload's or a room deletion's.
    Beside them it runs its periodic tasks (e.g. ending sessions whose time is over), one at
    a time.
    """

    def __init__(
        self,
        job_store: JobStore,
        session_store: SessionStore,
        daily: DailyClient,
        cloudinary: CloudinaryClient,
        *,
        lease_seconds=60,
        max_attempts=6,
        retry_base_seconds=30,
        download_timeout=60,
        max_download_bytes=20 * 1024**3,
        download_deadline_seconds=3600,
        download_dir=None,
        poll_seconds=2,
        upload_concurrency=2,
        room_deletion_concurrency=1,
        webhook_concurrency=4,
        worker_id=None,
        periodic=(),
        worker_store: WorkerStore | None = None,
        task_leases: TaskLeaseStore | None = None,
        webhooks=None,  # a WebhookDelivery: runs the `webhook` jobs
        recording_events=None,  # a RecordingEvents: `recording.ready` once uploaded
    ):
        self.jobs = job_store
        self.sessions = session_store
        self.daily = daily
        self.cloudinary = cloudinary
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.downloads = Downloads(
            download_dir,
            max_bytes=max_download_bytes,
            deadline_seconds=download_deadline_seconds,
            read_timeout=download_timeout,
        )
        self.poll_seconds = poll_seconds
        # the job slots of each kind, in the order of KINDS (their holders are numbered so)
        self.slots = {
            UPLOAD: upload_concurrency,
            ROOM_DELETION: room_deletion_concurrency,
            WEBHOOK: webhook_concurrency,
        }
        for kind, count in self.slots.items():
            if count < 1:
                raise ValueError(f"a worker needs at least one {kind} job slot, got {count}")
        self.periodic = list(periodic)
        self.worker_store = worker_store  # heartbeats while `run` runs (/readyz, `status`)
        self.task_leases = task_leases  # each periodic task in one worker at a time
        self.webhooks = webhooks
        self.recording_events = recording_events
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def process_next(self, holder: str | None = None, kind: str | None = None) -> bool:
        """Lease and process one due job of `kind` (one of KINDS; None: any) as `holder`
        (default: the worker's id); return False when none is due."""
        holder = holder or self.worker_id
        job = self.jobs.lease(holder, self.lease_seconds, self.max_attempts, kind)
        if job is None:
            return False
        with job_context(job["_id"]):
            self._process(job, holder)
        return True

    def _process(self, job, holder):
        log.debug("job %s leased by %s (attempt %s)", job["_id"], holder, job["attempts"])
        if job.get("takenOverFrom"):
            log.warning(
                "job %s taken over by %s from %s, whose lease ran out (attempt %s)",
                job["_id"],
                holder,
                job["takenOverFrom"],
                job["attempts"],
            )
        if job.get("kind") == WEBHOOK:  # one short POST: its timeout is well inside the lease
            return self.webhooks.run(job, holder)
        try:
            with self._lease_kept(job, holder):
                result = self.carry_out(job)
        except Exception as error:  # every failure is recorded on the job, never lost
            if job.get("kind") == ROOM_DELETION:
                self._retry_room_deletion(job, error, holder)
            else:
                self._record_failure(job, error, holder)
        else:
            completed = self.jobs.complete(job["_id"], holder, result)
            if job.get("kind") == ROOM_DELETION:
                log.info("room %s deleted by %s", job["room"], holder)
            else:
                log.info(
                    "recording %s uploaded to %s by %s", job["_id"], result["recordingUrl"], holder
                )
                if completed and self.recording_events is not None:
                    self.recording_events.ready(job)

    def carry_out(self, job: dict) -> dict:
        """Do the job's work; return its result (kept on the job)."""
        if job.get("kind") == ROOM_DELETION:
            return self.delete_room(job)
        return self.upload(job)

    @contextlib.contextmanager
    def _lease_kept(self, job, holder):
        """Renew the job's lease every third of its length while the block runs, so a long
        upload is not taken over by another worker; stop if the lease was lost anyway."""
        done = threading.Event()

        def renew():
            while not done.wait(self.lease_seconds / 3):
                try:
                    kept = self.jobs.renew_lease(job["_id"], holder, self.lease_seconds)
                except Exception as error:  # the database may be back before the lease ends
                    log.warning("recording job %s: lease renewal failed: %r", job["_id"], error)
                    continue
                if not kept:
                    log.warning("recording job %s: lease lost to another worker", job["_id"])
                    return

        renewer = threading.Thread(target=renew, name=f"lease-{job['_id']}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join()

    def drain(self) -> int:
        """Process jobs of every kind until none is due; return how many were processed."""
        count = 0
        while self.process_next():
            count += 1
        return count

    def run_periodic(self):
        """Run the periodic tasks that are due, each only if this worker holds it for the
        period (another may); one that fails is logged and runs again at its next turn."""
        now = time.monotonic()
        for task in self.periodic:
            if now < task.due:
                continue
            task.due = now + task.every_seconds
            try:
                if task.shared and not self._hold(task):
                    continue
                task.action()
            except Exception:
                log.exception("periodic task %r failed", task.name)

    def _hold(self, task):
        """Whether this worker runs `task` this period (always, without a lease store)."""
        if self.task_leases is None:
            return True
        return self.task_leases.claim(task.name, self.worker_id, task.every_seconds, utcnow())

    def run(self, stop):
        """Process jobs in the slots of each kind and run the periodic tasks until the
        `stop` event is set; return once every slot has finished its job in hand."""
        log.info(
            "recording worker %s started with %d slot(s): %s",
            self.worker_id,
            sum(self.slots.values()),
            ", ".join(f"{kind} {count}" for kind, count in self.slots.items()),
        )
        if self.worker_store is not None:
            beat = PeriodicTask("heartbeat", HEARTBEAT_SECONDS, self._beat, shared=False)
            self.periodic.insert(0, beat)
        self.downloads.remove_stale(older_than_seconds=self.lease_seconds)
        slots = self._slot_threads(stop)
        for slot in slots:
            slot.start()
        try:
            while not stop.is_set():
                self.run_periodic()
                stop.wait(self.poll_seconds)
        finally:
            stop.set()  # a no-op, unless this loop was interrupted: then the slots end too
            for slot in slots:
                slot.join()
            self._leave()
        log.info("recording worker %s stopped", self.worker_id)

    def _slot_threads(self, stop) -> list[threading.Thread]:
        """One thread per job slot: slot n (numbered across the kinds, from 1) leases jobs
        of its kind as `{worker_id}/{n}`."""
        kinds = [kind for kind in KINDS for _ in range(self.slots[kind])]
        return [
            threading.Thread(
                target=self._run_slot,
                args=(f"{self.worker_id}/{n}", kind, stop),
                name=f"{kind}-slot-{n}",
                daemon=True,  # as the dev server's worker thread: exiting never waits on them
            )
            for n, kind in enumerate(kinds, start=1)
        ]

    def _beat(self):
        self.worker_store.beat(self.worker_id, self.slots, utcnow())

    def _leave(self):
        if self.worker_store is None:
            return
        try:
            self.worker_store.leave(self.worker_id)
        except Exception as error:  # its heartbeat just ages out instead
            log.warning("recording worker %s: could not sign off: %r", self.worker_id, error)

    def _run_slot(self, holder, kind, stop):
        """One job slot: lease and process jobs of `kind` as `holder` until `stop` is set."""
        while not stop.is_set():
            try:
                busy = self.process_next(holder, kind)
            except Exception:  # e.g. the database is down: wait and try again
                log.exception("recording worker %s could not lease a job", holder)
                busy = False
            if not busy:
                stop.wait(self.poll_seconds)


def start_worker_thread(worker: RecordingWorker) -> threading.Event:
    """Run `worker` in a daemon thread (single-process setups); return its stop event."""
    stop = threading.Event()
    threading.Thread(target=worker.run, args=(stop,), name="recording-worker", daemon=True).start()
    return stop
