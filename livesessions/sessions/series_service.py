"""Recurring series: every occurrence is a session of its own (its own Daily room) carrying
the series' `seriesId`, made, changed and cancelled through the single-session code paths.

A series is never left half-made: when a room or a write fails, the sessions made are
removed and their rooms go to the worker's durable room-deletion job. Changes and
cancellations touch the future occurrences only (scheduled, not started yet).
"""

import logging
from datetime import datetime
from itertools import islice

from dateutil.rrule import WEEKLY, rrule, weekday

from ..auth.tokens import Caller
from ..clock import utcnow
from ..db import new_id
from ..domain_errors import SessionNotFound
from ..errors import (
    SERIES_EMPTY,
    SERIES_NOT_FOUND,
    SERIES_TOO_LATE,
    SERIES_TOO_LONG,
    NotFound,
    ValidationFailed,
)
from ..events import SessionCreated, SessionDeleted
from ..jobs import JobStore
from ..lifecycle import update_rejection
from ..schemas.requests import MAX_OCCURRENCES, WEEKDAYS
from ..validation.fields import LATEST_SCHEDULE
from .repository import SessionStore
from .service import SessionService

log = logging.getLogger(__name__)


def occurrences(first: datetime, recurrence: dict) -> list[datetime]:
    """The dates of a weekly series starting at `first` (UTC), each at `first`'s time of day;
    ValidationFailed when there are none, more than MAX_OCCURRENCES, or one is too late."""
    rule = rrule(
        WEEKLY,
        dtstart=first,
        interval=recurrence["interval"],
        byweekday=[weekday(WEEKDAYS.index(day)) for day in recurrence["days"]],
        count=recurrence.get("count"),
        until=recurrence.get("until"),
    )
    # rrule drops microseconds; the series keeps the first date's milliseconds
    dates = [
        when.replace(microsecond=first.microsecond) for when in islice(rule, MAX_OCCURRENCES + 1)
    ]
    if "until" in recurrence:
        dates = [when for when in dates if when <= recurrence["until"]]
    if len(dates) > MAX_OCCURRENCES:
        raise ValidationFailed(SERIES_TOO_LONG.format(limit=MAX_OCCURRENCES))
    if not dates:
        raise ValidationFailed(SERIES_EMPTY)
    if dates[-1] > LATEST_SCHEDULE:
        raise ValidationFailed(SERIES_TOO_LATE)
    return dates


def is_future(doc, now: datetime) -> bool:
    """What a series' PUT and DELETE touch: an occurrence scheduled and not started."""
    return doc["status"] == "scheduled" and doc["scheduledAt"] > now


class SeriesService:
    def __init__(self, sessions: SessionService, session_store: SessionStore, job_store: JobStore):
        self.sessions = sessions
        self.session_store = session_store
        self.job_store = job_store

    def create(self, data: dict, caller: Caller) -> tuple[str, list[dict]]:
        """Create every occurrence as POST /sessions does, each with `seriesId`; on a failure,
        roll back what was made and re-raise (the same 500 as POST /sessions)."""
        recurrence = data.pop("recurrence")
        dates = occurrences(data["scheduledAt"], recurrence)
        self.sessions.policy.check_create(caller, data.get("instructorId"))
        series_id = new_id()
        made = []
        try:
            for when in dates:
                occurrence = {**data, "scheduledAt": when}
                made.append(self.sessions.create(occurrence, caller, series_id, announce=False))
        except Exception:
            self._roll_back(series_id, made)
            raise
        for doc in made:  # announced once the whole series stands: none is rolled back
            self.sessions.events.publish(SessionCreated(doc))
        return series_id, made

    def _roll_back(self, series_id: str, made: list[dict]) -> None:
        """Remove the series' sessions, then queue the deletion of their rooms (Daily allows
        only so many deletions at a time). If the sessions can't be removed, their rooms are
        kept: better idle rooms than sessions whose room is gone."""
        try:
            removed = self.session_store.remove_series(series_id)
        except Exception as error:
            log.error(
                "series %s: rollback failed, %d session(s) kept: %r", series_id, len(made), error
            )
            return
        log.warning("series %s: rolled back, %d session(s) removed", series_id, removed)
        for doc in made:
            try:
                self.job_store.enqueue_room_deletion(doc["roomName"], doc["_id"])
            except Exception as error:
                log.error(
                    "room %s: deletion not queued (%r), deleting it now", doc["roomName"], error
                )
                self.sessions.delete_room_quietly(doc["roomName"])

    def _owned(self, series_id: str, caller: Caller) -> list[dict]:
        """The series' sessions (not deleted), if the caller owns every one of them."""
        docs = self.session_store.of_series(series_id)
        if not docs:
            raise NotFound(SERIES_NOT_FOUND)
        for doc in docs:
            caller.require_owner(doc)
        return docs

    def update(self, series_id: str, changes: dict, caller: Caller) -> list[dict]:
        """Apply `changes` to the future occurrences through PUT /sessions/:id's path. Every
        one is checked first (a 400 changes nothing); if one fails midway, those already
        changed are put back as they were."""
        now = utcnow()
        future = [doc for doc in self._owned(series_id, caller) if is_future(doc, now)]
        for doc in future:
            rejection = update_rejection(doc, changes)
            if rejection:
                raise rejection
        updated = []
        try:
            for doc in future:
                updated.append(self.sessions.update(doc["_id"], changes, caller))
        except Exception:
            for doc in future[: len(updated)]:
                self._restore(doc, changes, caller)
            raise
        return updated

    def _restore(self, doc, changes, caller):
        try:
            self.sessions.update(doc["_id"], {key: doc[key] for key in changes}, caller)
        except Exception as error:
            log.error("series session %s: could not restore it: %r", doc["_id"], error)

    def delete(self, series_id: str, caller: Caller) -> int:
        """Soft-delete the future occurrences as DELETE /sessions/:id does, each room left to
        the durable room-deletion job (a series may hold more rooms than Daily deletes at
        once); return how many were cancelled."""
        now = utcnow()
        cancelled = 0
        for doc in self._owned(series_id, caller):
            if not is_future(doc, now):
                continue
            try:
                before, deleted = self.session_store.soft_delete(doc["_id"])
            except SessionNotFound:
                continue  # deleted meanwhile (DELETE /sessions/:id)
            try:
                self.job_store.enqueue_room_deletion(before["roomName"], doc["_id"])
            except Exception:
                # a cancelled session always has its room's deletion queued
                self.session_store.undelete(before)
                raise
            self.sessions.events.publish(SessionDeleted(before, deleted))
            cancelled += 1
        return cancelled
