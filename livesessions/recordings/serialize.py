"""The recording objects of the start and stop answers (Daily's field names, times in ms),
and those of the recordings listing (the service's names, ISO times)."""

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


def recording_json(recording, url, thumbnail_url) -> dict:
    """One recording of `GET /sessions/:id/recordings` (a `library.Recording`), with its
    video and poster frame URLs as made at read time."""
    start, job, result = recording.start or {}, recording.job or {}, recording.result
    duration = result.get("duration") or job.get("duration") or start.get("duration")
    started = recording.started_at
    ended = start.get("stoppedAt")
    if ended is None and started is not None and job:
        ended = started + timedelta(seconds=duration or 0)
    failed = recording.status == "failed"
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
        "failureReason": (job.get("error") or start.get("error")) if failed else None,
    }
