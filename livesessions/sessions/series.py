"""The `/sessions/series` blueprint: recurring classes, one session (and room) per
occurrence, made together (the logic is `series_service`'s)."""

from flask import Blueprint

from ..auth import current_caller, token_required
from ..errors import (
    CREATE_FORBIDDEN,
    CREATE_ROOM_FAILED,
    OTHER_INSTRUCTOR_FORBIDDEN,
    SERIES_EMPTY,
    SERIES_TOO_LATE,
    SERIES_TOO_LONG,
)
from ..extensions import services
from ..http import json_body
from ..openapi import STRICT_ONLY, VALIDATION, documented
from ..schemas import (
    CreateSeriesSchema,
    SeriesSchema,
    create_series_schema,
)
from ..schemas.requests import MAX_OCCURRENCES
from ..validation import load

bp = Blueprint("series", __name__, url_prefix="/sessions/series")


def series_json(series_id, docs):
    presenter = services().presenter
    return {"seriesId": series_id, "sessions": [presenter.session(doc) for doc in docs]}


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
        500: (CREATE_ROOM_FAILED,),
    },
)
@token_required
def create_series():
    """Create a session, with its own Daily.co room, for every occurrence of a weekly
    recurrence (at most 100), each carrying the series' `seriesId`. If a room or a write
    fails, the sessions made are removed and their rooms deleted by the worker's job."""
    data = load(create_series_schema, json_body())
    series_id, docs = services().series_service.create(data, current_caller())
    return series_json(series_id, docs), 201
