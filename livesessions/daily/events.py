"""Daily.co webhook events: each type goes to what it changes, by one explicit table
given at composition (services.py): recording events to the recording pipeline
(recordings/service.py), meeting, room and participant events to the sessions
(sessions/meeting_events.py). Every handler is idempotent, because Daily may deliver an
event twice or out of order; on top of that, a signed event is handled once per Daily event
id (daily/repository.py), so a repeated delivery, or a replay of one inside the signature's
tolerance, changes nothing.
"""

import logging
from collections.abc import Callable

from pymongo.errors import PyMongoError

from ..clock import utcnow
from .repository import WebhookEventStore

log = logging.getLogger(__name__)


class DailyEvents:
    """Dispatch events to their handlers; `types()` is what the webhook subscribes to."""

    def __init__(self, seen_events: WebhookEventStore, handlers: dict[str, Callable]):
        self.seen = seen_events
        self.handlers = handlers  # an event type -> its handler, called `(event, trusted)`

    def types(self) -> list[str]:
        """The event types handled, sorted (the webhook's `eventTypes`)."""
        return sorted(self.handlers)

    def handle(self, event, trusted: bool) -> None:
        """Act on one event; unknown types are acknowledged and ignored. `trusted`: the
        signature was verified.

        A trusted event with an id is claimed first: a repeat is acknowledged and ignored.
        If the handler raises, the claim is dropped, so that Daily's retry (it retries a
        non-2xx answer) is handled. Unsigned ids prove nothing, so without a secret events
        are handled as they come (development).
        """
        handler = self.handlers.get(event.type)
        if handler is None:
            log.info("webhook %s ignored", event.type)
            return
        if not trusted or event.id is None:
            handler(event, trusted)
            return
        claim = self.seen.claim(event.id, event.type, utcnow())
        if claim is None:
            log.info("webhook %s %s received before: ignored", event.type, event.id)
            return
        try:
            handler(event, trusted)
        except BaseException:
            self._forget(event, claim)
            raise
        self.seen.finish(event.id, claim, utcnow())

    def _forget(self, event, claim):
        """Drop a failed delivery's claim; if even that fails, its lease lets a retry in."""
        try:
            self.seen.release(event.id, claim)
        except PyMongoError as error:
            log.warning("webhook %s %s: claim left to lapse: %r", event.type, event.id, error)
