"""Session operations that touch both the store and Daily.co, so neither is left half-done.

The caller is passed in (an `auth.Caller`), so these run the same from a view, the CLI,
the demo seeder or a plain test.
"""

import logging

from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError

from ..auth.policy import AccessPolicy
from ..auth.tokens import Caller
from ..clock import class_ends_at, iso, to_seconds, utcnow
from ..daily import DailyBusy, DailyClient, DailyError, DailyRateLimited, daily_user_id
from ..db import new_id
from ..errors import (
    ATTENDANCE_FORBIDDEN,
    CANNOT_JOIN,
    COURSE_ATTENDANCE_FORBIDDEN,
    CREATE_ROOM_FAILED,
    DELETE_ROOM_FAILED,
    JOIN_NOT_YET,
    NOT_A_PARTICIPANT,
    REOPEN_PAST,
    SESSION_OVER,
    TOKEN_FAILED,
    UPDATE_ROOM_FAILED,
    ApiError,
    Forbidden,
    UpstreamFailed,
)
from ..events import (
    EventHub,
    ParticipantAdded,
    ParticipantRemoved,
    SessionCreated,
    SessionDeleted,
    SessionsEnded,
    SessionStatusChanged,
    SessionUpdated,
)
from ..jobs import JobStore
from ..lifecycle import REOPENINGS, ClassWindow, is_open, update_rejection
from .attendance import summarize
from .attendance_repository import AttendanceStore
from .course_attendance import course_attendance
from .documents import new_session
from .ical import feed_name, join_page_link, sessions_calendar
from .platform_repository import POPULATED_LABEL, PlatformStore
from .repository import SessionStore

log = logging.getLogger(__name__)

# Insert failures that prove nothing was written: no server was reachable (pymongo
# re-raises the first error if only a retry failed to find one), or the write was refused.
NOT_WRITTEN = (ServerSelectionTimeoutError, DuplicateKeyError)


class SessionService:
    def __init__(
        self,
        session_store: SessionStore,
        daily: DailyClient,
        window: ClassWindow,
        *,
        policy: AccessPolicy | None = None,
        attendance_store: AttendanceStore | None = None,
        platform_store: PlatformStore | None = None,
        job_store: JobStore | None = None,
        room_privacy: str = "public",
        room_knocking: bool = False,
        auto_record: bool = False,  # DAILY_AUTO_RECORD=owner: owner tokens start a recording
        events: EventHub | None = None,  # where the stored changes are published
    ):
        self.session_store = session_store
        self.daily = daily
        self.attendance_store = attendance_store
        self.platform_store = platform_store
        self.job_store = job_store
        self.window = window
        self.policy = policy or AccessPolicy()
        self.room_privacy = room_privacy
        self.room_knocking = room_knocking
        self.auto_record = auto_record
        self.events = events or EventHub()

    def room_closes_at(self, doc):
        """When the room of `doc` closes: the end of the class plus a grace period."""
        return self.window.room_closes_at(doc)

    def room_exp(self, doc) -> int:
        """The room's `exp` for Daily, in Unix seconds."""
        return to_seconds(self.room_closes_at(doc))

    def create(
        self, data: dict, caller: Caller, series_id: str | None = None, announce: bool = True
    ) -> dict:
        """Create the Daily room, then the session; no session without a room, nor the reverse.
        A session of a recurring series carries its `seriesId`. `announce=False` publishes
        nothing (a series announces its sessions once every one of them is made)."""
        doc = self._create(data, caller, series_id)
        if announce:
            self.events.publish(SessionCreated(doc))
        return doc

    def _create(self, data, caller, series_id):
        self.policy.check_create(caller, data.get("instructorId"))
        try:
            room = self.daily.create_room(
                data["title"],
                exp=self.room_exp(data),
                max_participants=data["maxParticipants"],
                privacy=self.room_privacy,
                knocking=self.room_knocking,
            )
        except DailyError as error:
            log.error("creating a Daily room failed: %s", error)
            raise UpstreamFailed(CREATE_ROOM_FAILED) from None
        instructor = data.get("instructorId") or caller.user_id
        doc = new_session(new_id(), data, room, instructor, self.room_privacy, utcnow())
        if series_id is not None:
            doc["seriesId"] = series_id
        try:
            return self.session_store.insert(doc)
        except NOT_WRITTEN:
            self.delete_room_quietly(room["name"])
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
            stored = self.session_store.find_any(doc["_id"])
        except Exception as error:
            log.error("session %s: insert outcome unknown, room kept: %r", doc["_id"], error)
            return None
        if stored is None:
            self.delete_room_quietly(doc["roomName"])
        return stored

    def add_participant(self, session_id: str, student_id: str, caller: Caller | None) -> dict:
        """Admit a student (the store makes it atomic), if the policy lets the caller."""
        if self.policy.strict:
            self.policy.check_participant(caller, self.session_store.get(session_id), student_id)
        doc, changed = self.session_store.admit(session_id, student_id)
        if changed:  # no event for a no-op
            self.events.publish(ParticipantAdded(doc, student_id))
        return doc

    def remove_participant(self, session_id: str, student_id: str, caller: Caller | None) -> dict:
        """Free a student's seat, if the policy lets the caller."""
        if self.policy.strict:
            self.policy.check_participant(caller, self.session_store.get(session_id), student_id)
        doc = self.session_store.remove_participant(session_id, student_id)
        self.events.publish(ParticipantRemoved(doc, student_id))
        return doc

    def set_status(self, session_id: str, status: str, caller: Caller | None) -> dict:
        """Move the session along the allowed transitions, if the policy lets the caller;
        its instructor or an admin may also reopen it (lifecycle.REOPENINGS)."""
        if caller is None and not self.policy.strict:
            # nobody to check and nobody who may reopen: the one conditional update
            doc, changed = self.session_store.change_status(session_id, status)
        else:
            current = self.session_store.get(session_id)
            self.policy.check_owner(caller, current)
            if (current["status"], status) in REOPENINGS and caller and caller.owns(current):
                doc, changed = self._reopen(current, status), True
            else:
                doc, changed = self.session_store.change_status(session_id, status)
        if changed:
            self.events.publish(SessionStatusChanged(doc))
        return doc

    def _reopen(self, current, status):
        """`ended` -> `live` while the room is open (the class was ended too soon);
        `cancelled` -> `scheduled` while the class has not started. The room is kept: a
        status change never deleted it, and it expires only after the class."""
        now = utcnow()
        if status == "live" and now >= self.window.room_closes_at(current):
            raise ApiError(SESSION_OVER)
        if status == "scheduled" and now >= current["scheduledAt"]:
            raise ApiError(REOPEN_PAST)
        return self.session_store.reopen(current["_id"], current["status"], status)

    def join(self, session_id: str, caller: Caller) -> dict:
        """A Daily meeting token for the caller: an owner token for the session's instructor
        or an admin, a participant token for an admitted student; valid from a while before
        the start until the end of the class. Under DAILY_AUTO_RECORD=owner an owner token
        also starts Daily's cloud recording when its holder joins (no REST call)."""
        doc = self.session_store.get(session_id)
        owner = caller.owns(doc)
        if not owner and caller.user_id not in (doc.get("participants") or []):
            raise Forbidden(NOT_A_PARTICIPANT)
        if not is_open(doc):
            raise ApiError(CANNOT_JOIN.format(status=doc["status"]))
        opens = self.window.opens_at(doc)
        closes = class_ends_at(doc)
        now = utcnow()
        if now < opens:
            raise ApiError(JOIN_NOT_YET.format(opens=iso(opens)))
        if now >= closes:
            raise ApiError(SESSION_OVER)
        try:
            token = self.daily.create_meeting_token(
                doc["roomName"],
                nbf=to_seconds(opens),
                exp=to_seconds(closes),
                is_owner=owner,
                user_id=daily_user_id(caller.user_id),
                user_name=caller.name or caller.user_id,
                start_recording=owner and self.auto_record,
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

    def attendance(self, session_id: str, caller: Caller) -> dict:
        """Who attended the session, for its instructor or an admin."""
        doc = self.session_store.get(session_id)
        caller.require_owner(doc, ATTENDANCE_FORBIDDEN)
        visits = self.attendance_store.of_session(session_id)
        return summarize(doc, visits, utcnow(), self.room_closes_at(doc))

    def course_attendance(self, course_id: str, caller: Caller) -> dict:
        """A course's attendance per student: every counted session for an admin, the
        caller's own for an instructor; Forbidden for a caller who teaches none of them."""
        instructor = None if caller.is_admin else caller.user_id
        docs = self.session_store.counted_in_course(course_id, instructor)
        if not docs and not caller.is_admin:
            raise Forbidden(COURSE_ATTENDANCE_FORBIDDEN)
        visits = self.attendance_store.of_sessions([doc["_id"] for doc in docs])
        now = utcnow()
        summaries = [
            summarize(doc, visits[doc["_id"]], now, self.room_closes_at(doc)) for doc in docs
        ]
        return course_attendance(course_id, docs, summaries)

    def calendar(self, field: str, value: str) -> bytes:
        """The sessions whose `field` (course or instructor) is `value` as an iCalendar feed
        named after that course or instructor."""
        docs = self.platform_store.populate(self.session_store.by_field(field, value), field)
        label = next((doc[field].get(POPULATED_LABEL[field]) for doc in docs if doc[field]), None)
        return sessions_calendar(feed_name(label), docs)

    def student_calendar(self, student_id: str, join_page_url: str | None) -> bytes:
        """The sessions the student is admitted to as an iCalendar feed, each event linked
        to the platform's join page (never to the room)."""
        docs = self.session_store.admitted(student_id)
        return sessions_calendar(feed_name(None), docs, link=join_page_link(join_page_url))

    def end_overdue(self) -> list[str]:
        """End the open sessions whose class is over by more than the room's grace."""
        ended = self.session_store.end_overdue(utcnow(), self.window.room_grace)
        if ended:
            log.info("ended %d session(s) whose time was over: %s", len(ended), ", ".join(ended))
            self.events.publish(SessionsEnded(tuple(ended)))
        return ended

    def update(self, session_id: str, changes: dict, caller: Caller) -> dict:
        """Apply `changes`; move the room's expiry first when the schedule changes."""
        doc = self._update(session_id, changes, caller)
        self.events.publish(SessionUpdated(doc))
        return doc

    def _update(self, session_id, changes, caller):
        current = self.session_store.get(session_id)
        caller.require_owner(current)
        rejection = update_rejection(current, changes)
        if rejection:
            raise rejection
        old_exp, new_exp = self.room_exp(current), self.room_exp({**current, **changes})
        if new_exp != old_exp:
            self._set_room_exp(current["roomName"], new_exp)
        try:
            return self.session_store.update(session_id, changes)
        except Exception:
            if new_exp != old_exp:
                self._restore_room_exp(current["roomName"], old_exp)
            raise

    def delete(self, session_id: str, caller: Caller) -> dict:
        """Soft-delete the session and delete its room; undo the first if Daily refuses. A
        call that can't go now (no turn free under Daily's rate limit, no in-flight slot in
        this busy process) leaves the room to the worker's durable job: never a 500."""
        caller.require_owner(self.session_store.get(session_id))
        before, deleted = self.session_store.soft_delete(session_id)
        try:
            self.daily.delete_room(before["roomName"], wait=0)
        except (DailyRateLimited, DailyBusy) as error:
            self.job_store.enqueue_room_deletion(before["roomName"], session_id)
            log.info("room %s: deletion queued (%s)", before["roomName"], error)
        except DailyError as error:
            log.error("deleting Daily room %s failed: %s", before["roomName"], error)
            self.session_store.undelete(before)
            raise UpstreamFailed(DELETE_ROOM_FAILED) from None
        self.events.publish(SessionDeleted(before, deleted))
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

    def delete_room_quietly(self, room_name):
        try:
            self.daily.delete_room(room_name)
        except DailyError as error:
            log.error("could not delete orphan Daily room %s: %s", room_name, error)
