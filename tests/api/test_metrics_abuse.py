"""/metrics as a way to take the service down: requests that would each add series (an
invented method, a random path) and scrapes by whoever finds the page. The metrics are the
test process's own, shared by every app of the run, so each test compares a scrape after
its attack with one before."""

import dataclasses
import logging
import random

import pytest
import requests
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from livesessions.config_report import log_startup_report
from livesessions.extensions import services
from livesessions.metrics import MetricsAccess, serve_metrics, status_label
from tests.support.app_config import PRODUCTION
from tests.support.exposition import (
    NOT_ALLOWED,
    NOT_FOUND,
    invented_methods,
    random_path,
    sample_lines,
    series,
)
from tests.support.processes import free_port

TOKEN = "metrics-token-for-the-tests-" + "m" * 24


@pytest.mark.slow
def test_thousands_of_invented_methods_add_no_series(client):
    """3,000 requests, each with a method and a path of its own: each is a 405 (a path
    that exists) or 404 `{"message"}`, counted under method `other`; the scrape after has
    exactly the series (and sample lines) of the scrape before. Before the fix each method
    made 20."""
    rng = random.Random(26)
    client.open("/warm-up", method="FOO")  # the series of every invented method: 404
    client.open("/sessions/warm-up", method="FOO")  # and 405
    client.get("/metrics")  # and the scrape's own
    before = client.get("/metrics").get_data(as_text=True)
    answers = set()
    for method in invented_methods(3000, seed=26):
        response = client.open(random_path(rng), method=method)
        answers.add((response.status_code, str(response.get_json())))
    after = client.get("/metrics").get_data(as_text=True)
    lines_before, lines_after = len(sample_lines(before)), len(sample_lines(after))
    assert lines_after == lines_before  # on main's code: 75 -> 60,075
    assert series(after) == series(before)
    assert answers == {(405, str(NOT_ALLOWED)), (404, str(NOT_FOUND))}
    counted = sum(
        sample.value
        for family in text_string_to_metric_families(after)
        for sample in family.samples
        if sample.name == "livesessions_requests_total" and sample.labels["method"] == "other"
    )
    assert counted >= 3001  # the warm-up, these, and those of earlier tests


def test_an_invented_method_on_a_real_route_is_a_405_counted_as_other(client, db):
    response = client.open("/sessions/course/c1", method="PROPFIND")
    assert (response.status_code, response.get_json()) == (405, NOT_ALLOWED)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.headers["X-Request-ID"]  # answered like any other request
    text = client.get("/metrics").get_data(as_text=True)
    assert 'method="PROPFIND"' not in text
    assert 'livesessions_requests_total{method="other",route="unmatched",status="405"}' in text


def test_the_methods_the_app_serves_keep_their_answers(app, client):
    plain = FlaskClient(app)  # HEAD has no body to check against the OpenAPI document
    assert client.get("/healthz").status_code == 200
    assert plain.head("/healthz").status_code == 200
    assert plain.options("/healthz").status_code == 200
    assert client.patch("/sessions").status_code == 405  # a known method, not allowed there
    assert client.delete("/nope").status_code == 404


def test_statuses_outside_the_apps_own_are_counted_by_class():
    assert [status_label(code) for code in (200, 404, 503, 299, 418, 599)] == [
        "200",
        "404",
        "503",
        "2xx",
        "4xx",
        "5xx",
    ]


# -- Who may scrape ---------------------------------------------------------------------------


@pytest.fixture
def production_with_token(make_app, app):
    """A production app with METRICS_TOKEN; its own MongoDB is unreachable, so it is lent
    the test app's services (the job queue's figures are read at each scrape), with its
    own metrics settings."""
    production = make_app(**PRODUCTION, METRICS_TOKEN=TOKEN)
    own = production.extensions["livesessions"]
    production.extensions["livesessions"] = dataclasses.replace(
        app.extensions["livesessions"], metrics_access=own.metrics_access
    )
    yield production
    production.extensions["livesessions"] = own  # closed with its app


def test_production_serves_metrics_to_the_token_only(production_with_token):
    client = production_with_token.test_client()
    refused = [
        client.get("/metrics"),
        client.get("/metrics", headers={"Authorization": "Bearer wrong-" + TOKEN}),
        client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}),
        client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN[:-1]}"}),
    ]
    assert [(r.status_code, r.get_json()) for r in refused] == [
        (401, {"message": "Authorization header with a Bearer token is required"}),
        (401, {"message": "Invalid token"}),
        (401, {"message": "Invalid token"}),
        (401, {"message": "Invalid token"}),
    ]
    assert all("livesessions_requests" not in r.get_data(as_text=True) for r in refused)
    served = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert served.status_code == 200
    assert served.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "livesessions_requests_total" in served.get_data(as_text=True)


def test_production_without_a_token_has_no_metrics_and_says_how(make_app, caplog):
    caplog.set_level(logging.WARNING, logger="livesessions")
    app = make_app(**PRODUCTION)
    log_startup_report(app.config)
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer anything"}):
        response = client.get("/metrics", headers=headers)
        assert (response.status_code, response.get_json()) == (
            404,
            {"message": "Resource not found"},
        )
    (line,) = [r.getMessage() for r in caplog.records if "METRICS_TOKEN" in r.getMessage()]
    assert line.startswith("/metrics is off: in production it needs METRICS_TOKEN")
    assert "bearer token" in line


def test_production_refuses_a_short_token(make_app):
    from livesessions.config import ConfigError

    with pytest.raises(ConfigError, match="METRICS_TOKEN must be at least 32 characters"):
        make_app(**PRODUCTION, METRICS_TOKEN="short")


def test_development_is_open_unless_a_token_is_set(make_app, caplog):
    caplog.set_level(logging.WARNING, logger="livesessions")
    app = make_app()
    log_startup_report(app.config)
    assert app.test_client().get("/metrics").status_code == 200
    assert "METRICS_TOKEN" not in caplog.text
    guarded = make_app(METRICS_TOKEN="dev-token").test_client()
    assert guarded.get("/metrics").status_code == 401
    served = guarded.get("/metrics", headers={"Authorization": "Bearer dev-token"})
    assert served.status_code == 200


def test_the_token_is_never_in_the_start_up_line(make_app, caplog):
    caplog.set_level(logging.INFO, logger="livesessions")
    log_startup_report(make_app(LOG_LEVEL="INFO", METRICS_TOKEN=TOKEN).config)
    assert "METRICS_TOKEN=set" in caplog.text
    assert TOKEN not in caplog.text


@pytest.fixture
def worker_metrics(app):
    """The worker's own metrics port (RECORDING_METRICS_PORT), for a given configuration."""
    servers = []

    def serve(**settings):
        port = free_port()
        access = MetricsAccess.from_config({**app.config, **settings})
        servers.append(serve_metrics(port, app.extensions["livesessions"], access, "127.0.0.1"))
        return f"http://127.0.0.1:{port}/metrics"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_workers_metrics_port_follows_the_same_rule(worker_metrics):
    url = worker_metrics(APP_ENV="production", METRICS_TOKEN=TOKEN)
    refused = [
        requests.get(url, timeout=10),
        requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10),
    ]
    assert [(r.status_code, r.json()) for r in refused] == [
        (401, {"message": "Authorization header with a Bearer token is required"}),
        (401, {"message": "Invalid token"}),
    ]
    served = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert served.status_code == 200
    assert "livesessions_jobs" in served.text
    off = requests.get(worker_metrics(APP_ENV="production", METRICS_TOKEN=None), timeout=10)
    assert (off.status_code, off.json()) == (404, {"message": "Resource not found"})


def test_the_worker_serves_no_metrics_port_in_production_without_a_token(make_app, monkeypatch):
    """`recordings worker` with RECORDING_METRICS_PORT but no METRICS_TOKEN: no port."""
    import livesessions.recordings.cli as recordings_cli

    served = []
    monkeypatch.setattr(recordings_cli, "serve_metrics", lambda *args: served.append(args))
    monkeypatch.setattr(recordings_cli, "services", _NoWork)
    monkeypatch.setattr(recordings_cli.signal, "signal", lambda *args: None)  # pytest's stay
    app = make_app(**PRODUCTION, RECORDING_METRICS_PORT=free_port())
    result = app.test_cli_runner().invoke(args=["recordings", "worker"])
    assert result.exit_code == 0, result.output
    assert served == []
    with_token = make_app(**PRODUCTION, RECORDING_METRICS_PORT=free_port(), METRICS_TOKEN=TOKEN)
    assert with_token.test_cli_runner().invoke(args=["recordings", "worker"]).exit_code == 0
    assert len(served) == 1


class _NoWork:
    """services() of a worker that stops at once (the app's own for everything else)."""

    def __getattr__(self, name):
        return getattr(services(), name)

    def make_worker(self):
        return self

    def run(self, stop):
        pass
