"""The `/sessions/series` blueprint: recurring classes, one session (and room) per
occurrence, made, changed and cancelled together (the logic is `series_service`'s)."""

from flask import Blueprint
from werkzeug.exceptions import HTTPException

from ..auth.tokens import current_caller, token_required
from ..errors import (
    CANNOT_UPDATE,
    CAPACITY_BELOW_PARTICIPANTS,
    CREATE_FORBIDDEN,
    CREATE_ROOM_FAILED,
    NOT_OWNER,
    OTHER_INSTRUCTOR_FORBIDDEN,
    SERIES_EMPTY,
    SERIES_NOT_FOUND,
    SERIES_TOO_LATE,
    SERIES_TOO_LONG,
    TOO_MANY_REQUESTS,
    UPDATE_ROOM_FAILED,
    ApiError,
)
from ..extensions import services
from ..openapi import STRICT_ONLY, VALIDATION, Note, documented, request_body
from ..ratelimit import per_room
from ..schemas import (
    CancelledSeriesSchema,
    CreateSeriesSchema,
    SeriesSchema,
    UpdateSeriesSchema,
)
from ..schemas.requests import MAX_OCCURRENCES
from .series_service import occurrences

bp = Blueprint("series", __name__, url_prefix="/sessions/series")


def series_json(series_id, docs, caller):
    """A series' answer: its id and the sessions, each as POST /sessions shows one."""
    presenter = services().presenter
    return {"seriesId": series_id, "sessions": [presenter.session(doc, caller) for doc in docs]}


def occurrence_count() -> int:
    """How many sessions, each with its room, this POST would create: what the rate limits
    count it as before it runs. A body it will refuse counts as 1."""
    try:
        data = request_body()
        return len(occurrences(data["scheduledAt"], data["recurrence"]))
    except (ApiError, HTTPException):
        return 1


@bp.post("")
@documented(
    "Create a recurring series of live sessions",
    response=SeriesSchema,
    status=201,
    auth=True,
    body=CreateSeriesSchema,
    errors={
        400: (
            VALIDATION,
            SERIES_TOO_LONG.format(limit=MAX_OCCURRENCES),
            SERIES_EMPTY,
            SERIES_TOO_LATE,
        ),
        403: (CREATE_FORBIDDEN, OTHER_INSTRUCTOR_FORBIDDEN, STRICT_ONLY),
        429: (
            TOO_MANY_REQUESTS,
            Note(
                "(over RATE_LIMIT_USER_WRITES, a series counting once per occurrence, or "
                "over SERIES_ROOMS_PER_HOUR; see `Retry-After`; nothing is created)"
            ),
        ),
        500: (CREATE_ROOM_FAILED,),
    },
)
@per_room(occurrence_count)
@token_required
def create_series():
    """Create a session, with its own Daily.co room, for every occurrence of a weekly
    recurrence (at most 100), each carrying the series' `seriesId`. If a room or a write
    fails, the sessions made are removed and their rooms deleted by the worker's job."""
    data = request_body()
    caller = current_caller()
    series_id, docs = services().series_service.create(data, caller)
    return series_json(series_id, docs, caller), 201


@bp.put("/<series_id>")
@documented(
    "Update a series' future sessions",
    response=SeriesSchema,
    auth=True,
    body=UpdateSeriesSchema,
    errors={
        400: (VALIDATION, CANNOT_UPDATE, CAPACITY_BELOW_PARTICIPANTS),
        403: (NOT_OWNER,),
        404: (SERIES_NOT_FOUND,),
        500: (UPDATE_ROOM_FAILED,),
    },
)
@token_required
def update_series(series_id):
    """Change the title, description, duration or capacity of the series' future sessions
    (scheduled, not started) as PUT /sessions/:id does; a 400 changes none of them."""
    changes = request_body()
    caller = current_caller()
    docs = services().series_service.update(series_id, changes, caller)
    return series_json(series_id, docs, caller)


@bp.delete("/<series_id>")
@documented(
    "Cancel a series' future sessions",
    response=CancelledSeriesSchema,
    auth=True,
    errors={403: (NOT_OWNER,), 404: (SERIES_NOT_FOUND,)},
)
@token_required
def delete_series(series_id):
    """Cancel (soft-delete) the series' future sessions; their rooms are deleted by the
    worker's durable job, in Daily's rate limit. Past and live sessions are kept."""
    cancelled = services().series_service.delete(series_id, current_caller())
    return {"seriesId": series_id, "cancelled": cancelled}
