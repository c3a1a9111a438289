"""The recording objects of the start and stop answers (Daily's field names, times in ms),
and those of the recordings listing (the service's names, ISO times)."""

import re
from datetime import timedelta

from ..clock import iso, to_ms


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


# A job's error starts with its exception's name (for operators): not for API clients.
EXCEPTION_NAME = re.compile(r"^[A-Z]\w*(?:Error|Exception|Refused): ")


def failure_reason(recording) -> str | None:
    """Why a failed recording failed, in words (Daily's error, or the upload's last)."""
    if recording.status != "failed":
        return None
    reason = (recording.job or {}).get("error") or (recording.start or {}).get("error")
    return EXCEPTION_NAME.sub("", reason) if reason else "failed"


def recording_json(recording, url, thumbnail_url) -> dict:
    """One recording of `GET /sessions/:id/recordings` (a `library.Recording`), with its
    video and poster frame URLs as made at read time."""
    start, job, result = recording.start or {}, recording.job or {}, recording.result
    duration = result.get("duration") or job.get("duration") or start.get("duration")
    started = recording.started_at
    ended = start.get("stoppedAt")
    if ended is None and started is not None and job:
        ended = started + timedelta(seconds=duration or 0)
    return {
        "id": recording.id,
        "dailyId": recording.daily_id,
        "status": recording.status,
        "startedAt": iso(started) if started else None,
        "endedAt": iso(ended) if ended else None,
        "duration": duration,
        "bytes": result.get("bytes"),
        "url": url,
        "thumbnailUrl": thumbnail_url,
        "failureReason": failure_reason(recording),
    }
