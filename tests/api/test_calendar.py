"""GET /sessions/course/:courseId/calendar.ics and /sessions/instructor/:id/calendar.ics."""

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from tests.support.factories import (
    COURSE,
    INSTRUCTOR,
    OTHER_COURSE,
    OTHER_INSTRUCTOR,
    future,
    seed_session,
)


def parse(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    raw = response.get_data()
    # RFC 5545: CRLF lines
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    return Calendar.from_ical(raw)


def events(calendar):
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_course_calendar_has_one_event_per_session(client, db):
    db.courses.insert_one({"_id": COURSE, "title": "JavaScript Fundamentals"})
    start = future()
    first = seed_session(
        db, title="Intro", description="Bring questions", scheduledAt=start, duration=90
    )
    cancelled = seed_session(
        db, title="Later", status="cancelled", scheduledAt=start + timedelta(days=1)
    )
    seed_session(db, title="Another course", course=OTHER_COURSE)
    seed_session(db, title="Deleted", status="cancelled", deletedAt=start)

    calendar = parse(client.get(f"/sessions/course/{COURSE}/calendar.ics"))
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//livesessions//")
    assert str(calendar["X-WR-CALNAME"]) == "Live sessions — JavaScript Fundamentals"
    found = events(calendar)
    assert set(found) == {f"{first['_id']}@livesessions", f"{cancelled['_id']}@livesessions"}

    event = found[f"{first['_id']}@livesessions"]
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(minutes=90)
    assert event.decoded("DTSTART").tzinfo is not None
    assert b"DTSTART:" + start.strftime("%Y%m%dT%H%M%SZ").encode() in event.to_ical()
    assert str(event["SUMMARY"]) == "Intro"
    assert str(event["DESCRIPTION"]) == "Bring questions"
    assert str(event["URL"]) == first["roomUrl"]
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTAMP") == first["updatedAt"]
    assert str(found[f"{cancelled['_id']}@livesessions"]["STATUS"]) == "CANCELLED"


def test_uids_are_stable_across_requests_and_changes(client, db):
    doc = seed_session(db)
    before = events(parse(client.get(f"/sessions/course/{COURSE}/calendar.ics")))
    db.livesessions.update_one(
        {"_id": doc["_id"]},
        {"$set": {"title": "Renamed", "updatedAt": datetime.now(UTC).replace(microsecond=0)}},
    )
    after = events(parse(client.get(f"/sessions/course/{COURSE}/calendar.ics")))
    assert list(before) == list(after) == [f"{doc['_id']}@livesessions"]
    assert str(after[f"{doc['_id']}@livesessions"]["SUMMARY"]) == "Renamed"


def test_instructor_calendar(client, db):
    db.users.insert_one({"_id": INSTRUCTOR, "name": "John Doe", "password": "hash"})
    mine = seed_session(db, title="Mine, with a long title; commas, and — unicode ✓ " * 3)
    seed_session(db, instructor=OTHER_INSTRUCTOR)
    response = client.get(f"/sessions/instructor/{INSTRUCTOR}/calendar.ics")
    calendar = parse(response)
    assert str(calendar["X-WR-CALNAME"]) == "Live sessions — John Doe"
    assert b"hash" not in response.get_data()
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"{mine['_id']}@livesessions"
    assert str(event["SUMMARY"]) == mine["title"]  # folded and escaped, then read back whole
    assert "DESCRIPTION" not in event  # an empty description is left out


def test_unknown_course_gives_an_empty_calendar(client):
    calendar = parse(client.get("/sessions/course/nope/calendar.ics"))
    assert str(calendar["X-WR-CALNAME"]) == "Live sessions"
    assert calendar.walk("VEVENT") == []


def test_calendars_are_documented(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in (
        "/sessions/course/{courseId}/calendar.ics",
        "/sessions/instructor/{instructorId}/calendar.ics",
    ):
        ok = paths[path]["get"]["responses"]["200"]
        assert list(ok["content"]) == ["text/calendar"]
