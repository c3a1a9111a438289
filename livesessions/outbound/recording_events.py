"""The recording events, emitted once the change is stored: `recording.ready` (the upload
job is done) and `recording.deleted` (DELETE or the retention purge). The data is the
session's id and the recording as `GET /sessions/:id/recordings` shows it."""

import logging

from ..recordings.serialize import recording_json

log = logging.getLogger(__name__)


class RecordingEvents:
    """Turn a stored recording change into its event (nothing without an emitter)."""

    def __init__(self, emitter=None, library=None):
        self.emitter = emitter  # a WebhookEmitter
        self.library = library  # the RecordingLibrary that shows recordings

    def ready(self, job: dict) -> None:
        """The upload job `job` is done: its recording is ready."""
        self._emit("recording.ready", job["session"], job["_id"])

    def deleted(self, session_id: str, recording_id: str) -> None:
        self._emit("recording.deleted", session_id, recording_id)

    def _emit(self, kind, session_id, recording_id):
        if self.emitter is None:
            return

        def data():
            recording = self.library.find(session_id, recording_id)
            shown = recording_json(
                recording, self.library.url(recording), self.library.poster_url(recording)
            )
            return {"sessionId": session_id, "recording": shown}

        try:
            self.emitter.emit(kind, data)
        except Exception:  # the change stands; its event is lost, and said so
            log.exception("webhook event %s of recording %s not emitted", kind, recording_id)
