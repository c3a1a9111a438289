"""`make run`: the API on one process, with the Daily.co sandbox when no real key is set."""

import logging
import os

from dotenv import load_dotenv
from werkzeug.serving import run_simple

from . import create_app
from .sandbox import DailySandbox

SANDBOX_API_KEY = "sandbox-key"


def main():
    load_dotenv()
    host = os.environ.get("HOST") or "127.0.0.1"
    port = int(os.environ.get("PORT") or 7000)
    overrides = {}
    sandbox = None
    if not os.environ.get("DAILY_API_KEY"):
        sandbox_port = int(os.environ.get("DAILY_SANDBOX_PORT") or 7001)
        sandbox = DailySandbox(port=sandbox_port, api_key=SANDBOX_API_KEY).start()
        overrides = {"DAILY_API_URL": sandbox.api_url, "DAILY_API_KEY": SANDBOX_API_KEY}
    app = create_app(overrides)
    embedded = app.extensions["livesessions"].database.embedded
    lines = [
        f"API       http://localhost:{port}/sessions",
        "store     "
        + ("embedded in-memory (mongomock, data lost on exit)" if embedded else "MongoDB"),
        "Daily.co  "
        + (
            f"SANDBOX at {sandbox.url} (development stand-in)"
            if sandbox
            else app.config["DAILY_API_URL"]
        ),
        "token     .venv/bin/flask --app wsgi token <user-id> --role instructor",
    ]
    print("\n".join(f"livesessions | {line}" for line in lines), flush=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if sandbox:
            sandbox.stop()


if __name__ == "__main__":
    main()
