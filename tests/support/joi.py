"""Oracles of what Joi 17, running in JavaScript, made of a string: a number, a GUID, an ISO
date. Written apart from livesessions/validation.py (and in other terms) so that the fuzz
tests can hold the service to them.
"""

import re

# JavaScript's String.prototype.trim whitespace (WhiteSpace and LineTerminator).
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680"
    + "".join(chr(code) for code in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
# What is left of a numeric string once trimmed: ASCII only, as JavaScript's `\d`.
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Joi's guid() and the ISO forms the service takes, matched whole (`fullmatch`: no newline
# after them, unlike Python's `$`).
GUID = re.compile(
    r"([\[{(]?)[0-9a-fA-F]{8}([:-]?)[0-9a-fA-F]{4}\2?[0-9a-fA-F]{4}\2?[0-9a-fA-F]{4}\2?"
    r"[0-9a-fA-F]{12}([\]})]?)"
)
BRACKETS = {"": "", "[": "]", "{": "}", "(": ")"}
ISO_DATE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)


def js_number(text: str) -> float | None:
    """The number Joi's conversion made of `text`, or None where it answered `must be a
    number`."""
    trimmed = text.strip(JS_WHITESPACE)
    return float(trimmed) if NUMBER.fullmatch(trimmed) else None


def is_guid(text: str) -> bool:
    match = GUID.fullmatch(text)
    return bool(match) and BRACKETS[match[1]] == match[3]


def looks_iso(text: str) -> bool:
    """Whether `text` has an ISO form Joi takes (whether the date exists is not checked)."""
    return bool(ISO_DATE.fullmatch(text))


def type_refusal(key: str, value) -> str | None:
    """Joi's message for a string `value` of `key` that is not of the key's type (the first
    rule a value fails), or None if it is."""
    if not isinstance(value, str):
        return None
    if key in ("duration", "maxParticipants", "page", "pageCount"):
        return None if js_number(value) is not None else f'"{key}" must be a number'
    if value == "":  # a string rule's own message: `is not allowed to be empty`
        return None
    if key in ("courseId", "instructorId"):
        return None if is_guid(value) else f'"{key}" must be a valid GUID'
    if key in ("scheduledAt", "from", "to"):
        return None if looks_iso(value) else f'"{key}" must be in ISO 8601 date format'
    return None
