"""/metrics of the Procfile's gunicorn sums its workers: whichever worker answers the
scrape, it counts the requests every worker served (prometheus-client's multiprocess mode,
PROMETHEUS_MULTIPROC_DIR set by gunicorn.conf.py)."""

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import (
    free_port,
    procfile_web_command,
    served_by,
    start,
    stop,
    wait_for,
    wait_for_workers,
)

pytestmark = pytest.mark.slow

REQUESTS = 60


def healthz_count(base):
    text = requests.get(f"{base}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if (sample.name, labels.get("route"), labels.get("status")) == (
                "livesessions_requests_total",
                "/healthz",
                "200",
            ):
                return sample.value
    return 0


def test_a_scrape_counts_the_requests_of_every_worker(server_env, tmp_path):
    port = free_port()
    env = server_env | {"LOG_LEVEL": "INFO", "RATE_LIMITS_ENABLED": "false"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py makes a fresh one
    log = (tmp_path / "gunicorn.log").open("w+")
    process = start(procfile_web_command(port, workers=2), env, output=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", process)
        wait_for_workers(base, log.name, 2)
        before = healthz_count(base)
        for _ in range(REQUESTS):
            assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        scrapes = [healthz_count(base) for _ in range(6)]  # answered by either worker
    finally:
        stop(process)
        log.seek(0)
        output = log.read()
        log.close()
    assert scrapes == [before + REQUESTS] * 6
    assert len(served_by(output, "/healthz")) == 2
    assert len(served_by(output, "/metrics")) >= 1
