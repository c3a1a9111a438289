"""A room's meeting through Daily's meeting events: the class is ended by its time, not by
an empty room; the meeting noted running or not, whatever the order of the events."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.factories import seed_session

STUDENT = "student-1"


def now():
    return datetime.now(UTC).replace(microsecond=0)


def deliver(client, event_type, payload):
    envelope = {"version": "1.0.0", "type": event_type, "id": str(uuid.uuid4()), "payload": payload}
    response = client.post("/sessions/webhook/daily", json=envelope)
    assert (response.status_code, response.get_json()) == (200, {"received": True})


def started(room, start):
    """meeting.started of the meeting that began at `start`, as Daily sends it."""
    return "meeting.started", {"room": room, "meeting_id": f"m{start}", "start_ts": start}


def ended(room, start, end):
    """meeting.ended of the meeting that began at `start` and ended at `end`."""
    payload = {"room": room, "meeting_id": f"m{start}", "start_ts": start, "end_ts": end}
    return "meeting.ended", payload


def stored(db, doc):
    return db.livesessions.find_one({"_id": doc["_id"]})


def seconds(value):
    return int(value.timestamp())


def test_the_meeting_is_noted_running_then_over(client, db):
    doc = seed_session(db)
    room, start = doc["roomName"], seconds(now()) - 60
    deliver(client, *started(room, start))
    assert stored(db, doc)["meeting"] == {
        "running": True,
        "startedAt": datetime.fromtimestamp(start, UTC),
    }
    deliver(client, *ended(room, start, start + 1))
    assert stored(db, doc)["meeting"] == {
        "running": False,
        "startedAt": datetime.fromtimestamp(start, UTC),
        "endedAt": datetime.fromtimestamp(start + 1, UTC),
    }


def test_an_early_open_and_leave_leaves_the_class_to_come(client, daily, db, token_for):
    doc = seed_session(db, scheduledAt=now() + timedelta(minutes=10), participants=[STUDENT])
    room, opened = doc["roomName"], seconds(now())  # 10 minutes before the class

    deliver(client, *started(room, opened))
    live = stored(db, doc)
    assert (live["status"], live["meeting"]["running"]) == ("live", True)

    deliver(client, *ended(room, opened, opened + 1))  # the instructor left after a second
    after = stored(db, doc)
    assert (after["status"], after["meeting"]["running"]) == ("scheduled", False)
    student = {"Authorization": f"Bearer {token_for(user_id=STUDENT, role='student')}"}
    joined = client.post(f"/sessions/{doc['_id']}/join", headers=student)
    assert joined.status_code == 200, joined.get_json()
    assert joined.get_json()["token"]

    deliver(client, *started(room, opened + 300))  # back five minutes later
    assert stored(db, doc)["status"] == "live"
    assert stored(db, doc)["meeting"]["running"] is True


def test_a_blip_mid_class_leaves_it_live(client, db):
    doc = seed_session(db, scheduledAt=now() - timedelta(minutes=20), duration=60)
    room, start = doc["roomName"], seconds(doc["scheduledAt"])
    deliver(client, *started(room, start))
    live = stored(db, doc)
    assert (live["status"], live["meeting"]["running"]) == ("live", True)

    deliver(client, *ended(room, start, start + 600))  # the network dropped everyone
    blip = stored(db, doc)
    assert (blip["status"], blip["meeting"]["running"]) == ("live", False)
    assert blip["updatedAt"] == live["updatedAt"]  # nothing the API shows has changed

    deliver(client, *started(room, start + 630))
    back = stored(db, doc)
    assert (back["status"], back["meeting"]["running"]) == ("live", True)
    assert back["meeting"]["startedAt"] == datetime.fromtimestamp(start + 630, UTC)


def test_meeting_ended_after_the_class_time_ends_it(client, db, token_for):
    doc = seed_session(
        db, scheduledAt=now() - timedelta(minutes=65), duration=60, participants=[STUDENT]
    )
    room, start = doc["roomName"], seconds(doc["scheduledAt"])
    deliver(client, *started(room, start))
    deliver(client, *ended(room, start, start + 3900))
    assert stored(db, doc)["status"] == "ended"
    student = {"Authorization": f"Bearer {token_for(user_id=STUDENT, role='student')}"}
    refused = client.post(f"/sessions/{doc['_id']}/join", headers=student)
    assert refused.get_json() == {"message": "Cannot join a session that is ended"}


def test_a_late_duplicate_start_does_not_mark_the_meeting_running(client, db):
    doc = seed_session(db)  # a class to come
    room, start = doc["roomName"], seconds(now())
    deliver(client, *started(room, start))
    deliver(client, *ended(room, start, start + 1))
    deliver(client, *started(room, start))  # Daily's retry of the first, late
    after = stored(db, doc)
    assert (after["status"], after["meeting"]["running"]) == ("scheduled", False)


def meeting_events(room, start):
    """Two meetings, A then B, as Daily sends them: A started and ended, B started and ended."""
    return [
        started(room, start),
        ended(room, start, start + 60),
        started(room, start + 120),
        ended(room, start + 120, start + 180),
    ]


@pytest.mark.parametrize(
    ("events", "expected"),
    [(3, ("live", True)), (4, ("scheduled", False))],
    ids=["B on", "both over"],
)
def test_any_order_and_duplicates_give_the_same_meeting(client, db, events, expected):
    """A's events and B's start, or all four: in every order, with the first and the last
    event delivered twice, the same note and status."""
    start = seconds(now()) - 600  # every timestamp in the past, as Daily's are
    outcomes = set()
    for order in itertools.permutations(range(events)):
        doc = seed_session(db)  # a class to come
        sent = meeting_events(doc["roomName"], start)
        for index in [*order, order[0], order[-1]]:
            deliver(client, *sent[index])
        after = stored(db, doc)
        outcomes.add((after["status"], after["meeting"]["running"], after["meeting"]["startedAt"]))
    assert outcomes == {(*expected, datetime.fromtimestamp(start + 120, UTC))}


def test_a_late_end_of_an_earlier_meeting_leaves_the_class_on(client, db):
    doc = seed_session(db, scheduledAt=now() - timedelta(minutes=70), duration=60)  # over
    room, start = doc["roomName"], seconds(doc["scheduledAt"])
    deliver(client, *started(room, start + 900))  # meeting B; A's events come late
    deliver(client, *started(room, start))
    deliver(client, *ended(room, start, start + 600))
    assert (stored(db, doc)["status"], stored(db, doc)["meeting"]["running"]) == ("live", True)
    deliver(client, *ended(room, start + 900, start + 4000))
    assert stored(db, doc)["status"] == "ended"


def test_room_exp_ends_a_class_over_even_with_its_meeting_running(client, db):
    doc = seed_session(db, scheduledAt=now() - timedelta(minutes=90), duration=60)
    room = doc["roomName"]
    deliver(client, *started(room, seconds(doc["scheduledAt"])))
    deliver(client, "room.exp", {"room": room, "exp": seconds(now())})
    assert stored(db, doc)["status"] == "ended"  # people inside stay, but the class is over


def test_events_without_timestamps_count_in_their_order_of_arrival(client, db):
    doc = seed_session(db, scheduledAt=now() - timedelta(minutes=20), duration=60)
    room = doc["roomName"]
    for event_type, running in [
        ("meeting.started", True),
        ("meeting.ended", False),
        ("meeting.started", True),
    ]:
        deliver(client, event_type, {"room": room})
        after = stored(db, doc)
        assert (after["status"], after["meeting"]["running"]) == ("live", running)


def test_the_sweep_ends_an_overdue_class_whatever_its_meeting(app, client, db):
    doc = seed_session(db, scheduledAt=now() - timedelta(hours=2), duration=60)
    deliver(client, *started(doc["roomName"], seconds(doc["scheduledAt"])))
    assert stored(db, doc)["meeting"]["running"] is True  # its meeting.ended was lost
    store = app.extensions["livesessions"].session_store
    assert store.end_overdue(now(), timedelta(minutes=30)) == [doc["_id"]]
    assert stored(db, doc)["status"] == "ended"


def test_a_change_between_the_read_and_the_write_is_decided_again(app, db, monkeypatch):
    """The class is moved an hour later while meeting.ended is being handled: it is not
    ended on the strength of its old time."""
    store = app.extensions["livesessions"].session_store
    doc = seed_session(db, scheduledAt=now() - timedelta(minutes=70), duration=60, status="live")
    read = store.find_by_room
    reads = []

    def read_then_reschedule(room_name):
        reads.append(read(room_name))
        if len(reads) == 1:  # the instructor's update lands just after the event's read
            db.livesessions.update_one({"_id": doc["_id"]}, {"$set": {"duration": 120}})
        return reads[-1]

    monkeypatch.setattr(store, "find_by_room", read_then_reschedule)
    assert store.settle_after_meeting(doc["roomName"], now()) is None
    assert [r["duration"] for r in reads] == [60, 120]  # decided again on what is stored
    assert stored(db, doc)["status"] == "live"  # in its (new) class time: stays live


def test_a_timestamp_from_the_future_counts_as_now(client, db):
    """A forged (or mistaken) far-future start can't hide the meetings that follow it."""
    doc = seed_session(db)
    room = doc["roomName"]
    deliver(client, *started(room, seconds(now()) + 10**8))  # about three years ahead
    noted = stored(db, doc)["meeting"]["startedAt"]
    assert noted <= datetime.now(UTC)
    after = seconds(noted) + 1  # the next real meeting (its timestamps are now, at most)
    deliver(client, *started(room, after))
    deliver(client, *ended(room, after, after + 1))
    assert stored(db, doc)["meeting"]["running"] is False
