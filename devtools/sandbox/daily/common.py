"""What the Daily sandbox's sections share: Daily's error bodies and timestamps."""

from datetime import UTC, datetime


def error(error_type, info):
    """Daily's JSON error body."""
    return {"error": error_type, "info": info}


def iso(timestamp):
    """Unix seconds as Daily writes times in its objects (milliseconds always zero)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
