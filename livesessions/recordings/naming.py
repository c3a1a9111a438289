"""Every recording its own Cloudinary asset: the name is fixed once, when its job is made.

A session's first recording keeps the spec's name, `{sessionId}-recording`; later ones are
`-recording-2`, `-recording-3`... in the order their jobs were created. A retried job
reuses its own name, so an upload may replace only its own earlier attempt.
"""

from ..jobs import JobStore
from ..sessions import SessionStore


def asset_name(session_id: str, number: int) -> str:
    """The public id (under `live-sessions/{courseId}/`) of a session's `number`th recording."""
    return f"{session_id}-recording" if number == 1 else f"{session_id}-recording-{number}"


def name_job(job_store: JobStore, session_store: SessionStore, job: dict, session: dict) -> dict:
    """Give the job its recording's number and asset name unless it has them; return the
    job as stored.

    The number comes from the session's counter (one atomic increment), then is set on the
    job only if it has none: two processes naming the same job at once leave one name, and
    the other number is simply never used; no two jobs ever share a name.
    """
    if job.get("assetName"):
        return job
    number = session_store.next_recording_number(session)
    return job_store.name(job["_id"], number, asset_name(session["_id"], number))
