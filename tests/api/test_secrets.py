"""Secrets stay out of the logs, and a missing webhook secret is announced."""

import base64
import logging
import threading

import requests
from werkzeug.serving import make_server

from devtools.sandbox import CloudinarySandbox, DailySandbox
from livesessions.config_report import log_startup_report
from tests.support.app_config import JWT_SECRET
from tests.support.factories import iso, session_payload, starting_soon

DAILY_KEY = "daily-key-that-must-not-leak-0123456789"
CLOUD_SECRET = "cloud-secret-that-must-not-leak-987654"
WEBHOOK_SECRET = base64.b64encode(b"webhook-secret-that-must-not-leak").decode()


def test_a_full_flow_logs_no_secret(make_app, token_for, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, the libraries' included
    daily = DailySandbox(
        api_key=DAILY_KEY, webhook_secret=WEBHOOK_SECRET, ready_delay=0, rate_limits=False
    ).start()
    cloud = CloudinarySandbox(
        api_secret=CLOUD_SECRET, storage_dir=str(tmp_path / "cloud"), min_chunk_bytes=1
    ).start()
    app = make_app(
        LOG_LEVEL="DEBUG",
        DAILY_API_URL=daily.api_url,
        DAILY_API_KEY=DAILY_KEY,
        DAILY_WEBHOOK_SECRET=WEBHOOK_SECRET,
        CLOUD_NAME=cloud.cloud_name,
        CLOUD_API_KEY=cloud.api_key,
        CLOUD_API_SECRET=CLOUD_SECRET,
        CLOUDINARY_UPLOAD_PREFIX=cloud.url,
        RECORDING_RETRY_BASE_SECONDS=0,
    )
    log_startup_report(app.config)  # as a server logs it when it starts
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    daily.webhook_url = f"{base}/sessions/webhook/daily"
    token = token_for()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        session = requests.post(
            f"{base}/sessions", json=session_payload(scheduledAt=iso(starting_soon())), headers=auth
        ).json()
        requests.get(f"{base}/sessions", headers=auth)
        requests.get(f"{base}/sessions", headers={"Authorization": f"Bearer {token}x"})  # 401
        started = requests.post(
            f"{base}/sessions/recording/start", json={"roomName": session["roomName"]}
        ).json()["recording"]
        requests.post(f"{base}/sessions/recording/stop", json={"recordingId": started["id"]})
        for _ in range(200):  # the ready-to-download webhook arrives (ms; 4 s only if lost)
            if app.extensions["livesessions"].job_store.list():
                break
            threading.Event().wait(0.02)
        cloud.fail_next(1)  # one failed upload, logged with its reason, then success
        assert app.extensions["livesessions"].make_worker().drain() == 2
        requests.post(
            f"{base}/sessions/webhook/daily",
            data=b"{}",
            headers={"X-Webhook-Signature": "forged", "X-Webhook-Timestamp": "1"},
        )
        daily.api_key = "rotated"  # Daily now refuses our key: an error gets logged
        requests.post(
            f"{base}/sessions", json=session_payload(scheduledAt=iso(starting_soon())), headers=auth
        )
    finally:
        server.shutdown()
        daily.stop()
        cloud.stop()

    logged = caplog.text
    # the flow ran
    assert "uploaded to" in logged
    assert "Daily.co answered 401" in logged
    for secret in (DAILY_KEY, CLOUD_SECRET, WEBHOOK_SECRET, JWT_SECRET, token):
        assert secret not in logged
    assert base64.b64decode(WEBHOOK_SECRET).decode() not in logged


def test_a_missing_webhook_secret_is_announced_at_start(make_app, caplog):
    log_startup_report(make_app().config)
    assert "DAILY_WEBHOOK_SECRET is not set" in caplog.text
    caplog.clear()
    log_startup_report(make_app(DAILY_WEBHOOK_SECRET=WEBHOOK_SECRET).config)
    assert "DAILY_WEBHOOK_SECRET" not in caplog.text
