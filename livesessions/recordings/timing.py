"""When Daily recorded a recording: its start and when Daily finished it, read from
Daily's recording object (`GET /recordings`) or a signed `recording.ready-to-download`.

Retention counts from the finish, not from when the service learnt of the recording: one
found by the reconciler weeks late is as old as Daily says.
"""

from datetime import timedelta

from ..clock import from_seconds, utcnow


def daily_number(value):
    """A non-negative number from Daily's answer, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def recording_times(recording: dict) -> dict:
    """`{"startedAt", "finishedAt"}` of Daily's `recording` (either None when unknown):
    the start from `start_ts`, the finish from `end_ts` when given, else `start_ts` plus
    `duration`; neither later than now."""
    now = utcnow()
    started = from_seconds(daily_number(recording.get("start_ts")))
    finished = from_seconds(daily_number(recording.get("end_ts")))
    duration = daily_number(recording.get("duration"))
    if finished is None and started is not None and duration is not None:
        finished = started + timedelta(seconds=duration)
    return {
        "startedAt": None if started is None else min(started, now),
        "finishedAt": None if finished is None else min(finished, now),
    }
