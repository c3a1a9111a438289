"""Session operations that touch both the store and Daily.co, so neither is left half-done."""

import logging
from datetime import timedelta

from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError

from .auth import require_owner
from .errors import UpstreamFailed
from .gateways.daily import DailyError
from .schemas import utcnow
from .store import new_id, update_rejection

log = logging.getLogger(__name__)

# Insert failures that prove nothing was written: no server was reachable (pymongo
# re-raises the first error if only a retry failed to find one), or the write was refused.
NOT_WRITTEN = (ServerSelectionTimeoutError, DuplicateKeyError)

CREATE_ROOM_FAILED = "Failed to create Daily.co room"
UPDATE_ROOM_FAILED = "Failed to update Daily.co room"
DELETE_ROOM_FAILED = "Failed to delete Daily.co room"


class SessionService:
    def __init__(self, store, daily, room_grace_minutes):
        self.store = store
        self.daily = daily
        self.room_grace = timedelta(minutes=room_grace_minutes)

    def room_exp(self, scheduled_at, duration):
        """Unix seconds at which the room closes: end of the class plus a grace period."""
        return int((scheduled_at + timedelta(minutes=duration) + self.room_grace).timestamp())

    def create(self, data, instructor_id):
        """Create the Daily room, then the session; no session without a room, nor the reverse."""
        try:
            room = self.daily.create_room(
                data["title"],
                exp=self.room_exp(data["scheduledAt"], data["duration"]),
                max_participants=data["maxParticipants"],
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

    def update(self, session_id, changes):
        """Apply `changes`; move the room's expiry first when the schedule changes."""
        current = self.store.get(session_id)
        require_owner(current)
        rejection = update_rejection(current, changes)
        if rejection:
            raise rejection
        old_exp = self.room_exp(current["scheduledAt"], current["duration"])
        new_exp = self.room_exp(
            changes.get("scheduledAt", current["scheduledAt"]),
            changes.get("duration", current["duration"]),
        )
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
