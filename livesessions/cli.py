"""Command-line tools: `flask --app wsgi db ...` and `token ...` here; `recordings ...`,
`daily ...`, `calendar ...` and `webhooks ...` live with their domains."""

import functools
import logging
from datetime import timedelta

import click
from flask.cli import AppGroup, with_appcontext
from flask_jwt_extended import create_access_token
from pymongo.errors import ConnectionFailure, PyMongoError

from .config import ConfigError
from .daily.client import DailyError
from .daily.setup import daily_cli
from .domain_errors import DomainError
from .errors import ApiError, client_error
from .extensions import services
from .indexes import ensure_indexes
from .outbound.cli import webhooks_cli
from .recordings.cli import recordings_cli
from .recordings.cloudinary import CloudinaryError
from .sessions.cli import calendar_cli

log = logging.getLogger(__name__)

# What a command meets outside its own code (an unreachable Daily.co, Cloudinary or MongoDB, a
# refusal, a bad setting or file): one line on stderr and exit 1, not a traceback. Anything
# else is a defect in the command and keeps its traceback.
OPERATIONAL_FAILURES = (
    ApiError,
    DomainError,
    DailyError,
    CloudinaryError,
    PyMongoError,
    ConfigError,
    OSError,
)

db_cli = AppGroup("db", help="Database maintenance.")


@db_cli.command("init")
def db_init():
    """Create the indexes (safe to run again); an index on the same keys with other
    options is left as it is and reported, one line each."""
    states = ensure_indexes(services().database)
    conflicts = [state for state in states if state.state == "conflict"]
    for conflict in conflicts:
        click.echo(f"index conflict: {conflict}", err=True)
    but = f", but {len(conflicts)} conflict(s)" if conflicts else ""
    click.echo(f"indexes are in place{but}")


@db_cli.command("check")
@click.option("--limit", default=100, show_default=True, help="Unreadable sessions shown.")
def db_check(limit):
    """Report the stored sessions the service can't read (with the reason) and the state of
    each index; exit 1 if there is any of either problem."""
    database = services().database
    checked, unreadable = services().session_store.unreadable()
    for session_id, problems in unreadable[:limit]:
        click.echo(f"session {session_id!r}: {'; '.join(problems)}")
    click.echo(f"{checked} session(s) checked, {len(unreadable)} the service can't read")
    states = ensure_indexes(database, make=False)
    for state in states:
        click.echo(f"index {state}")
    if unreadable or any(state.state in ("missing", "conflict") for state in states):
        raise SystemExit(1)


@click.command("token")
@click.argument("user_id")
@click.option("--role", default="instructor", show_default=True, help="Role claim.")
@click.option("--name", default=None, help="Display name claim.")
@click.option("--hours", default=12, show_default=True, help="Validity in hours.")
@with_appcontext
def token(user_id, role, name, hours):
    """Print a development JWT for USER_ID (refused in production)."""
    if services().production:
        raise click.ClickException("refusing to mint tokens when APP_ENV=production")
    claims = {services().tokens.role_claim: role}
    if name:
        claims["name"] = name
    click.echo(
        create_access_token(
            identity=user_id, additional_claims=claims, expires_delta=timedelta(hours=hours)
        )
    )


def failure_line(error: Exception) -> str:
    """One line saying what failed, without the driver's or client's details (which go to
    the debug log)."""
    if isinstance(error, DomainError):
        error = client_error(error)
    if isinstance(error, ApiError):
        return error.message
    if isinstance(error, ConnectionFailure):
        return f"MongoDB did not answer ({type(error).__name__}): check MONGODB_URI"
    if isinstance(error, PyMongoError):
        return f"MongoDB refused the operation ({type(error).__name__})"
    if isinstance(error, DailyError):
        return f"Daily.co: {error}"
    if isinstance(error, CloudinaryError):
        return f"Cloudinary: {error}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _in_one_line(callback):
    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except OPERATIONAL_FAILURES as error:
            log.debug("command failed", exc_info=True)
            raise click.ClickException(failure_line(error)) from None

    run.one_line_failures = True
    return run


def fail_in_one_line(command: click.Command) -> click.Command:
    """Make `command` (and every command under it) end an operational failure with one
    line and status 1 (once: the commands are shared by every app made in a process)."""
    if command.callback is not None and not getattr(command.callback, "one_line_failures", False):
        command.callback = _in_one_line(command.callback)
    for subcommand in getattr(command, "commands", {}).values():
        fail_in_one_line(subcommand)
    return command


def register_commands(app) -> None:
    """Add the service's commands to `flask`."""
    for command in (db_cli, token, recordings_cli, daily_cli, calendar_cli, webhooks_cli):
        app.cli.add_command(fail_in_one_line(command))
