"""Sessions stored without the fields Mongoose defaulted (written by hand, or by older code).

Every endpoint reads them with the defaults (`status: scheduled`, `maxParticipants: 100`,
`participants: []`, `isRecorded: false`, ...), shows those in its JSON, and decides as it
would for the defaulted session; writes stay single conditional updates and add nothing
else to the document.
"""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.support.app_config import DAILY_KEY
from tests.support.factories import (
    INSTRUCTOR,
    READ_DEFAULTS,
    SESSION_KEYS,
    iso,
    seed_session,
    seed_sparse_session,
)

STUDENT = "student-1"
SERIES = "5e71e500-0000-4000-8000-000000000001"


def soon():
    """A start inside the join and recording windows."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)


def stored(db, doc):
    return db.livesessions.find_one({"_id": doc["_id"]})


def as_read(doc):
    """The session's JSON: the document with the defaults, dates as ISO strings."""
    full = {**READ_DEFAULTS, **{k: v for k, v in doc.items() if v is not None}}
    return {
        key: iso(full[key]) if isinstance(full[key], datetime) else full[key]
        for key in SESSION_KEYS
    }


@pytest.fixture
def sparse(db, daily):
    doc = seed_sparse_session(db, scheduledAt=soon())
    daily.rooms[doc["roomName"]] = {"name": doc["roomName"], "url": "u", "config": {}}
    assert not set(READ_DEFAULTS) & set(doc)
    return doc


@pytest.mark.parametrize("removed", [(key,) for key in READ_DEFAULTS], ids=str)
def test_get_shows_each_default(client, auth, db, removed):
    doc = seed_sparse_session(db, removed)
    response = client.get(f"/sessions/{doc['_id']}", headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body[removed[0]] == READ_DEFAULTS[removed[0]]
    assert stored(db, doc) == doc  # reading writes nothing


def test_get_shows_the_whole_defaulted_session(client, auth, db, sparse):
    body = client.get(f"/sessions/{sparse['_id']}", headers=auth).get_json()
    expected = as_read(sparse) | {"course": None, "instructor": None, "recordingStatus": "none"}
    assert body == expected
    assert list(body) == [*SESSION_KEYS, "recordingStatus"]


def test_nulls_read_as_missing(client, auth, db):
    doc = seed_session(db, status=None, maxParticipants=None, participants=None, isRecorded=None)
    body = client.get(f"/sessions/{doc['_id']}", headers=auth).get_json()
    assert (body["status"], body["maxParticipants"], body["participants"], body["isRecorded"]) == (
        "scheduled",
        100,
        [],
        False,
    )
    live = client.patch(f"/sessions/{doc['_id']}/status", json={"status": "live"})
    assert live.get_json()["status"] == "live"
    assert stored(db, doc)["status"] == "live"


def test_lists_show_the_defaults_and_filter_by_them(client, auth, db, sparse):
    page = client.get("/sessions", headers=auth).get_json()
    assert [s["_id"] for s in page["sessions"]] == [sparse["_id"]]
    assert page["sessions"][0] == as_read(sparse) | {"course": None, "instructor": None}
    scheduled = client.get("/sessions?status=scheduled", headers=auth).get_json()
    assert [s["_id"] for s in scheduled["sessions"]] == [sparse["_id"]]
    assert client.get("/sessions?status=live", headers=auth).get_json()["sessions"] == []
    for path in (f"/sessions/course/{sparse['course']}", f"/sessions/instructor/{INSTRUCTOR}"):
        (shown,) = client.get(path).get_json()
        assert (shown["status"], shown["participants"], shown["maxParticipants"]) == (
            "scheduled",
            [],
            100,
        )


def test_the_calendar_reads_the_default_status(client, db, sparse):
    response = client.get(f"/sessions/course/{sparse['course']}/calendar.ics")
    assert response.status_code == 200
    assert "STATUS:CONFIRMED" in response.get_data(as_text=True)


def test_add_participant(client, db, sparse):
    response = client.post(f"/sessions/{sparse['_id']}/participants", json={"studentId": STUDENT})
    assert response.status_code == 200
    body = response.get_json()
    assert body == as_read(sparse) | {"participants": [STUDENT], "updatedAt": body["updatedAt"]}
    after = stored(db, sparse)
    assert after == sparse | {"participants": [STUDENT], "updatedAt": after["updatedAt"]}


@pytest.mark.parametrize(("taken", "status"), [(99, 200), (100, 400)])
def test_a_missing_capacity_counts_as_100(client, db, taken, status):
    students = [f"s{i}" for i in range(taken)]
    doc = seed_sparse_session(db, ("maxParticipants",), participants=students)
    response = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "new"})
    assert response.status_code == status
    if status == 400:
        assert response.get_json() == {"message": "Session has reached maximum participants"}
        assert stored(db, doc) == doc
    else:
        assert response.get_json()["participants"] == [*students, "new"]
        assert stored(db, doc)["participants"] == [*students, "new"]


def test_update(client, auth, db, sparse):
    response = client.put(f"/sessions/{sparse['_id']}", json={"title": "Renamed"}, headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body == as_read(sparse) | {"title": "Renamed", "updatedAt": body["updatedAt"]}
    after = stored(db, sparse)
    assert after == sparse | {"title": "Renamed", "updatedAt": after["updatedAt"]}


def test_update_checks_the_capacity_against_the_participants(client, auth, db):
    doc = seed_sparse_session(db, ("status", "maxParticipants"), participants=["a", "b", "c"])
    response = client.put(f"/sessions/{doc['_id']}", json={"maxParticipants": 2}, headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {
            "message": (
                '"maxParticipants" must be greater than or equal to the current number '
                "of participants (3)"
            )
        },
    )
    assert stored(db, doc) == doc
    grown = client.put(f"/sessions/{doc['_id']}", json={"maxParticipants": 3}, headers=auth)
    assert grown.get_json()["maxParticipants"] == 3
    assert stored(db, doc)["maxParticipants"] == 3


@pytest.mark.parametrize("status", ["live", "cancelled"])
def test_status_moves_from_the_default(client, db, sparse, status):
    response = client.patch(f"/sessions/{sparse['_id']}/status", json={"status": status})
    assert response.status_code == 200
    body = response.get_json()
    assert body == as_read(sparse) | {"status": status, "updatedAt": body["updatedAt"]}
    after = stored(db, sparse)
    assert after == sparse | {"status": status, "updatedAt": after["updatedAt"]}


def test_status_refusals_and_the_no_op_change_nothing(client, db, sparse):
    same = client.patch(f"/sessions/{sparse['_id']}/status", json={"status": "scheduled"})
    assert (same.status_code, same.get_json()) == (200, as_read(sparse))
    ended = client.patch(f"/sessions/{sparse['_id']}/status", json={"status": "ended"})
    assert (ended.status_code, ended.get_json()) == (
        400,
        {"message": "Cannot change status from scheduled to ended"},
    )
    assert stored(db, sparse) == sparse


def test_join(client, auth, token_for, daily, db):
    doc = seed_sparse_session(db, ("status", "maxParticipants", "isRecorded"), scheduledAt=soon())
    owner = client.post(f"/sessions/{doc['_id']}/join", headers=auth)
    assert owner.status_code == 200
    assert owner.get_json()["roomUrl"] == doc["roomUrl"]
    student = {"Authorization": f"Bearer {token_for(STUDENT, role='student')}"}
    refused = client.post(f"/sessions/{doc['_id']}/join", headers=student)
    assert (refused.status_code, refused.get_json()) == (
        403,
        {"message": "You are not a participant of this live session"},
    )
    client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": STUDENT})
    joined = client.post(f"/sessions/{doc['_id']}/join", headers=student)
    assert joined.status_code == 200
    tokens = (owner.get_json()["token"], joined.get_json()["token"])
    claims = [jwt.decode(token, DAILY_KEY, algorithms=["HS256"]) for token in tokens]
    assert [(token["r"], token["o"]) for token in claims] == [
        (doc["roomName"], True),
        (doc["roomName"], False),
    ]


def test_attendance(client, auth, db, sparse):
    response = client.get(f"/sessions/{sparse['_id']}/attendance", headers=auth)
    assert response.status_code == 200
    assert response.get_json()["totals"]["participantsAdmitted"] == 0


def test_delete(client, auth, db, sparse):
    response = client.delete(f"/sessions/{sparse['_id']}", headers=auth)
    assert response.status_code == 200
    shown = response.get_json()["session"]
    assert shown["status"] == "cancelled"
    assert (shown["maxParticipants"], shown["participants"]) == (100, [])
    after = stored(db, sparse)
    assert (after["status"], after["deletedAt"] is not None) == ("cancelled", True)


def test_a_refused_delete_puts_the_document_back_exactly(client, auth, db, daily, sparse):
    daily.fail("delete", 500, {"error": "server-error"})
    response = client.delete(f"/sessions/{sparse['_id']}", headers=auth)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to delete Daily.co room"},
    )
    assert stored(db, sparse) == sparse  # no status, no deletedAt: as it was


def test_recording_start(client, db, daily, sparse):
    response = client.post("/sessions/recording/start", json={"roomName": sparse["roomName"]})
    assert response.status_code == 200
    assert response.get_json()["recording"]["status"] == "recording"
    after = stored(db, sparse)
    assert (after["activeRecording"], after["recordingStatus"]) == (
        response.get_json()["recording"]["id"],
        "recording",
    )
    assert "status" not in after


def deliver(client, event_type, payload):
    response = client.post("/sessions/webhook/daily", json={"type": event_type, "payload": payload})
    assert (response.status_code, response.get_json()) == (200, {"received": True})


def test_meeting_events_move_the_default_status(client, db, sparse):
    room, start = sparse["roomName"], int(datetime.now(UTC).timestamp()) - 60
    deliver(client, "room.exp", {"room": room})  # a scheduled session stays scheduled
    assert "status" not in stored(db, sparse)
    deliver(client, "meeting.started", {"room": room, "start_ts": start})
    assert stored(db, sparse)["status"] == "live"


def test_the_sweep_ends_an_overdue_session_without_a_status(app, db):
    doc = seed_sparse_session(db, ("status",), scheduledAt=soon() - timedelta(days=1))
    assert app.extensions["livesessions"].session_service.end_overdue() == [doc["_id"]]
    assert stored(db, doc)["status"] == "ended"


# SessionStore's methods that return sessions, each called on a sparse document. Not here:
# `insert` (returns the document it was given), `reconcile_candidates` (a projection of
# `_id` and `roomName`, which defaults would contradict) and `soft_delete`'s first value
# (the document as stored, for `undelete`; its second value is checked).
STORE_READS = {
    "get": lambda store, doc: store.get(doc["_id"]),
    "find_by_room": lambda store, doc: store.find_by_room(doc["roomName"]),
    "find_any": lambda store, doc: store.find_any(doc["_id"]),
    "page": lambda store, doc: store.page(1, 10)[0][0],
    "by_field": lambda store, doc: store.by_field("course", doc["course"])[0],
    "admitted": lambda store, doc: store.admitted(STUDENT)[0],
    "counted_in_course": lambda store, doc: store.counted_in_course(doc["course"])[0],
    "update": lambda store, doc: store.update(doc["_id"], {"title": "Renamed"}),
    "add_participant": lambda store, doc: store.add_participant(doc["_id"], STUDENT),
    "admit": lambda store, doc: store.admit(doc["_id"], STUDENT)[0],
    "remove_participant": lambda store, doc: store.remove_participant(doc["_id"], "a"),
    "set_status": lambda store, doc: store.set_status(doc["_id"], "scheduled"),
    "change_status": lambda store, doc: store.change_status(doc["_id"], "scheduled")[0],
    "reopen": lambda store, doc: store.reopen(doc["_id"], "ended", "live"),
    "soft_delete": lambda store, doc: store.soft_delete(doc["_id"])[1],
    "start_if_scheduled": lambda store, doc: store.start_if_scheduled(doc["roomName"]),
    "settle_after_meeting": lambda store, doc: store.settle_after_meeting(
        doc["roomName"], datetime.now(UTC)
    ),
    "of_series": lambda store, doc: store.of_series(SERIES)[0],
    "_one": lambda store, doc: store._one({"_id": doc["_id"]}, {"$set": {"x": 1}}),
}
# What each needs stored besides the sparse fields to return the session.
STORE_SEEDS = {
    "admitted": {"participants": [STUDENT]},
    "of_series": {"seriesId": SERIES},
    "remove_participant": {"participants": ["a", "b"]},
    "reopen": {"status": "ended"},
    "start_if_scheduled": {"meeting": {"running": True}},
    # a class of yesterday: its date made when the test runs (a lambda), not at import
    "settle_after_meeting": lambda: {"status": "live", "scheduledAt": soon() - timedelta(days=1)},
}
# What each write changes among the defaulted fields.
STORE_WRITES = {
    "add_participant": {"participants": [STUDENT]},
    "admit": {"participants": [STUDENT]},
    "soft_delete": {"status": "cancelled"},
    "start_if_scheduled": {"status": "live"},
}
NOT_DEFAULTED = {"insert", "reconcile_candidates"}


def test_every_store_read_of_sessions_is_listed():
    import inspect

    from livesessions.sessions.repository import SessionStore

    returning_sessions = {
        name
        for name, method in inspect.getmembers(SessionStore, inspect.isfunction)
        if "SessionDoc" in str(inspect.signature(method).return_annotation)
    }
    assert returning_sessions - NOT_DEFAULTED == set(STORE_READS)


@pytest.mark.parametrize("method", sorted(STORE_READS))
def test_every_store_read_of_sessions_fills_in_the_defaults(app, db, method):
    seeded = STORE_SEEDS.get(method, {})
    if callable(seeded):
        seeded = seeded()
    removed = [key for key in READ_DEFAULTS if key not in seeded]
    doc = seed_sparse_session(db, removed, **seeded)
    read = STORE_READS[method](app.extensions["livesessions"].session_store, doc)
    assert read["_id"] == doc["_id"]
    expected = {key: READ_DEFAULTS[key] for key in removed} | STORE_WRITES.get(method, {})
    assert {key: read.get(key, "absent") for key in removed} == expected
