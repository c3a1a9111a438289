"""Time in one place: now, ISO 8601 in and out, Unix conversions, when a class ends."""

import re
from datetime import UTC, datetime, timedelta

# The ISO 8601 forms Joi's `date().iso()` accepts (date, or date-time with an optional offset).
# As in JavaScript, `\d` is ASCII and the end is the end (Python's `$` also matches before a
# final newline, so `\Z`).
ISO_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?\Z",
    re.ASCII,
)
LATEST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime holds


def utcnow() -> datetime:
    """Return the current time, aware, truncated to BSON's millisecond precision."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def parse_iso(text: str) -> datetime | None:
    """Parse a Joi-acceptable ISO 8601 string to an aware UTC datetime, or return None.

    A date-time without an offset is taken as UTC. Fractions are cut to milliseconds.
    """
    match = ISO_DATE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    normalized = f"{year}-{month}-{day}T{hour or '00'}:{minute or '00'}:{second or '00'}"
    if fraction:
        normalized += "." + fraction[:3].ljust(3, "0")
    normalized += "+00:00" if offset in (None, "Z") else offset
    try:
        return datetime.fromisoformat(normalized).astimezone(UTC)
    except (ValueError, OverflowError):  # month 13, day 31 of a 30-day month, year 0...
        return None


def iso(value: datetime) -> str:
    """Format a datetime as Mongoose does: `2025-12-25T10:00:00.000Z` (naive means UTC)."""
    offset = value.utcoffset()
    if offset:  # the driver gives UTC; anything else is converted first
        value = value.astimezone(UTC)
    text = value.isoformat(timespec="milliseconds")
    return text[:23] + "Z"  # drop "+00:00" (aware) or nothing (naive)


def to_ms(value: object) -> int | None:
    """Unix milliseconds of a datetime (None for anything else), as Daily's `*_ts` fields."""
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else None


def to_seconds(value: datetime) -> int:
    """Unix seconds of a datetime, as Daily's `exp` and `nbf`."""
    return int(value.timestamp())


def from_seconds(seconds: float | None) -> datetime | None:
    """An aware datetime from Unix seconds (kept to milliseconds, like BSON), or None when
    absent or beyond what datetime holds."""
    if seconds is None or seconds > LATEST_TIMESTAMP:
        return None
    return datetime.fromtimestamp(round(seconds, 3), UTC)


def seconds_between(start: datetime, end: datetime) -> int:
    """Whole seconds from `start` to `end`, never negative."""
    return max(0, round((end - start).total_seconds()))


def class_ends_at(doc) -> datetime:
    """When the class of `doc` (anything with `scheduledAt` and `duration`) is over."""
    return doc["scheduledAt"] + timedelta(minutes=doc.get("duration") or 0)
