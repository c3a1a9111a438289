"""The recording objects of the start and stop answers (Daily's field names, times in ms)."""

from ..clock import to_ms


def recording_started_json(recording) -> dict:
    """The start endpoint's `recording` object."""
    return {
        "id": recording["_id"],
        "room_name": recording["room"],
        "status": recording["status"],
        "start_ts": to_ms(recording["startedAt"]),
        "duration": recording["duration"],
    }


def recording_stopped_json(recording) -> dict:
    """The stop endpoint's `recording` object."""
    return {
        "id": recording["_id"],
        "room_name": recording["room"],
        "status": recording["status"],
        "duration": recording["duration"],
        "end_ts": to_ms(recording["stoppedAt"]),
    }
