"""gunicorn's hooks for the Procfile's `web:` (its other settings are flags on that line).

`on_starting` runs in the master before it binds its port or boots a worker: settings that
can't work stop it there, with their one line on stderr and status 1, instead of each
worker failing with a traceback of its own. Otherwise it logs the start-up report (the
configuration line and the warnings about the settings) there, once, not once per worker
(the workers' app logs none: livesessions/startup.py).

The check runs in a child interpreter, so that the master imports none of the app: its
workers are forked from it, and a gevent worker must patch `ssl` before urllib3, pymongo
or PyJWT take references to the unpatched `SSLContext` (which would make every TLS read
block the whole worker, not just its greenlet).

`post_request` runs in the worker after each response: it yields to the other greenlets.

Logs: with LOG_FORMAT json (the default; read from the environment or `.env`, as the
app does), gunicorn's own lines (boot, worker exits, errors, one access line per request)
are the app's JSON lines too, by the formatter of livesessions/logformat.py, loaded by its
path: importing the package would import the app. In any format, its lines go through
that module's MaskCredentials (`logger_class`): a calendar feed's `key` in a URL is
written `key=***`.

Metrics: every worker writes its Prometheus values to PROMETHEUS_MULTIPROC_DIR (a fresh
temporary directory unless it is set), so that /metrics, answered by any worker, sums them
all; `child_exit` drops a dead worker's live gauges.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dotenv import dotenv_values
from gunicorn.glogging import Logger

# Set before any worker imports prometheus_client, which reads it at import; a directory
# made here is removed on exit (one given is the operator's).
METRICS_DIR = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # unset or empty
    METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="livesessions-metrics-"
    )

# Settings that can't work: their one line on stderr, status 1; else the start-up report.
CHECK_SETTINGS = [sys.executable, "-m", "livesessions.startup"]


def _logformat():
    """livesessions/logformat.py, loaded without the package."""
    path = Path(__file__).resolve().parent / "livesessions" / "logformat.py"
    spec = importlib.util.spec_from_file_location("livesessions_logformat", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOGFORMAT = _logformat()


class MaskingLogger(Logger):
    """gunicorn's logger, its error and access lines without URL credentials."""

    masking = LOGFORMAT.MaskCredentials()

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if self.masking not in log.filters:  # setup runs again on a reload
                log.addFilter(self.masking)


logger_class = MaskingLogger

LOG_FORMAT = os.environ.get("LOG_FORMAT") or dotenv_values().get("LOG_FORMAT") or "json"
if LOG_FORMAT.strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": LOGFORMAT.JsonLineFormatter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
        "root": {"level": "WARNING", "handlers": []},
    }


def on_starting(server):
    if subprocess.run(CHECK_SETTINGS, check=False).returncode:
        sys.exit(1)


def post_request(worker, req, environ, resp):
    # Under gevent, a kept-alive connection whose next request has already arrived is
    # served again without yielding: a few busy clients get every turn and the others
    # wait (p99 hundreds of times p50 under wrk). time.sleep is gevent's there: yield, so
    # that the connection goes back in line; in a thread it is only a GIL switch.
    time.sleep(0)


def child_exit(server, worker):
    from prometheus_client import multiprocess  # in the master: reads the directory only

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if METRICS_DIR:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
