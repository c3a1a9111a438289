"""Recording start and stop under `/sessions/recording/`, and a session's recordings under
`/sessions/<id>/recordings`: parse, call the service, reply."""

from flask import Blueprint

from ..auth.access import open_write_caller
from ..auth.tokens import current_caller, token_required
from ..errors import (
    CANNOT_DELETE_RECORDING,
    CANNOT_RECORD,
    DELETE_RECORDING_FAILED,
    RECORD_NOT_YET,
    RECORDING_DELETE_FORBIDDEN,
    RECORDING_FORBIDDEN,
    RECORDING_ID_REQUIRED,
    RECORDING_IN_PROGRESS,
    RECORDING_NOT_FOUND,
    RECORDINGS_FORBIDDEN,
    ROOM_NAME_REQUIRED,
    SESSION_NOT_FOUND,
    SESSION_OVER,
    START_FAILED,
    STOP_FAILED,
)
from ..extensions import services
from ..openapi import STRICT_ONLY, STRICT_TOKEN, TYPE_ERROR, Note, documented, request_body
from ..schemas import (
    RecordingSchema,
    RecordingStartResultSchema,
    RecordingStartSchema,
    RecordingStopResultSchema,
    RecordingStopSchema,
)
from .serialize import recording_json, recording_started_json, recording_stopped_json

bp = Blueprint("recordings", __name__, url_prefix="/sessions/recording")
library_bp = Blueprint("recording_library", __name__, url_prefix="/sessions")


@bp.post("/start")
@documented(
    "Start recording a session's room",
    response=RecordingStartResultSchema,
    body=RecordingStartSchema,
    errors={
        400: (
            ROOM_NAME_REQUIRED,
            TYPE_ERROR,
            CANNOT_RECORD,
            RECORD_NOT_YET,
            SESSION_OVER,
            RECORDING_IN_PROGRESS,
        ),
        401: STRICT_TOKEN,
        403: (RECORDING_FORBIDDEN, STRICT_ONLY),
        404: (SESSION_NOT_FOUND, Note("(no session has this room)")),
        500: (START_FAILED,),
    },
)
def start_recording():
    """Start a cloud recording of a session's room: an open session, inside its class window
    (JOIN_OPENS_MINUTES_BEFORE before the start to DAILY_ROOM_EXP_GRACE_MINUTES after the
    end), one recording at a time."""
    data = request_body()
    caller = open_write_caller("start_recording", data["roomName"])
    recording = services().recording_service.start(data["roomName"], caller)
    return {"success": True, "recording": recording_started_json(recording)}


@bp.post("/stop")
@documented(
    "Stop a recording",
    response=RecordingStopResultSchema,
    body=RecordingStopSchema,
    errors={
        400: (RECORDING_ID_REQUIRED, TYPE_ERROR),
        401: STRICT_TOKEN,
        403: (RECORDING_FORBIDDEN, STRICT_ONLY),
        404: (RECORDING_NOT_FOUND,),
        500: (STOP_FAILED,),
    },
)
def stop_recording():
    """Stop a recording, by the id the start endpoint returned (or Daily's)."""
    data = request_body()
    caller = open_write_caller("stop_recording", data["recordingId"])
    recording = services().recording_service.stop(data["recordingId"], caller)
    return {"success": True, "recording": recording_stopped_json(recording)}


def _json(recording):
    library = services().recording_library
    return recording_json(recording, library.url(recording), library.poster_url(recording))


@library_bp.get("/<session_id>/recordings")
@documented(
    "A session's recordings",
    response=[RecordingSchema],
    auth=True,
    tag="recordings",
    errors={403: (RECORDINGS_FORBIDDEN,), 404: (SESSION_NOT_FOUND,)},
)
@token_required
def list_recordings(session_id):
    """Every recording of the class, by start, with its status (`recording`, `processing`,
    `ready`, `failed`, `deleted`); for its instructor, an admin, or an admitted student."""
    recordings = services().recording_library.of_session(session_id, current_caller())
    return [_json(recording) for recording in recordings]


@library_bp.delete("/<session_id>/recordings/<recording_id>")
@documented(
    "Delete a recording",
    response=RecordingSchema,
    auth=True,
    tag="recordings",
    errors={
        400: (CANNOT_DELETE_RECORDING,),
        403: (RECORDING_DELETE_FORBIDDEN,),
        404: (SESSION_NOT_FOUND, RECORDING_NOT_FOUND),
        500: (DELETE_RECORDING_FAILED,),
    },
)
@token_required
def delete_recording(session_id, recording_id):
    """Destroy a ready recording on Cloudinary (or forget a failed one) and mark it
    `deleted`; the session then shows its latest remaining ready recording. Deleting it
    again answers the same. For the session's instructor or an admin."""
    recording = services().recording_library.delete(session_id, recording_id, current_caller())
    return _json(recording)
