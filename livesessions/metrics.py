"""Prometheus metrics (prometheus-client), served at /metrics.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py sets it for the Procfile's workers;
a `recordings worker` given the same directory joins them) each process writes its values
to files there and a scrape sums them; without it they are the process's own. The job
queue's figures (jobs by kind and status, the oldest due job, the workers alive) are read
from the database at each scrape.

Nothing a client sends makes a series: the request labels come from closed sets (the
route's rule, the methods the app serves or `other`, the statuses it answers or their
class). Who may scrape: `MetricsAccess` (METRICS_ENABLED, METRICS_TOKEN, APP_ENV), for
/metrics and the worker's port alike.
"""

import hmac
import json
import os
import threading
from dataclasses import dataclass
from http import HTTPStatus
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_wsgi_app,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer

from .errors import HTTP_MESSAGES, INVALID_TOKEN, MISSING_TOKEN

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The methods the app serves; any other is answered 405 (404 off its routes) before any view
# runs, and counted `other`.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The statuses the app answers; another would be counted by its class (`4xx`).
STATUSES = frozenset(
    {200, 201, 204, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 409, 413, 415, 422}
    | {429, 431, 500, 502, 503, 504}
)


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def status_label(status: int) -> str:
    return str(status) if status in STATUSES else f"{status // 100}xx"


REQUESTS = Counter("livesessions_requests", "HTTP requests answered", ["route", "method", "status"])
REQUEST_SECONDS = Histogram(
    "livesessions_request_seconds", "Time to answer an HTTP request", ["route", "method"]
)
DAILY_CALLS = Counter(
    "livesessions_daily_calls",
    "Calls to Daily.co by endpoint family and answer (status code, or error: no answer)",
    ["family", "status"],
)
BREAKER_OPEN = Gauge(
    "livesessions_daily_breaker_open",
    "1 while a process's Daily.co circuit breaker is open (the highest of the processes)",
    multiprocess_mode="max",
)
UPLOAD_BYTES = Counter("livesessions_upload_bytes", "Recording bytes uploaded to Cloudinary")
UPLOAD_SECONDS = Histogram(
    "livesessions_upload_seconds",
    "Time to download a recording from Daily.co and upload it to Cloudinary",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
WEBHOOKS = Counter(
    "livesessions_webhook_deliveries",
    "Daily.co webhook deliveries by event type and signature (valid, invalid, none)",
    ["type", "signature"],
)
UNAUTHENTICATED_WRITES = Counter(
    "livesessions_unauthenticated_writes",
    "Open writes made without a token, by endpoint (AUTH_POLICY=audit)",
    ["endpoint"],
)


class QueueCollector:
    """The job queue as the database has it, at each scrape."""

    def __init__(self, services):
        self.services = services

    def collect(self):
        jobs = GaugeMetricFamily(
            "livesessions_jobs", "Worker jobs by kind and status", labels=["kind", "status"]
        )
        for (kind, status), count in sorted(self.services.job_store.counts().items()):
            jobs.add_metric([kind, status], count)
        yield jobs
        health = self.services.queue_health()
        yield GaugeMetricFamily(
            "livesessions_oldest_due_job_seconds",
            "How long the job due the longest has waited (0: none is due)",
            value=health.oldest_due_seconds or 0,
        )
        yield GaugeMetricFamily(
            "livesessions_workers_alive",
            "Recording workers with a recent heartbeat",
            value=len(health.workers),
        )


def registry(services) -> CollectorRegistry:
    """Every process's metrics (summed in multiprocess mode), then the job queue's."""
    collected = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(collected)
    else:
        collected.register(_Process())
    collected.register(QueueCollector(services))
    return collected


def exposition(services) -> bytes:
    """The metrics page, as /metrics answers it."""
    return generate_latest(registry(services))


@dataclass(frozen=True)
class MetricsAccess:
    """Who may scrape the metrics page (METRICS_ENABLED, METRICS_TOKEN, APP_ENV), and the
    worker's own port for it (RECORDING_METRICS_PORT; None: no port)."""

    enabled: bool = True
    token: str | None = None
    production: bool = False
    worker_port: int | None = None

    @classmethod
    def from_config(cls, config) -> "MetricsAccess":
        return cls(
            config["METRICS_ENABLED"],
            config["METRICS_TOKEN"],
            config["APP_ENV"] == "production",
            config["RECORDING_METRICS_PORT"],
        )

    def refusal(self, authorization: str | None) -> int | None:
        """Why a scrape is refused: 404 (metrics off), 401 (no or wrong token), None: served.

        Off with METRICS_ENABLED=false, and in production until METRICS_TOKEN is set; once
        it is set (in any APP_ENV), only `Authorization: Bearer <METRICS_TOKEN>` is served.
        """
        if not self.enabled:
            return 404
        if self.token is None:
            return 404 if self.production else None
        scheme, _, given = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return 401
        return None if hmac.compare_digest(given.strip().encode(), self.token.encode()) else 401

    @property
    def off(self) -> bool:
        """Whether no scrape can be served (no token could help)."""
        return self.refusal(None) == 404


def serve_metrics(port: int, services, access: MetricsAccess, host: str = "0.0.0.0"):
    """Serve the metrics page on `port` from a daemon thread (the worker's own), refused as
    /metrics refuses (`access`). Return the server (`shutdown()` stops it)."""
    page = make_wsgi_app(registry(services))

    def guarded(environ, start_response):
        authorization = environ.get("HTTP_AUTHORIZATION")
        refusal = access.refusal(authorization)
        if refusal is None:
            return page(environ, start_response)
        if refusal == 401:
            message = INVALID_TOKEN if authorization else MISSING_TOKEN
        else:
            message = HTTP_MESSAGES[refusal]
        status = f"{refusal} {HTTPStatus(refusal).phrase}"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps({"message": message}).encode()]

    server = make_server(host, port, guarded, ThreadingWSGIServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


class _Process:
    """This process's own metrics (the default registry's), for another registry."""

    def collect(self):
        return REGISTRY.collect()


class _Quiet(WSGIRequestHandler):
    """No line per scrape on stderr (wsgiref's default)."""

    def log_message(self, format, *args):
        pass
