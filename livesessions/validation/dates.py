"""Dates as Joi 17's `date().iso()` read them: Joi's ISO 8601 pattern first, then whatever
V8's `new Date(string)` made of a string that passed it (`v8date`).

Times are JavaScript's time values: integer milliseconds since 1970, within +-8.64e15.
"""

import re
from datetime import UTC, datetime, timedelta

from .javascript import WHITESPACE, number_to_string, to_double
from .v8date import parse_date

# Joi's isoDate pattern in Python's terms: `\d` ASCII (re.ASCII), `\s` JavaScript's
# whitespace, `$` the very end, and `(?(2)\2)` for its back-reference to a group that may not
# have taken part (JavaScript matches such a reference as empty; Python would fail).
JOI_ISO_DATE = re.compile(
    r"^(?:[-+]\d{2})?(?:\d{4}(?!\d{2}\b))(?:(-?)(?:(?:0[1-9]|1[0-2])(?:\1(?:[12]\d|0[1-9]|3[01]))?"
    r"|W(?:[0-4]\d|5[0-2])(?:-?[1-7])?|(?:00[1-9]|0[1-9]\d|[12]\d{2}|3(?:[0-5]\d|6[1-6])))"
    rf"(?![T]\Z|[T][\d]+Z\Z)(?:[T{WHITESPACE}](?:(?:(?:[01]\d|2[0-3])(?:(:?)[0-5]\d)?|24:?00)"
    r"(?:[.,]\d+(?!:))?)(?:(?(2)\2)[0-5]\d(?:[.,]\d+)?)?"
    r"(?:[Z]|(?:[+-])(?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?)?\Z",
    re.ASCII,
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC, microsecond=999_000)


def joi_iso_time(value) -> int | None:
    """What Joi's `date().iso()` converts a string or number to: a time value, or None where
    it refuses it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = number_to_string(to_double(value))  # Joi reads a number as its String()
    if not isinstance(value, str) or not JOI_ISO_DATE.match(value):
        return None
    return parse_date(value)


def to_datetime(time: int) -> datetime:
    """An aware datetime of a time value; beyond what datetime holds, its first or last one
    (no stored date lies out there, so queries bounded by either find the same)."""
    if time < (EARLIEST - EPOCH) // timedelta(milliseconds=1):
        return EARLIEST
    if time > (LATEST - EPOCH) // timedelta(milliseconds=1):
        return LATEST
    return EPOCH + timedelta(milliseconds=time)


def read_iso(value) -> datetime | None:
    """An ISO 8601 date as Joi's `date().iso()` took it, as a datetime, or None."""
    time = joi_iso_time(value)
    return None if time is None else to_datetime(time)
