"""Request ids, JSON logs, security headers, probes."""

import io
import json
import logging
import os
import re

import pytest

from livesessions.config_report import log_startup_report
from livesessions.observability import log_handler
from tests.support.factories import seed_session, session_payload

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/sessions/course/x"),
        ("get", "/sessions"),  # 401
        ("get", "/nope"),  # 404
        ("patch", "/sessions"),  # 405
        ("get", "/healthz"),
        ("get", "/openapi.json"),
    ],
)
def test_security_headers_on_every_answer(client, method, path):
    response = getattr(client, method)(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert (
        response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert response.headers["Cache-Control"] == "no-store"


def test_the_docs_page_may_run_its_own_scripts_only(client):
    response = client.get("/docs/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in csp
    assert "default-src 'self'" in csp
    assert "http" not in csp  # nothing from elsewhere
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_docs_are_revalidated_not_uncacheable(client):
    """As docs/reliability.md says: no `no-store` on /docs (it holds no data); its static
    assets are revalidated by their ETag."""
    page = client.get("/docs/")
    assert "Cache-Control" not in page.headers
    with client.get("/docs/swagger-ui.css") as asset:
        assert (asset.status_code, asset.headers["Cache-Control"]) == (200, "no-cache")
        etag = asset.headers["ETag"]
    with client.get("/docs/swagger-ui.css", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304


def test_healthz(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_readyz_reports_the_database(client, app, monkeypatch):
    assert client.get("/readyz").get_json() == {
        "status": "ready",
        "database": "up",
        "webhook": "unknown",
        "workers": 0,
        "oldestDueJobSeconds": None,
    }

    def down():
        raise TimeoutError("no server")

    monkeypatch.setattr(app.extensions["livesessions"].database, "ping", down)
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()) == (
        503,
        {"message": "Database unavailable", "database": "down"},
    )


@pytest.fixture
def capture_logs(app):
    """Attach a handler of the given format to the package's logger, at INFO."""
    logger = logging.getLogger("livesessions")
    level, handlers = logger.level, []

    def attach(log_format):
        stream = io.StringIO()
        handlers.append(log_handler(log_format, stream))
        logger.addHandler(handlers[-1])
        logger.setLevel(logging.INFO)
        return stream

    yield attach
    for handler in handlers:
        logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def json_logs(capture_logs):
    """The package's log lines, as the JSON formatter writes them."""
    stream = capture_logs("json")
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_log_line_of_a_request_carries_its_id(client, auth, daily, json_logs):
    daily.fail("create", 500, {"error": "server-error", "info": "boom"})
    response = client.post(
        "/sessions", json=session_payload(), headers={**auth, "X-Request-ID": "req-42"}
    )
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-42"
    lines = json_logs()
    assert {line["request_id"] for line in lines} == {"req-42"}
    messages = [line["message"] for line in lines]
    assert any("retrying" in m for m in messages)  # the gateway's warning
    assert any("creating a Daily room failed" in m for m in messages)
    request_line = lines[-1]
    assert request_line["logger"] == "livesessions.requests"
    assert (request_line["method"], request_line["path"], request_line["status"]) == (
        "POST",
        "/sessions",
        500,
    )
    assert request_line["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", request_line["time"])
    assert request_line["level"] == "ERROR"  # a 5xx is the service failing
    assert {line["pid"] for line in lines} == {os.getpid()}  # which gunicorn worker it was
    client.get("/healthz")
    assert json_logs()[-1]["level"] == "INFO"  # the others are INFO


def test_generated_request_ids_differ_per_request(client, db, json_logs):
    doc = seed_session(db)
    first = client.get(f"/sessions/course/{doc['course']}").headers["X-Request-ID"]
    second = client.get(f"/sessions/course/{doc['course']}").headers["X-Request-ID"]
    assert first != second
    assert [line["request_id"] for line in json_logs()] == [first, second]


def test_text_logs_show_the_request_id(client, capture_logs):
    stream = capture_logs("text")
    client.get("/healthz", headers={"X-Request-ID": "text-1"})
    assert "[text-1] GET /healthz 200" in stream.getvalue()


@pytest.mark.parametrize("path", ["/sessions/course/x", "/nope", "/docs/", "/healthz"])
def test_hsts_is_on_every_answer_once_configured(make_app, path):
    client = make_app(HSTS_SECONDS="31536000").test_client()
    response = client.get(path)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_hsts_by_default(client):
    """A service reached over plain http (development) must not pin browsers to https."""
    response = client.get("/sessions/course/x")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


def test_a_negative_hsts_is_refused():
    from livesessions.config import ConfigError, load_config

    with pytest.raises(ConfigError) as error:
        load_config({"HSTS_SECONDS": "-1"})
    assert str(error.value) == "Invalid settings: HSTS_SECONDS must not be negative, got -1"


def test_a_worker_jobs_lines_carry_its_id_daily_calls_theirs_too(app, db, json_logs, daily):
    services = app.extensions["livesessions"]
    services.job_store.enqueue_room_deletion("room-7", "gone-session")
    daily.rooms["room-7"] = {"name": "room-7"}
    logging.getLogger("livesessions").setLevel(logging.DEBUG)
    assert services.make_worker(worker_id="w1").process_next() is True
    lines = [line for line in json_logs() if line.get("job_id") == "room:room-7"]
    messages = [line["message"] for line in lines]
    assert "room room-7 deleted by w1" in messages
    assert "job room:room-7 leased by w1 (attempt 1)" in messages  # DEBUG: the transitions
    # LOG_LEVEL=DEBUG: each Daily call with its answer and time, in the job's lines
    assert any(re.fullmatch(r"Daily DELETE /rooms/room-7: 200 in \d+ ms", m) for m in messages)


def test_a_webhook_refused_for_its_signature_is_a_warning(make_app, json_logs):
    from tests.support.webhooks import SECRET, participant_event

    app = make_app(DAILY_WEBHOOK_SECRET=SECRET)
    raw = json.dumps(participant_event()).encode()
    headers = {"X-Webhook-Timestamp": "1", "X-Webhook-Signature": "Zm9yZ2Vk"}
    response = app.test_client().post(
        "/sessions/webhook/daily", data=raw, headers=headers, content_type="application/json"
    )
    assert response.status_code == 401
    (refused,) = [line for line in json_logs() if line["message"].startswith("webhook refused")]
    assert refused["level"] == "WARNING"
    assert refused["message"] == (
        f"webhook refused: no valid signature ({len(raw)} bytes, type 'participant.joined')"
    )


def test_one_start_up_line_sums_the_configuration_secrets_masked(make_app, caplog):
    caplog.set_level(logging.INFO, logger="livesessions")
    app = make_app(
        LOG_LEVEL="INFO",
        DAILY_API_KEY="daily-key-that-must-not-show-" + "k" * 40,
        DAILY_WEBHOOK_SECRET="c2VjcmV0LXRoYXQtbXVzdC1ub3Qtc2hvdw==",
        CLOUD_API_SECRET="cloud-secret-that-must-not-show",
        MONGODB_URI="mongomock://user:pa55word@localhost/summary_test?authSource=x",
    )
    log_startup_report(app.config)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("configuration")]
    fields = dict(item.split("=", 1) for item in line.split(": ", 1)[1].split("; "))
    assert (fields["DAILY_API_KEY"], fields["DAILY_WEBHOOK_SECRET"]) == ("set", "set")
    assert (fields["CLOUD_API_SECRET"], fields["CLOUD_API_KEY"]) == ("set", "unset")
    assert fields["JWT_SECRET_KEY"] == "set"
    assert fields["MONGODB_URI"] == "mongomock://localhost/summary_test"
    assert fields["AUTH_POLICY"] == "compat"
    for secret in ("must-not-show", "pa55word", "c2VjcmV0"):
        assert secret not in line


CALENDAR_SECRET = "observability-calendar-secret-" + "k" * 16


def test_a_calendar_key_never_reaches_the_request_log(make_app, json_logs, caplog):
    """The student's feed key is in its URL: neither the request line (a record, then a
    JSON line) nor any other line of the request holds it."""
    from livesessions.sessions.feed_keys import feed_path

    caplog.set_level(logging.INFO, logger="livesessions")
    app = make_app(CALENDAR_FEED_SECRET=CALENDAR_SECRET, LOG_LEVEL="INFO")
    path = feed_path(CALENDAR_SECRET, "student-7")
    key = path.rsplit("key=", 1)[1]
    response = app.test_client().get(path, headers={"X-Request-ID": "feed-1"})
    assert response.status_code == 200  # the right key: the feed is served
    records = [r for r in caplog.records if getattr(r, "request_id", None) == "feed-1"]
    (request_record,) = [r for r in records if r.name == "livesessions.requests"]
    assert request_record.path == "/sessions/student/student-7/calendar.ics"
    for record in records:
        assert key not in record.getMessage()
        assert key not in str(vars(record))
    lines = [line for line in json_logs() if line["request_id"] == "feed-1"]
    assert lines
    assert key not in str(lines)


def test_a_url_with_a_key_is_masked_in_whatever_line_logs_it(json_logs, capture_logs):
    """Any line of the package that quotes such a URL (in its message or its arguments)."""
    text = capture_logs("text")
    url = "/sessions/student/s/calendar.ics?key=0123456789abcdef&x=1"
    logging.getLogger("livesessions.somewhere").warning("fetched %s", url)
    (line,) = json_logs()
    assert line["message"] == "fetched /sessions/student/s/calendar.ics?key=***&x=1"
    assert "0123456789abcdef" not in text.getvalue()
    assert "key=***&x=1" in text.getvalue()


@pytest.mark.parametrize(
    ("logged", "written"),
    [
        ("GET /f.ics?key=abc HTTP/1.1", "GET /f.ics?key=*** HTTP/1.1"),
        ("GET /f.ics?x=1&key=abc&y=2 HTTP/1.1", "GET /f.ics?x=1&key=***&y=2 HTTP/1.1"),
        ("key=abc", "key=***"),  # a bare query string (gunicorn's %(q)s)
        ('"GET /f.ics?key=abc" 200', '"GET /f.ics?key=***" 200'),
        ("GET /f.ics?key=abc#top", "GET /f.ics?key=***#top"),
        # names the query parsers read as `key`, and a value read as another's
        ("/f?%6Bey=abc&KEY=b&key[]=c", "/f?%6Bey=***&KEY=***&key[]=***"),
        ("/f?x=1?key=abc", "/f?x=1?key=***"),
        ("/f?monkey=a&keys=b&key=", "/f?monkey=a&keys=b&key="),
        ("no query here", "no query here"),
    ],
)
def test_credentials_are_masked_however_the_query_spells_them(logged, written):
    from livesessions.logformat import mask_credentials

    assert mask_credentials(logged) == written
