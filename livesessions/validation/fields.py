"""Marshmallow fields and validators that check and word values the way Joi 17 did.

Every Joi message has the shape `"<label>" <rule text>`. The messages here hold only the rule
text; `load()` adds the label. Values are read as JavaScript read them (`javascript`,
`dates`): lengths in UTF-16 units, numbers and dates converted as Joi converted them.
"""

import json
import re
from datetime import UTC, datetime

from marshmallow import ValidationError, fields, validate

from ..clock import utcnow
from . import javascript
from .dates import read_iso

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
    """A string: no type coercion, empty refused unless `allow_empty`. With `choices`, Joi's
    `valid(...)`: any other value, of whatever type, is `must be one of [...]`."""

    default_error_messages = {
        "required": "is required",
        "null": "must be a string",
        "invalid": "must be a string",
        "empty": "is not allowed to be empty",
    }

    def __init__(self, *, allow_empty=False, choices=None, **kwargs):
        if choices:
            kwargs["metadata"] = {"enum": list(choices), **kwargs.get("metadata", {})}
            # null too is not one of the choices
            kwargs["error_messages"] = {"null": one_of_message(choices)}
        super().__init__(**kwargs)
        self.allow_empty = allow_empty
        self.choices = choices

    def _deserialize(self, value, attr, data, **kwargs):
        if self.choices and value not in self.choices:  # Joi checks allowed values first
            raise ValidationError(one_of_message(self.choices))
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
    """A number converted from strings as Joi does (refusing what the string does not spell
    exactly), Infinity and unsafe numbers refused; the integer rule runs after min/max."""

    default_error_messages = {
        "required": "is required",
        "null": "must be a number",
        "invalid": "must be a number",
        "infinity": "cannot be infinity",
        "unsafe": "must be a safe number",
        "integer": "must be an integer",
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(self._check_integer)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value, safe = javascript.string_to_number(value)
            if value is None:
                raise self.make_error("invalid")
            if not safe:
                raise self.make_error("unsafe")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        elif isinstance(value, int) and abs(value) > javascript.MAX_SAFE_INTEGER:
            value = javascript.to_double(value)  # JSON.parse read it as a double
        if value in (float("inf"), float("-inf")):
            raise self.make_error("infinity")
        if abs(value) > javascript.MAX_SAFE_INTEGER:
            raise self.make_error("unsafe")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def _check_integer(self, value):
        if not isinstance(value, int):
            raise self.make_error("integer")


class JoiIsoDate(fields.DateTime):
    """Joi's `date().iso()`, loaded as an aware UTC datetime (see `dates.to_datetime`)."""

    default_error_messages = {
        "required": "is required",
        "null": "must be a valid date",
        "invalid": "must be a valid date",
        "format": "must be in ISO 8601 date format",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        moment = read_iso(value)
        if moment is None:
            raise self.make_error("format" if isinstance(value, str) else "invalid")
        return moment


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
        if javascript.is_falsy(value):
            raise ValidationError(self.required_message)
        if not isinstance(value, str):
            raise ValidationError(f'"{attr}" must be a string')
        if javascript.length(value) > self.max_length:
            raise ValidationError(f'"{attr}" {max_length_message(self.max_length)}')
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


def one_of_message(choices):
    return "must be one of [" + ", ".join(choices) + "]"


def max_length_message(limit):
    return f"length must be less than or equal to {limit} characters long"


class Length(validate.Length):
    """Joi's string `min`/`max`: JavaScript's `length`, in UTF-16 code units."""

    def __call__(self, value):
        size = javascript.length(value)
        if self.min is not None and size < self.min:
            raise ValidationError(self._format_error(value, self.message_min))
        if self.max is not None and size > self.max:
            raise ValidationError(self._format_error(value, self.message_max))
        return value


def min_length(limit):
    return Length(min=limit, error="length must be at least {min} characters long")


def max_length(limit):
    return Length(max=limit, error=max_length_message("{max}"))
