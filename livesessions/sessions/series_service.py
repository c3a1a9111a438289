"""Recurring series: every occurrence is a session of its own (its own Daily room) carrying
the series' `seriesId`, made, changed and cancelled through the single-session code paths.

A series is never left half-made: when a room or a write fails, the sessions made are
removed and their rooms go to the worker's durable room-deletion job.
"""

import logging
from datetime import datetime
from itertools import islice

from dateutil.rrule import WEEKLY, rrule, weekday

from ..auth import Caller
from ..errors import (
    SERIES_EMPTY,
    SERIES_TOO_LATE,
    SERIES_TOO_LONG,
    ValidationFailed,
)
from ..schemas.requests import MAX_OCCURRENCES, WEEKDAYS
from ..store import JobStore, SessionStore, new_id
from ..validation.fields import LATEST_SCHEDULE
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
                made.append(self.sessions.create({**data, "scheduledAt": when}, caller, series_id))
        except Exception:
            self._roll_back(series_id, made)
            raise
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
