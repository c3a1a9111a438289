"""The recording events, emitted once the stored change is published to the hub:
`recording.ready` (the upload job is done) and `recording.deleted` (DELETE or the retention
purge). The data is the session's id and the recording as `GET /sessions/:id/recordings`
shows it."""

from ..events import EventHub, RecordingDeleted, RecordingReady
from ..recordings import recording_json


class RecordingEvents:
    """Turn a stored recording change into its event. The emitter never raises (it logs a
    failure), and the hub logs a subscriber's: nothing to catch here."""

    def __init__(self, emitter, library):
        self.emitter = emitter  # a WebhookEmitter
        self.library = library  # the RecordingLibrary that shows recordings

    def subscribe(self, hub: EventHub) -> None:
        hub.subscribe(RecordingReady, lambda e: self.ready(e.session_id, e.recording_id))
        hub.subscribe(RecordingDeleted, lambda e: self.deleted(e.session_id, e.recording_id))

    def ready(self, session_id: str, recording_id: str) -> None:
        self._emit("recording.ready", session_id, recording_id)

    def deleted(self, session_id: str, recording_id: str) -> None:
        self._emit("recording.deleted", session_id, recording_id)

    def _emit(self, kind, session_id, recording_id):
        def data():
            recording = self.library.find(session_id, recording_id)
            shown = recording_json(
                recording, self.library.url(recording), self.library.poster_url(recording)
            )
            return {"sessionId": session_id, "recording": shown}

        self.emitter.emit(kind, data)
