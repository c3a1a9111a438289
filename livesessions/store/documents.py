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
    (store/meetings.py); kept for the service, never shown by the API."""

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


class RecordingDoc(TypedDict, total=False):
    """`recordings`: a recording started through the API (`_id` ours, `dailyId` Daily's),
    or one started outside it and adopted (`_id` and `dailyId` Daily's)."""

    _id: str
    session: str
    room: str
    dailyId: str | None
    status: str  # starting, recording, finished, error
    startedAt: datetime
    stoppedAt: datetime | None
    duration: float
    error: str | None
    deletedAt: datetime | None  # deleted before any upload (a failed recording)
    adopted: bool  # started outside the API (Daily's UI, another service): recordings/adoption.py
    instanceId: str | None  # an adopted one's Daily instance (None: Daily's default one)
    createdAt: datetime
    updatedAt: datetime


class JobDoc(TypedDict, total=False):
    """`recording_jobs`: the durable upload job of a finished recording (`_id` Daily's id),
    or the deletion of a deleted session's room (`_id` `room:<room>`; only the fields
    down to `room`, then the status ones), or an outbound webhook's delivery (`_id`
    `webhook:<endpoint>:<event id>`; `endpoint`, `event`, then the status ones)."""

    _id: str
    kind: str  # "room-deletion" or "webhook"; absent for an upload
    endpoint: str  # a webhook's: the endpoint's id
    event: dict  # a webhook's: the body POSTed, {"id", "type", "createdAt", "data"}
    session: str
    room: str
    duration: float | None
    downloadUrl: str | None
    startedAt: datetime | None  # when Daily started the recording (None: not known)
    finishedAt: datetime | None  # when Daily finished it, which retention counts from
    recordingNumber: int  # this recording's place among the session's (1, 2, ...)
    assetName: str  # its Cloudinary public id under live-sessions/{courseId}/, fixed once
    status: str  # pending, processing, done, failed
    attempts: int
    runAt: datetime
    leaseUntil: datetime | None
    worker: str | None
    error: str | None
    result: dict | None  # recordingUrl, publicId, bytes, duration, asset
    deletedAt: datetime | None  # its asset destroyed (DELETE or retention); the job stays
    createdAt: datetime
    updatedAt: datetime


class VisitDoc(TypedDict, total=False):
    """`attendance`: one visit to a room (`_id` Daily's participant session id)."""

    _id: str
    session: str
    room: str
    userId: str | None
    userName: str | None
    owner: bool
    joinedAt: datetime
    leftAt: datetime | None
    updatedAt: datetime


class WebhookEventDoc(TypedDict, total=False):
    """`webhook_events`: a signed Daily event taken (`_id` the envelope's `id`), kept for
    webhook_events.RETENTION so that its repeats are ignored."""

    _id: str
    type: str
    seenAt: datetime  # its first delivery (the TTL index's field)
    claim: str  # the token of the delivery processing it
    claimedUntil: datetime  # when that claim lapses, unless done
    done: bool  # processed: every later delivery is a repeat
    doneAt: datetime
