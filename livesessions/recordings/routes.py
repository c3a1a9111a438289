"""Recording start and stop under `/sessions/recording/`: parse, call the service, reply."""

from flask import Blueprint

from ..access import open_write_caller
from ..errors import (
    CANNOT_RECORD,
    RECORD_NOT_YET,
    RECORDING_FORBIDDEN,
    RECORDING_ID_REQUIRED,
    RECORDING_IN_PROGRESS,
    RECORDING_NOT_FOUND,
    ROOM_NAME_REQUIRED,
    SESSION_NOT_FOUND,
    SESSION_OVER,
    START_FAILED,
    STOP_FAILED,
)
from ..extensions import services
from ..http import json_body
from ..openapi import STRICT_ONLY, STRICT_TOKEN, TYPE_ERROR, Note, documented
from ..schemas import (
    RecordingStartResultSchema,
    RecordingStartSchema,
    RecordingStopResultSchema,
    RecordingStopSchema,
    recording_start_schema,
    recording_stop_schema,
)
from ..validation import load
from .serialize import recording_started_json, recording_stopped_json

bp = Blueprint("recordings", __name__, url_prefix="/sessions/recording")


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
    data = load(recording_start_schema, json_body())
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
    data = load(recording_stop_schema, json_body())
    caller = open_write_caller("stop_recording", data["recordingId"])
    recording = services().recording_service.stop(data["recordingId"], caller)
    return {"success": True, "recording": recording_stopped_json(recording)}
