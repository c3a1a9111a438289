"""The kinds of job the worker runs, each registered by its feature (the recordings'
uploads, Daily's room deletions, the outbound webhooks' deliveries): what runs a job of
the kind, in how many slots, for how long a lease, and how a failure is retried.

A kind's `handler` does the work; `carry_out` returning a result completes the job, and
raising hands the error to the handler's `failed`, which records it on the job. The
`RetriedJobs` base gives the usual `failed`: give up on a permanent error or after
`max_attempts`, else retry after the kind's `Backoff` delay."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from ..clock import utcnow
from .backoff import Backoff
from .repository import JobStore

log = logging.getLogger(__name__)


class PermanentJobError(Exception):
    """Retrying cannot help (e.g. the session is gone): fail the job at once."""


class JobHandler(Protocol):
    def carry_out(self, job: dict, holder: str) -> dict | None:
        """Do the job's work; return its result (kept on the job), or None when the
        handler has finished the job itself."""

    def completed(self, job: dict, result: dict, holder: str, completed: bool) -> None:
        """After the job was marked done (`completed`: by this holder, still holding it)."""

    def failed(self, job: dict, error: Exception, holder: str) -> None:
        """Record the failure of `carry_out` on the job: retry it later or give it up."""


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its `name` (the jobs' `kind`; uploads have none, see the store),
    its `handler`, its `concurrency` (the worker's slots of it), its `lease_seconds` (how
    long a holder has it before another may take it over; renewed while the handler runs
    when `keep_lease`) and its `max_attempts` (None: retried until done)."""

    name: str
    handler: JobHandler
    concurrency: int = 1
    lease_seconds: float = 60
    max_attempts: int | None = None
    keep_lease: bool = True

    def __post_init__(self):
        if self.concurrency < 1:
            raise ValueError(
                f"a worker needs at least one {self.name} job slot, got {self.concurrency}"
            )


class KindRegistry:
    """The kinds a worker runs, in the order they were registered (its slots are numbered
    in that order); one kind per name."""

    def __init__(self, kinds: Iterable[JobKind] = ()):
        self._kinds: dict[str, JobKind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: JobKind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"job kind {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind

    def __getitem__(self, name: str) -> JobKind:
        return self._kinds[name]

    def __contains__(self, name: str) -> bool:
        return name in self._kinds

    def __iter__(self):
        return iter(self._kinds.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._kinds)


class RetriedJobs:
    """A handler's usual failure rule, over its `jobs` (JobStore), `retry` (Backoff) and
    `max_attempts` (None: until done): a `permanent` error, or the last attempt, fails the
    job (then `gave_up`); any other is retried after the backoff's delay. An `expected`
    failure is logged as a warning, any other with its traceback. `what` names the job in
    the log lines."""

    jobs: JobStore
    retry: Backoff
    max_attempts: int | None = None
    expected: tuple[type[Exception], ...] = ()
    what = "job"
    log = log  # the feature's logger, to keep its log lines under its name

    def permanent(self, error: Exception) -> bool:
        return isinstance(error, PermanentJobError)

    def gave_up(self, job: dict) -> None:
        """After the job failed for good (by this holder)."""

    def failed(self, job: dict, error: Exception, holder: str) -> None:
        reason = f"{type(error).__name__}: {error}"
        last = self.max_attempts is not None and job["attempts"] >= self.max_attempts
        if self.permanent(error) or last:
            if self.jobs.fail(job["_id"], holder, reason):
                self.gave_up(job)
            self.log.error(
                "%s %s failed for good (attempt %s by %s): %s",
                self.what,
                job["_id"],
                job["attempts"],
                holder,
                reason,
            )
            return
        delay = self.retry.delay(job["attempts"])
        self.jobs.reschedule(job["_id"], holder, reason, utcnow() + timedelta(seconds=delay))
        (self.log.warning if isinstance(error, self.expected) else self.log.exception)(
            "%s %s attempt %s by %s failed (%s); retry in %ss",
            self.what,
            job["_id"],
            job["attempts"],
            holder,
            reason,
            delay,
        )
