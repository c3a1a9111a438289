"""`make run`: the API, a recording worker and, without real keys, the sandboxes, in one process."""

import logging
import os
import sys
import threading
import time
import urllib.request

from dotenv import load_dotenv
from werkzeug.serving import WSGIRequestHandler, run_simple

from livesessions import create_app
from livesessions.config import ConfigError
from livesessions.config_report import log_startup_report
from livesessions.daily.client import DailyError
from livesessions.daily.setup import ensure_webhook
from livesessions.extensions import SERVICES_KEY
from livesessions.jobs.worker import start_worker_thread
from livesessions.logformat import MaskCredentials

from .demo import ADA, JOHN, seed_demo
from .sandbox import CloudinarySandbox, DailySandbox

# As long as Daily's keys: meeting tokens are signed with it (PyJWT warns about shorter).
SANDBOX_API_KEY = "sandbox-key-for-local-development-only"


class BannerlessHandler(WSGIRequestHandler):
    """Werkzeug's handler without its `Server: Werkzeug/x Python/y` version banner."""

    def version_string(self):
        return "livesessions"


def start_sandboxes(port):
    """Start a stand-in for each service that has no real credentials; return overrides."""
    overrides, lines, sandboxes = {}, [], []
    if not os.environ.get("DAILY_API_KEY"):
        daily = DailySandbox(
            port=int(os.environ.get("DAILY_SANDBOX_PORT") or 7001),
            api_key=SANDBOX_API_KEY,
            webhook_url=f"http://127.0.0.1:{port}/sessions/webhook/daily",
            webhook_secret=os.environ.get("DAILY_WEBHOOK_SECRET") or None,
        ).start()
        sandboxes.append(daily)
        overrides |= {"DAILY_API_URL": daily.api_url, "DAILY_API_KEY": SANDBOX_API_KEY}
        lines.append(f"Daily.co    SANDBOX at {daily.url} (development stand-in; fires webhooks)")
    if not os.environ.get("CLOUD_NAME"):
        cloud = CloudinarySandbox(
            port=int(os.environ.get("CLOUDINARY_SANDBOX_PORT") or 7002)
        ).start()
        sandboxes.append(cloud)
        overrides |= {
            "CLOUD_NAME": cloud.cloud_name,
            "CLOUD_API_KEY": cloud.api_key,
            "CLOUD_API_SECRET": cloud.api_secret,
            "CLOUDINARY_UPLOAD_PREFIX": cloud.url,
        }
        lines.append(f"Cloudinary  SANDBOX at {cloud.url} (development stand-in)")
    return overrides, lines, sandboxes


def register_webhook_then_work(services, config, port, daily_sandboxed, stop):
    """Once the API answers, register its webhook on the Daily sandbox the way production
    does (`daily webhook ensure`), then start the worker thread (whose webhook check then
    finds it ACTIVE)."""
    base = f"http://127.0.0.1:{port}"
    if daily_sandboxed and config["DAILY_WEBHOOK_SECRET"]:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        try:
            ensure_webhook(
                services.daily,
                f"{base}/sessions/webhook/daily",
                config["DAILY_WEBHOOK_SECRET"],
                services.events.types(),
            )
        except DailyError as error:
            logging.getLogger(__name__).warning("could not register the sandbox webhook: %s", error)
    worker_stop = start_worker_thread(services.make_worker())
    stop.wait()
    worker_stop.set()


def main():
    load_dotenv()
    host = os.environ.get("HOST") or "127.0.0.1"
    port = int(os.environ.get("PORT") or 7000)
    overrides, sandbox_lines, sandboxes = start_sandboxes(port)
    try:
        app = create_app(overrides)
    except ConfigError as error:  # its one line, as wsgi.py says it, not a traceback
        for sandbox in sandboxes:
            sandbox.stop()
        sys.exit(str(error))
    log_startup_report(app.config)
    services = app.extensions[SERVICES_KEY]
    stop_worker = threading.Event()
    threading.Thread(
        target=register_webhook_then_work,
        args=(services, app.config, port, "DAILY_API_URL" in overrides, stop_worker),
        name="devserver-start",
        daemon=True,
    ).start()
    embedded = services.database.embedded
    lines = [
        f"API         http://localhost:{port}/sessions",
        f"docs        http://localhost:{port}/docs (OpenAPI: /openapi.json)"
        if app.config["DOCS_ENABLED"]
        else "docs        off (DOCS_ENABLED=false)",
        "store       "
        + ("embedded in-memory (mongomock, data lost on exit)" if embedded else "MongoDB"),
        *sandbox_lines,
        "recordings  worker thread in this process",
    ]
    if embedded:  # a fresh in-memory store: give the new user something to look at
        added = seed_demo(services)
        lines.append(
            f"demo data   {added['courses']} courses, {added['users']} users, "
            f"{added['sessions']} sessions (instructor John Doe: {JOHN}, admin: {ADA})"
        )
    lines.append(f"token       .venv/bin/flask --app wsgi token {JOHN} --role instructor")
    if not any(line.startswith("Daily.co") for line in sandbox_lines):
        lines.insert(3, f"Daily.co    {app.config['DAILY_API_URL']} (real)")
    if not any(line.startswith("Cloudinary") for line in sandbox_lines):
        lines.insert(4, f"Cloudinary  cloud {app.config['CLOUD_NAME']} (real)")
    print("\n".join(f"livesessions | {line}" for line in lines), flush=True)
    werkzeug_log = logging.getLogger("werkzeug")
    werkzeug_log.setLevel(logging.WARNING)
    werkzeug_log.addFilter(MaskCredentials())  # its error lines quote the request line
    try:
        run_simple(
            host, port, app, threaded=True, use_reloader=False, request_handler=BannerlessHandler
        )
    finally:
        stop_worker.set()
        for sandbox in sandboxes:
            sandbox.stop()


if __name__ == "__main__":
    main()
