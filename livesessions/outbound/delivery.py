"""The worker's webhook jobs: one event POSTed, signed, to one endpoint; a failure retried
with a doubling delay until about a day after the event was queued, and an endpoint
disabled after a run of failures."""

import json
import logging
import time
from datetime import timedelta

from urllib3.util import make_headers

from ..clock import unix_now, utcnow
from ..config_report import webhook_deadline
from ..jobs import ENDPOINT_DISABLED, WEBHOOK, Backoff, JobKind, JobStore
from . import transport
from .attempts_repository import WebhookAttemptStore
from .destinations import (
    DestinationAmbiguous,
    DestinationRefused,
    DestinationUnresolved,
    check_destination,
)
from .repository import WebhookStore
from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

log = logging.getLogger(__name__)

ENDPOINT_GONE = "the webhook endpoint was deleted"


def event_body(event: dict) -> bytes:
    """The exact bytes POSTed (and signed): the event as compact JSON."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def refusal(error: Exception) -> str:
    """The short class an attempt records for a delivery that got no HTTP answer."""
    if isinstance(error, DestinationAmbiguous):
        return "refused: malformed URL"
    if isinstance(error, DestinationUnresolved):
        return "dns"
    if isinstance(error, DestinationRefused):
        return "refused: non-public address"
    return str(error)  # DeliveryFailed: its class


class WebhookDelivery:
    """Carry out webhook jobs for a worker: POST, record the attempt, then complete,
    reschedule or drop the job."""

    def __init__(
        self,
        endpoints: WebhookStore,
        attempts: WebhookAttemptStore,
        jobs: JobStore,
        *,
        allow_private=False,
        deadline_seconds=5.0,
        retry_base_seconds=30.0,
        retry_max_seconds=3600.0,
        retry_for_seconds=86400.0,
        disable_after=20,
        post=transport.post,
    ):
        self.endpoints = endpoints
        self.attempts = attempts
        self.jobs = jobs
        self.allow_private = allow_private
        self.deadline_seconds = deadline_seconds  # connect, send and read, in all
        self.retry = Backoff(retry_base_seconds, cap_seconds=retry_max_seconds)
        self.retry_for = timedelta(seconds=retry_for_seconds)
        self.disable_after = disable_after
        self.send = post

    @classmethod
    def from_config(cls, config, endpoints, attempts, jobs) -> "WebhookDelivery":
        """The delivery the WEBHOOKS_* settings describe."""
        return cls(
            endpoints,
            attempts,
            jobs,
            allow_private=config["WEBHOOKS_ALLOW_PRIVATE"],
            deadline_seconds=webhook_deadline(config),
            retry_base_seconds=config["WEBHOOKS_RETRY_BASE_SECONDS"],
            disable_after=config["WEBHOOKS_DISABLE_AFTER_FAILURES"],
        )

    def kind(self, concurrency: int, lease_seconds: float) -> JobKind:
        """The webhook kind, run by this delivery: one short POST, its timeout well inside
        the lease (not renewed), retried until about a day after the event was queued."""
        return JobKind(WEBHOOK, self, concurrency, lease_seconds, keep_lease=False)

    def carry_out(self, job: dict, holder: str) -> None:
        self.run(job, holder)  # finished here: delivered, rescheduled or dropped

    def completed(self, job, result, holder, completed):
        """Not called: `run` completes the job itself."""

    def failed(self, job, error, holder):
        """An error `run` didn't expect (e.g. the database is down): the job stays leased,
        and is taken over once its lease runs out."""
        raise error

    def run(self, job: dict, holder: str) -> None:
        """Deliver the job's event once, as `holder`; every outcome is recorded on the job."""
        endpoint = self.endpoints.find(job["endpoint"])
        if endpoint is None:
            self.jobs.fail(job["_id"], holder, ENDPOINT_GONE)
            return
        if not endpoint["enabled"]:  # waits for `webhooks enable` (resume_webhooks)
            self.jobs.fail(job["_id"], holder, ENDPOINT_DISABLED)
            return
        status, error, seconds = self.post(endpoint, job["event"])
        self.attempts.record(
            endpoint["_id"],
            {
                "eventId": job["event"]["id"],
                "type": job["event"]["type"],
                "attempt": job["attempts"],
                "status": status,
                "error": error,
                "at": utcnow(),
                "durationMs": round(seconds * 1000),
            },
        )
        if error is None:
            self.jobs.complete(job["_id"], holder, {"status": status})
            self.endpoints.succeeded(endpoint["_id"])
            log.info("webhook %s delivered (attempt %s)", job["_id"], job["attempts"])
            return
        self._failed(job, holder, error)

    def post(self, endpoint: dict, event: dict) -> tuple[int | None, str | None, float]:
        """POST the signed event; return (HTTP status or None, error or None, seconds).
        The error is a short class (`HTTP 503`, `timeout`, `connection refused`,
        `refused: non-public address`...), never a low-level message: attempts are shown
        to admins and logged, and must not describe the network behind the address."""
        body = event_body(event)
        timestamp = str(int(unix_now()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "livesessions-webhooks",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(endpoint["secret"], timestamp, body),
        }
        started = time.monotonic()
        try:
            destination, (_, address) = check_destination(
                endpoint["url"], allow_private=self.allow_private
            )
            if destination.userinfo is not None:  # the URL's user and password: Basic auth
                basic = make_headers(basic_auth=":".join(destination.userinfo))
                headers["Authorization"] = basic["authorization"]
            status = self.send(destination, address, body, headers, self.deadline_seconds)
        except (DestinationRefused, transport.DeliveryFailed) as error:
            return None, refusal(error), time.monotonic() - started
        seconds = time.monotonic() - started
        if 200 <= status < 300:
            return status, None, seconds
        return status, f"HTTP {status}", seconds

    def _failed(self, job, holder, error):
        disabled = self.endpoints.failed(job["endpoint"], self.disable_after)
        if disabled:
            self.jobs.fail(job["_id"], holder, ENDPOINT_DISABLED)
            log.error("webhook endpoint %s disabled after failures: %s", job["endpoint"], error)
            return
        delay = self.retry.delay(job["attempts"])
        run_at = utcnow() + timedelta(seconds=delay)
        if run_at > job["createdAt"] + self.retry_for:
            self.jobs.fail(job["_id"], holder, f"given up after a day: {error}")
            log.error(
                "webhook %s dropped after %s attempts: %s", job["_id"], job["attempts"], error
            )
            return
        self.jobs.reschedule(job["_id"], holder, error, run_at)
        log.warning(
            "webhook %s attempt %s failed (%s); retry in %ss",
            job["_id"],
            job["attempts"],
            error,
            delay,
        )
