"""Response schemas of the attendance reports: a session's attendees, a course's students."""

from marshmallow import fields, validate

from .responses import ResponseSchema, _timestamp


class AttendeeSchema(ResponseSchema):
    userId = fields.String(
        required=True, allow_none=True, metadata={"description": "null for an anonymous guest"}
    )
    userName = fields.String(required=True, allow_none=True)
    role = fields.String(
        required=True, validate=validate.OneOf(("instructor", "participant", "guest"))
    )
    firstJoinedAt = _timestamp(required=True)
    lastLeftAt = _timestamp("null while still in the room", required=True, allow_none=True)
    present = fields.Boolean(required=True, metadata={"description": "In the room now"})
    minutesPresent = fields.Float(
        required=True, metadata={"description": "Time in the room, overlaps counted once"}
    )
    visits = fields.Integer(required=True, metadata={"description": "Times the user joined"})


class AttendanceTotalsSchema(ResponseSchema):
    attendees = fields.Integer(required=True)
    participantsAttended = fields.Integer(
        required=True, metadata={"description": "Admitted students who joined at least once"}
    )
    participantsAdmitted = fields.Integer(required=True)
    minutesPresent = fields.Float(required=True)
    averageMinutesPresent = fields.Float(required=True)


class AttendanceSchema(ResponseSchema):
    """GET /sessions/:id/attendance."""

    sessionId = fields.String(required=True, metadata={"format": "uuid"})
    attendees = fields.List(fields.Nested(AttendeeSchema), required=True)
    totals = fields.Nested(AttendanceTotalsSchema, required=True)


class StudentAttendanceSchema(ResponseSchema):
    studentId = fields.String(required=True)
    sessionsAdmitted = fields.Integer(
        required=True,
        metadata={"description": "Counted sessions with the student in `participants`"},
    )
    sessionsAttended = fields.Integer(
        required=True,
        metadata={"description": "Counted sessions whose room they joined at least once"},
    )
    minutesPresent = fields.Float(
        required=True,
        metadata={"description": "Summed over the counted sessions, as each one's attendance"},
    )
    shareOfScheduledMinutes = fields.Float(
        required=True,
        metadata={
            "description": "minutesPresent / the summed `duration` of the sessions the student "
            "was admitted to, 2 decimals; 0 when that sum is 0; not capped at 1"
        },
    )


class CourseAttendanceSchema(ResponseSchema):
    """GET /sessions/course/:courseId/attendance."""

    courseId = fields.String(required=True)
    sessions = fields.Integer(
        required=True,
        metadata={
            "description": "Sessions counted: the course's (the caller's own unless an "
            "admin), neither deleted nor cancelled"
        },
    )
    students = fields.List(fields.Nested(StudentAttendanceSchema), required=True)
