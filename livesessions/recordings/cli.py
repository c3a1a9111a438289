"""`flask --app wsgi recordings ...`: the worker, one-off processing, and the jobs' state."""

import signal
import threading

import click
from flask.cli import AppGroup

from ..clock import iso
from ..extensions import services
from ..jobs import STATUSES as JOB_STATUSES
from ..metrics import serve_metrics
from ..validation.dates import read_iso

recordings_cli = AppGroup("recordings", help="Recording upload jobs.")


@recordings_cli.command("worker")
def recordings_worker():
    """Process upload, room-deletion and webhook jobs, each kind in its own slots, and end
    sessions whose time is over, until SIGTERM or Ctrl-C (the jobs in hand are finished
    first). A server process: it logs the start-up report, as the web servers do."""
    services().startup_report()
    stop = threading.Event()

    def request_stop(signum, frame):
        click.echo(f"signal {signum}: stopping after the current jobs", err=True)
        # Not stop.set() here: the handler runs on the main thread, which may be inside
        # stop.wait() holding the event's lock; setting it from a thread can't deadlock.
        threading.Thread(target=stop.set, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    access = services().metrics_access
    # its own /metrics (or share the web's PROMETHEUS_MULTIPROC_DIR instead), with the
    # web's rule: METRICS_TOKEN, and off in production without it (said at start-up)
    if access.worker_port and not access.off:
        serve_metrics(access.worker_port, services(), access)
    services().make_worker().run(stop)


@recordings_cli.command("process")
@click.option("--once", is_flag=True, help="Process the jobs due now, then exit.")
@click.pass_context
def recordings_process(ctx, once):
    """Process the due jobs, uploads and room deletions (and the periodic tasks), and exit
    (--once), or keep going like `worker`."""
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
    """Show the worker's jobs (uploads, and room deletions: `room:<name>`), newest first."""
    jobs = services().job_store.list(status, limit)
    if not jobs:
        click.echo("no jobs")
    for job in jobs:
        line = (
            f"{job['_id']}  {job['status']:<10} attempts={job['attempts']}  "
            f"session={job['session']}  updated={iso(job['updatedAt'])}"
        )
        if job.get("startedAt"):  # a recording's, as Daily recorded it
            line += f"  started={iso(job['startedAt'])}"
        if job.get("finishedAt"):
            line += f"  finished={iso(job['finishedAt'])}"
        if job["status"] == "processing":
            line += f"  worker={job['worker']}  lease until={iso(job['leaseUntil'])}"
        if job.get("error"):
            line += f"  error={job['error']}"
        click.echo(line)


def slots(worker: dict) -> str:
    """A worker's job slots as `status` shows them: `slots=7 (upload 2, room-deletion 1,
    webhook 4)`; a worker of an older version beats their total only."""
    by_kind = worker.get("slotsByKind")
    if not by_kind:
        return f"slots={worker['slots']}"
    kinds = ", ".join(f"{kind} {count}" for kind, count in by_kind.items())
    return f"slots={worker['slots']} ({kinds})"


@recordings_cli.command("status")
def recordings_status():
    """The recording workers alive (their last heartbeat) and how far behind the queue is,
    as /readyz counts them."""
    health = services().queue_health()
    click.echo(f"{len(health.workers)} worker(s) alive")
    for worker in health.workers:
        age = (health.now - worker["beatAt"]).total_seconds()
        click.echo(f"  {worker['_id']}  {slots(worker)}  last heartbeat {age:.0f}s ago")
    if health.oldest_due is None:
        click.echo("no job is due")
    else:
        job = health.oldest_due
        click.echo(f"oldest due job: {job['_id']}, due for {health.oldest_due_seconds:.1f}s")


@recordings_cli.command("retry")
@click.argument("job_id")
def recordings_retry(job_id):
    """Queue a failed job again, with a fresh set of attempts."""
    job = services().recording_service.retry_job(job_id)
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
        start = read_iso(since)
        if start is None:
            raise click.BadParameter("must be an ISO 8601 date", param_hint="--since")
    checked, queued = services().reconcile(start)
    click.echo(f"checked {checked} session(s), queued {queued} recording(s)")


@recordings_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
def recordings_purge(dry_run):
    """Delete the recordings past RECORDING_RETENTION_DAYS (counted from when Daily finished
    them), as DELETE /sessions/:id/recordings/:recordingId does (the worker does this every
    RECORDING_RECONCILE_SECONDS)."""
    library = services().recording_library
    if library.retention_days is None:
        raise click.ClickException("RECORDING_RETENTION_DAYS is not set: recordings are kept")
    expired = library.expired()
    verb = "would delete" if dry_run else "deleting"
    for job in expired:
        click.echo(
            f"{verb} {job['_id']}  session={job['session']}  "
            f"finished={iso(job.get('finishedAt') or job['createdAt'])}"
        )
    if dry_run:
        click.echo(f"{len(expired)} recording(s) past {library.retention_days:g} day(s)")
        return
    deleted, failed = library.purge()
    click.echo(f"deleted {deleted} recording(s), {failed} failed")
    if failed:
        raise SystemExit(1)
