"""POST /sessions/series: one session, with its own Daily room, per weekly occurrence."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from livesessions.jobs.repository import ROOM_DELETION
from tests.support.factories import (
    COURSE,
    INSTRUCTOR,
    OTHER_INSTRUCTOR,
    SESSION_KEYS,
    future,
    iso,
    session_payload,
)

DOWN = {"error": "server-error", "info": "boom"}


def next_monday(hour=10):
    """A Monday at least a week ahead, on the hour."""
    day = future(days=7, hour=hour)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def series_payload(first=None, **recurrence):
    return session_payload(
        scheduledAt=iso(first or next_monday()),
        recurrence=recurrence or {"days": ["MO"], "count": 3},
    )


def post(client, auth, body):
    return client.post("/sessions/series", json=body, headers=auth)


def room_jobs(db):
    return list(db.recording_jobs.find({"kind": ROOM_DELETION}).sort("createdAt"))


def created(daily):
    """Daily's answered room creations (a name taken in the same millisecond is retried)."""
    return [c for c in daily.calls("POST") if c.response.status_code == 200]


def test_every_occurrence_is_a_session_with_its_own_room(client, auth, daily, db):
    monday = next_monday()
    response = post(client, auth, series_payload(monday, days=["MO", "WE"], count=5))
    assert response.status_code == 201
    body = response.get_json()
    assert list(body) == ["seriesId", "sessions"]
    series_id = body["seriesId"]
    days = [0, 2, 7, 9, 14]  # Mon, Wed, Mon, Wed, Mon
    assert [s["scheduledAt"] for s in body["sessions"]] == [
        iso(monday + timedelta(days=d)) for d in days
    ]
    for shown in body["sessions"]:
        assert list(shown) == [*SESSION_KEYS, "seriesId"]  # as POST /sessions, plus seriesId
        assert shown == {
            **shown,
            "title": "Introduction to JavaScript",
            "course": COURSE,
            "instructor": INSTRUCTOR,
            "roomUrl": f"https://test.daily.co/{shown['roomName']}",
            "duration": 60,
            "status": "scheduled",
            "maxParticipants": 100,
            "participants": [],
            "seriesId": series_id,
        }
        stored = db.livesessions.find_one({"_id": shown["_id"]})
        assert (stored["seriesId"], stored["roomName"]) == (series_id, shown["roomName"])
        assert iso(stored["scheduledAt"].replace(tzinfo=UTC)) == shown["scheduledAt"]
    rooms = [s["roomName"] for s in body["sessions"]]
    assert len(set(rooms)) == 5
    assert set(daily.rooms) == set(rooms)
    created = [c for c in daily.calls("POST") if c.response.status_code == 200]
    assert [json.loads(c.request.body)["name"] for c in created] == rooms  # a call per room
    assert db.livesessions.count_documents({"seriesId": series_id}) == 5


def test_interval_and_until_are_inclusive_and_keep_the_time_of_day(client, auth, daily):
    first = next_monday(hour=18).replace(minute=30, microsecond=250_000)  # a Monday
    until = first + timedelta(weeks=6)  # exactly the 4th occurrence (weeks 0, 2, 4, 6)
    body = post(client, auth, series_payload(first, days=["MO"], interval=2, until=iso(until)))
    assert body.status_code == 201
    assert [s["scheduledAt"] for s in body.get_json()["sessions"]] == [
        iso(first + timedelta(weeks=w)) for w in (0, 2, 4, 6)
    ]
    assert iso(first).endswith("18:30:00.250Z")


def test_the_first_date_counts_only_on_one_of_the_days(client, auth, daily):
    tuesday = next_monday() + timedelta(days=1)
    body = post(client, auth, series_payload(tuesday, days=["MO", "FR"], count=2)).get_json()
    assert [s["scheduledAt"] for s in body["sessions"]] == [
        iso(tuesday + timedelta(days=3)),  # Friday
        iso(tuesday + timedelta(days=6)),  # Monday
    ]


@pytest.mark.slow  # 100 rooms at Daily's pace: about 6 s
def test_a_hundred_occurrences_at_most(client, auth, daily, db):
    monday = next_monday()
    response = post(client, auth, series_payload(monday, days=["MO"], count=100))
    assert response.status_code == 201
    assert len(response.get_json()["sessions"]) == 100
    assert len(daily.rooms) == db.livesessions.count_documents({}) == 100

    until = iso(monday + timedelta(weeks=100))  # 101 Mondays
    response = post(client, auth, series_payload(monday, days=["MO"], until=until))
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": "A series has at most 100 occurrences"},
    )
    assert len(daily.rooms) == db.livesessions.count_documents({}) == 100  # nothing more


@pytest.mark.parametrize(
    ("first", "recurrence", "message"),
    [
        (None, {"days": ["MO"], "until": "2000-01-01"}, "The recurrence has no occurrence"),
        (
            datetime(9998, 12, 20, tzinfo=UTC),
            {"days": ["MO"], "count": 5},
            "Every occurrence must be at most 9999-01-01T00:00:00.000Z",
        ),
        (
            datetime(2000, 1, 3, tzinfo=UTC),
            {"days": ["MO"], "count": 1},
            '"scheduledAt" must be greater than or equal to now',
        ),
    ],
)
def test_occurrences_follow_the_create_rules(client, auth, daily, db, first, recurrence, message):
    response = post(client, auth, series_payload(first, **recurrence))
    assert (response.status_code, response.get_json()) == (400, {"message": message})
    assert daily.calls() == []
    assert db.livesessions.count_documents({}) == 0


@pytest.mark.parametrize(
    ("recurrence", "message"),
    [
        (..., '"recurrence" is required'),
        ("weekly", '"recurrence" must be of type object'),
        (None, '"recurrence" must be of type object'),
        ({"count": 2}, '"recurrence.days" is required'),
        ({"days": "MO", "count": 2}, '"recurrence.days" must be an array'),
        ({"days": [], "count": 2}, '"recurrence.days" must contain at least 1 items'),
        (
            {"days": ["MO", "XX"], "count": 2},
            '"recurrence.days[1]" must be one of [MO, TU, WE, TH, FR, SA, SU]',
        ),
        ({"days": ["MO", "MO"], "count": 2}, '"recurrence.days[1]" contains a duplicate value'),
        (
            {"days": ["MO"], "interval": 0, "count": 2},
            '"recurrence.interval" must be greater than or equal to 1',
        ),
        (
            {"days": ["MO"], "interval": 53, "count": 2},
            '"recurrence.interval" must be less than or equal to 52',
        ),
        ({"days": ["MO"], "interval": 1.5, "count": 2}, '"recurrence.interval" must be an integer'),
        ({"days": ["MO"], "count": 0}, '"recurrence.count" must be greater than or equal to 1'),
        ({"days": ["MO"], "count": 101}, '"recurrence.count" must be less than or equal to 100'),
        ({"days": ["MO"], "until": "soon"}, '"recurrence.until" must be in ISO 8601 date format'),
        ({"days": ["MO"]}, '"recurrence" must contain at least one of [count, until]'),
        (
            {"days": ["MO"], "count": 2, "until": "2100-01-01"},
            '"recurrence" contains a conflict between exclusive peers [count, until]',
        ),
        ({"days": ["MO"], "count": 2, "every": 1}, '"recurrence.every" is not allowed'),
    ],
)
def test_recurrence_validation_is_worded_like_joi(client, auth, daily, db, recurrence, message):
    body = {**series_payload(), "recurrence": recurrence}
    body = {key: value for key, value in body.items() if value is not ...}
    response = post(client, auth, body)
    assert (response.status_code, response.get_json()) == (400, {"message": message})
    assert daily.calls() == []
    assert db.livesessions.count_documents({}) == 0


def test_the_session_fields_are_checked_first_in_joi_order(client, auth, daily):
    body = {**series_payload(), "title": "", "recurrence": {"days": []}}
    assert post(client, auth, body).get_json() == {"message": '"title" is not allowed to be empty'}
    body = {**series_payload(), "recurrence": {"days": []}, "extra": 1}
    assert post(client, auth, body).get_json() == {
        "message": '"recurrence.days" must contain at least 1 items'
    }


def test_a_token_is_required(client, daily, db):
    response = client.post("/sessions/series", json=series_payload())
    assert response.status_code == 401
    assert response.get_json() == {
        "message": "Authorization header with a Bearer token is required"
    }
    assert daily.calls() == []


def test_strict_policy_applies_as_to_post_sessions(make_app, daily, token_for):
    client = make_app(AUTH_POLICY="strict").test_client()
    other = {"Authorization": f"Bearer {token_for(INSTRUCTOR)}"}
    response = post(client, other, {**series_payload(), "instructorId": OTHER_INSTRUCTOR})
    assert (response.status_code, response.get_json()) == (
        403,
        {"message": "Only an admin may create a live session for another instructor"},
    )
    student = {"Authorization": f"Bearer {token_for(INSTRUCTOR, role='student')}"}
    response = post(client, student, series_payload())
    assert response.get_json() == {"message": "You are not allowed to create live sessions"}
    assert daily.calls() == []


def test_a_room_refused_halfway_rolls_the_series_back(app, client, auth, daily, db):
    daily.fail("create", 500, DOWN, after=2)  # the third room fails (and its one retry)
    response = post(client, auth, series_payload(days=["MO"], count=5))
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to create Daily.co room"},
    )
    assert db.livesessions.count_documents({}) == 0
    made = [json.loads(c.request.body)["name"] for c in created(daily)]
    assert len(made) == 2
    assert set(daily.rooms) == set(made)  # not yet: the worker deletes them
    jobs = room_jobs(db)
    assert [(job["_id"], job["room"], job["status"]) for job in jobs] == [
        (f"room:{name}", name, "pending") for name in made
    ]
    assert daily.calls("DELETE") == []

    result = app.test_cli_runner().invoke(args=["recordings", "process", "--once"])
    assert (result.exit_code, result.output) == (0, "processed 2 job(s)\n")
    assert daily.rooms == {}
    assert {job["status"] for job in room_jobs(db)} == {"done"}


def test_a_failed_write_halfway_rolls_the_series_back(app, client, auth, daily, db, monkeypatch):
    store = app.extensions["livesessions"].session_store
    real_insert, inserted = store.insert, []

    def third_fails(doc):
        if len(inserted) == 2:
            raise ServerSelectionTimeoutError("no server")
        inserted.append(doc["roomName"])
        return real_insert(doc)

    monkeypatch.setattr(store, "insert", third_fails)
    response = post(client, auth, series_payload(days=["MO"], count=4))
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Database query failed"},
    )
    assert db.livesessions.count_documents({}) == 0
    # the third room is deleted at once, as POST /sessions does; the others by the job
    (third,) = [json.loads(c.request.body)["name"] for c in created(daily)][2:]
    assert [c.request.url.rsplit("/", 1)[1] for c in daily.calls("DELETE")] == [third]
    assert [job["room"] for job in room_jobs(db)] == inserted
    worker = app.extensions["livesessions"].make_worker()
    while worker.process_next():
        pass
    assert daily.rooms == {}


def test_a_series_session_shows_its_series_and_a_single_one_does_not(client, auth, daily):
    series = post(client, auth, series_payload()).get_json()
    first = series["sessions"][0]
    shown = client.get(f"/sessions/{first['_id']}", headers=auth).get_json()
    assert shown["seriesId"] == series["seriesId"]
    listed = client.get("/sessions", headers=auth).get_json()["sessions"]
    assert {s.get("seriesId") for s in listed} == {series["seriesId"]}

    single = client.post("/sessions", json=session_payload(), headers=auth).get_json()
    assert list(single) == SESSION_KEYS  # byte for byte what it was
    assert "seriesId" not in client.get(f"/sessions/{single['_id']}", headers=auth).get_json()


def test_get_sessions_series_is_still_an_unknown_session(client, auth, daily):
    response = client.get("/sessions/series", headers=auth)
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session not found"},
    )


def test_a_rollback_that_cannot_remove_the_sessions_keeps_their_rooms(
    app, client, auth, daily, db, monkeypatch
):
    def unreachable(series_id):
        raise ServerSelectionTimeoutError("no server")

    monkeypatch.setattr(app.extensions["livesessions"].session_store, "remove_series", unreachable)
    daily.fail("create", 500, DOWN, after=2)
    response = post(client, auth, series_payload(days=["MO"], count=4))
    assert response.get_json() == {"message": "Failed to create Daily.co room"}
    kept = list(db.livesessions.find())
    assert len(kept) == 2
    assert {doc["roomName"] for doc in kept} == set(daily.rooms)  # each with its room
    assert room_jobs(db) == []


def test_a_room_whose_deletion_cannot_be_queued_is_deleted_at_once(
    app, client, auth, daily, db, monkeypatch
):
    def unqueued(room_name, session_id):
        raise ServerSelectionTimeoutError("no server")

    monkeypatch.setattr(app.extensions["livesessions"].job_store, "enqueue_room_deletion", unqueued)
    daily.fail("create", 500, DOWN, after=2)
    response = post(client, auth, series_payload(days=["MO"], count=4))
    assert response.get_json() == {"message": "Failed to create Daily.co room"}
    assert db.livesessions.count_documents({}) == 0
    assert len(daily.calls("DELETE")) == 2
    assert daily.rooms == {}
