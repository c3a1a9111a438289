"""The `/sessions` blueprint: parse the request, call the store or service, shape the reply."""

from flask import Blueprint

from ..auth.access import open_write_caller
from ..auth.tokens import current_caller, optional_caller, token_required
from ..errors import (
    ATTENDANCE_FORBIDDEN,
    CANNOT_CHANGE_STATUS,
    CANNOT_JOIN,
    CANNOT_UPDATE,
    CAPACITY_BELOW_PARTICIPANTS,
    CREATE_FORBIDDEN,
    CREATE_ROOM_FAILED,
    DELETE_ROOM_FAILED,
    JOIN_NOT_YET,
    NOT_A_PARTICIPANT,
    NOT_OWNER,
    OTHER_INSTRUCTOR_FORBIDDEN,
    PARTICIPANTS_FORBIDDEN,
    REOPEN_PAST,
    SESSION_DELETED,
    SESSION_FULL,
    SESSION_NOT_FOUND,
    SESSION_OVER,
    STATUS_REQUIRED,
    STUDENT_ID_REQUIRED,
    STUDENT_NOT_FOUND,
    TOKEN_FAILED,
    UPDATE_ROOM_FAILED,
)
from ..extensions import services
from ..openapi import (
    STRICT_ONLY,
    STRICT_TOKEN,
    TYPE_ERROR,
    VALIDATION,
    Note,
    documented,
    request_body,
    request_query,
)
from ..ratelimit import admission
from ..schemas import (
    INVALID_STATUS_MESSAGE,
    AttendanceSchema,
    CourseSessionSchema,
    CreateSessionSchema,
    DeletedSessionSchema,
    InstructorSessionSchema,
    JoinSchema,
    ListQuerySchema,
    ParticipantSchema,
    SessionDetailSchema,
    SessionPageSchema,
    SessionSchema,
    StatusSchema,
    UpdateSessionSchema,
)
from .ical import CALENDAR_HEADERS
from .serialize import POPULATED

bp = Blueprint("sessions", __name__, url_prefix="/sessions")


@bp.post("")
@documented(
    "Create a live session",
    response=SessionSchema,
    status=201,
    auth=True,
    body=CreateSessionSchema,
    errors={
        403: (CREATE_FORBIDDEN, OTHER_INSTRUCTOR_FORBIDDEN, STRICT_ONLY),
        500: (CREATE_ROOM_FAILED,),
    },
)
@token_required
def create():
    """Create a live session and its Daily.co room."""
    data = request_body()
    caller = current_caller()
    doc = services().session_service.create(data, caller)
    return services().presenter.session(doc, caller), 201


@bp.get("")
@documented("List live sessions", response=SessionPageSchema, auth=True, query=ListQuerySchema)
@token_required
def index():
    """List sessions a page at a time, optionally searching titles and filtering."""
    query = request_query()
    page, page_count = query["page"], query["pageCount"]
    docs, total = services().session_store.page(
        page,
        page_count,
        search=query["search"],
        status=query.get("status"),
        course=query.get("courseId"),
        instructor=query.get("instructorId"),
        scheduled_from=query.get("from_"),
        scheduled_to=query.get("to"),
    )
    shown = services().presenter.page(docs, current_caller(), page, page_count, total)
    services().platform_store.populate(shown["sessions"], *POPULATED)
    return shown


@bp.get("/<session_id>")
@documented(
    "Get a live session",
    response=SessionDetailSchema,
    auth=True,
    errors={404: (SESSION_NOT_FOUND, Note("(also for a malformed id)"))},
)
@token_required
def get(session_id):
    """Return one session with its course and instructor, and its `recordingStatus`."""
    doc = services().session_store.get(session_id)
    shown = services().presenter.detail(doc, current_caller())
    services().platform_store.populate([shown], *POPULATED)
    return shown


@bp.get("/course/<course_id>")
@documented("List a course's sessions", response=[CourseSessionSchema])
def by_course(course_id):
    """List a course's sessions, with their instructors."""
    return open_list("course", course_id, "instructor")


@bp.get("/instructor/<instructor_id>")
@documented("List an instructor's sessions", response=[InstructorSessionSchema])
def by_instructor(instructor_id):
    """List an instructor's sessions, with their courses."""
    return open_list("instructor", instructor_id, "course")


def open_list(field, value, ref):
    """The sessions whose `field` is `value`, with `ref` populated, as this request's
    reader sees them (the spec needs no token: a valid one, if sent, says who reads)."""
    caller = optional_caller()
    docs = services().session_store.by_field(field, value)
    shown = [services().presenter.session(doc, caller, (ref,)) for doc in docs]
    return services().platform_store.populate(shown, ref)


@bp.get("/course/<course_id>/calendar.ics")
@documented("A course's sessions as an iCalendar feed", response="text/calendar", tag="calendar")
def course_calendar(course_id):
    """Every session of the course as an RFC 5545 calendar (subscribe to its URL)."""
    return services().session_service.calendar("course", course_id), 200, CALENDAR_HEADERS


@bp.get("/instructor/<instructor_id>/calendar.ics")
@documented(
    "An instructor's sessions as an iCalendar feed", response="text/calendar", tag="calendar"
)
def instructor_calendar(instructor_id):
    """Every session the instructor teaches as an RFC 5545 calendar (subscribe to its URL)."""
    return services().session_service.calendar("instructor", instructor_id), 200, CALENDAR_HEADERS


@bp.put("/<session_id>")
@documented(
    "Update a live session",
    response=SessionSchema,
    auth=True,
    body=UpdateSessionSchema,
    errors={
        400: (VALIDATION, CANNOT_UPDATE, CAPACITY_BELOW_PARTICIPANTS),
        403: (NOT_OWNER,),
        404: (SESSION_NOT_FOUND,),
        500: (UPDATE_ROOM_FAILED,),
    },
)
@token_required
def update(session_id):
    """Change a session's title, description, schedule or capacity."""
    changes = request_body()
    caller = current_caller()
    doc = services().session_service.update(session_id, changes, caller)
    return services().presenter.session(doc, caller)


@bp.delete("/<session_id>")
@documented(
    "Delete (cancel) a live session",
    response=DeletedSessionSchema,
    auth=True,
    errors={403: (NOT_OWNER,), 404: (SESSION_NOT_FOUND,), 500: (DELETE_ROOM_FAILED,)},
)
@token_required
def delete(session_id):
    """Cancel a session and delete its Daily.co room."""
    caller = current_caller()
    doc = services().session_service.delete(session_id, caller)
    return {"message": SESSION_DELETED, "session": services().presenter.session(doc, caller)}


@bp.post("/<session_id>/join")
@documented(
    "Join a session's room",
    response=JoinSchema,
    auth=True,
    errors={
        400: (CANNOT_JOIN, JOIN_NOT_YET, SESSION_OVER),
        403: (NOT_A_PARTICIPANT,),
        404: (SESSION_NOT_FOUND,),
        500: (TOKEN_FAILED,),
    },
)
@token_required
def join(session_id):
    """A Daily.co meeting token for the caller: an owner token for the session's instructor
    or an admin, a participant token for a student in `participants`. Valid from
    JOIN_OPENS_MINUTES_BEFORE before `scheduledAt` until `scheduledAt + duration`."""
    return services().session_service.join(session_id, current_caller())


@bp.get("/<session_id>/attendance")
@documented(
    "A session's attendance",
    response=AttendanceSchema,
    auth=True,
    errors={403: (ATTENDANCE_FORBIDDEN,), 404: (SESSION_NOT_FOUND,)},
)
@token_required
def attendance(session_id):
    """Who joined the room, when, and for how long (from Daily.co's participant events);
    for the session's instructor or an admin."""
    return services().session_service.attendance(session_id, current_caller())


@bp.post("/<session_id>/participants")
@documented(
    "Add a participant",
    response=SessionSchema,
    body=ParticipantSchema,
    errors={
        400: (STUDENT_ID_REQUIRED, SESSION_FULL, CANNOT_JOIN, TYPE_ERROR),
        401: STRICT_TOKEN,
        403: (PARTICIPANTS_FORBIDDEN, STRICT_ONLY),
        404: (SESSION_NOT_FOUND,),
    },
)
@admission
def add_participant(session_id):
    """Admit a student, unless the session is full or closed."""
    data = request_body()
    caller = open_write_caller("add_participant", session_id)
    doc = services().session_service.add_participant(session_id, data["studentId"], caller)
    return services().presenter.session(doc, caller)


@bp.delete("/<session_id>/participants/<student_id>")
@documented(
    "Remove a participant",
    response=SessionSchema,
    errors={
        401: STRICT_TOKEN,
        403: (PARTICIPANTS_FORBIDDEN, STRICT_ONLY),
        404: (SESSION_NOT_FOUND, STUDENT_NOT_FOUND),
    },
)
@admission
def remove_participant(session_id, student_id):
    """Remove a student from a session."""
    caller = open_write_caller("remove_participant", session_id)
    doc = services().session_service.remove_participant(session_id, student_id, caller)
    return services().presenter.session(doc, caller)


@bp.patch("/<session_id>/status")
@documented(
    "Update a session's status",
    response=SessionSchema,
    body=StatusSchema,
    errors={
        400: (
            STATUS_REQUIRED,
            INVALID_STATUS_MESSAGE,
            CANNOT_CHANGE_STATUS,
            SESSION_OVER,
            REOPEN_PAST,
            Note("(reopening: the instructor or an admin only)"),
        ),
        401: STRICT_TOKEN,
        403: (NOT_OWNER, STRICT_ONLY),
        404: (SESSION_NOT_FOUND,),
    },
)
def set_status(session_id):
    """Move a session to another status along the allowed transitions. With the session's
    instructor's or an admin's token it may also be reopened: `ended` -> `live` while its
    room is open, `cancelled` -> `scheduled` before it starts."""
    data = request_body()
    caller = open_write_caller("set_status", session_id)
    doc = services().session_service.set_status(session_id, data["status"], caller)
    return services().presenter.session(doc, caller)
