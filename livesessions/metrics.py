"""Prometheus metrics (prometheus-client), served at /metrics.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py sets it for the Procfile's workers;
a `recordings worker` given the same directory joins them) each process writes its values
to files there and a scrape sums them; without it they are the process's own. The job
queue's figures (jobs by kind and status, the oldest due job, the workers alive) are read
from the database at each scrape.
"""

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

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


def serve_metrics(port: int, services, host: str = "0.0.0.0") -> None:
    """Serve the metrics page on `port` from a daemon thread (the worker's own)."""
    start_http_server(port, addr=host, registry=registry(services))


class _Process:
    """This process's own metrics (the default registry's), for another registry."""

    def collect(self):
        return REGISTRY.collect()
