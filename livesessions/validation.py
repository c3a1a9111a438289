"""Marshmallow fields and `load()` that validate and word their errors the way Joi did.

Every Joi message has the shape `"<label>" <rule text>`. Field messages below hold only the
rule text; `load()` adds the label of the first failing key, in Joi's order: declared keys
in declaration order, then unknown keys, then object-level rules. Schemas whose messages
come verbatim from the Node controllers set `LABELLED = False`.
"""

import json
import math
import re
from datetime import UTC, datetime

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .clock import parse_iso, utcnow
from .errors import BODY_NOT_OBJECT, INVALID_REQUEST, ValidationFailed

MAX_SAFE_INTEGER = 2**53 - 1

# The whitespace of JavaScript's `\s` and `String.prototype.trim` (WhiteSpace and
# LineTerminator), as a character class. Python's `\s` is another set: it takes U+001C-U+001F
# and U+0085 (which `float()` then refuses or reads) and leaves out U+FEFF.
JS_WHITESPACE = r"[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
# Joi's number coercion of strings (convert: true): its regex in JavaScript's terms (`\d` is
# ASCII, `\s` the whitespace above, `$` the very end); group 1 is the number, unpadded.
JS_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
NUMERIC_STRING = re.compile(rf"^{JS_WHITESPACE}*({JS_NUMBER}){JS_WHITESPACE}*\Z")
# Joi's guid rule: optional matching brackets, optional consistent separators; `\Z`, since
# Python's `$` would let a trailing newline through.
GUID = re.compile(
    r"^([\[{(]?)[0-9A-F]{8}([:-]?)[0-9A-F]{4}\2?[0-9A-F][0-9A-F]{3}\2?"
    r"[0-9A-F][0-9A-F]{3}\2?[0-9A-F]{12}([\]})]?)\Z",
    re.IGNORECASE,
)
GUID_BRACKETS = {"": "", "[": "]", "{": "}", "(": ")"}
# Python's datetimes end with year 9999; a class must end (plus the room's grace) before.
LATEST_SCHEDULE = datetime(9999, 1, 1, tzinfo=UTC)


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
        numeric = NUMERIC_STRING.match(value) if isinstance(value, str) else None
        if numeric:
            value = float(numeric.group(1))  # ASCII only: float() reads it as JavaScript does
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
        parsed = parse_iso(value)
        if parsed is None:
            raise self.make_error("format")
        return parsed


def is_falsy(value):
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

    def __init__(self, required_message, max_length, *, pattern=None, pattern_name=None, **kwargs):
        metadata = {"type": "string", "minLength": 1, "maxLength": max_length}
        if pattern is not None:
            metadata["pattern"] = pattern.pattern
        super().__init__(
            required=True,
            error_messages={"required": required_message, "null": required_message},
            metadata=metadata,
            **kwargs,
        )
        self.required_message = required_message
        self.max_length = max_length
        self.pattern = pattern
        self.pattern_name = pattern_name

    def _deserialize(self, value, attr, data, **kwargs):
        if is_falsy(value):
            raise ValidationError(self.required_message)
        if not isinstance(value, str):
            raise ValidationError(f'"{attr}" must be a string')
        if len(value) > self.max_length:
            raise ValidationError(
                f'"{attr}" length must be less than or equal to {self.max_length} characters long'
            )
        if self.pattern is not None and not self.pattern.fullmatch(value):
            # Joi's `string.pattern.name` wording, as `.pattern(regex, name)` printed it
            raise ValidationError(
                f'"{attr}" with value {json.dumps(value)} fails to match the '
                f"{self.pattern_name} pattern"
            )
        return value


def not_in_past(value):
    """Joi's `date().min('now')`."""
    if value < utcnow():
        raise ValidationError("must be greater than or equal to now")


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
    return INVALID_REQUEST


def load(schema: Schema, data) -> dict:
    """Validate `data` against `schema`; raise ValidationFailed with Joi's first message."""
    if not isinstance(data, dict):
        raise ValidationFailed(BODY_NOT_OBJECT)
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ValidationFailed(_first_message(schema, error.messages, data)) from None
