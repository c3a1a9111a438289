"""Users, courses, dates and sessions: request bodies and documents seeded in the database."""

import uuid
from datetime import UTC, datetime, timedelta

INSTRUCTOR = "11111111-1111-4111-8111-111111111111"
OTHER_INSTRUCTOR = "22222222-2222-4222-8222-222222222222"
ADMIN = "33333333-3333-4333-8333-333333333333"
# The spec's key order for a stored session (without `deletedAt`), written out independently
# of the serializer so that a change there is caught here.
SESSION_KEYS = [
    "_id",
    "title",
    "description",
    "course",
    "instructor",
    "roomName",
    "roomUrl",
    "scheduledAt",
    "duration",
    "status",
    "maxParticipants",
    "participants",
    "isRecorded",
    "recordingUrl",
    "recordingDuration",
    "createdAt",
    "updatedAt",
]
# mongoose-paginate-v2's keys, in the spec's order, and the page of an empty collection.
PAGE_KEYS = [
    "sessions",
    "page",
    "pageCount",
    "totalItems",
    "totalPages",
    "hasPrevPage",
    "hasNextPage",
    "prevPage",
    "nextPage",
]
EMPTY_PAGE = {
    "sessions": [],
    "page": 1,
    "pageCount": 10,
    "totalItems": 0,
    "totalPages": 1,
    "hasPrevPage": False,
    "hasNextPage": False,
    "prevPage": None,
    "nextPage": None,
}
COURSE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
OTHER_COURSE = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


def future(days=7, hour=10):
    """An aware datetime in the future, on the hour (so ISO strings are predictable)."""
    day = datetime.now(UTC) + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def starting_soon(minutes=5):
    """A start a few minutes ahead (whole seconds): the class may be joined and recorded."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)


def in_class(minutes=5):
    """A start a few minutes ago (whole seconds): the class is under way."""
    return starting_soon(-minutes)


def iso(value):
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def session_payload(**overrides):
    body = {
        "title": "Introduction to JavaScript",
        "description": "Live coding session",
        "courseId": COURSE,
        "scheduledAt": iso(future()),
        "duration": 60,
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def seed_session(db, **fields):
    """Insert a session document directly, as the Node service would have stored it."""
    now = datetime.now(UTC).replace(microsecond=0)
    doc = {
        "_id": str(uuid.uuid4()),
        "title": "Seeded session",
        "description": "",
        "course": COURSE,
        "instructor": INSTRUCTOR,
        "roomName": f"seeded-{uuid.uuid4().hex}",
        "roomUrl": "https://test.daily.co/seeded",
        "scheduledAt": future(),
        "duration": 60,
        "status": "scheduled",
        "maxParticipants": 100,
        "participants": [],
        "isRecorded": False,
        "recordingUrl": None,
        "recordingDuration": None,
        "createdAt": now,
        "updatedAt": now,
    }
    doc.update(fields)
    db.livesessions.insert_one(doc)
    return doc


# What a session lacking these fields reads as (the Node service's Mongoose defaults, and
# what this service writes when none is given), written out apart from the store's table.
READ_DEFAULTS = {
    "description": "",
    "status": "scheduled",
    "maxParticipants": 100,
    "participants": [],
    "isRecorded": False,
    "recordingUrl": None,
    "recordingDuration": None,
}


def seed_sparse_session(db, removed=tuple(READ_DEFAULTS), **fields):
    """Insert a session without the `removed` fields (a hand-written or older document);
    return it as stored."""
    doc = seed_session(db, **fields)
    if removed:  # MongoDB refuses an empty $unset
        db.livesessions.update_one({"_id": doc["_id"]}, {"$unset": dict.fromkeys(removed, "")})
    return db.livesessions.find_one({"_id": doc["_id"]})


def seed_recording(db, session, **fields):
    """Insert a recording as `POST /sessions/recording/start` stores it."""
    doc = {
        "_id": str(uuid.uuid4()),
        "session": session["_id"],
        "room": session["roomName"],
        "dailyId": None,
        "status": "recording",
        "startedAt": session["createdAt"],
        "stoppedAt": None,
        "duration": 0,
        "error": None,
        "createdAt": session["createdAt"],
        "updatedAt": session["createdAt"],
    }
    doc.update(fields)
    db.recordings.insert_one(doc)
    return doc
