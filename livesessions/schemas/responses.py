"""Response schemas: the single description of what the API answers.

The OpenAPI document is generated from them, sessions/serialize.py takes the session's key
order from SessionSchema, and the tests validate every response they receive against the
generated document.
"""

from marshmallow import INCLUDE, RAISE, Schema, fields, validate

from ..errors import DATABASE_UNAVAILABLE, SESSION_DELETED, SESSION_NOT_FOUND
from ..lifecycle import RECORDING_STATUSES, STATUSES

RECORDING_RESOURCE_STATUSES = ("recording", "processing", "ready", "failed", "deleted")


class ResponseSchema(Schema):
    class Meta:
        unknown = RAISE  # documented as additionalProperties: false


class ErrorSchema(ResponseSchema):
    message = fields.String(required=True, metadata={"example": SESSION_NOT_FOUND})


class CourseRefSchema(ResponseSchema):
    id_ = fields.String(data_key="_id", required=True)
    title = fields.String()


class UserRefSchema(ResponseSchema):
    id_ = fields.String(data_key="_id", required=True)
    name = fields.String()


def _timestamp(description=None, **kwargs):
    """An ISO 8601 UTC timestamp with milliseconds, as the API writes them."""
    metadata = {"format": "date-time", "example": "2025-12-25T10:00:00.000Z"}
    if description:
        metadata["description"] = description
    return fields.String(metadata=metadata, **kwargs)


class SessionSchema(ResponseSchema):
    """A live session as stored; `course` and `instructor` are ids."""

    id_ = fields.String(data_key="_id", required=True, metadata={"format": "uuid"})
    title = fields.String(required=True)
    description = fields.String(required=True)
    course = fields.String(required=True)
    instructor = fields.String(required=True)
    roomName = fields.String(required=True)
    roomUrl = fields.String(required=True)
    scheduledAt = _timestamp(required=True)
    duration = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    maxParticipants = fields.Integer(required=True)
    participants = fields.List(fields.String(), required=True)
    isRecorded = fields.Boolean(required=True)
    recordingUrl = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "With RECORDING_DELIVERY=authenticated: a download URL signed when "
            "read, valid for RECORDING_URL_TTL_SECONDS, only for callers who may list the "
            "session's recordings (its instructor, an admin, an admitted student), null for "
            "others; null for anonymous callers under AUTH_POLICY=strict"
        },
    )
    recordingDuration = fields.Float(required=True, allow_none=True)
    createdAt = _timestamp(required=True)
    updatedAt = _timestamp(required=True)
    deletedAt = _timestamp("Only on sessions cancelled by DELETE")
    seriesId = fields.String(
        metadata={"format": "uuid", "description": "Only on sessions of a recurring series"}
    )


class PopulatedSessionSchema(SessionSchema):
    """GET /sessions: course and instructor populated (null if missing)."""

    course = fields.Nested(CourseRefSchema, required=True, allow_none=True)
    instructor = fields.Nested(UserRefSchema, required=True, allow_none=True)


class SessionDetailSchema(PopulatedSessionSchema):
    """GET /sessions/:id: populated, plus where the session's latest recording is."""

    recordingStatus = fields.String(
        required=True,
        validate=validate.OneOf(RECORDING_STATUSES),
        metadata={
            "description": "none (never recorded), recording, processing (stopped: Daily "
            "prepares the file, or it is being uploaded), ready (recordingUrl is set), failed "
            "(the upload gave up; an operator can retry it)"
        },
    )


def _open_list_participants():
    """`participants` of the lists open to anonymous callers."""
    return fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Empty for anonymous callers under AUTH_POLICY=strict: who is "
            "enrolled in which class is shown only with a token"
        },
    )


class CourseSessionSchema(SessionSchema):
    """GET /sessions/course/:courseId: the instructor populated."""

    instructor = fields.Nested(UserRefSchema, required=True, allow_none=True)
    participants = _open_list_participants()


class InstructorSessionSchema(SessionSchema):
    """GET /sessions/instructor/:instructorId: the course populated."""

    course = fields.Nested(CourseRefSchema, required=True, allow_none=True)
    participants = _open_list_participants()


class SessionPageSchema(ResponseSchema):
    sessions = fields.List(fields.Nested(PopulatedSessionSchema), required=True)
    page = fields.Integer(required=True)
    pageCount = fields.Integer(required=True)
    totalItems = fields.Integer(required=True)
    totalPages = fields.Integer(required=True)
    hasPrevPage = fields.Boolean(required=True)
    hasNextPage = fields.Boolean(required=True)
    prevPage = fields.Integer(required=True, allow_none=True)
    nextPage = fields.Integer(required=True, allow_none=True)


class DeletedSessionSchema(ResponseSchema):
    message = fields.String(required=True, metadata={"example": SESSION_DELETED})
    session = fields.Nested(SessionSchema, required=True)


class RecordingStartedSchema(ResponseSchema):
    id = fields.String(required=True, metadata={"format": "uuid"})
    room_name = fields.String(required=True)
    status = fields.String(required=True, metadata={"example": "recording"})
    start_ts = fields.Integer(required=True, metadata={"description": "Unix milliseconds"})
    duration = fields.Integer(required=True)


class RecordingStoppedSchema(ResponseSchema):
    id = fields.String(required=True, metadata={"format": "uuid"})
    room_name = fields.String(required=True)
    status = fields.String(required=True, metadata={"example": "finished"})
    duration = fields.Integer(required=True, metadata={"description": "Seconds"})
    end_ts = fields.Integer(required=True, allow_none=True, metadata={"description": "Unix ms"})


class RecordingStartResultSchema(ResponseSchema):
    success = fields.Boolean(required=True)
    recording = fields.Nested(RecordingStartedSchema, required=True)


class RecordingStopResultSchema(ResponseSchema):
    success = fields.Boolean(required=True)
    recording = fields.Nested(RecordingStoppedSchema, required=True)


class RecordingSchema(ResponseSchema):
    """One recording of a class, in `GET /sessions/:id/recordings`."""

    id = fields.String(required=True, metadata={"description": "The service's id (or Daily's)"})
    dailyId = fields.String(required=True, allow_none=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(RECORDING_RESOURCE_STATUSES),
        metadata={"enum": list(RECORDING_RESOURCE_STATUSES)},
    )
    startedAt = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    endedAt = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    duration = fields.Float(required=True, allow_none=True, metadata={"description": "Seconds"})
    bytes = fields.Integer(required=True, allow_none=True)
    url = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The video (ready only), signed at read time if authenticated"},
    )
    thumbnailUrl = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Its first frame as a JPEG (a Cloudinary transformation)"},
    )
    failureReason = fields.String(required=True, allow_none=True)


class JoinSchema(ResponseSchema):
    """POST /sessions/:id/join: how the caller enters the room."""

    roomUrl = fields.String(required=True)
    token = fields.String(required=True, metadata={"description": "A Daily.co meeting token"})
    joinUrl = fields.String(
        required=True, metadata={"description": "`roomUrl?t=token`: opens the room directly"}
    )
    expiresAt = _timestamp("The token is refused after this (the end of the class)", required=True)


class WebhookEventSchema(Schema):
    """Daily's envelope (`payload` holds the event's fields) or the spec's flat payload."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(metadata={"example": "recording.ready-to-download"})
    payload = fields.Dict(metadata={"description": "Daily's envelope: the event's fields"})


class WebhookAckSchema(ResponseSchema):
    received = fields.Boolean(required=True)


class HealthSchema(ResponseSchema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ReadySchema(ResponseSchema):
    status = fields.String(required=True, metadata={"example": "ready"})
    database = fields.String(required=True, metadata={"example": "up"})
    webhook = fields.String(
        required=True,
        metadata={
            "example": "active",
            "description": "The Daily webhook as the worker last saw it: active, failed, "
            "missing or unknown (informational; never makes the service unready)",
        },
    )
    workers = fields.Integer(
        required=True,
        metadata={
            "example": 2,
            "description": "Recording workers alive (a heartbeat within the last 30 s; "
            "informational: never makes the service unready)",
        },
    )
    oldestDueJobSeconds = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "example": 1.5,
            "description": "How long the job that has been due the longest has waited, "
            "in seconds; null when none is due (informational)",
        },
    )
    unauthenticatedWrites = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "Only with AUTH_POLICY=audit: calls made without a token to each "
            "open write endpoint (add_participant, remove_participant, set_status, "
            "start_recording, stop_recording), counted by every process",
            "example": {"add_participant": 12},
        },
    )


class NotReadySchema(ResponseSchema):
    message = fields.String(required=True, metadata={"example": DATABASE_UNAVAILABLE})
    database = fields.String(required=True, metadata={"example": "down"})
