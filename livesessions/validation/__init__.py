"""Request validation as the Node service's Joi 17 did it, in three parts: `javascript` and
`dates` (how JavaScript and V8 read values), `fields` (Joi's rules and messages) and `schema`
(`load()`, which reports the first error in Joi's order). Import them from here."""

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
from .schema import JoiSchema, load

__all__ = [
    "MAX_SAFE_INTEGER",
    "JoiGuid",
    "JoiInteger",
    "JoiIsoDate",
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
