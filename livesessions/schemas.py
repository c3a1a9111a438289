"""Request schemas (marshmallow) that validate and word their errors the way Joi did.

Every Joi message has the shape `"<label>" <rule text>`. Field messages below hold only the
rule text; `load()` adds the label of the first failing key, in Joi's order: declared keys
in declaration order, then unknown keys, then object-level rules. Schemas whose messages
come verbatim from the Node controllers set `LABELLED = False`.
"""

import math
import re
from datetime import UTC, datetime

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

STATUSES = ("scheduled", "live", "ended", "cancelled")
MAX_SAFE_INTEGER = 2**53 - 1

# Joi's number coercion of strings (convert: true).
NUMERIC_STRING = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?\s*$", re.IGNORECASE)
# Joi's guid rule: optional matching brackets, optional consistent separators.
GUID = re.compile(
    r"^([\[{(]?)[0-9A-F]{8}([:-]?)[0-9A-F]{4}\2?[0-9A-F][0-9A-F]{3}\2?"
    r"[0-9A-F][0-9A-F]{3}\2?[0-9A-F]{12}([\]})]?)$",
    re.IGNORECASE,
)
GUID_BRACKETS = {"": "", "[": "]", "{": "}", "(": ")"}
ISO_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


def utcnow():
    """Return the current time, aware, truncated to BSON's millisecond precision."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def parse_iso_date(text):
    """Parse a Joi-acceptable ISO 8601 string to an aware UTC datetime, or return None.

    A date-time without an offset is taken as UTC. Fractions are cut to milliseconds.
    """
    match = ISO_DATE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    normalized = f"{year}-{month}-{day}T{hour or '00'}:{minute or '00'}:{second or '00'}"
    if fraction:
        normalized += "." + fraction[:3].ljust(3, "0")
    normalized += "+00:00" if offset in (None, "Z") else offset
    try:
        return datetime.fromisoformat(normalized).astimezone(UTC)
    except (ValueError, OverflowError):  # month 13, day 31 of a 30-day month, year 0...
        return None


class JoiString(fields.String):
    """A string: no type coercion, empty rejected unless `allow_empty`."""

    default_error_messages = {
        "required": "is required",
        "null": "must be a string",
        "invalid": "must be a string",
        "empty": "is not allowed to be empty",
    }

    def __init__(self, *, allow_empty=False, **kwargs):
        super().__init__(**kwargs)
        self.allow_empty = allow_empty

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if value == "" and not self.allow_empty:
            raise self.make_error("empty")
        return value


def is_guid(value):
    match = GUID.match(value)
    return bool(match) and GUID_BRACKETS.get(match.group(1)) == match.group(3)


class JoiGuid(JoiString):
    """A GUID/UUID string as Joi's `guid()` accepts it."""

    default_error_messages = {"guid": "must be a valid GUID"}

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {"format": "uuid"})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not is_guid(value):
            raise self.make_error("guid")
        return value


class JoiInteger(fields.Integer):
    """A number with Joi's string conversion; the integer rule runs after min/max."""

    default_error_messages = {
        "required": "is required",
        "null": "must be a number",
        "invalid": "must be a number",
        "unsafe": "must be a safe number",
        "integer": "must be an integer",
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(self._check_integer)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and NUMERIC_STRING.match(value):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.make_error("invalid")
        if abs(value) > MAX_SAFE_INTEGER:
            raise self.make_error("unsafe")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def _check_integer(self, value):
        if not isinstance(value, int):
            raise self.make_error("integer")


class JoiIsoDate(fields.DateTime):
    """An ISO 8601 date string, loaded as an aware UTC datetime."""

    default_error_messages = {
        "required": "is required",
        "null": "must be a valid date",
        "invalid": "must be a valid date",
        "format": "must be in ISO 8601 date format",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        parsed = parse_iso_date(value)
        if parsed is None:
            raise self.make_error("format")
        return parsed


def not_in_past(value):
    """Joi's `date().min('now')`."""
    if value < utcnow():
        raise ValidationError("must be greater than or equal to now")


# Python's datetimes end with year 9999; a class must end (plus the room's grace) before.
LATEST_SCHEDULE = datetime(9999, 1, 1, tzinfo=UTC)
# JSON Schema can't bound a date-time string, so the document says it in words.
SCHEDULE_DOC = {
    "description": "ISO 8601 (no offset = UTC); not in the past, at most 9999-01-01T00:00:00Z"
}


def not_after_latest(value):
    """Joi's `date().max(...)`, worded as Joi prints a date limit."""
    if value > LATEST_SCHEDULE:
        raise ValidationError('must be less than or equal to "9999-01-01T00:00:00.000Z"')


def at_least(limit):
    return validate.Range(min=limit, error="must be greater than or equal to {min}")


def at_most(limit):
    return validate.Range(max=limit, error="must be less than or equal to {max}")


def one_of(choices):
    return validate.OneOf(choices, error="must be one of [" + ", ".join(choices) + "]")


def min_length(limit):
    return validate.Length(min=limit, error="length must be at least {min} characters long")


def max_length(limit):
    return validate.Length(
        max=limit, error="length must be less than or equal to {max} characters long"
    )


class JoiSchema(Schema):
    """Base schema: unknown keys are errors, as with Joi's default `allowUnknown: false`."""

    LABELLED = True

    class Meta:
        unknown = RAISE


class CreateSessionSchema(JoiSchema):
    title = JoiString(required=True, validate=[min_length(3), max_length(200)])
    description = JoiString(allow_empty=True, validate=[max_length(1000)])
    courseId = JoiGuid(required=True)
    instructorId = JoiGuid()
    scheduledAt = JoiIsoDate(
        required=True, validate=[not_in_past, not_after_latest], metadata=SCHEDULE_DOC
    )
    duration = JoiInteger(required=True, validate=[at_least(15), at_most(480)])
    maxParticipants = JoiInteger(load_default=100, validate=[at_least(1), at_most(1000)])


class UpdateSessionSchema(JoiSchema):
    title = JoiString(validate=[min_length(3), max_length(200)])
    description = JoiString(allow_empty=True, validate=[max_length(1000)])
    scheduledAt = JoiIsoDate(validate=[not_in_past, not_after_latest], metadata=SCHEDULE_DOC)
    duration = JoiInteger(validate=[at_least(15), at_most(480)])
    maxParticipants = JoiInteger(validate=[at_least(1), at_most(1000)])

    @validates_schema
    def require_one_key(self, data, **kwargs):
        if not data:
            raise ValidationError("must have at least 1 key", field_name="value")


class ListQuerySchema(JoiSchema):
    page = JoiInteger(
        load_default=1, validate=[at_least(1)], metadata={"maximum": MAX_SAFE_INTEGER}
    )
    pageCount = JoiInteger(load_default=10, validate=[at_least(1), at_most(100)])
    search = JoiString(load_default="", allow_empty=True, validate=[max_length(200)])
    status = JoiString(validate=[one_of(STATUSES)], metadata={"enum": list(STATUSES)})
    courseId = JoiString(validate=[max_length(128)], metadata={"minLength": 1})
    instructorId = JoiString(validate=[max_length(128)], metadata={"minLength": 1})
    # `from` is a Python keyword: the attribute is `from_`, the query key `from`.
    from_ = JoiIsoDate(
        data_key="from", metadata={"description": "Sessions scheduled at or after this date"}
    )
    to = JoiIsoDate(
        metadata={"description": "Sessions scheduled at or before this date (not before `from`)"}
    )

    @validates_schema
    def check_range(self, data, **kwargs):
        if "from_" in data and "to" in data and data["to"] < data["from_"]:
            # Joi's wording for `date().min(Joi.ref('from'))`
            raise ValidationError('must be greater than or equal to "ref:from"', field_name="to")


def _is_falsy(value):
    """JavaScript's falsiness, which the Node controllers tested with `if (!value)`."""
    return (
        value is None
        or value is False
        or value == ""
        or (isinstance(value, int | float) and not isinstance(value, bool) and value == 0)
    )


class RequiredText(fields.Raw):
    """A string checked the way the Node controllers did (`if (!value)`), then typed like Joi.

    Its messages are complete sentences, for schemas with `LABELLED = False`.
    """

    def __init__(self, required_message, max_length, **kwargs):
        super().__init__(
            required=True,
            error_messages={"required": required_message, "null": required_message},
            metadata={"type": "string", "minLength": 1, "maxLength": max_length},
            **kwargs,
        )
        self.required_message = required_message
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs):
        if _is_falsy(value):
            raise ValidationError(self.required_message)
        if not isinstance(value, str):
            raise ValidationError(f'"{attr}" must be a string')
        if len(value) > self.max_length:
            raise ValidationError(
                f'"{attr}" length must be less than or equal to {self.max_length} characters long'
            )
        return value


class ParticipantSchema(JoiSchema):
    LABELLED = False

    studentId = RequiredText("Student ID is required", max_length=128)


class RecordingStartSchema(JoiSchema):
    LABELLED = False

    roomName = RequiredText("Room name is required", max_length=128)


class RecordingStopSchema(JoiSchema):
    LABELLED = False

    recordingId = RequiredText("Recording ID is required", max_length=128)


class StatusSchema(JoiSchema):
    LABELLED = False

    status = fields.Raw(
        required=True,
        allow_none=True,
        error_messages={"required": "Status is required"},
        metadata={"type": "string", "enum": list(STATUSES)},
    )

    @validates_schema
    def check_status(self, data, **kwargs):
        value = data.get("status")
        if _is_falsy(value):
            raise ValidationError("Status is required", field_name="status")
        if value not in STATUSES:
            raise ValidationError(
                "Invalid status value. Must be one of: " + ", ".join(STATUSES),
                field_name="status",
            )


def _first_message(schema, errors, data):
    """Pick the error Joi (abortEarly) would report and give it Joi's wording."""
    declared = [field.data_key or name for name, field in schema.fields.items()]
    unknown = [key for key in data if key not in declared]
    for key in [*declared, *unknown, "value", "_schema"]:
        if key not in errors:
            continue
        if key in unknown:
            return f'"{key}" is not allowed'
        messages = errors[key]
        message = messages[0] if isinstance(messages, list) else str(messages)
        if key == "_schema":
            return message
        return f'"{key}" {message}' if schema.LABELLED else message
    return "Invalid request"


def load(schema, data):
    """Validate `data` against `schema`; raise ValidationFailed with Joi's first message."""
    from .errors import ValidationFailed

    if not isinstance(data, dict):
        raise ValidationFailed('"value" must be of type object')
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ValidationFailed(_first_message(schema, error.messages, data)) from None


create_session_schema = CreateSessionSchema()
update_session_schema = UpdateSessionSchema()
list_query_schema = ListQuerySchema()
participant_schema = ParticipantSchema()
recording_start_schema = RecordingStartSchema()
recording_stop_schema = RecordingStopSchema()
status_schema = StatusSchema()


# -- Response shapes ------------------------------------------------------------------------
# The single description of what the API answers: the OpenAPI document is generated from
# these, serialize.py takes the session's key order from SessionSchema, and the tests
# validate every response they receive against the generated document.


class ResponseSchema(Schema):
    class Meta:
        unknown = RAISE  # documented as additionalProperties: false


class ErrorSchema(ResponseSchema):
    message = fields.String(required=True, metadata={"example": "Live session not found"})


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
    recordingUrl = fields.String(required=True, allow_none=True)
    recordingDuration = fields.Float(required=True, allow_none=True)
    createdAt = _timestamp(required=True)
    updatedAt = _timestamp(required=True)
    deletedAt = _timestamp("Only on sessions cancelled by DELETE")


class PopulatedSessionSchema(SessionSchema):
    """GET /sessions: course and instructor populated (null if missing)."""

    course = fields.Nested(CourseRefSchema, required=True, allow_none=True)
    instructor = fields.Nested(UserRefSchema, required=True, allow_none=True)


RECORDING_STATUSES = ("none", "recording", "processing", "ready", "failed")


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


class CourseSessionSchema(SessionSchema):
    """GET /sessions/course/:courseId: the instructor populated."""

    instructor = fields.Nested(UserRefSchema, required=True, allow_none=True)


class InstructorSessionSchema(SessionSchema):
    """GET /sessions/instructor/:instructorId: the course populated."""

    course = fields.Nested(CourseRefSchema, required=True, allow_none=True)


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
    message = fields.String(
        required=True, metadata={"example": "Live session deleted successfully"}
    )
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


class JoinSchema(ResponseSchema):
    """POST /sessions/:id/join: how the caller enters the room."""

    roomUrl = fields.String(required=True)
    token = fields.String(required=True, metadata={"description": "A Daily.co meeting token"})
    joinUrl = fields.String(
        required=True, metadata={"description": "`roomUrl?t=token`: opens the room directly"}
    )
    expiresAt = _timestamp("The token is refused after this (the end of the class)", required=True)


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


class NotReadySchema(ResponseSchema):
    message = fields.String(required=True, metadata={"example": "Database unavailable"})
    database = fields.String(required=True, metadata={"example": "down"})
