"""The `/sessions` blueprint: parse the request, call the store or service, shape the reply."""

import json
import math
import re

from flask import Blueprint, current_app, request
from werkzeug.exceptions import UnsupportedMediaType

from .auth import current_user_id, token_required
from .calendar import sessions_calendar
from .errors import ValidationFailed, error_response
from .openapi import documented
from .schemas import (
    AttendanceSchema,
    CourseSessionSchema,
    CreateSessionSchema,
    DeletedSessionSchema,
    InstructorSessionSchema,
    JoinSchema,
    ListQuerySchema,
    ParticipantSchema,
    RecordingStartResultSchema,
    RecordingStartSchema,
    RecordingStopResultSchema,
    RecordingStopSchema,
    SessionDetailSchema,
    SessionPageSchema,
    SessionSchema,
    StatusSchema,
    UpdateSessionSchema,
    WebhookAckSchema,
    WebhookEventSchema,
    create_session_schema,
    list_query_schema,
    load,
    participant_schema,
    recording_start_schema,
    recording_stop_schema,
    status_schema,
    update_session_schema,
)
from .serialize import (
    recording_started_json,
    recording_status,
    recording_stopped_json,
    session_json,
)
from .store import POPULATED_LABEL
from .webhooks import parse_event, signature_is_valid

bp = Blueprint("sessions", __name__, url_prefix="/sessions")


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _replace_lone_surrogates(value):
    """Swap lone UTF-16 surrogates (legal as JSON escapes, not encodable as UTF-8/BSON) for
    U+FFFD, as Node's UTF-8 encoder did."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {
            _replace_lone_surrogates(key): _replace_lone_surrogates(item)
            for key, item in value.items()
        }
    return value


def parse_json(raw, message="Request body is not valid JSON"):
    """Decode JSON as JavaScript's JSON.parse would: no NaN/Infinity, UTF-8-safe strings."""
    try:
        return _replace_lone_surrogates(json.loads(raw, parse_constant=_reject_constant))
    except (ValueError, RecursionError):
        raise ValidationFailed(message) from None


def json_body():
    """Return the decoded JSON body; an empty body is `{}`, as Express's json parser gave."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if not request.is_json:
        raise UnsupportedMediaType()
    return parse_json(raw)


LIST_DEFAULTS = list_query_schema.load({})  # what an empty query string means (read-only)


def query_args():
    """Query parameters as Express parsed them: repeated names become lists."""
    return {key: values[0] if len(values) == 1 else values for key, values in request.args.lists()}


def store():
    return current_app.extensions["livesessions"].store


def service():
    return current_app.extensions["livesessions"].service


def recordings():
    return current_app.extensions["livesessions"].recordings


def events():
    return current_app.extensions["livesessions"].events


@bp.post("")
@documented(
    "Create a live session",
    response=SessionSchema,
    status=201,
    auth=True,
    body=CreateSessionSchema,
    errors={500: "`Failed to create Daily.co room`"},
)
@token_required
def create():
    """Create a live session and its Daily.co room."""
    data = load(create_session_schema, json_body())
    doc = service().create(data, current_user_id())
    return session_json(doc), 201


@bp.get("")
@documented("List live sessions", response=SessionPageSchema, auth=True, query=ListQuerySchema)
@token_required
def index():
    """List sessions a page at a time, optionally searching titles and filtering."""
    query = load(list_query_schema, query_args()) if request.args else LIST_DEFAULTS
    page, page_count = query["page"], query["pageCount"]
    docs, total = store().page(
        page,
        page_count,
        search=query["search"],
        status=query.get("status"),
        course=query.get("courseId"),
        instructor=query.get("instructorId"),
        scheduled_from=query.get("from_"),
        scheduled_to=query.get("to"),
    )
    store().populate(docs, "course", "instructor")
    total_pages = max(1, math.ceil(total / page_count))
    return {
        "sessions": [session_json(doc) for doc in docs],
        "page": page,
        "pageCount": page_count,
        "totalItems": total,
        "totalPages": total_pages,
        "hasPrevPage": page > 1,
        "hasNextPage": page < total_pages,
        "prevPage": page - 1 if page > 1 else None,
        "nextPage": page + 1 if page < total_pages else None,
    }


@bp.get("/<session_id>")
@documented(
    "Get a live session",
    response=SessionDetailSchema,
    auth=True,
    errors={404: "`Live session not found` (also for a malformed id)"},
)
@token_required
def get(session_id):
    """Return one session with its course and instructor, and its `recordingStatus`."""
    doc = store().get(session_id)
    store().populate([doc], "course", "instructor")
    return {**session_json(doc), "recordingStatus": recording_status(doc)}


@bp.get("/course/<course_id>")
@documented("List a course's sessions", response=[CourseSessionSchema])
def by_course(course_id):
    """List a course's sessions, with their instructors."""
    docs = store().populate(store().by_field("course", course_id), "instructor")
    return [session_json(doc) for doc in docs]


@bp.get("/instructor/<instructor_id>")
@documented("List an instructor's sessions", response=[InstructorSessionSchema])
def by_instructor(instructor_id):
    """List an instructor's sessions, with their courses."""
    docs = store().populate(store().by_field("instructor", instructor_id), "course")
    return [session_json(doc) for doc in docs]


def calendar_feed(field, value):
    """The sessions whose `field` (course or instructor) is `value`, as an iCalendar
    response named after that course or instructor."""
    docs = store().populate(store().by_field(field, value), field)
    label = next((doc[field].get(POPULATED_LABEL[field]) for doc in docs if doc[field]), None)
    name = f"Live sessions — {label}" if label else "Live sessions"
    return sessions_calendar(name, docs), 200, {"Content-Type": "text/calendar; charset=utf-8"}


@bp.get("/course/<course_id>/calendar.ics")
@documented("A course's sessions as an iCalendar feed", response="text/calendar", tag="calendar")
def course_calendar(course_id):
    """Every session of the course as an RFC 5545 calendar (subscribe to its URL)."""
    return calendar_feed("course", course_id)


@bp.get("/instructor/<instructor_id>/calendar.ics")
@documented(
    "An instructor's sessions as an iCalendar feed", response="text/calendar", tag="calendar"
)
def instructor_calendar(instructor_id):
    """Every session the instructor teaches as an RFC 5545 calendar (subscribe to its URL)."""
    return calendar_feed("instructor", instructor_id)


@bp.put("/<session_id>")
@documented(
    "Update a live session",
    response=SessionSchema,
    auth=True,
    body=UpdateSessionSchema,
    errors={
        400: "Validation error (Joi wording), `Cannot update a session that is ended`, or "
        "`maxParticipants` below the current participants",
        403: "`You are not allowed to modify this live session`",
        404: "`Live session not found`",
        500: "`Failed to update Daily.co room`",
    },
)
@token_required
def update(session_id):
    """Change a session's title, description, schedule or capacity."""
    changes = load(update_session_schema, json_body())
    return session_json(service().update(session_id, changes))


@bp.delete("/<session_id>")
@documented(
    "Delete (cancel) a live session",
    response=DeletedSessionSchema,
    auth=True,
    errors={
        403: "`You are not allowed to modify this live session`",
        404: "`Live session not found`",
        500: "`Failed to delete Daily.co room`",
    },
)
@token_required
def delete(session_id):
    """Cancel a session and delete its Daily.co room."""
    doc = service().delete(session_id)
    return {"message": "Live session deleted successfully", "session": session_json(doc)}


@bp.post("/<session_id>/join")
@documented(
    "Join a session's room",
    response=JoinSchema,
    auth=True,
    errors={
        400: "`Cannot join a session that is ended` (or cancelled), `This live session can be "
        "joined from <date>`, or `This live session is over`",
        403: "`You are not a participant of this live session`",
        404: "`Live session not found`",
        500: "`Failed to create Daily.co meeting token`",
    },
)
@token_required
def join(session_id):
    """A Daily.co meeting token for the caller: an owner token for the session's instructor
    or an admin, a participant token for a student in `participants`. Valid from
    JOIN_OPENS_MINUTES_BEFORE before `scheduledAt` until `scheduledAt + duration`."""
    return service().join(session_id)


@bp.get("/<session_id>/attendance")
@documented(
    "A session's attendance",
    response=AttendanceSchema,
    auth=True,
    errors={
        403: "`You are not allowed to view this live session's attendance`",
        404: "`Live session not found`",
    },
)
@token_required
def attendance(session_id):
    """Who joined the room, when, and for how long (from Daily.co's participant events);
    for the session's instructor or an admin."""
    return service().attendance(session_id)


@bp.post("/<session_id>/participants")
@documented(
    "Add a participant",
    response=SessionSchema,
    body=ParticipantSchema,
    errors={
        400: "`Student ID is required`, `Session has reached maximum participants`, "
        "`Cannot join a session that is ended`, or a type error",
        404: "`Live session not found`",
    },
)
def add_participant(session_id):
    """Admit a student, unless the session is full or closed."""
    data = load(participant_schema, json_body())
    return session_json(store().add_participant(session_id, data["studentId"]))


@bp.delete("/<session_id>/participants/<student_id>")
@documented(
    "Remove a participant",
    response=SessionSchema,
    errors={404: "`Live session not found` or `Student not found in session participants`"},
)
def remove_participant(session_id, student_id):
    """Remove a student from a session."""
    return session_json(store().remove_participant(session_id, student_id))


@bp.patch("/<session_id>/status")
@documented(
    "Update a session's status",
    response=SessionSchema,
    body=StatusSchema,
    errors={
        400: "`Status is required`, `Invalid status value. Must be one of: scheduled, live, "
        "ended, cancelled`, or `Cannot change status from X to Y`",
        404: "`Live session not found`",
    },
)
def set_status(session_id):
    """Move a session to another status along the allowed transitions."""
    data = load(status_schema, json_body())
    return session_json(store().set_status(session_id, data["status"]))


@bp.post("/recording/start")
@documented(
    "Start recording a session's room",
    response=RecordingStartResultSchema,
    body=RecordingStartSchema,
    errors={
        400: "`Room name is required` or a type error",
        404: "`Live session not found` (no session has this room)",
        500: "`Failed to start recording on Daily.co`",
    },
)
def start_recording():
    """Start a cloud recording of a session's room."""
    data = load(recording_start_schema, json_body())
    recording = recordings().start(data["roomName"])
    return {"success": True, "recording": recording_started_json(recording)}


@bp.post("/recording/stop")
@documented(
    "Stop a recording",
    response=RecordingStopResultSchema,
    body=RecordingStopSchema,
    errors={
        400: "`Recording ID is required` or a type error",
        404: "`Recording not found`",
        500: "`Failed to stop recording on Daily.co`",
    },
)
def stop_recording():
    """Stop a recording, by the id the start endpoint returned (or Daily's)."""
    data = load(recording_stop_schema, json_body())
    recording = recordings().stop(data["recordingId"])
    return {"success": True, "recording": recording_stopped_json(recording)}


@bp.post("/webhook/daily")
@documented(
    "Receive a Daily.co webhook event",
    response=WebhookAckSchema,
    body=WebhookEventSchema,
    body_required=False,  # an empty body is acknowledged (Daily's endpoint check)
    errors={
        400: "`Webhook body is not valid JSON`",
        401: "`Invalid webhook signature` (only when DAILY_WEBHOOK_SECRET is set; a body "
        "that is not an event, such as Daily's set-up check, is acknowledged unsigned)",
    },
)
def daily_webhook():
    """Take a Daily.co event: check its signature, record it, queue uploads; answer at once."""
    raw = request.get_data(cache=False)
    secret = current_app.config["DAILY_WEBHOOK_SECRET"]
    signed = not secret or signature_is_valid(
        secret,
        request.headers.get("X-Webhook-Timestamp", ""),
        request.headers.get("X-Webhook-Signature", ""),
        raw,
        current_app.config["DAILY_WEBHOOK_TOLERANCE_SECONDS"],
    )
    body = parse_json(raw, "Webhook body is not valid JSON") if raw.strip() else {}
    event = parse_event(body)
    if event is None:  # not an event (e.g. Daily's {"test": "test"}): acknowledged, unused.
        return {"received": True}  # Signed or not: Daily's set-up check must get its 200.
    if not signed:
        return error_response("Invalid webhook signature", 401)
    events().handle(event, trusted=bool(secret))
    return {"received": True}
