"""A session's lifecycle: its statuses, the transitions allowed, and when it may change."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from .clock import class_ends_at
from .domain_errors import CapacityBelowParticipants, DomainError, SessionNotChangeable

STATUSES = ("scheduled", "live", "ended", "cancelled")
OPEN_STATUSES = ("scheduled", "live")
# new status -> statuses it may be reached from (same -> same is a no-op, handled apart).
STATUS_SOURCES = {
    "scheduled": (),
    "live": ("scheduled",),
    "ended": ("live",),
    "cancelled": ("scheduled", "live"),
}
# Ways back, for the session's instructor or an admin only (no client of the Node service
# knew them, so without such a caller they stay the spec's "Cannot change status" 400).
REOPENINGS = {("ended", "live"), ("cancelled", "scheduled")}
# A session's `recordingStatus`: where its latest recording is.
RECORDING_STATUSES = ("none", "recording", "processing", "ready", "failed")


def is_open(doc) -> bool:
    """Whether the session still takes changes and participants."""
    return doc["status"] in OPEN_STATUSES


def update_rejection(doc, changes) -> DomainError | None:
    """Return why `changes` can't be applied to `doc` (a DomainError), or None."""
    if not is_open(doc):
        return SessionNotChangeable(doc["status"])
    capacity = changes.get("maxParticipants")
    taken = len(doc.get("participants") or [])
    if capacity is not None and capacity < taken:
        return CapacityBelowParticipants(taken)
    return None


@dataclass(frozen=True)
class ClassWindow:
    """When a session's room may be used: joins from `join_early` before the start until
    the end of the class; the room (and so recordings) until `room_grace` after that."""

    join_early: timedelta = timedelta(minutes=15)
    room_grace: timedelta = timedelta(minutes=30)

    @classmethod
    def from_config(cls, config) -> "ClassWindow":
        return cls(
            timedelta(minutes=config["JOIN_OPENS_MINUTES_BEFORE"]),
            timedelta(minutes=config["DAILY_ROOM_EXP_GRACE_MINUTES"]),
        )

    def opens_at(self, doc) -> datetime:
        return doc["scheduledAt"] - self.join_early

    def room_closes_at(self, doc) -> datetime:
        return class_ends_at(doc) + self.room_grace


def meeting_is_running(doc) -> bool:
    """Whether the session's room has a meeting going on, as the meeting events noted it
    (see sessions/repository.py)."""
    return (doc.get("meeting") or {}).get("running") is True


def status_after_meeting(doc, now) -> str | None:
    """The status a session takes when its room's meeting is over (or its room expired) at
    `now`, or None for no change.

    Only the end of the class time ends a live class: an empty room says nothing before that.
    A class not begun yet (the instructor opened the room early and left) is `scheduled`
    again; one in its class time (a network blip emptied the room) stays `live`. Other
    statuses never move here.
    """
    if doc["status"] != "live":
        return None
    if now >= class_ends_at(doc):
        return "ended"
    if now < doc["scheduledAt"]:
        return "scheduled"
    return None
