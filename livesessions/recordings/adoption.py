"""Recordings started outside the API (an owner pressing record in Daily's own UI, the Node
service during a cutover), adopted when Daily's `recording.started` reveals them: a
recording document keyed by Daily's id, linked to the session of its room, stopped and
uploaded like the service's own."""

import logging
from datetime import timedelta

from ..clock import from_seconds, utcnow
from ..daily import DailyClient, DailyError
from ..lifecycle import ClassWindow
from ..sessions import SessionDoc, SessionStore
from .repository import RecordingDoc, RecordingStore
from .timing import daily_number

log = logging.getLogger(__name__)

# Adoption runs while Daily waits for the webhook's answer (it wants one within seconds):
# under Daily's rate limit it gives up soon, and the other paths still find the recording.
WEBHOOK_DAILY_WAIT_SECONDS = 1.0

# Daily's recording statuses (GET /recordings/:id) as ours; any other ("in-progress", or
# none given) is a recording still running, which can then be stopped through the API.
STATUSES = {"finished": "finished", "canceled": "error"}


class Adoption:
    """Adopt recordings that Daily reports but the service never started."""

    def __init__(
        self,
        session_store: SessionStore,
        recording_store: RecordingStore,
        daily: DailyClient,
        window: ClassWindow,
    ):
        self.sessions = session_store
        self.recordings = recording_store
        self.daily = daily
        self.window = window

    def adopt(self, daily_id: str, instance_id: str | None, start_ts=None) -> RecordingDoc | None:
        """Store Daily's recording `daily_id` (started with `instance_id`, None from Daily's
        UI) for the session of its room; return it, or None when it is stored already or
        can't be adopted (logged).

        `recording.started` names no room, so Daily is asked for it. If Daily can't say,
        nothing is lost: its `recording.ready-to-download` (which names the room) or the
        reconciler still queues the upload; only stopping it through the API waits.
        The room comes from Daily, never from the event, so an unsigned event can't link
        a recording to a session of its choosing.
        """
        if self.recordings.find(daily_id) is not None:
            return None  # a repeated delivery: adopted (or linked) already
        try:
            found = self.daily.get_recording(daily_id, wait=WEBHOOK_DAILY_WAIT_SECONDS)
        except DailyError as error:
            log.warning(
                "recording %s was started outside the API and Daily can't say where (%s): "
                "its ready-to-download or the reconciler will still queue its upload",
                daily_id,
                error,
            )
            return None
        room = found.get("room_name")
        session = None
        if isinstance(room, str) and room:
            session = self.sessions.find_by_room(room, include_deleted=True)
        if session is None:
            log.warning("recording %s started in unknown room %r: ignored", daily_id, room)
            return None
        doc = adopted_document(daily_id, instance_id, session, found, start_ts)
        if not self.recordings.adopt(doc):
            log.info("recording %s was adopted by another delivery", daily_id)
            return None
        if doc["status"] == "recording":
            self._hold(session, daily_id)
        log.info("recording %s of %s adopted (%s)", daily_id, room, doc["status"])
        return doc

    def _hold(self, session: SessionDoc, recording_id: str) -> None:
        """Show the session as recording, and claim it for the recording as a start through
        the API does: while it runs, `POST /sessions/recording/start` answers that the
        session is being recorded instead of starting a second recording of the same
        class. The claim ends as ours do (stop, error, ready file, the room's closing)."""
        now = utcnow()
        until = self.window.room_closes_at(session)
        if not self.sessions.claim_recording(session["_id"], recording_id, now, until):
            log.info(
                "recording %s: session %s not claimed (closed, or another recording holds it)",
                recording_id,
                session["_id"],
            )
        self.sessions.set_recording_status(session["_id"], "recording")

    def running_in(self, session: SessionDoc | None, instance_id: str | None, statuses):
        """The session's adopted recording of Daily's instance `instance_id` still in one of
        `statuses`, or None (what a `recording.error` naming no recording of ours means)."""
        if session is None:
            return None
        return self.recordings.find_adopted(session["_id"], instance_id, statuses)


def adopted_document(daily_id, instance_id, session, found, start_ts) -> RecordingDoc:
    """The recording document of an adopted recording: as `start` stores one, keyed by
    Daily's id; its start from the event's `start_ts`, else Daily's, else now (never
    later than now); its status as Daily reports it (a late event: already finished)."""
    now = utcnow()
    started_at = from_seconds(start_ts) or from_seconds(daily_number(found.get("start_ts"))) or now
    status = STATUSES.get(found.get("status"), "recording")
    duration = daily_number(found.get("duration")) or 0
    started_at = min(started_at, now)
    over = status != "recording"
    return {
        "_id": daily_id,
        "session": session["_id"],
        "room": session["roomName"],
        "dailyId": daily_id,
        "status": status,
        "startedAt": started_at,
        "stoppedAt": min(started_at + timedelta(seconds=duration), now) if over else None,
        "duration": duration if over else 0,
        "error": f"{found.get('status')} on Daily.co" if status == "error" else None,
        "adopted": True,
        "instanceId": instance_id,
        "createdAt": now,
        "updatedAt": now,
    }
