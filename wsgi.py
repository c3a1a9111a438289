"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`.

Settings that can't work stop the process with their one line on stderr, not a traceback:
status 1, or 3 inside a gunicorn worker. gunicorn's master boots a new worker after each
that exits 1, every second, forever; after one that exits 3 ("Worker failed to boot") it
stops. The Procfile's gunicorn.conf.py checks the settings in the master first, so that
under it no worker gets this far.

The app logs no start-up report (the configuration line, the warnings about the settings):
a command prints its own output only; the servers log the report (livesessions/startup.py).
"""

import sys

from dotenv import load_dotenv

from livesessions import create_app
from livesessions.config import ConfigError

GUNICORN_WORKER_BOOT_ERROR = 3  # gunicorn.arbiter.Arbiter.WORKER_BOOT_ERROR

load_dotenv()
try:
    app = create_app()
except ConfigError as error:
    print(error, file=sys.stderr, flush=True)
    sys.exit(GUNICORN_WORKER_BOOT_ERROR if "gunicorn" in sys.modules else 1)
