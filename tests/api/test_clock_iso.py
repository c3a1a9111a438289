"""`clock.iso`, which writes every date the API shows: JavaScript's `toISOString()` form
(`2025-12-25T10:00:00.000Z`), whatever the datetime's zone and precision."""

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from livesessions.clock import iso


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2025, 12, 25, 10, tzinfo=UTC), "2025-12-25T10:00:00.000Z"),
        (datetime(2025, 12, 25, 10), "2025-12-25T10:00:00.000Z"),  # naive is UTC
        (datetime(2030, 1, 1, 9, 5, 7, 123999, tzinfo=UTC), "2030-01-01T09:05:07.123Z"),
        (datetime(5, 3, 4, 0, 0, 0, 999, tzinfo=UTC), "0005-03-04T00:00:00.000Z"),
        (
            datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            "2025-12-31T23:30:00.000Z",
        ),
        (datetime(9999, 12, 31, 23, 59, 59, 999999), "9999-12-31T23:59:59.999Z"),
    ],
)
def test_a_date_reads_as_javascript_writes_it(value, text):
    assert iso(value) == text


def reference(value: datetime) -> str:
    """The standard library's own ISO writing, cut to milliseconds and UTC's `Z`."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def test_any_date_in_any_zone_is_written_as_the_standard_library_writes_it():
    rng = random.Random(28)
    zones = [None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    for _ in range(5000):
        value = datetime(2000, 1, 1) + timedelta(microseconds=rng.randrange(0, 10**17))
        zone = rng.choice(zones)
        value = value if zone is None else value.replace(tzinfo=zone)
        assert iso(value) == reference(value), value
