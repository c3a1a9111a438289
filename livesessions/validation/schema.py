"""`load()`: validate a request's data and report Joi's first error, in Joi's order."""

from functools import cache

from marshmallow import RAISE, Schema, ValidationError

from ..errors import BODY_NOT_OBJECT, INVALID_REQUEST, ValidationFailed
from .javascript import key_order


class JoiSchema(Schema):
    """Base schema: unknown keys are errors, as with Joi's default `allowUnknown: false`.

    Schemas whose messages come verbatim from the Node controllers set `LABELLED = False`.
    """

    LABELLED = True

    class Meta:
        unknown = RAISE


class Labelled(str):
    """A message that already names its key (a nested object's, by its whole path)."""


class AtIndex(str):
    """A message about one item of an array: Joi labels it `"key[index]"`."""

    def __new__(cls, text, index):
        message = super().__new__(cls, text)
        message.index = index
        return message


def label(key: str, path: str = "") -> str:
    """How Joi names a key in a message: quoted, by its path inside the body (`a.b`), and
    the object itself (`value` for the body) for the empty key."""
    return f'"{path + key if key else path.rstrip(".") or "value"}"'


def _first_message(schema, errors, unknown, path=""):
    """The error Joi (abortEarly) reports first: declared keys in declaration order (their
    own rules, cross-key ones included), then unknown keys in JavaScript's key order, then
    rules of the whole object."""
    declared = [field.data_key or name for name, field in schema.fields.items()]
    for key in declared:
        if key in errors:
            messages = errors[key]
            message = messages[0] if isinstance(messages, list) else str(messages)
            if isinstance(message, Labelled) or not schema.LABELLED:
                return message
            if isinstance(message, AtIndex):
                return f"{label(f'{key}[{message.index}]', path)} {message}"
            return f"{label(key, path)} {message}"
    if unknown:
        return f"{label(unknown[0], path)} is not allowed"
    if "value" in errors:
        return f"{label('', path)} {errors['value'][0]}"
    if "_schema" in errors:
        return errors["_schema"][0]
    return INVALID_REQUEST


@cache
def _declared_keys(schema: Schema) -> frozenset:
    return frozenset(field.data_key or name for name, field in schema.fields.items())


def load(schema: Schema, data, path: str = "") -> dict:
    """Validate `data` against `schema`; raise ValidationFailed with Joi's first message
    (its keys labelled from `path`, for an object inside the body).

    Unknown keys are set aside before marshmallow sees the data, so that every declared rule
    runs (marshmallow skips a schema's own validators once any key has failed)."""
    if not isinstance(data, dict):
        raise ValidationFailed(BODY_NOT_OBJECT)
    declared = _declared_keys(schema)
    known = {key: value for key, value in data.items() if key in declared}
    unknown = (
        key_order(key for key in data if key not in declared) if len(known) < len(data) else []
    )
    try:
        result = schema.load(known)
    except ValidationError as error:
        raise ValidationFailed(_first_message(schema, error.messages, unknown, path)) from None
    if unknown:
        raise ValidationFailed(_first_message(schema, {}, unknown, path))
    return result
