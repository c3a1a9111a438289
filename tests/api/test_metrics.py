"""/metrics: Prometheus's text format, scraped and parsed back. The metrics are the test
process's own (no PROMETHEUS_MULTIPROC_DIR here), shared by every app of the run, so each
test compares a scrape after with one before."""

import json

from prometheus_client.parser import text_string_to_metric_families

from tests.support.factories import in_class, seed_session
from tests.support.webhooks import SECRET, participant_event, sign


def scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def grew(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def test_requests_are_counted_by_route_and_status_with_latencies(client, auth, db):
    doc = seed_session(db)
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/sessions/{doc['_id']}", headers=auth).status_code == 200
    client.get("/sessions/not-a-session-id-at-all", headers=auth)
    after = scrape(client)
    route = {"route": "/sessions/<session_id>", "method": "GET"}
    assert grew(before, after, "livesessions_requests_total", status="200", **route) == 3
    assert grew(before, after, "livesessions_requests_total", status="404", **route) == 1
    assert grew(before, after, "livesessions_request_seconds_count", **route) == 4
    assert grew(before, after, "livesessions_request_seconds_bucket", le="+Inf", **route) == 4


def test_daily_calls_are_counted_by_family_and_answer(client, create_session, daily):
    before = scrape(client)
    create_session()
    daily.fail("create", status=429, body={"error": "rate-limit-error"}, times=1)
    create_session()
    after = scrape(client)
    standard = {"family": "standard"}
    assert grew(before, after, "livesessions_daily_calls_total", status="200", **standard) == 2
    assert grew(before, after, "livesessions_daily_calls_total", status="429", **standard) == 1
    assert value(after, "livesessions_daily_breaker_open") == 0


def test_webhook_deliveries_by_type_and_signature(make_app):
    app = make_app(DAILY_WEBHOOK_SECRET=SECRET)
    seed_session(
        app.extensions["livesessions"].database.db,
        roomName="room-a",
        status="live",
        scheduledAt=in_class(),
    )
    client = app.test_client()
    before = scrape(client)
    raw = json.dumps(participant_event()).encode()
    client.post("/sessions/webhook/daily", data=raw, headers=sign(raw))
    forged = {**sign(raw), "X-Webhook-Signature": "Zm9yZ2Vk"}
    assert client.post("/sessions/webhook/daily", data=raw, headers=forged).status_code == 401
    made_up = json.dumps({**participant_event(), "type": "made.up"}).encode()
    client.post("/sessions/webhook/daily", data=made_up, headers=sign(made_up))
    after = scrape(client)
    joined = {"type": "participant.joined"}
    metric = "livesessions_webhook_deliveries_total"
    assert grew(before, after, metric, signature="valid", **joined) == 1
    assert grew(before, after, metric, signature="invalid", **joined) == 1
    assert grew(before, after, metric, type="other", signature="valid") == 1


def test_unauthenticated_writes_are_counted_under_audit(make_app, db):
    app = make_app(AUTH_POLICY="audit")
    doc = seed_session(app.extensions["livesessions"].database.db)
    client = app.test_client()
    before = scrape(client)
    client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "student-1"})
    after = scrape(client)
    metric = "livesessions_unauthenticated_writes_total"
    assert grew(before, after, metric, endpoint="add_participant") == 1


def test_the_job_queue_is_read_from_the_database_at_each_scrape(app, client):
    services = app.extensions["livesessions"]
    services.job_store.enqueue("rec-1", {"session": "s", "room": "r"})
    services.job_store.enqueue_room_deletion("room-9", "s9")
    samples = scrape(client)
    assert value(samples, "livesessions_jobs", kind="upload", status="pending") == 1
    assert value(samples, "livesessions_jobs", kind="room-deletion", status="pending") == 1
    assert value(samples, "livesessions_workers_alive") == 0
    assert 0 <= value(samples, "livesessions_oldest_due_job_seconds") < 60


def test_metrics_can_be_turned_off(make_app):
    response = make_app(METRICS_ENABLED="false").test_client().get("/metrics")
    assert (response.status_code, response.get_json()) == (404, {"message": "Resource not found"})


def test_the_worker_can_serve_its_own_metrics(app):
    """RECORDING_METRICS_PORT: `recordings worker` serves the page itself."""
    import requests

    from livesessions.metrics import serve_metrics
    from tests.support.processes import free_port

    port = free_port()
    services = app.extensions["livesessions"]
    services.job_store.enqueue("rec-own", {"session": "s", "room": "r"})
    server = serve_metrics(port, services, services.metrics_access, host="127.0.0.1")
    try:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.shutdown()
        server.server_close()
    families = {family.name for family in text_string_to_metric_families(text)}
    assert {"livesessions_jobs", "livesessions_daily_calls", "livesessions_requests"} <= families
    assert 'livesessions_jobs{kind="upload",status="pending"} 1.0' in text
