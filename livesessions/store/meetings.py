"""What Daily's meeting events note on a session in `livesessions`: whether the room's
meeting is running. `SessionStore` is built on `MeetingEvents` (kept apart so that
sessions.py stays readable).

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

MEETING_RUNNING = "meeting.running"
MEETING_STARTED_AT = "meeting.startedAt"
# As sessions.NOT_DELETED; written here because sessions.py builds on this module.
NOT_DELETED = {"deletedAt": None}


class MeetingEvents:
    """The meeting events' notes; a base of SessionStore, using its `sessions` collection."""

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
