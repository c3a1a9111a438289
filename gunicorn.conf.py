"""gunicorn's hook for the Procfile's `web:` (its other settings are flags on that line).

`on_starting` runs in the master before it binds its port or boots a worker: settings that
can't work stop it there, with their one line on stderr and status 1, instead of each
worker failing with a traceback of its own.
"""

import sys

from dotenv import load_dotenv

from livesessions.config import ConfigError, load_config


def on_starting(server):
    load_dotenv()  # as wsgi.py does, so that the master checks what the workers will read
    try:
        load_config()
    except ConfigError as error:
        print(error, file=sys.stderr, flush=True)
        sys.exit(1)
