"""Attendance reports: a session's attendance as CSV. The attendance itself is the
service's, as `GET /sessions/:id/attendance` has it."""

import csv
import io
import re

from flask import Blueprint

from ..auth import current_caller, token_required
from ..errors import ATTENDANCE_FORBIDDEN, SESSION_NOT_FOUND
from ..extensions import services
from ..openapi import documented

bp = Blueprint("reports", __name__, url_prefix="/sessions")

CSV = "text/csv"
# The columns, in order: the per-attendee fields of the JSON.
ATTENDEE_COLUMNS = (
    "userId",
    "userName",
    "role",
    "firstJoinedAt",
    "lastLeftAt",
    "present",
    "minutesPresent",
    "visits",
)
# What may go into a download's file name as it is; anything else becomes `_`.
UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


def _cell(value):
    """A JSON value as its CSV cell: null empty, booleans as JSON spells them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_response(columns, rows, filename):
    """`rows` (dicts) as an RFC 4180 download: a header row, then one row each, CRLF ends,
    fields quoted only where needed (the csv module's defaults)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([_cell(row[column]) for column in columns] for row in rows)
    headers = {
        "Content-Type": f"{CSV}; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{UNSAFE_IN_FILENAME.sub("_", filename)}"',
    }
    return out.getvalue().encode(), 200, headers


@bp.get("/<session_id>/attendance.csv")
@documented(
    "A session's attendance as CSV",
    response=CSV,
    auth=True,
    errors={403: (ATTENDANCE_FORBIDDEN,), 404: (SESSION_NOT_FOUND,)},
)
@token_required
def attendance_csv(session_id):
    """`GET /sessions/:id/attendance`'s attendees as CSV (RFC 4180): a header row, then one
    row per attendee with the same fields; for the session's instructor or an admin."""
    report = services().session_service.attendance(session_id, current_caller())
    return csv_response(ATTENDEE_COLUMNS, report["attendees"], f"attendance-{session_id}.csv")
