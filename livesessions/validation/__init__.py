"""Request validation as the Node service's Joi 17 did it, in three parts: `javascript` and
`dates` (how JavaScript and V8 read values), `fields` and `nested` (Joi's rules and messages,
an object or array inside a body labelled by its path) and `schema` (`load()`, which reports
the first error in Joi's order). Import them from here."""

from .fields import (
    JoiGuid,
    JoiInteger,
    JoiIsoDate,
    JoiString,
    RequiredText,
    at_least,
    at_most,
    max_length,
    min_length,
    not_after_latest,
    not_in_past,
)
from .javascript import MAX_SAFE_INTEGER, is_falsy
from .nested import JoiChoices, JoiObject
from .schema import JoiSchema, load

__all__ = [
    "MAX_SAFE_INTEGER",
    "JoiChoices",
    "JoiGuid",
    "JoiInteger",
    "JoiIsoDate",
    "JoiObject",
    "JoiSchema",
    "JoiString",
    "RequiredText",
    "at_least",
    "at_most",
    "is_falsy",
    "load",
    "max_length",
    "min_length",
    "not_after_latest",
    "not_in_past",
]
