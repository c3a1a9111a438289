"""The worker: lease jobs and carry them out in several job slots at once, each kind
(registered by its feature, see kinds.py) in slots of its own, and run the periodic
housekeeping beside them. It knows nothing of what a kind's jobs do."""

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..clock import utcnow
from ..observability import job_context
from .heartbeats import HEARTBEAT_SECONDS, WorkerStore
from .kinds import JobKind, KindRegistry
from .leases import TaskLeaseStore
from .periodic import PeriodicTask
from .repository import JobStore, kind_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker runs, whatever its kinds: its id (default: host, pid and a random
    part), how long an idle slot and the periodic loop wait, and what it does as it
    starts (e.g. clear the downloads a killed worker left)."""

    worker_id: str | None = None
    poll_seconds: float = 2
    on_start: Callable[[], object] | None = None


class Worker:
    """Lease jobs and hand each to its kind's handler.

    `run` carries out up to each kind's `concurrency` jobs at once, each slot a thread that
    leases only jobs of its kind as `{worker_id}/{n}`: one stuck download holds one upload
    slot, and slow webhook receivers hold webhook slots, never an upload's or a room
    deletion's. Beside them it runs its periodic tasks (e.g. ending sessions whose time is
    over), one at a time. A job of a kind it doesn't know (a newer deploy's) is left alone.
    """

    def __init__(
        self,
        job_store: JobStore,
        kinds: Iterable[JobKind],
        settings: WorkerSettings = WorkerSettings(),
        *,
        periodic: Iterable[PeriodicTask] = (),
        worker_store: WorkerStore | None = None,
        task_leases: TaskLeaseStore | None = None,
    ):
        self.jobs = job_store
        self.kinds = kinds if isinstance(kinds, KindRegistry) else KindRegistry(kinds)
        self.settings = settings
        self.poll_seconds = settings.poll_seconds
        self.periodic = list(periodic)
        self.worker_store = worker_store  # heartbeats while `run` runs (/readyz, `status`)
        self.task_leases = task_leases  # each periodic task in one worker at a time
        self.worker_id = (
            settings.worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        )

    @property
    def slots(self) -> dict[str, int]:
        """{kind: its job slots}, in the order the kinds were registered."""
        return {kind.name: kind.concurrency for kind in self.kinds}

    def handler(self, name: str):
        """The handler of the kind `name`."""
        return self.kinds[name].handler

    def process_next(self, holder: str | None = None, kind: str | None = None) -> bool:
        """Lease and process one due job of `kind` (None: of any kind this worker runs) as
        `holder` (default: the worker's id); return False when none is due."""
        holder = holder or self.worker_id
        names = self._most_overdue_first() if kind is None else (kind,)
        for name in names:
            job = self._lease(holder, self.kinds[name])
            if job is not None:
                with job_context(job["_id"]):
                    self._process(job, holder, self.kinds[name])
                return True
        return False

    def _most_overdue_first(self) -> list[str]:
        """The kinds this worker runs, the one of the job due the longest first (the
        queue's order, as one lease of any kind took it), then in the order registered."""
        names = list(self.kinds.names())
        oldest = self.jobs.oldest_due(utcnow())
        kind = oldest and kind_of(oldest)
        if kind in names:
            names.remove(kind)
            names.insert(0, kind)
        return names

    def _lease(self, holder, kind):
        return self.jobs.lease(holder, kind.lease_seconds, kind.max_attempts, kind.name)

    def _process(self, job, holder, kind):
        log.debug("job %s leased by %s (attempt %s)", job["_id"], holder, job["attempts"])
        if job.get("takenOverFrom"):
            log.warning(
                "job %s taken over by %s from %s, whose lease ran out (attempt %s)",
                job["_id"],
                holder,
                job["takenOverFrom"],
                job["attempts"],
            )
        try:
            with self._lease_kept(job, holder, kind):
                result = kind.handler.carry_out(job, holder)
        except Exception as error:  # every failure is recorded on the job, never lost
            kind.handler.failed(job, error, holder)
            return
        if result is not None:  # None: the handler finished the job itself
            completed = self.jobs.complete(job["_id"], holder, result)
            kind.handler.completed(job, result, holder, completed)

    @contextlib.contextmanager
    def _lease_kept(self, job, holder, kind):
        """Renew the job's lease every third of its length while the block runs, so a long
        upload is not taken over by another worker; stop if the lease was lost anyway."""
        if not kind.keep_lease:  # e.g. one short POST: its timeout is well inside the lease
            yield
            return
        done = threading.Event()

        def renew():
            while not done.wait(kind.lease_seconds / 3):
                try:
                    kept = self.jobs.renew_lease(job["_id"], holder, kind.lease_seconds)
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
        if self.settings.on_start is not None:
            self.settings.on_start()
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
        kinds = [kind.name for kind in self.kinds for _ in range(kind.concurrency)]
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


def start_worker_thread(worker: Worker) -> threading.Event:
    """Run `worker` in a daemon thread (single-process setups); return its stop event."""
    stop = threading.Event()
    threading.Thread(target=worker.run, args=(stop,), name="recording-worker", daemon=True).start()
    return stop
