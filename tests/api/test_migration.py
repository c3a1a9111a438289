"""Sharing the database with the Node service: documents Mongoose wrote, the indexes it
made, and `db check`."""

import logging
import uuid
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from livesessions.indexes import ensure_indexes
from tests.support.factories import COURSE, INSTRUCTOR


def mongoose_session(db, **fields):
    """A session as the Node service's Mongoose model saved it: `__v`, and none of the
    optional fields it left to the schema's defaults."""
    now = datetime.now(UTC).replace(microsecond=0)
    doc = {
        "_id": str(uuid.uuid4()),
        "title": "Written by Node",
        "course": COURSE,
        "instructor": INSTRUCTOR,
        "roomName": f"written-by-node-{uuid.uuid4().hex[:8]}",
        "roomUrl": "https://test.daily.co/written-by-node",
        "scheduledAt": now + timedelta(days=2),
        "duration": 60,
        "createdAt": now,
        "updatedAt": now,
        "__v": 0,
        **fields,
    }
    db.livesessions.insert_one(doc)
    return doc


def test_a_mongoose_document_reads_with_its_defaults_and_keeps_its_version(client, auth, db, daily):
    doc = mongoose_session(db)
    body = client.get(f"/sessions/{doc['_id']}", headers=auth).get_json()
    assert "__v" not in body
    assert (
        body["status"],
        body["maxParticipants"],
        body["participants"],
        body["isRecorded"],
        body["recordingUrl"],
        body["recordingDuration"],
    ) == ("scheduled", 100, [], False, None, None)
    changed = client.put(f"/sessions/{doc['_id']}", json={"title": "Renamed"}, headers=auth)
    assert changed.status_code == 200
    assert "__v" not in changed.get_json()
    assert changed.get_json()["title"] == "Renamed"
    added = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "student-1"})
    assert added.get_json()["participants"] == ["student-1"]
    stored = db.livesessions.find_one({"_id": doc["_id"]})
    assert (stored["__v"], stored["title"], stored["participants"]) == (
        0,
        "Renamed",
        ["student-1"],
    )


def fresh_collections(app):
    database = app.extensions["livesessions"].database
    database.db.drop_collection("livesessions")
    return database


def test_an_index_on_the_same_keys_with_other_options_is_reported_once(app, caplog):
    database = fresh_collections(app)
    database.db.livesessions.create_index([("roomName", 1)], name="roomName_1", background=True)
    caplog.set_level(logging.WARNING)
    states = ensure_indexes(database)
    (conflict,) = [state for state in states if state.state == "conflict"]
    assert str(conflict) == (
        "livesessions roomName: conflict (roomName_1: unique False instead of True, "
        "not as wanted; left as it is)"
    )
    warned = [r.getMessage() for r in caplog.records if "index conflict" in r.getMessage()]
    assert warned == [f"index conflict: {conflict}"]
    # every other index was made all the same
    made = {state.keys for state in states if state.state == "made"}
    assert (("scheduledAt", 1), ("_id", 1)) in made
    assert len(database.db.livesessions.index_information()) == 1 + len(states_of(states))


def states_of(states, collection="livesessions"):
    return [state for state in states if state.collection == collection]


def test_db_init_reports_a_conflict_in_one_line(app):
    database = fresh_collections(app)
    database.db.livesessions.create_index([("roomName", 1)], name="roomName_1")
    result = app.test_cli_runner().invoke(args=["db", "init"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "index conflict: livesessions roomName: conflict (roomName_1: unique False instead "
        "of True, not as wanted; left as it is)",
        "indexes are in place, but 1 conflict(s)",
    ]


def test_the_same_index_under_another_name_is_used_as_it_is(app):
    database = fresh_collections(app)
    database.db.livesessions.create_index(
        [("roomName", 1)], name="mongoose_room", unique=True, background=True
    )
    states = ensure_indexes(database)
    (room,) = [state for state in states if state.keys == (("roomName", 1),)]
    assert (room.state, room.detail) == ("present", "mongoose_room")
    assert "roomName_1" not in database.db.livesessions.index_information()


def test_db_check_names_the_sessions_it_cant_read_and_the_indexes(app, db):
    good = mongoose_session(db)
    bad_id = mongoose_session(db, _id=ObjectId("65a1b2c3d4e5f60718293a4b"))
    bad_fields = mongoose_session(db, scheduledAt="2099-01-01", duration="60", status="done")
    result = app.test_cli_runner().invoke(args=["db", "check"])
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert lines[:3] == [
        f"session {bad_id['_id']!r}: _id is a ObjectId, not a string",
        f"session {bad_fields['_id']!r}: scheduledAt is missing or not a date; duration is "
        "missing or not a number; status 'done' is none of scheduled, live, ended, cancelled",
        "3 session(s) checked, 2 the service can't read",
    ]
    assert "index livesessions roomName: present (roomName_1)" in lines
    assert all(line.startswith("index ") and ": present" in line for line in lines[3:])
    db.livesessions.delete_many({"_id": {"$ne": good["_id"]}})
    assert app.test_cli_runner().invoke(args=["db", "check"]).exit_code == 0
