"""Request schemas: what each endpoint accepts, validated and worded like Joi."""

import copy
import re

from marshmallow import Schema, ValidationError, fields, missing, validates_schema

from ..errors import (
    INVALID_STATUS,
    RECORDING_ID_REQUIRED,
    ROOM_NAME_REQUIRED,
    STATUS_REQUIRED,
    STUDENT_ID_REQUIRED,
)
from ..lifecycle import STATUSES
from ..validation import (
    MAX_SAFE_INTEGER,
    JoiChoices,
    JoiGuid,
    JoiInteger,
    JoiIsoDate,
    JoiObject,
    JoiSchema,
    JoiString,
    RequiredText,
    at_least,
    at_most,
    is_falsy,
    max_length,
    min_length,
    not_after_latest,
    not_in_past,
)
from ..validation.dates import joi_iso_time

# JSON Schema can't bound a date-time string, so the document says it in words.
SCHEDULE_DOC = {
    "description": "ISO 8601 (no offset = UTC); not in the past, at most 9999-01-01T00:00:00Z"
}

MAX_PARTICIPANTS = 1000  # the biggest class (the rate limits admit it whole)


class CreateSessionSchema(JoiSchema):
    title = JoiString(required=True, validate=[min_length(3), max_length(200)])
    description = JoiString(allow_empty=True, validate=[max_length(1000)])
    courseId = JoiGuid(required=True)
    instructorId = JoiGuid()
    scheduledAt = JoiIsoDate(
        required=True, validate=[not_in_past, not_after_latest], metadata=SCHEDULE_DOC
    )
    duration = JoiInteger(required=True, validate=[at_least(15), at_most(480)])
    maxParticipants = JoiInteger(
        load_default=100, validate=[at_least(1), at_most(MAX_PARTICIPANTS)]
    )


def optional_fields(schema, exclude=()):
    """Copies of `schema`'s fields (less `exclude`), none required and without defaults: the
    rules of a partial update, written once where the whole resource is declared."""
    copies = {}
    for name, field in schema._declared_fields.items():
        if name in exclude:
            continue
        optional = copy.deepcopy(field)  # as marshmallow copies fields for each schema
        optional.required = False
        optional.load_default = missing
        copies[name] = optional
    return copies


class NonEmptySchema(JoiSchema):
    """A body that must have at least one key (Joi's `object().min(1)`)."""

    @validates_schema
    def require_one_key(self, data, **kwargs):
        if not data:
            raise ValidationError("must have at least 1 key", field_name="value")


# PUT /sessions/:id: the create rules, every field optional; course and instructor fixed.
UpdateSessionSchema = NonEmptySchema.from_dict(
    optional_fields(CreateSessionSchema, exclude=("courseId", "instructorId")),
    name="UpdateSessionSchema",
)


WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # RFC 5545's, dateutil's order
MAX_OCCURRENCES = 100


class RecurrenceSchema(JoiSchema):
    """A weekly rule: on `days`, every `interval` weeks, `count` times or `until` a date."""

    days = JoiChoices(WEEKDAYS, required=True)
    interval = JoiInteger(load_default=1, validate=[at_least(1), at_most(52)])
    count = JoiInteger(validate=[at_least(1), at_most(MAX_OCCURRENCES)])
    until = JoiIsoDate(metadata={"description": "ISO 8601 (no offset = UTC), inclusive"})

    @validates_schema
    def count_or_until(self, data, **kwargs):
        # Joi's `object().xor("count", "until")`
        present = [key for key in ("count", "until") if key in data]
        if not present:
            raise ValidationError("must contain at least one of [count, until]", "value")
        if len(present) == 2:
            raise ValidationError(
                "contains a conflict between exclusive peers [count, until]", "value"
            )


class CreateSeriesSchema(CreateSessionSchema):
    """POST /sessions/series: a session's fields, the first date, and its recurrence."""

    recurrence = JoiObject(
        RecurrenceSchema,
        required=True,
        metadata={
            "description": "Weekly, from scheduledAt: on `days`, every `interval` weeks, with "
            "exactly one of `count` or `until`; at most 100 occurrences, each at scheduledAt's "
            "time of day (UTC), each within the create rules"
        },
    )


# PUT /sessions/series/:id: the update rules less the date (each occurrence keeps its own).
UpdateSeriesSchema = NonEmptySchema.from_dict(
    optional_fields(CreateSessionSchema, exclude=("courseId", "instructorId", "scheduledAt")),
    name="UpdateSeriesSchema",
)


class ListQuerySchema(JoiSchema):
    page = JoiInteger(
        load_default=1, validate=[at_least(1)], metadata={"maximum": MAX_SAFE_INTEGER}
    )
    pageCount = JoiInteger(load_default=10, validate=[at_least(1), at_most(100)])
    search = JoiString(load_default="", allow_empty=True, validate=[max_length(200)])
    status = JoiString(choices=STATUSES)
    courseId = JoiString(validate=[max_length(128)], metadata={"minLength": 1})
    instructorId = JoiString(validate=[max_length(128)], metadata={"minLength": 1})
    # `from` is a Python keyword: the attribute is `from_`, the query key `from`.
    from_ = JoiIsoDate(
        data_key="from", metadata={"description": "Sessions scheduled at or after this date"}
    )
    to = JoiIsoDate(
        metadata={"description": "Sessions scheduled at or before this date (not before `from`)"}
    )

    @validates_schema(pass_original=True)
    def check_range(self, data, original, **kwargs):
        # On the time values: beyond datetime's years both ends may be the same datetime.
        if (
            "from_" in data
            and "to" in data
            and joi_iso_time(original["to"]) < joi_iso_time(original["from"])
        ):
            # Joi's wording for `date().min(Joi.ref('from'))`
            raise ValidationError('must be greater than or equal to "ref:from"', field_name="to")


class AttendanceQuerySchema(JoiSchema):
    """GET /sessions/course/:courseId/attendance: the report as JSON (default) or CSV."""

    format = JoiString(load_default="json", choices=("json", "csv"))


# A student id travels in DELETE /sessions/:id/participants/:studentId, so it must survive
# a URL path: no "/" (not even percent-encoded: it is decoded before routing), no control
# characters, and not "." or ".." (clients collapse those segments). `$`, not `\Z`: the
# pattern is also the OpenAPI document's, in ECMA-262 (where `$` is the very end and `\Z` a
# plain "Z"); RequiredText applies it with fullmatch, and a newline is a control character.
STUDENT_ID = re.compile(r"^(?!\.\.?$)[^/\x00-\x1f\x7f-\x9f]+$")
STUDENT_ID_MAX_LENGTH = 128  # in UTF-16 code units, as Joi counted


class ParticipantSchema(JoiSchema):
    LABELLED = False

    studentId = RequiredText(
        STUDENT_ID_REQUIRED,
        max_length=STUDENT_ID_MAX_LENGTH,
        pattern=STUDENT_ID,
        pattern_name="student id",
    )


class RecordingStartSchema(JoiSchema):
    LABELLED = False

    roomName = RequiredText(ROOM_NAME_REQUIRED, max_length=128)


class RecordingStopSchema(JoiSchema):
    LABELLED = False

    recordingId = RequiredText(RECORDING_ID_REQUIRED, max_length=128)


class CalendarKeySchema(Schema):
    """The student feed's query, for the document only: its view reads `key` itself, since
    a missing or wrong key is a 404, not a validation error (other keys are ignored)."""

    key = fields.String(
        required=True,
        metadata={
            "description": "HMAC-SHA256 of the student id with CALENDAR_FEED_SECRET, in hex "
            "(`flask --app wsgi calendar link STUDENT_ID` prints the feed's URL with it)",
            "pattern": "^[0-9a-f]{64}$",
        },
    )


# The spec's wording, with the statuses of the lifecycle.
INVALID_STATUS_MESSAGE = INVALID_STATUS.format(statuses=", ".join(STATUSES))


class StatusSchema(JoiSchema):
    LABELLED = False

    status = fields.Raw(
        required=True,
        allow_none=True,
        error_messages={"required": STATUS_REQUIRED},
        metadata={"type": "string", "enum": list(STATUSES)},
    )

    @validates_schema
    def check_status(self, data, **kwargs):
        value = data.get("status")
        if is_falsy(value):
            raise ValidationError(STATUS_REQUIRED, field_name="status")
        if value not in STATUSES:
            raise ValidationError(INVALID_STATUS_MESSAGE, field_name="status")
