"""Oracles of what Joi 17, running in JavaScript, made of a string: a number, a GUID, an ISO
date (in the forms whose reading is plain). Written apart from livesessions/validation/ (and
in other terms) so that the fuzz tests can hold the service to them.
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
# Dates in the forms the fuzz tests write: `YYYY-MM-DD`, then a separator, `HH:mm[:ss]`, a
# fraction and an offset.
DATE_FORM = re.compile(
    r"[0-9]{4}-([0-9]{2})-([0-9]{2})(?:(.)([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?(\.[0-9]*)?(.*))?",
    re.DOTALL,
)
SURE_ZONE = re.compile(r"|Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9]")
REFUSED_ZONE = re.compile(r"z|[+-][0-9]|[+-](?:2[4-9]|[3-9][0-9]).*|[+-][0-9]{2}:?[6-9][0-9]")


def js_number(text: str) -> float | None:
    """The number Joi's conversion made of `text`, or None where it answered `must be a
    number`."""
    trimmed = text.strip(JS_WHITESPACE)
    return float(trimmed) if NUMBER.fullmatch(trimmed) else None


def is_guid(text: str) -> bool:
    match = GUID.fullmatch(text)
    return bool(match) and BRACKETS[match[1]] == match[3]


def iso_verdict(text: str) -> bool | None:
    """Whether Joi surely took `text` as a date (True), surely refused its format (False), or
    neither is plain from its form (None: hour 24, a space for the T, ... where V8's reading
    decides, which tests/api/test_javascript_inputs.py pins)."""
    match = DATE_FORM.fullmatch(text)
    if not match:
        return None
    month, day, separator, hour, minute, second, fraction, zone = match.groups()
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return False  # any day up to 31 is read (V8 rolls it over), none past
    if separator is None:
        return True
    clock = [int(minute)] + ([int(second)] if second else [])
    if (
        separator == "t"
        or int(hour) > 24
        or max(clock) > 59
        or fraction == "."
        or REFUSED_ZONE.fullmatch(zone)
    ):
        return False
    surely = separator == "T" and int(hour) < 24 and (second or not fraction)
    return True if surely and SURE_ZONE.fullmatch(zone) else None


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
        return f'"{key}" must be in ISO 8601 date format' if iso_verdict(value) is False else None
    return None
