"""Attendance reports: a session's attendance as CSV, and a course's per student (JSON or
CSV). The attendance itself is the service's, as `GET /sessions/:id/attendance` has it."""

import re

from flask import Blueprint

from ..auth.tokens import current_caller, token_required
from ..errors import ATTENDANCE_FORBIDDEN, COURSE_ATTENDANCE_FORBIDDEN, SESSION_NOT_FOUND
from ..extensions import services
from ..openapi import documented, request_query
from ..schemas import AttendanceQuerySchema, CourseAttendanceSchema
from .spreadsheet_csv import csv_text

bp = Blueprint("reports", __name__, url_prefix="/sessions")

CSV = "text/csv"
# The columns, in order: the per-attendee fields of the JSON, and the report's per student.
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
STUDENT_COLUMNS = (
    "studentId",
    "sessionsAdmitted",
    "sessionsAttended",
    "minutesPresent",
    "shareOfScheduledMinutes",
)
# What may go into a download's file name as it is; anything else becomes `_`.
UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


def csv_response(columns, rows, filename):
    """`rows` (dicts) as an RFC 4180 download that no spreadsheet runs a formula of."""
    headers = {
        "Content-Type": f"{CSV}; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{UNSAFE_IN_FILENAME.sub("_", filename)}"',
    }
    return csv_text(columns, rows).encode(), 200, headers


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


@bp.get("/course/<course_id>/attendance")
@documented(
    "A course's attendance per student",
    response=(CourseAttendanceSchema, CSV),
    auth=True,
    query=AttendanceQuerySchema,
    errors={403: (COURSE_ATTENDANCE_FORBIDDEN,)},
)
@token_required
def course_attendance(course_id):
    """Per student, over the course's sessions that are neither deleted nor cancelled: the
    sessions admitted to and attended, minutes present, and their share of the scheduled
    minutes. An admin's report counts every such session, an instructor's only those they
    teach (403 if none). `?format=csv`: the same rows as CSV."""
    query = request_query()
    report = services().session_service.course_attendance(course_id, current_caller())
    if query["format"] == "csv":
        filename = f"attendance-course-{course_id}.csv"
        return csv_response(STUDENT_COLUMNS, report["students"], filename)
    return report
