"""A room's meeting through Daily's meeting events: the meeting noted running or not,
whatever the order of the events."""

import itertools
import uuid
from datetime import UTC, datetime

import pytest

from tests.support.factories import seed_session


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
    room, start = doc["roomName"], seconds(now())
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


def test_a_late_duplicate_start_does_not_mark_the_meeting_running(client, db):
    doc = seed_session(db)
    room, start = doc["roomName"], seconds(now())
    deliver(client, *started(room, start))
    deliver(client, *ended(room, start, start + 1))
    deliver(client, *started(room, start))  # Daily's retry of the first, late
    assert stored(db, doc)["meeting"]["running"] is False


def meeting_events(room, start):
    """Two meetings, A then B, as Daily sends them: A started and ended, B started and ended."""
    return [
        started(room, start),
        ended(room, start, start + 60),
        started(room, start + 120),
        ended(room, start + 120, start + 180),
    ]


@pytest.mark.parametrize(("events", "running"), [(3, True), (4, False)], ids=["B on", "both over"])
def test_any_order_and_duplicates_give_the_same_meeting(client, db, events, running):
    """A's events and B's start, or all four: in every order, with the first and the last
    event delivered twice, the same note."""
    start = seconds(now())
    outcomes = set()
    for order in itertools.permutations(range(events)):
        doc = seed_session(db)
        sent = meeting_events(doc["roomName"], start)
        for index in [*order, order[0], order[-1]]:
            deliver(client, *sent[index])
        note = stored(db, doc)["meeting"]
        outcomes.add((note["running"], note["startedAt"]))
    assert outcomes == {(running, datetime.fromtimestamp(start + 120, UTC))}


def test_events_without_timestamps_count_in_their_order_of_arrival(client, db):
    doc = seed_session(db)
    for event_type, running in [
        ("meeting.started", True),
        ("meeting.ended", False),
        ("meeting.started", True),
    ]:
        deliver(client, event_type, {"room": doc["roomName"]})
        assert stored(db, doc)["meeting"]["running"] is running
