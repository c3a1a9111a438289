"""Turn stored session documents into the JSON the Node service returned."""

from datetime import UTC, datetime

from .schemas import SessionSchema

_ABSENT = object()
# The spec's key order, from the one description of a session's JSON. Fields a document
# lacks are left out; internal fields (the recording pipeline's) are never shown.
SESSION_FIELDS = tuple(field.data_key or name for name, field in SessionSchema().fields.items())


def iso(value):
    """Format a datetime as Mongoose does: `2025-12-25T10:00:00.000Z` (naive means UTC)."""
    offset = value.utcoffset()
    if offset:  # the driver gives UTC; anything else is converted first
        value = value.astimezone(UTC)
    text = value.isoformat(timespec="milliseconds")
    return text[:23] + "Z"  # drop "+00:00" (aware) or nothing (naive)


def session_json(doc):
    """Return the session's public fields, in order, with dates as ISO strings (one pass)."""
    return {
        key: iso(value) if isinstance(value, datetime) else value
        for key in SESSION_FIELDS
        if (value := doc.get(key, _ABSENT)) is not _ABSENT
    }


def _ms(value):
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else None


def recording_started_json(recording):
    """The start endpoint's `recording` object (Daily's field names, times in ms)."""
    return {
        "id": recording["_id"],
        "room_name": recording["room"],
        "status": recording["status"],
        "start_ts": _ms(recording["startedAt"]),
        "duration": recording["duration"],
    }


def recording_stopped_json(recording):
    """The stop endpoint's `recording` object."""
    return {
        "id": recording["_id"],
        "room_name": recording["room"],
        "status": recording["status"],
        "duration": recording["duration"],
        "end_ts": _ms(recording["stoppedAt"]),
    }


def recording_status(doc):
    """The session's `recordingStatus`; documents from before it existed are `ready` when
    recorded, else `none`."""
    return doc.get("recordingStatus") or ("ready" if doc.get("isRecorded") else "none")
