"""The in-process event hub: what a publisher may count on."""

import logging

from livesessions.events import (
    EventHub,
    ParticipantAdded,
    RecordingDeleted,
    RecordingReady,
    SessionCreated,
)


def test_subscribers_get_the_events_of_their_type_in_order():
    hub, seen = EventHub(), []
    hub.subscribe(SessionCreated, lambda e: seen.append(("first", e)))
    hub.subscribe(RecordingReady, lambda e: seen.append(("recording", e)))
    hub.subscribe(SessionCreated, lambda e: seen.append(("second", e)))
    one, two = SessionCreated({"_id": "s1"}), SessionCreated({"_id": "s2"})
    ready = RecordingReady("s1", "r1")

    hub.publish(one)
    hub.publish(ready)
    hub.publish(two)

    assert seen == [
        ("first", one),
        ("second", one),
        ("recording", ready),
        ("first", two),
        ("second", two),
    ]
    assert seen[0][1].session == {"_id": "s1"}  # the payload as published


def test_a_failing_subscriber_fails_neither_the_publisher_nor_the_others(caplog):
    hub, seen = EventHub(), []

    def broken(event):
        raise RuntimeError("receiver down")

    hub.subscribe(ParticipantAdded, broken)
    hub.subscribe(ParticipantAdded, seen.append)
    event = ParticipantAdded({"_id": "s1"}, "student-1")

    with caplog.at_level(logging.ERROR, logger="livesessions.events"):
        assert hub.publish(event) is None  # no exception reaches the publisher

    assert seen == [event]
    [record] = caplog.records
    assert "ParticipantAdded" in record.getMessage()
    assert record.exc_info[0] is RuntimeError


def test_an_event_nobody_subscribed_to_does_nothing(caplog):
    hub, seen = EventHub(), []
    hub.subscribe(RecordingReady, seen.append)

    with caplog.at_level(logging.DEBUG, logger="livesessions.events"):
        hub.publish(RecordingDeleted("s1", "r1"))
        EventHub().publish(SessionCreated({"_id": "s1"}))

    assert seen == []
    assert caplog.records == []


def test_events_are_values():
    assert RecordingReady("s1", "r1") == RecordingReady("s1", "r1")
    assert hash(RecordingDeleted("s1", "r1")) == hash(RecordingDeleted("s1", "r1"))
