"""Time in one place: now, ISO 8601 out, Unix conversions, when a class ends. (ISO 8601 in
is read as Joi read it: `validation.dates`.)"""

import time
from datetime import UTC, datetime, timedelta

LATEST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime holds


def utcnow() -> datetime:
    """Return the current time, aware, truncated to BSON's millisecond precision."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def unix_now() -> float:
    """Return the current time in Unix seconds (for what is compared with Unix times: a
    token's `exp`, a signature's timestamp, a file's mtime, a rate-limit window's reset)."""
    return time.time()


def iso(value: datetime) -> str:
    """Format a datetime as Mongoose does: `2025-12-25T10:00:00.000Z` (naive means UTC).

    Every date of every session shown goes through here (a course's list: hundreds a
    request), so the fields are formatted directly: `%` takes half the time of `isoformat`
    or an f-string with format specs (1.1 against 2.1 µs, timeit, this machine)."""
    if value.utcoffset():  # the driver gives UTC; anything else is converted first
        value = value.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031 (the faster, see above)
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond // 1000,  # truncated, as JavaScript's milliseconds
    )


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
