"""What Daily's meeting and room events write on a session in `livesessions`: whether the
room's meeting is running, and the status changes that follow. `SessionStore` is built on
`MeetingEvents` (kept apart so that sessions.py stays readable).

The meeting is noted on the session as `meeting: {running, startedAt, endedAt}` (never
shown: the API's JSON takes its keys from SessionSchema). Daily may deliver an event twice,
late or out of order, so each event is placed by the start of the meeting it is about,
`start_ts`, which both meeting.started and meeting.ended carry:

- a meeting.started counts only if its meeting started after the one noted (`startedAt`):
  the meeting is then running;
- a meeting.ended counts unless its meeting started before the one noted: that meeting (or
  a later one whose meeting.started was lost) is over, at `end_ts`.

So for one meeting `ended` wins over `started` whatever their order, and an event of an
earlier meeting changes nothing. An event without its timestamp (Daily always sends one) is
taken in the order it arrives. The note is not part of the session as the API shows it, so
writing it leaves `updatedAt` alone.
"""

from datetime import datetime

from ..clock import utcnow
from ..lifecycle import meeting_is_running, status_after_meeting
from .documents import SessionDoc
from .filters import NOT_DELETED, status_in

MEETING_RUNNING = "meeting.running"
MEETING_STARTED_AT = "meeting.startedAt"
# Each lost race means another write to the same session in the meantime; a few in a row
# are as good as impossible, so the event's status change is then given up.
RACE_ATTEMPTS = 3


class MeetingEvents:
    """The meeting events' writes; a base of SessionStore, using its `sessions` collection,
    `_one` and `find_by_room`."""

    def record_meeting_start(self, room_name: str, started_at: datetime | None) -> bool:
        """Note that the room's meeting is running, unless the event is of a meeting already
        noted or an earlier one. Return whether the note was written."""
        if started_at is None:  # no timestamp: by the order of arrival, it is the latest
            return self._note_meeting(room_name, {MEETING_RUNNING: True}, {MEETING_RUNNING: True})
        stale = {MEETING_STARTED_AT: {"$gte": started_at}}
        return self._note_meeting(
            room_name, stale, {MEETING_RUNNING: True, MEETING_STARTED_AT: started_at}
        )

    def record_meeting_end(
        self, room_name: str, started_at: datetime | None, ended_at: datetime | None
    ) -> bool:
        """Note that the room's meeting (the one that began at `started_at`) is over, unless
        a later one was noted or this end already was. Return whether the note was written."""
        changes = {MEETING_RUNNING: False, "meeting.endedAt": ended_at or utcnow()}
        if started_at is None:  # no timestamp: by the order of arrival, it is the latest
            return self._note_meeting(room_name, {MEETING_RUNNING: False}, changes)
        stale = {
            "$or": [
                {MEETING_STARTED_AT: {"$gt": started_at}},  # a later meeting was noted
                {MEETING_STARTED_AT: started_at, MEETING_RUNNING: False},  # a duplicate
            ]
        }
        return self._note_meeting(room_name, stale, {**changes, MEETING_STARTED_AT: started_at})

    def _note_meeting(self, room_name, stale, changes) -> bool:
        """One conditional write: the note changes unless the session's note is `stale`."""
        result = self.sessions.update_one(
            {"roomName": room_name, **NOT_DELETED, "$nor": [stale]}, {"$set": changes}
        )
        return result.modified_count > 0

    def start_if_scheduled(self, room_name: str) -> SessionDoc | None:
        """Mark the room's scheduled session live while its meeting runs; return it, or None."""
        return self._one(
            {
                "roomName": room_name,
                **NOT_DELETED,
                "status": status_in(["scheduled"]),
                MEETING_RUNNING: True,
            },
            {"$set": {"status": "live", "updatedAt": utcnow()}},
        )

    def settle_after_meeting(
        self, room_name: str, now: datetime, unless_meeting_runs: bool = True
    ) -> SessionDoc | None:
        """Give the room's session the status `lifecycle.status_after_meeting` says, the room
        being empty (or expired: `unless_meeting_runs=False`); return it if it changed.

        With `unless_meeting_runs`, nothing changes while the meeting is noted running (the
        event was of an earlier meeting). The decision rests on the status, `scheduledAt` and
        `duration` read, so the write is conditional on all of them (and on the meeting):
        when another write came first, the session is read and decided again.
        """
        for _ in range(RACE_ATTEMPTS):
            doc = self.find_by_room(room_name)
            if doc is None or (unless_meeting_runs and meeting_is_running(doc)):
                return None
            status = status_after_meeting(doc, now)
            if status is None:
                return None
            filter_ = {
                "_id": doc["_id"],
                **NOT_DELETED,
                "status": status_in([doc["status"]]),  # as read: with its default
                "scheduledAt": doc["scheduledAt"],
                "duration": doc.get("duration"),  # None matches a missing one
            }
            if unless_meeting_runs:
                filter_[MEETING_RUNNING] = {"$ne": True}
            changed = self._one(filter_, {"$set": {"status": status, "updatedAt": now}})
            if changed is not None:
                return changed
        return None
