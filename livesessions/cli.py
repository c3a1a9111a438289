"""Command-line tools: `flask --app wsgi db ...`, `token ...`, `recordings ...`, `daily ...`."""

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from flask_jwt_extended import create_access_token

from .daily_webhook import ensure_webhook, health_of, webhook_health
from .demo import seed_demo
from .gateways.daily import DailyError
from .schemas import parse_iso_date
from .serialize import iso

db_cli = AppGroup("db", help="Database maintenance.")
recordings_cli = AppGroup("recordings", help="Recording upload jobs.")
daily_cli = AppGroup("daily", help="Daily.co set-up.")
webhook_cli = AppGroup("webhook", help="The Daily.co webhook this service listens to.")
daily_cli.add_command(webhook_cli)
JOB_STATUSES = ("pending", "processing", "done", "failed")


def services():
    return current_app.extensions["livesessions"]


@db_cli.command("init")
def db_init():
    """Create the indexes (safe to run again)."""
    services().database.ensure_indexes()
    click.echo("indexes are in place")


@db_cli.command("seed-demo")
def db_seed_demo():
    """Add demo courses, users and sessions (refused in production)."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("refusing to add demo data when APP_ENV=production")
    if services().database.embedded:
        click.echo(
            "note: the embedded store lives in this process only; `make run` seeds its own",
            err=True,
        )
    added = seed_demo(services())
    click.echo(
        f"demo data: {added['courses']} courses, {added['users']} users, "
        f"{added['sessions']} new sessions"
    )


@click.command("token")
@click.argument("user_id")
@click.option("--role", default="instructor", show_default=True, help="Role claim.")
@click.option("--name", default=None, help="Display name claim.")
@click.option("--hours", default=12, show_default=True, help="Validity in hours.")
@with_appcontext
def token(user_id, role, name, hours):
    """Print a development JWT for USER_ID (refused in production)."""
    from datetime import timedelta

    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("refusing to mint tokens when APP_ENV=production")
    claims = {current_app.config["JWT_ROLE_CLAIM"]: role}
    if name:
        claims["name"] = name
    click.echo(
        create_access_token(
            identity=user_id, additional_claims=claims, expires_delta=timedelta(hours=hours)
        )
    )


@recordings_cli.command("worker")
def recordings_worker():
    """Process upload jobs, and end sessions whose time is over, until SIGTERM or Ctrl-C (the
    job in hand is finished first)."""
    stop = threading.Event()

    def request_stop(signum, frame):
        click.echo(f"signal {signum}: stopping after the current job", err=True)
        # Not stop.set() here: the handler runs on the main thread, which may be inside
        # stop.wait() holding the event's lock; setting it from a thread can't deadlock.
        threading.Thread(target=stop.set, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    services().make_worker().run(stop)


@recordings_cli.command("process")
@click.option("--once", is_flag=True, help="Process the jobs due now, then exit.")
@click.pass_context
def recordings_process(ctx, once):
    """Process the due upload jobs (and the periodic tasks) and exit (--once), or keep going
    like `worker`."""
    if not once:
        ctx.invoke(recordings_worker)
        return
    worker = services().make_worker()
    worker.run_periodic()  # e.g. end the sessions whose time is over, as the worker would
    count = worker.drain()
    click.echo(f"processed {count} job(s)")


@recordings_cli.command("list")
@click.option("--status", type=click.Choice(JOB_STATUSES), help="Only jobs in this state.")
@click.option("--limit", default=50, show_default=True)
def recordings_list(status, limit):
    """Show upload jobs, newest first."""
    jobs = services().recording_store.list_jobs(status, limit)
    if not jobs:
        click.echo("no jobs")
    for job in jobs:
        line = (
            f"{job['_id']}  {job['status']:<10} attempts={job['attempts']}  "
            f"session={job['session']}  updated={iso(job['updatedAt'])}"
        )
        if job.get("error"):
            line += f"  error={job['error']}"
        click.echo(line)


@recordings_cli.command("retry")
@click.argument("job_id")
def recordings_retry(job_id):
    """Queue a failed job again, with a fresh set of attempts."""
    job = services().recordings.retry_job(job_id)
    if job is None:
        raise click.ClickException(f"no failed job {job_id}")
    click.echo(f"job {job_id} queued again")


@recordings_cli.command("reconcile")
@click.option(
    "--since",
    metavar="ISO_DATE",
    help="Look at sessions from this date on (default: RECORDING_RECONCILE_LOOKBACK_HOURS ago).",
)
def recordings_reconcile(since):
    """Ask Daily.co for the finished recordings of recent sessions and queue those whose
    webhook never came (the worker does this every RECORDING_RECONCILE_SECONDS)."""
    start = None
    if since is not None:
        start = parse_iso_date(since)
        if start is None:
            raise click.BadParameter("must be an ISO 8601 date", param_hint="--since")
    checked, queued = services().reconcile(start)
    click.echo(f"checked {checked} session(s), queued {queued} recording(s)")


def _echo_webhook(health):
    click.echo(f"state: {health['state']}")
    if health.get("url"):
        click.echo(f"url: {health['url']}")
        click.echo(f"failedCount: {health['failedCount']}")
        click.echo(f"eventTypes: {', '.join(health.get('eventTypes') or []) or 'all'}")


@webhook_cli.command("status")
def webhook_status():
    """Show Daily's webhook; exit 1 unless it is ACTIVE (usable as a monitoring check)."""
    try:
        health = webhook_health(services().daily)
    except DailyError as error:
        raise click.ClickException(f"Daily.co: {error}") from None
    _echo_webhook(health)
    if health["state"] != "ACTIVE":
        click.echo("events are not being delivered: run `daily webhook ensure URL`", err=True)
        raise SystemExit(1)


@webhook_cli.command("ensure")
@click.argument("url")
def webhook_ensure(url):
    """Create Daily's webhook for URL (this service's /sessions/webhook/daily), or update and
    re-activate it, signed with DAILY_WEBHOOK_SECRET, for the events the service handles."""
    secret = current_app.config["DAILY_WEBHOOK_SECRET"]
    if not secret:
        raise click.ClickException("DAILY_WEBHOOK_SECRET must be set: the webhook is signed")
    if not url.startswith(("https://", "http://")):
        raise click.BadParameter("must be an http(s) URL", param_hint="URL")
    try:
        action, hook = ensure_webhook(services().daily, url, secret)
    except DailyError as error:
        raise click.ClickException(f"Daily.co: {error}") from None
    click.echo(f"webhook {action}")
    _echo_webhook(health_of(hook))


def register_commands(app):
    """Add the service's commands to `flask`."""
    app.cli.add_command(db_cli)
    app.cli.add_command(token)
    app.cli.add_command(recordings_cli)
    app.cli.add_command(daily_cli)
