"""gunicorn's hooks for the Procfile's `web:` (its other settings are flags on that line).

`on_starting` runs in the master before it binds its port or boots a worker: settings that
can't work stop it there, with their one line on stderr and status 1, instead of each
worker failing with a traceback of its own.

The check runs in a child interpreter, so that the master imports none of the app: its
workers are forked from it, and a gevent worker must patch `ssl` before urllib3, pymongo
or PyJWT take references to the unpatched `SSLContext` (which would make every TLS read
block the whole worker, not just its greenlet).

`post_request` runs in the worker after each response: it yields to the other greenlets.

Metrics: every worker writes its Prometheus values to PROMETHEUS_MULTIPROC_DIR (a fresh
temporary directory unless it is set), so that /metrics, answered by any worker, sums them
all; `child_exit` drops a dead worker's live gauges.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

# Set before any worker imports prometheus_client, which reads it at import; a directory
# made here is removed on exit (one given is the operator's).
METRICS_DIR = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # unset or empty
    METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="livesessions-metrics-"
    )

CHECK_SETTINGS = """
import sys
from dotenv import load_dotenv
from livesessions.config import ConfigError, load_config
load_dotenv()  # as wsgi.py does, so that the check sees what the workers will read
try:
    load_config()
except ConfigError as error:
    sys.exit(str(error))  # the one line, on stderr, status 1
"""


def on_starting(server):
    if subprocess.run([sys.executable, "-c", CHECK_SETTINGS], check=False).returncode:
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
