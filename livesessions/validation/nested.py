"""Fields holding an object or an array inside a body, checked and worded as Joi 17 did:
a nested key is labelled by its path (`"recurrence.days"`), an item by its index
(`"recurrence.days[0]"`)."""

from marshmallow import ValidationError, fields

from ..errors import ValidationFailed
from .fields import one_of_message
from .schema import AtIndex, Labelled, load


class JoiObject(fields.Nested):
    """Joi's `object().keys(...)`: the nested schema's first error, labelled by its path."""

    default_error_messages = {
        "required": "is required",
        "null": "must be of type object",
        "type": "must be of type object",
    }

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        if not isinstance(value, dict):
            raise self.make_error("type")
        try:
            return load(self.schema, value, path=f"{self.data_key or attr}.")
        except ValidationFailed as error:
            raise ValidationError(Labelled(error.message)) from None


class JoiChoices(fields.List):
    """Joi's `array().items(string().valid(...)).min(min_items).unique()`, in that order."""

    default_error_messages = {
        "required": "is required",
        "null": "must be an array",
        "invalid": "must be an array",
    }

    def __init__(self, choices, *, min_items=1, **kwargs):
        metadata = {"minItems": min_items, "uniqueItems": True, **kwargs.pop("metadata", {})}
        inner = fields.String(metadata={"enum": list(choices)})
        super().__init__(inner, metadata=metadata, **kwargs)
        self.choices = choices
        self.min_items = min_items

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise self.make_error("invalid")
        for index, item in enumerate(value):
            if item not in self.choices:
                raise ValidationError(AtIndex(one_of_message(self.choices), index))
        if len(value) < self.min_items:
            raise ValidationError(f"must contain at least {self.min_items} items")
        for index, item in enumerate(value):
            if item in value[:index]:
                raise ValidationError(AtIndex("contains a duplicate value", index))
        return list(value)
