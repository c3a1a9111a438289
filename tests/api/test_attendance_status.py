"""Daily's meeting and participant events: automatic status and attendance."""

import itertools
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from livesessions.daily.names import daily_user_id
from livesessions.jobs.worker import start_worker_thread
from tests.support.factories import INSTRUCTOR, iso, seed_session

STUDENT = "student-1"


def deliver(client, event_type, payload):
    envelope = {"version": "1.0.0", "type": event_type, "id": str(uuid.uuid4()), "payload": payload}
    response = client.post("/sessions/webhook/daily", json=envelope)
    assert (response.status_code, response.get_json()) == (200, {"received": True})


def visit_events(room, user_id, joined, left=None, user_name=None):
    """participant.joined (and .left) of one visit, as Daily sends them."""
    visit = str(uuid.uuid4())
    base = {
        "joined_at": joined.timestamp(),
        "session_id": visit,
        "room": room,
        "user_id": user_id,
        "user_name": user_name or user_id,
        "owner": False,
        "will_eject_at": None,
        "permissions": {"hasPresence": True},
    }
    events = [("participant.joined", base)]
    if left is not None:
        duration = round((left - joined).total_seconds())
        events.append(("participant.left", {**base, "duration": duration}))
    return events


@pytest.fixture
def session(db):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    return seed_session(
        db, scheduledAt=start, duration=60, status="live", participants=[STUDENT, "student-2"]
    )


def attendance(client, auth, session):
    response = client.get(f"/sessions/{session['_id']}/attendance", headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_attendance_per_user_and_totals(client, auth, session):
    start, room = session["scheduledAt"], session["roomName"]
    events = [
        *visit_events(room, STUDENT, start, start + timedelta(minutes=10), "Ann"),
        *visit_events(room, STUDENT, start + timedelta(minutes=20), start + timedelta(minutes=25)),
        *visit_events(
            room, INSTRUCTOR, start - timedelta(minutes=5), start + timedelta(minutes=29)
        ),
    ]
    for event in events:
        deliver(client, *event)
    body = attendance(client, auth, session)
    assert body == {
        "sessionId": session["_id"],
        "attendees": [
            {
                "userId": INSTRUCTOR,
                "userName": INSTRUCTOR,
                "role": "instructor",
                "firstJoinedAt": iso(start - timedelta(minutes=5)),
                "lastLeftAt": iso(start + timedelta(minutes=29)),
                "present": False,
                "minutesPresent": 34.0,
                "visits": 1,
            },
            {
                "userId": STUDENT,
                "userName": STUDENT,  # the latest visit's name
                "role": "participant",
                "firstJoinedAt": iso(start),
                "lastLeftAt": iso(start + timedelta(minutes=25)),
                "present": False,
                "minutesPresent": 15.0,
                "visits": 2,
            },
        ],
        "totals": {
            "attendees": 2,
            "participantsAttended": 1,
            "participantsAdmitted": 2,
            "minutesPresent": 49.0,
            "averageMinutesPresent": 24.5,
        },
    }


def test_duplicate_and_out_of_order_events_give_the_same_attendance(client, auth, db, session):
    start, room = session["scheduledAt"], session["roomName"]
    events = [
        *visit_events(room, STUDENT, start, start + timedelta(minutes=12)),
        *visit_events(room, "guest-9", start + timedelta(minutes=3), start + timedelta(minutes=4)),
    ]
    results = []
    for order in itertools.islice(itertools.permutations(events), 0, None, 5):
        db.attendance.delete_many({})
        for event in [*order, order[0], order[-1]]:  # and two duplicates
            deliver(client, *event)
        results.append(attendance(client, auth, session))
    assert len(results) == 5
    assert all(result == results[0] for result in results)
    minutes = {a["userId"]: a["minutesPresent"] for a in results[0]["attendees"]}
    assert minutes == {STUDENT: 12.0, "guest-9": 1.0}
    assert db.attendance.count_documents({}) == 2  # one document per visit


def test_overlapping_visits_count_once_and_open_visits_until_now(client, auth, session):
    start, room = session["scheduledAt"], session["roomName"]
    deliver(client, *visit_events(room, STUDENT, start, start + timedelta(minutes=10))[1])
    # a second tab from minute 5, still open (the session started 30 minutes ago)
    deliver(client, *visit_events(room, STUDENT, start + timedelta(minutes=5))[0])
    (student,) = attendance(client, auth, session)["attendees"]
    assert student["present"] is True
    assert student["lastLeftAt"] is None
    assert 30.0 <= student["minutesPresent"] <= 30.2  # minute 0 to now (minute ~30), once
    assert student["visits"] == 2


def test_an_open_visit_stops_counting_when_the_room_closes(client, auth, db):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    doc = seed_session(db, scheduledAt=start, duration=60, status="ended")
    deliver(client, *visit_events(doc["roomName"], STUDENT, start)[0])  # its `left` was lost
    (student,) = attendance(client, auth, doc)["attendees"]
    assert student["present"] is False
    assert student["minutesPresent"] == 90.0  # 60 minutes plus the room's 30 minutes of grace


def test_long_user_ids_are_mapped_back_from_their_digest(client, auth, db):
    student = "s" * 80
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    doc = seed_session(db, scheduledAt=start, participants=[student])
    room = doc["roomName"]
    deliver(
        client, *visit_events(room, daily_user_id(student), start, start + timedelta(minutes=3))[0]
    )
    (attendee,) = attendance(client, auth, doc)["attendees"]
    assert (attendee["userId"], attendee["role"]) == (student, "participant")


def test_attendance_is_for_the_instructor_or_an_admin(client, token_for, session):
    student = {"Authorization": f"Bearer {token_for(user_id=STUDENT, role='student')}"}
    response = client.get(f"/sessions/{session['_id']}/attendance", headers=student)
    assert (response.status_code, response.get_json()) == (
        403,
        {"message": "You are not allowed to view this live session's attendance"},
    )
    admin = {"Authorization": f"Bearer {token_for(user_id='boss', role='admin')}"}
    body = client.get(f"/sessions/{session['_id']}/attendance", headers=admin).get_json()
    assert body["attendees"] == []
    assert body["totals"]["attendees"] == 0
    assert body["totals"]["averageMinutesPresent"] == 0
    assert client.get(f"/sessions/{session['_id']}/attendance").status_code == 401


@pytest.mark.parametrize(
    "payload",
    [
        {"room": "no-such-room", "session_id": "v1", "joined_at": 1_700_000_000},
        {"session_id": "v1", "joined_at": 1_700_000_000},
        {"room": "ROOM", "joined_at": 1_700_000_000},
        {"room": "ROOM", "session_id": "v1"},
        {"room": "ROOM", "session_id": "v1", "joined_at": 1e300},
        {"room": "ROOM", "session_id": "v1", "joined_at": "yesterday"},
        {"room": "ROOM", "session_id": "v1", "joined_at": -5},
        {"room": "ROOM", "session_id": {"$ne": None}, "joined_at": 1_700_000_000},
        {"room": "ROOM", "session_id": "v1", "joined_at": 1_700_000_000, "duration": 1e300},
    ],
)
def test_unusable_participant_events_are_acknowledged_and_change_nothing(
    client, db, session, payload
):
    payload = {k: session["roomName"] if v == "ROOM" else v for k, v in payload.items()}
    for event_type in ("participant.joined", "participant.left"):
        deliver(client, event_type, payload)
    stored = list(db.attendance.find({}, {"_id": 0, "joinedAt": 1, "leftAt": 1}))
    if "duration" in payload:  # a usable join; the absurd duration is not used as leave time
        assert stored == [
            {"joinedAt": datetime.fromtimestamp(1_700_000_000, UTC)}
            | {"leftAt": datetime.fromtimestamp(1_700_000_000, UTC)}
        ]
    else:
        assert stored == []


# -- automatic status ----------------------------------------------------------------------


# When a seeded one-hour class starts, from now: to come (as seed_session's default), in
# progress, or over (within the room's grace, so the sweep would not have ended it yet).
CLASS_STARTS = {
    "to come": timedelta(days=7),
    "in progress": timedelta(minutes=-30),
    "over": timedelta(minutes=-80),
}


@pytest.mark.parametrize(
    ("event_type", "class_time", "before", "after"),
    [
        ("meeting.started", "to come", "scheduled", "live"),
        ("meeting.started", "to come", "live", "live"),
        ("meeting.started", "to come", "ended", "ended"),
        ("meeting.started", "to come", "cancelled", "cancelled"),
        # An empty room ends a class only once its time is over. Before the class begins, it
        # is still to come (the instructor opened the room early and left); in its time, the
        # room emptied for a moment (a network blip). room.exp likewise.
        ("meeting.ended", "to come", "live", "scheduled"),
        ("meeting.ended", "in progress", "live", "live"),
        ("meeting.ended", "over", "live", "ended"),
        ("meeting.ended", "to come", "scheduled", "scheduled"),
        ("meeting.ended", "over", "scheduled", "scheduled"),
        ("meeting.ended", "to come", "cancelled", "cancelled"),
        ("meeting.ended", "over", "cancelled", "cancelled"),
        ("meeting.ended", "over", "ended", "ended"),
        ("room.exp", "to come", "live", "scheduled"),
        ("room.exp", "in progress", "live", "live"),
        ("room.exp", "over", "live", "ended"),
        ("room.exp", "to come", "cancelled", "cancelled"),
        ("room.exp", "over", "cancelled", "cancelled"),
    ],
)
def test_meeting_and_room_events_move_the_status(client, db, event_type, class_time, before, after):
    starts = datetime.now(UTC).replace(microsecond=0) + CLASS_STARTS[class_time]
    doc = seed_session(db, status=before, scheduledAt=starts, duration=60)
    payload = {"room": doc["roomName"], "meeting_id": "m1", "start_ts": 1_700_000_000}
    deliver(client, event_type, payload)
    deliver(client, event_type, payload)  # a duplicate changes nothing more
    stored = db.livesessions.find_one({"_id": doc["_id"]})
    assert stored["status"] == after
    assert (stored["updatedAt"] == doc["updatedAt"]) == (before == after)


def test_meeting_events_never_touch_a_deleted_session(client, db):
    # (a deleted session is cancelled; one left live by older code must not move either)
    deleted_at = datetime.now(UTC).replace(microsecond=0)
    live = seed_session(db, status="live", deletedAt=deleted_at)
    scheduled = seed_session(db, status="scheduled", deletedAt=deleted_at)
    for event_type in ("meeting.started", "meeting.ended", "room.exp"):
        for doc in (live, scheduled):
            deliver(client, event_type, {"room": doc["roomName"]})
    assert db.livesessions.find_one({"_id": live["_id"]}) == live
    assert db.livesessions.find_one({"_id": scheduled["_id"]}) == scheduled


def test_the_sweep_ends_open_sessions_whose_time_is_over(app, db):
    now = datetime.now(UTC).replace(microsecond=0)
    ago = lambda minutes: now - timedelta(minutes=minutes)  # noqa: E731
    overdue_live = seed_session(db, scheduledAt=ago(100), duration=60, status="live")
    overdue_scheduled = seed_session(db, scheduledAt=ago(200), duration=60)
    within_grace = seed_session(db, scheduledAt=ago(80), duration=60, status="live")
    running = seed_session(db, scheduledAt=ago(30), duration=60, status="live")
    cancelled = seed_session(db, scheduledAt=ago(300), status="cancelled")
    deleted = seed_session(db, scheduledAt=ago(300), status="live", deletedAt=ago(250))
    store = app.extensions["livesessions"].session_store
    ended = store.end_overdue(now, timedelta(minutes=30))
    assert sorted(ended) == sorted([overdue_live["_id"], overdue_scheduled["_id"]])
    status = {d["_id"]: (d["status"], d["updatedAt"]) for d in db.livesessions.find()}
    assert status[overdue_live["_id"]] == ("ended", now)
    assert status[overdue_scheduled["_id"]] == ("ended", now)
    for untouched in (within_grace, running, cancelled, deleted):
        assert status[untouched["_id"]] == (untouched["status"], untouched["updatedAt"])
    assert store.end_overdue(now, timedelta(minutes=30)) == []  # nothing left to do


def test_the_worker_sweeps_periodically_and_survives_a_failing_sweep(app, db, monkeypatch):
    services = app.extensions["livesessions"]
    now = datetime.now(UTC)
    calls = []
    real_end_overdue = services.session_store.end_overdue

    def flaky(*args):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        return real_end_overdue(*args)

    monkeypatch.setattr(services.session_store, "end_overdue", flaky)
    services.sweep_seconds = 0.05
    overdue = seed_session(db, scheduledAt=now - timedelta(hours=3), status="live")
    stop = start_worker_thread(services.make_worker(poll_seconds=0.01))
    try:
        # Two sweeps 0.05 s apart take a fraction of a second: only a worker that stopped
        # sweeping waits out these 5 s (a bound on failing, not on speed).
        deadline = time.monotonic() + 5
        while db.livesessions.find_one({"_id": overdue["_id"]})["status"] != "ended":
            assert time.monotonic() < deadline, "the sweep never ended the session"
            time.sleep(0.02)
    finally:
        stop.set()
    assert len(calls) >= 2  # the first sweep failed; the worker went on and swept again


def test_process_once_also_sweeps(app, db):
    overdue = seed_session(
        db, scheduledAt=datetime.now(UTC) - timedelta(hours=3), status="scheduled"
    )
    result = app.test_cli_runner().invoke(args=["recordings", "process", "--once"])
    assert result.exit_code == 0
    assert "processed 0 job(s)" in result.output
    assert db.livesessions.find_one({"_id": overdue["_id"]})["status"] == "ended"
