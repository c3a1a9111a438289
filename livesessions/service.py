"""Session operations that touch both the store and Daily.co, so neither is left half-done."""

import logging
from datetime import timedelta

from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError

from .attendance import summarize
from .auth import current_user_id, current_user_name, owns, require_owner
from .errors import ApiError, Forbidden, UpstreamFailed
from .gateways.daily import DailyError, daily_user_id
from .schemas import utcnow
from .serialize import iso
from .store import OPEN_STATUSES, class_ends_at, new_id, update_rejection

log = logging.getLogger(__name__)

# Insert failures that prove nothing was written: no server was reachable (pymongo
# re-raises the first error if only a retry failed to find one), or the write was refused.
NOT_WRITTEN = (ServerSelectionTimeoutError, DuplicateKeyError)

CREATE_ROOM_FAILED = "Failed to create Daily.co room"
UPDATE_ROOM_FAILED = "Failed to update Daily.co room"
DELETE_ROOM_FAILED = "Failed to delete Daily.co room"
TOKEN_FAILED = "Failed to create Daily.co meeting token"
NOT_A_PARTICIPANT = "You are not a participant of this live session"
SESSION_OVER = "This live session is over"
ATTENDANCE_FORBIDDEN = "You are not allowed to view this live session's attendance"


class SessionService:
    def __init__(
        self,
        store,
        daily,
        room_grace_minutes,
        *,
        attendance=None,
        room_privacy="public",
        join_early_minutes=15,
    ):
        self.store = store
        self.daily = daily
        self.attendance_store = attendance
        self.room_grace = timedelta(minutes=room_grace_minutes)
        self.room_privacy = room_privacy
        self.join_early = timedelta(minutes=join_early_minutes)

    def room_closes_at(self, doc):
        """When the room of `doc` closes: the end of the class plus a grace period."""
        return class_ends_at(doc) + self.room_grace

    def room_exp(self, doc):
        """The room's `exp` for Daily, in Unix seconds."""
        return int(self.room_closes_at(doc).timestamp())

    def create(self, data, instructor_id):
        """Create the Daily room, then the session; no session without a room, nor the reverse."""
        try:
            room = self.daily.create_room(
                data["title"],
                exp=self.room_exp(data),
                max_participants=data["maxParticipants"],
                privacy=self.room_privacy,
            )
        except DailyError as error:
            log.error("creating a Daily room failed: %s", error)
            raise UpstreamFailed(CREATE_ROOM_FAILED) from None
        now = utcnow()
        doc = {
            "_id": new_id(),
            "title": data["title"],
            "description": data.get("description", ""),
            "course": data["courseId"],
            "instructor": data.get("instructorId") or instructor_id,
            "roomName": room["name"],
            "roomUrl": room["url"],
            "scheduledAt": data["scheduledAt"],
            "duration": data["duration"],
            "status": "scheduled",
            "maxParticipants": data["maxParticipants"],
            "participants": [],
            "isRecorded": False,
            "recordingUrl": None,
            "recordingDuration": None,
            "createdAt": now,
            "updatedAt": now,
        }
        try:
            return self.store.insert(doc)
        except NOT_WRITTEN:
            self._delete_room_quietly(room["name"])
            raise
        except Exception:
            stored = self._undo_room_unless_stored(doc)
            if stored is not None:
                return stored  # the write landed; only its acknowledgement was lost
            raise

    def _undo_room_unless_stored(self, doc):
        """After an insert that may or may not have landed, look, and return the session if
        it was stored after all.

        The room is deleted only when the session is known to be absent. If the database
        can't tell, the room is kept (it expires by itself): better an idle room than a
        session whose room is gone.
        """
        try:
            stored = self.store.find_any(doc["_id"])
        except Exception as error:
            log.error("session %s: insert outcome unknown, room kept: %r", doc["_id"], error)
            return None
        if stored is None:
            self._delete_room_quietly(doc["roomName"])
        return stored

    def join(self, session_id):
        """A Daily meeting token for the caller: an owner token for the session's instructor
        or an admin, a participant token for an admitted student; valid from a while before
        the start until the end of the class."""
        doc = self.store.get(session_id)
        user_id, owner = current_user_id(), owns(doc)
        if not owner and user_id not in (doc.get("participants") or []):
            raise Forbidden(NOT_A_PARTICIPANT)
        if doc["status"] not in OPEN_STATUSES:
            raise ApiError(f"Cannot join a session that is {doc['status']}")
        opens = doc["scheduledAt"] - self.join_early
        closes = class_ends_at(doc)
        now = utcnow()
        if now < opens:
            raise ApiError(f"This live session can be joined from {iso(opens)}")
        if now >= closes:
            raise ApiError(SESSION_OVER)
        try:
            token = self.daily.create_meeting_token(
                doc["roomName"],
                nbf=int(opens.timestamp()),
                exp=int(closes.timestamp()),
                is_owner=owner,
                user_id=daily_user_id(user_id),
                user_name=current_user_name() or user_id,
            )
        except DailyError as error:
            log.error("a meeting token for %s failed: %s", doc["roomName"], error)
            raise UpstreamFailed(TOKEN_FAILED) from None
        return {
            "roomUrl": doc["roomUrl"],
            "token": token,
            "joinUrl": f"{doc['roomUrl']}?t={token}",
            "expiresAt": iso(closes),
        }

    def attendance(self, session_id):
        """Who attended the session, for its instructor or an admin."""
        doc = self.store.get(session_id)
        require_owner(doc, ATTENDANCE_FORBIDDEN)
        visits = self.attendance_store.of_session(session_id)
        return summarize(doc, visits, utcnow(), self.room_closes_at(doc))

    def end_overdue(self):
        """End the open sessions whose class is over by more than the room's grace."""
        ended = self.store.end_overdue(utcnow(), self.room_grace)
        if ended:
            log.info("ended %d session(s) whose time was over: %s", len(ended), ", ".join(ended))
        return ended

    def update(self, session_id, changes):
        """Apply `changes`; move the room's expiry first when the schedule changes."""
        current = self.store.get(session_id)
        require_owner(current)
        rejection = update_rejection(current, changes)
        if rejection:
            raise rejection
        old_exp, new_exp = self.room_exp(current), self.room_exp({**current, **changes})
        if new_exp != old_exp:
            self._set_room_exp(current["roomName"], new_exp)
        try:
            return self.store.update(session_id, changes)
        except Exception:
            if new_exp != old_exp:
                self._restore_room_exp(current["roomName"], old_exp)
            raise

    def delete(self, session_id):
        """Soft-delete the session and delete its room; undo the first if Daily refuses."""
        require_owner(self.store.get(session_id))
        before, deleted = self.store.soft_delete(session_id)
        try:
            self.daily.delete_room(before["roomName"])
        except DailyError as error:
            log.error("deleting Daily room %s failed: %s", before["roomName"], error)
            self.store.undelete(before)
            raise UpstreamFailed(DELETE_ROOM_FAILED) from None
        return deleted

    def _set_room_exp(self, room_name, exp):
        try:
            self.daily.update_room_exp(room_name, exp)
        except DailyError as error:
            log.error("updating Daily room %s failed: %s", room_name, error)
            raise UpstreamFailed(UPDATE_ROOM_FAILED) from None

    def _restore_room_exp(self, room_name, exp):
        try:
            self.daily.update_room_exp(room_name, exp)
        except DailyError as error:
            log.error("could not restore the expiry of Daily room %s: %s", room_name, error)

    def _delete_room_quietly(self, room_name):
        try:
            self.daily.delete_room(room_name)
        except DailyError as error:
            log.error("could not delete orphan Daily room %s: %s", room_name, error)
