"""The in-process event hub: a feature publishes what it changed, once the change is stored,
and the features that care (outbound webhooks) subscribe at composition.

Delivery is synchronous, in the publisher's thread, in the order of subscription. A
subscriber's failure is logged and never fails the change, nor reaches the other
subscribers. This module imports nothing of the features: the payloads are their domain
objects (a session document, a student id, a recording's ids)."""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionCreated:
    session: dict


@dataclass(frozen=True)
class SessionUpdated:
    session: dict


@dataclass(frozen=True)
class SessionStatusChanged:
    """The session's status changed to the one it has now."""

    session: dict


@dataclass(frozen=True)
class SessionDeleted:
    """A session was soft-deleted: as it was before, and as it is now (cancelled)."""

    before: dict
    session: dict


@dataclass(frozen=True)
class SessionsEnded:
    """The sweep ended these sessions (it knows only their ids)."""

    session_ids: tuple[str, ...]


@dataclass(frozen=True)
class ParticipantAdded:
    session: dict
    student_id: str


@dataclass(frozen=True)
class ParticipantRemoved:
    session: dict
    student_id: str


@dataclass(frozen=True)
class RecordingReady:
    """The upload job of the recording is done."""

    session_id: str
    recording_id: str


@dataclass(frozen=True)
class RecordingDeleted:
    session_id: str
    recording_id: str


class EventHub:
    """Subscribe handlers to event types; publish an event to the handlers of its type."""

    def __init__(self):
        self._subscribers: dict[type, list[Callable]] = defaultdict(list)

    def subscribe(self, event_type: type, handler: Callable) -> None:
        self._subscribers[event_type].append(handler)

    def publish(self, event) -> None:
        """Call each subscriber of the event's type, in turn; never raises."""
        for handler in self._subscribers.get(type(event), ()):
            try:
                handler(event)
            except Exception:  # the change stands; this subscriber missed it, and said so
                log.exception("event %s: subscriber %r failed", type(event).__name__, handler)
