"""PUT and DELETE /sessions/series/:id: the future occurrences only, as PUT and DELETE
/sessions/:id change and cancel one session."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from livesessions.jobs.repository import ROOM_DELETION
from tests.support.factories import (
    ADMIN,
    OTHER_INSTRUCTOR,
    future,
    in_class,
    iso,
    seed_session,
    session_payload,
)

DOWN = {"error": "server-error", "info": "boom"}


@pytest.fixture
def series(client, auth, daily, db):
    """A series of three future sessions, plus an ended and a live one seeded in it."""
    body = session_payload(scheduledAt=iso(future()), recurrence={"days": ["TU"], "count": 3})
    made = client.post("/sessions/series", json=body, headers=auth).get_json()
    series_id = made["seriesId"]
    past = seed_session(
        db,
        seriesId=series_id,
        title="Introduction to JavaScript",
        scheduledAt=datetime.now(UTC).replace(microsecond=0) - timedelta(days=7),
        status="ended",
    )
    live = seed_session(db, seriesId=series_id, scheduledAt=in_class(), status="live")
    daily.rooms[live["roomName"]] = {"name": live["roomName"], "config": {"exp": 1}}
    daily.mock.calls.reset()
    return {"id": series_id, "future": made["sessions"], "past": past, "live": live}


def stored(db, doc):
    return db.livesessions.find_one({"_id": doc["_id"]})


def room_jobs(db):
    return list(db.recording_jobs.find({"kind": ROOM_DELETION}))


def test_put_changes_the_future_occurrences_only(client, auth, daily, db, series):
    response = client.put(
        f"/sessions/series/{series['id']}",
        json={"title": "JavaScript, week by week", "duration": 90},
        headers=auth,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["seriesId"] == series["id"]
    assert [s["_id"] for s in body["sessions"]] == [s["_id"] for s in series["future"]]
    for before, after in zip(series["future"], body["sessions"], strict=True):
        assert after == {
            **before,
            "title": "JavaScript, week by week",
            "duration": 90,
            "updatedAt": after["updatedAt"],
        }
        assert (stored(db, before)["title"], stored(db, before)["duration"]) == (
            "JavaScript, week by week",
            90,
        )
        # the room's expiry moved with the longer class, as PUT /sessions/:id moves it
        ends = datetime.fromisoformat(before["scheduledAt"]) + timedelta(minutes=90 + 30)
        assert daily.rooms[before["roomName"]]["config"]["exp"] == int(ends.timestamp())
    assert len(daily.calls("POST")) == 3  # one room update per future occurrence
    for kept in (series["past"], series["live"]):
        assert stored(db, kept)["duration"] == 60
        assert stored(db, kept)["updatedAt"] == kept["updatedAt"]


def test_a_capacity_below_one_occurrences_participants_changes_nothing(
    client, auth, daily, db, series
):
    crowded = series["future"][1]
    db.livesessions.update_one({"_id": crowded["_id"]}, {"$set": {"participants": ["a", "b"]}})
    response = client.put(
        f"/sessions/series/{series['id']}",
        json={"maxParticipants": 1, "duration": 90},
        headers=auth,
    )
    assert (response.status_code, response.get_json()) == (
        400,
        {
            "message": '"maxParticipants" must be greater than or equal to the current number '
            "of participants (2)"
        },
    )
    for doc in series["future"]:
        assert (stored(db, doc)["maxParticipants"], stored(db, doc)["duration"]) == (100, 60)
    assert daily.calls() == []


def test_a_room_refused_midway_restores_the_occurrences_changed(client, auth, daily, db, series):
    first = series["future"][0]
    exp = daily.rooms[first["roomName"]]["config"]["exp"]
    daily.fail("update", 500, DOWN, after=1, times=2)  # the second room (and its one retry)
    response = client.put(
        f"/sessions/series/{series['id']}", json={"duration": 120, "title": "Longer"}, headers=auth
    )
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to update Daily.co room"},
    )
    for doc in series["future"]:
        assert (stored(db, doc)["duration"], stored(db, doc)["title"]) == (60, doc["title"])
    assert daily.rooms[first["roomName"]]["config"]["exp"] == exp  # put back too
    urls = [c.request.url.rsplit("/", 1)[1] for c in daily.calls("POST")]
    second = series["future"][1]["roomName"]
    assert urls == [first["roomName"], second, second, first["roomName"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, '"value" must have at least 1 key'),
        (lambda: {"scheduledAt": iso(future())}, '"scheduledAt" is not allowed'),  # run time
        ({"courseId": str(uuid.uuid4())}, '"courseId" is not allowed'),
        ({"duration": 10}, '"duration" must be greater than or equal to 15'),
        ({"title": "ab"}, '"title" length must be at least 3 characters long'),
    ],
)
def test_put_validation(client, auth, daily, db, series, body, message):
    if callable(body):
        body = body()
    response = client.put(f"/sessions/series/{series['id']}", json=body, headers=auth)
    assert (response.status_code, response.get_json()) == (400, {"message": message})
    assert daily.calls() == []


def test_delete_cancels_the_future_occurrences_and_queues_their_rooms(
    app, client, auth, daily, db, series
):
    response = client.delete(f"/sessions/series/{series['id']}", headers=auth)
    assert (response.status_code, response.get_json()) == (
        200,
        {"seriesId": series["id"], "cancelled": 3},
    )
    for doc in series["future"]:
        now = stored(db, doc)
        assert (now["status"], now["deletedAt"] is not None) == ("cancelled", True)
        assert doc["roomName"] in daily.rooms  # not deleted inline
    assert daily.calls() == []
    jobs = sorted((job["_id"], job["room"], job["session"]) for job in room_jobs(db))
    assert jobs == sorted(
        (f"room:{doc['roomName']}", doc["roomName"], doc["_id"]) for doc in series["future"]
    )
    for kept in (series["past"], series["live"]):
        assert (stored(db, kept)["status"], stored(db, kept).get("deletedAt")) == (
            kept["status"],
            None,
        )

    result = app.test_cli_runner().invoke(args=["recordings", "process", "--once"])
    assert (result.exit_code, result.output) == (0, "processed 3 job(s)\n")
    assert not {doc["roomName"] for doc in series["future"]} & set(daily.rooms)
    assert series["live"]["roomName"] in daily.rooms

    # the series still has its past and live sessions: nothing more to cancel
    again = client.delete(f"/sessions/series/{series['id']}", headers=auth)
    assert again.get_json() == {"seriesId": series["id"], "cancelled": 0}
    put = client.put(f"/sessions/series/{series['id']}", json={"title": "Late"}, headers=auth)
    assert put.get_json() == {"seriesId": series["id"], "sessions": []}


def test_a_series_whose_sessions_are_all_deleted_is_not_found(client, auth, daily, db, series):
    db.livesessions.update_many({"seriesId": series["id"]}, {"$set": {"deletedAt": future()}})
    for method in (client.delete, client.put):
        response = method(f"/sessions/series/{series['id']}", json={"title": "x" * 5}, headers=auth)
        assert (response.status_code, response.get_json()) == (
            404,
            {"message": "Live session series not found"},
        )


@pytest.mark.parametrize("series_id", ["dd82e385-df6d-4705-867a-aab056dbbe44", "not-a-uuid"])
@pytest.mark.parametrize("method", ["put", "delete"])
def test_an_unknown_series_is_not_found(client, auth, daily, series_id, method):
    response = getattr(client, method)(
        f"/sessions/series/{series_id}", json={"title": "Renamed"}, headers=auth
    )
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session series not found"},
    )


@pytest.mark.parametrize("method", ["put", "delete"])
def test_access_is_as_for_one_session(client, daily, db, token_for, series, method):
    url = f"/sessions/series/{series['id']}"
    call = getattr(client, method)
    response = call(url, json={"title": "Renamed"})
    assert (response.status_code, response.get_json()) == (
        401,
        {"message": "Authorization header with a Bearer token is required"},
    )
    other = {"Authorization": f"Bearer {token_for(OTHER_INSTRUCTOR)}"}
    response = call(url, json={"title": "Renamed"}, headers=other)
    assert (response.status_code, response.get_json()) == (
        403,
        {"message": "You are not allowed to modify this live session"},
    )
    assert all(stored(db, doc)["title"] != "Renamed" for doc in series["future"])
    assert room_jobs(db) == []
    admin = {"Authorization": f"Bearer {token_for(ADMIN, role='admin')}"}
    assert call(url, json={"title": "Renamed"}, headers=admin).status_code == 200


def test_a_series_of_another_instructor_is_refused_whole(client, auth, daily, db, series):
    seed_session(db, seriesId=series["id"], instructor=OTHER_INSTRUCTOR)
    response = client.delete(f"/sessions/series/{series['id']}", headers=auth)
    assert (response.status_code, response.get_json()) == (
        403,
        {"message": "You are not allowed to modify this live session"},
    )
    assert db.livesessions.count_documents({"deletedAt": {"$ne": None}}) == 0
    assert room_jobs(db) == []


def test_a_single_session_is_untouched_by_a_series(client, auth, daily, db, series):
    single = client.post("/sessions", json=session_payload(), headers=auth).get_json()
    client.put(f"/sessions/series/{series['id']}", json={"title": "Renamed"}, headers=auth)
    client.delete(f"/sessions/series/{series['id']}", headers=auth)
    assert (
        client.get(f"/sessions/{single['_id']}", headers=auth).get_json()["title"]
        == (single["title"])
    )
    assert "seriesId" not in single
    assert stored(db, single).get("deletedAt") is None


def test_a_room_deletion_that_cannot_be_queued_keeps_its_session(
    app, client, auth, daily, db, series, monkeypatch
):
    jobs = app.extensions["livesessions"].job_store
    real_enqueue = jobs.enqueue_room_deletion

    def second_fails(room_name, session_id):
        if room_jobs(db):
            raise ServerSelectionTimeoutError("no server")
        return real_enqueue(room_name, session_id)

    monkeypatch.setattr(jobs, "enqueue_room_deletion", second_fails)
    response = client.delete(f"/sessions/series/{series['id']}", headers=auth)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Database query failed"},
    )
    first, second, third = (stored(db, doc) for doc in series["future"])
    assert (first["status"], first["deletedAt"] is not None) == ("cancelled", True)
    assert [job["room"] for job in room_jobs(db)] == [first["roomName"]]
    for kept in (second, third):  # put back, or not reached
        assert (kept["status"], kept.get("deletedAt")) == ("scheduled", None)
    assert daily.calls() == []
