"""The stored documents' shapes, for readers and type checkers (MongoDB enforces none), and
the defaults a session is read with."""

import copy
from datetime import datetime
from typing import TypedDict

from ..lifecycle import STATUSES

# What a session lacking these fields (written by hand, or by older code) is read as: the
# Node service's Mongoose schema defaulted the first four; `description` and the recording
# fields are what this service writes when none is given, and the API always shows them.
# A null counts as missing, as the store's filters (`$in` with null, `$ifNull`) count it.
SESSION_DEFAULTS = {
    "description": "",
    "status": "scheduled",
    "maxParticipants": 100,
    "participants": [],
    "isRecorded": False,
    "recordingUrl": None,
    "recordingDuration": None,
}


def with_defaults(doc):
    """Fill in the session's missing SESSION_DEFAULTS, in place; return it (None stays None).

    Every read of SessionStore that returns sessions passes them through here, so the
    service, the API's JSON and the recording pipeline all see the same session.
    """
    if doc is not None:
        for key, default in SESSION_DEFAULTS.items():
            if doc.get(key) is None:
                doc[key] = copy.copy(default)  # a list of its own for each document
    return doc


def new_session(session_id, data, room, instructor, room_privacy, now) -> dict:
    """The document of session `session_id`, created `now` from the create body `data` in
    the Daily room `room` (made with `room_privacy`): the spec's fields, then `roomPrivacy`,
    kept for the service (whom the room admits follows how it was made), never shown."""
    return {
        "_id": session_id,
        "title": data["title"],
        "description": data.get("description", ""),
        "course": data["courseId"],
        "instructor": instructor,
        "roomName": room["name"],
        "roomUrl": room["url"],
        "scheduledAt": data["scheduledAt"],
        "duration": data["duration"],
        "status": "scheduled",
        "maxParticipants": data["maxParticipants"],
        "participants": [],
        "isRecorded": False,
        "recordingUrl": None,
        "recordingDuration": None,
        "roomPrivacy": room_privacy,
        "createdAt": now,
        "updatedAt": now,
    }


def session_problems(doc) -> list[str]:
    """Why the service can't read this stored session (none: it can), for `db check`: the
    fields every reader relies on, after the defaults a missing one is read with."""
    doc = with_defaults(dict(doc))
    problems = []
    if not isinstance(doc.get("_id"), str):
        problems.append(f"_id is a {type(doc.get('_id')).__name__}, not a string")
    for field in ("title", "roomName", "roomUrl"):
        if not isinstance(doc.get(field), str):
            problems.append(f"{field} is missing or not a string")
    if not isinstance(doc.get("scheduledAt"), datetime):
        problems.append("scheduledAt is missing or not a date")
    for field in ("duration", "maxParticipants"):
        if isinstance(doc.get(field), bool) or not isinstance(doc.get(field), int | float):
            problems.append(f"{field} is missing or not a number")
    if doc["status"] not in STATUSES:
        problems.append(f"status {doc['status']!r} is none of {', '.join(STATUSES)}")
    participants = doc["participants"]
    if not isinstance(participants, list) or not all(isinstance(p, str) for p in participants):
        problems.append("participants is not a list of strings")
    return problems


class MeetingNote(TypedDict, total=False):
    """A session's `meeting`: whether its room's meeting runs, as Daily's events tell it
    (sessions/repository.py); kept for the service, never shown by the API."""

    running: bool
    startedAt: datetime  # the start (Daily's start_ts) of the latest meeting noted
    endedAt: datetime  # when the latest meeting noted over ended (end_ts, else its arrival)


class SessionDoc(TypedDict, total=False):
    """`livesessions`: one live session, with the spec's field names."""

    _id: str
    title: str
    description: str
    course: str
    instructor: str
    roomName: str
    roomUrl: str
    scheduledAt: datetime
    duration: int
    status: str  # lifecycle.STATUSES
    maxParticipants: int
    participants: list[str]
    isRecorded: bool
    recordingUrl: str | None
    recordingDuration: float | None
    recordingStatus: str  # lifecycle.RECORDING_STATUSES
    recordingCount: int  # recordings named so far (recordings/naming.py)
    recordingNumber: int  # the number of the recording recordingUrl shows (the latest ready)
    recordingAsset: dict | None  # its Cloudinary asset: publicId, version, format, type
    activeRecording: str | None  # the recording in progress, claimed by its start
    activeRecordingUntil: datetime | None  # when that claim lapses (the room's closing)
    meeting: MeetingNote
    roomPrivacy: str  # "public" or "private": its room as created; absent before it was kept
    createdAt: datetime
    updatedAt: datetime
    deletedAt: datetime | None
