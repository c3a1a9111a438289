"""Daily.co's webhook for this service: how it is doing, and making sure it is set up.

Daily has one webhook per domain. With its default `circuit-breaker` retry type, three
failed deliveries mark it FAILED and stop all delivery until it is updated; `ensure`
creates it with `exponential` retries instead (each event retried for ~15 minutes, the
webhook never disabled) and re-activates a FAILED one.
"""

import logging

import click
from flask.cli import AppGroup

from ..clock import utcnow
from ..extensions import services
from ..service_state import StateStore
from .client import DailyClient, DailyError

log = logging.getLogger(__name__)

RETRY_TYPE = "exponential"
STATE_KEY = "daily_webhook"


def health_of(hook):
    """What matters of Daily's webhook object: `{state, failedCount, url, uuid, eventTypes}`
    (state `missing` when there is none)."""
    hook = hook or {"state": "missing"}
    return {
        "state": str(hook.get("state") or "unknown"),
        "failedCount": hook.get("failedCount"),
        "url": hook.get("url"),
        "uuid": hook.get("uuid"),
        "eventTypes": hook.get("eventTypes") or [],
    }


def webhook_health(daily: DailyClient) -> dict:
    """The domain's webhook (Daily allows one), as `health_of` gives it."""
    hooks = daily.webhooks()
    return health_of(hooks[0] if hooks else None)


def ensure_webhook(
    daily: DailyClient, url: str, secret: str, event_types: list[str]
) -> tuple[str, dict]:
    """Create the webhook for `event_types`, or update it when it differs or is not ACTIVE.

    Returns ("created" | "updated" | "unchanged", Daily's webhook object as it now is).
    """
    wanted = {
        "url": url,
        "hmac": secret,
        "eventTypes": sorted(event_types),
        "retryType": RETRY_TYPE,
    }
    hooks = daily.webhooks()
    if not hooks:
        return "created", daily.create_webhook(wanted)
    hook = hooks[0]
    current = {key: hook.get(key) for key in wanted}
    current["eventTypes"] = sorted(current["eventTypes"] or [])
    if current == wanted and hook.get("state") == "ACTIVE":
        return "unchanged", hook
    return "updated", daily.update_webhook(hook["uuid"], wanted)


def check_webhook(daily: DailyClient, state_store: StateStore) -> dict:
    """Read the webhook's health, keep it for /readyz, and warn loudly when it is not
    delivering (the worker runs this periodically)."""
    health = webhook_health(daily)
    state_store.put(STATE_KEY, {**health, "checkedAt": utcnow()})
    if health["state"] != "ACTIVE":
        log.warning(
            "Daily webhook is %s (failedCount %s): events are not being delivered; run "
            "`flask --app wsgi daily webhook ensure URL`. Recordings are still found by the "
            "reconciler.",
            health["state"],
            health["failedCount"],
        )
    return health


def last_known_state(state_store: StateStore) -> str:
    """The webhook state the worker last saw, lower-cased (`unknown` if never checked)."""
    saved = state_store.get(STATE_KEY)
    return str(saved["state"]).lower() if saved else "unknown"


# -- `flask --app wsgi daily webhook ...` ------------------------------------------------------

daily_cli = AppGroup("daily", help="Daily.co set-up.")
webhook_cli = AppGroup("webhook", help="The Daily.co webhook this service listens to.")
daily_cli.add_command(webhook_cli)


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
    secret = services().daily_signature.secret
    if not secret:
        raise click.ClickException("DAILY_WEBHOOK_SECRET must be set: the webhook is signed")
    if not url.startswith(("https://", "http://")):
        raise click.BadParameter("must be an http(s) URL", param_hint="URL")
    try:
        action, hook = ensure_webhook(services().daily, url, secret, services().events.types())
    except DailyError as error:
        raise click.ClickException(f"Daily.co: {error}") from None
    health = health_of(hook)
    # what /readyz shows changes now, not at the worker's next check
    services().state_store.put(STATE_KEY, {**health, "checkedAt": utcnow()})
    click.echo(f"webhook {action}")
    _echo_webhook(health)
