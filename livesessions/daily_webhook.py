"""Daily.co's webhook for this service: how it is doing, and making sure it is set up.

Daily has one webhook per domain. With its default `circuit-breaker` retry type, three
failed deliveries mark it FAILED and stop all delivery until it is updated; `ensure`
creates it with `exponential` retries instead (each event retried for ~15 minutes, the
webhook never disabled) and re-activates a FAILED one.
"""

import logging

from .events import DailyEvents
from .recordings import RecordingService
from .schemas import utcnow

log = logging.getLogger(__name__)

HANDLED_EVENTS = sorted({*RecordingService.HANDLERS, *DailyEvents.HANDLERS})
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


def webhook_health(daily):
    """The domain's webhook (Daily allows one), as `health_of` gives it."""
    hooks = daily.webhooks()
    return health_of(hooks[0] if hooks else None)


def ensure_webhook(daily, url, secret):
    """Create the webhook, or update it when it differs or is not ACTIVE.

    Returns ("created" | "updated" | "unchanged", Daily's webhook object as it now is).
    """
    wanted = {"url": url, "hmac": secret, "eventTypes": HANDLED_EVENTS, "retryType": RETRY_TYPE}
    hooks = daily.webhooks()
    if not hooks:
        return "created", daily.create_webhook(wanted)
    hook = hooks[0]
    current = {key: hook.get(key) for key in wanted}
    current["eventTypes"] = sorted(current["eventTypes"] or [])
    if current == wanted and hook.get("state") == "ACTIVE":
        return "unchanged", hook
    return "updated", daily.update_webhook(hook["uuid"], wanted)


def check_webhook(daily, state_store):
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


def last_known_state(state_store):
    """The webhook state the worker last saw, lower-cased (`unknown` if never checked)."""
    saved = state_store.get(STATE_KEY)
    return str(saved["state"]).lower() if saved else "unknown"
