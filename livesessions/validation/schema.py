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


def label(key: str) -> str:
    """How Joi names a key in a message: quoted, and `value` for the empty key."""
    return f'"{key or "value"}"'


def _first_message(schema, errors, unknown):
    """The error Joi (abortEarly) reports first: declared keys in declaration order (their
    own rules, cross-key ones included), then unknown keys in JavaScript's key order, then
    rules of the whole object."""
    declared = [field.data_key or name for name, field in schema.fields.items()]
    for key in declared:
        if key in errors:
            messages = errors[key]
            message = messages[0] if isinstance(messages, list) else str(messages)
            return f"{label(key)} {message}" if schema.LABELLED else message
    if unknown:
        return f"{label(unknown[0])} is not allowed"
    if "value" in errors:
        return f"{label('value')} {errors['value'][0]}"
    if "_schema" in errors:
        return errors["_schema"][0]
    return INVALID_REQUEST


@cache
def _declared_keys(schema: Schema) -> frozenset:
    return frozenset(field.data_key or name for name, field in schema.fields.items())


def load(schema: Schema, data) -> dict:
    """Validate `data` against `schema`; raise ValidationFailed with Joi's first message.

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
        raise ValidationFailed(_first_message(schema, error.messages, unknown)) from None
    if unknown:
        raise ValidationFailed(_first_message(schema, {}, unknown))
    return result
