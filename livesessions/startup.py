"""The servers' start-up report: one line with every setting (secrets masked), then a
warning for each choice that should not ship by accident (config_report.py).

Only the servers log it, once each: gunicorn's master (the Procfile's `web:`, through
gunicorn.conf.py) and `make serve-fast`, both by running this module before any worker
boots; `make run`'s dev server; and each `recordings worker`, a long-running process of
its own. Building the app logs nothing about its settings, so that a command
(`flask --app wsgi token ...`, `db init`, ...) prints its own output only.

`python -m livesessions.startup` reads the settings as the app will (`.env` included):
settings that can't work end it with their one line on stderr and status 1; otherwise it
logs the report, as the app would log it, and exits 0. (No module of the package imports
this one: `python -m` runs it once, as `__main__`.)
"""

import sys

from dotenv import load_dotenv

from .config import ConfigError, load_config
from .config_report import log_startup_report
from .observability import configure_logging


def main() -> None:
    load_dotenv()  # as wsgi.py does, so that the report says what the workers will read
    try:
        config = load_config()
    except ConfigError as error:
        sys.exit(str(error))  # the one line, on stderr, status 1
    configure_logging(config)
    log_startup_report(config)


if __name__ == "__main__":
    main()
