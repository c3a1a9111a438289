"""GET /sessions/student/:studentId/calendar.ics?key=...: a student's feed, keyed by HMAC."""

import hashlib
import hmac
from datetime import timedelta
from urllib.parse import quote

import pytest

from livesessions.sessions.feed_keys import feed_key, feed_path
from tests.api.test_calendar import events, parse
from tests.support.factories import OTHER_COURSE, future, seed_session

SECRET = "student-calendar-secret-" + "0123456789abcdef" * 2
JOIN_PAGE = "https://lms.example/live/{sessionId}"
STUDENT = "student-1"
OTHER_STUDENT = "student-2"
# Allowed by the STUDENT_ID pattern; needs percent-encoding in a path (space, "?", "#", "%").
AWKWARD_STUDENT = "Zoë O'Brien #7 ?x=1 100%"
ROOM_URL = "https://test.daily.co/private-room"
NOT_FOUND = {"message": "Calendar not found"}


@pytest.fixture
def app(make_app):
    return make_app(CALENDAR_FEED_SECRET=SECRET, JOIN_PAGE_URL=JOIN_PAGE)


def key_of(student_id, secret=SECRET):
    """The key as the issue defines it, worked out apart from the service's code."""
    return hmac.new(secret.encode(), student_id.encode(), hashlib.sha256).hexdigest()


def feed_url(student_id, key=None):
    segment = quote(student_id, safe="")
    return f"/sessions/student/{segment}/calendar.ics?key={key or key_of(student_id)}"


def uid(doc):
    return f"{doc['_id']}@livesessions"


def test_the_feed_lists_exactly_the_sessions_the_student_is_admitted_to(client, db):
    start = future()
    first = seed_session(
        db,
        title="Intro",
        description="Bring questions",
        scheduledAt=start,
        duration=90,
        roomUrl=ROOM_URL,
        participants=[OTHER_STUDENT, STUDENT],
    )
    cancelled = seed_session(
        db,
        title="Cancelled",
        status="cancelled",
        scheduledAt=start + timedelta(days=1),
        roomUrl=ROOM_URL,
        participants=[STUDENT],
    )
    other_course = seed_session(
        db, course=OTHER_COURSE, scheduledAt=start - timedelta(days=1), participants=[STUDENT]
    )
    seed_session(db, title="Not admitted", participants=[OTHER_STUDENT])
    seed_session(db, title="Nobody admitted")
    seed_session(db, title="Deleted", status="cancelled", deletedAt=start, participants=[STUDENT])
    seed_session(db, title="Prefix only", participants=["student-10"])

    response = client.get(feed_url(STUDENT))
    calendar = parse(response)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-WR-CALNAME"]) == "Live sessions"
    found = events(calendar)
    # by schedule, across courses
    assert list(found) == [uid(other_course), uid(first), uid(cancelled)]

    event = found[uid(first)]
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(minutes=90)
    assert str(event["SUMMARY"]) == "Intro"
    assert str(event["DESCRIPTION"]) == "Bring questions"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTAMP") == first["updatedAt"]
    assert str(event["URL"]) == f"https://lms.example/live/{first['_id']}"
    assert str(event["LOCATION"]) == f"https://lms.example/live/{first['_id']}"
    assert str(found[uid(cancelled)]["STATUS"]) == "CANCELLED"
    assert str(found[uid(cancelled)]["URL"]) == f"https://lms.example/live/{cancelled['_id']}"
    # no room URL anywhere in the feed
    raw = response.get_data()
    assert b"daily.co" not in raw
    assert ROOM_URL.encode() not in raw


def test_the_same_session_has_the_same_uid_as_in_the_course_feed(client, db):
    doc = seed_session(db, participants=[STUDENT])
    course = events(parse(client.get(f"/sessions/course/{doc['course']}/calendar.ics")))
    student = events(parse(client.get(feed_url(STUDENT))))
    assert list(course) == list(student) == [uid(doc)]
    # the course feed keeps the room link
    assert str(course[uid(doc)]["URL"]) == doc["roomUrl"]


def test_the_feed_follows_admissions_and_removals_through_the_api(client, db):
    doc = seed_session(db)
    assert parse(client.get(feed_url(AWKWARD_STUDENT))).walk("VEVENT") == []
    added = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": AWKWARD_STUDENT})
    assert added.status_code == 200, added.get_json()
    assert list(events(parse(client.get(feed_url(AWKWARD_STUDENT))))) == [uid(doc)]
    removed = client.delete(
        f"/sessions/{doc['_id']}/participants/{quote(AWKWARD_STUDENT, safe='')}"
    )
    assert removed.status_code == 200, removed.get_json()
    assert parse(client.get(feed_url(AWKWARD_STUDENT))).walk("VEVENT") == []


def test_a_student_admitted_nowhere_gets_an_empty_calendar(client, db):
    seed_session(db, participants=[OTHER_STUDENT])
    calendar = parse(client.get(feed_url(STUDENT)))
    assert calendar.walk("VEVENT") == []


def test_an_id_that_needs_percent_encoding(client, db):
    doc = seed_session(db, participants=[AWKWARD_STUDENT])
    seed_session(db, participants=[STUDENT])
    path = feed_url(AWKWARD_STUDENT)
    assert path.startswith("/sessions/student/Zo%C3%AB%20O%27Brien%20%237%20%3Fx%3D1%20100%25/")
    assert list(events(parse(client.get(path)))) == [uid(doc)]


def test_the_service_key_is_the_hmac_of_the_issue():
    assert feed_key(SECRET, STUDENT) == key_of(STUDENT)
    assert feed_key(SECRET, AWKWARD_STUDENT) == key_of(AWKWARD_STUDENT)
    assert len(feed_key(SECRET, STUDENT)) == 64
    assert feed_path(SECRET, AWKWARD_STUDENT) == feed_url(AWKWARD_STUDENT)


def test_unknown_query_keys_are_ignored(client, db):
    doc = seed_session(db, participants=[STUDENT])
    calendar = parse(client.get(feed_url(STUDENT) + "&refresh=1&key2=x"))
    assert list(events(calendar)) == [uid(doc)]


def test_with_key_repeated_the_first_counts(client, db):
    doc = seed_session(db, participants=[STUDENT])
    assert list(events(parse(client.get(feed_url(STUDENT) + "&key=wrong")))) == [uid(doc)]
    response = client.get(
        f"/sessions/student/{STUDENT}/calendar.ics?key=wrong&key={key_of(STUDENT)}"
    )
    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


@pytest.mark.parametrize(
    "query",
    [
        "",  # no key
        "?key=",
        "?refresh=1",
        f"?key={key_of(OTHER_STUDENT)}",  # another student's key
        f"?key={key_of(STUDENT, secret='another-secret-' + 'x' * 32)}",  # another secret's
        f"?key={key_of(STUDENT).upper()}",  # the hex is lowercase
        f"?key={key_of(STUDENT)[:-1]}",
        f"?key={key_of(STUDENT)}0",
        "?key=%C3%A9t%C3%A9",  # not ASCII
    ],
)
def test_a_wrong_key_is_a_404_that_says_nothing_of_the_student(client, db, query):
    seed_session(db, participants=[STUDENT])
    path = f"/sessions/student/{STUDENT}/calendar.ics"
    known = client.get(path + query)
    assert (known.status_code, known.get_json()) == (404, NOT_FOUND)
    unknown = client.get(f"/sessions/student/nobody/calendar.ics{query}")
    assert (unknown.status_code, unknown.get_json()) == (404, NOT_FOUND)


def test_a_key_in_the_path_of_another_student_is_refused(client, db):
    seed_session(db, participants=[STUDENT, OTHER_STUDENT])
    response = client.get(feed_url(OTHER_STUDENT, key=key_of(STUDENT)))
    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


def test_without_a_secret_every_feed_is_a_404(make_app):
    app = make_app(JOIN_PAGE_URL=JOIN_PAGE)
    db = app.extensions["livesessions"].database.db
    seed_session(db, participants=[STUDENT])
    client = app.test_client()
    for path in (feed_url(STUDENT), f"/sessions/student/{STUDENT}/calendar.ics"):
        response = client.get(path)
        assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


def test_without_a_join_page_the_events_carry_no_url(make_app):
    app = make_app(CALENDAR_FEED_SECRET=SECRET)
    db = app.extensions["livesessions"].database.db
    doc = seed_session(db, roomUrl=ROOM_URL, participants=[STUDENT])
    response = app.test_client().get(feed_url(STUDENT))
    (event,) = parse(response).walk("VEVENT")
    assert str(event["UID"]) == uid(doc)
    assert "URL" not in event
    assert "LOCATION" not in event
    assert ROOM_URL.encode() not in response.get_data()


def test_the_join_page_gets_the_session_id_wherever_the_template_puts_it(make_app):
    app = make_app(
        CALENDAR_FEED_SECRET=SECRET, JOIN_PAGE_URL="https://lms.example/join?s={sessionId}&x=1"
    )
    db = app.extensions["livesessions"].database.db
    doc = seed_session(db, participants=[STUDENT])
    (event,) = parse(app.test_client().get(feed_url(STUDENT))).walk("VEVENT")
    assert str(event["URL"]) == f"https://lms.example/join?s={doc['_id']}&x=1"


def test_no_token_is_needed_and_a_bad_one_changes_nothing(client, db):
    doc = seed_session(db, participants=[STUDENT])
    response = client.get(feed_url(STUDENT), headers={"Authorization": "Bearer not-a-jwt"})
    assert list(events(parse(response))) == [uid(doc)]


def test_the_feed_is_documented(client):
    operation = client.get("/openapi.json").get_json()["paths"][
        "/sessions/student/{studentId}/calendar.ics"
    ]["get"]
    assert "security" not in operation
    assert list(operation["responses"]["200"]["content"]) == ["text/calendar"]
    assert set(operation["responses"]) == {"200", "404", "429", "500"}
    assert "Calendar not found" in operation["responses"]["404"]["description"]
    (parameter,) = operation["parameters"]
    assert (parameter["in"], parameter["name"], parameter["required"]) == ("query", "key", True)


def test_the_feed_and_wrong_keys_count_against_the_reads_limit(make_app):
    """The class the other calendar feeds have: guessing keys is limited like any read."""
    app = make_app(
        CALENDAR_FEED_SECRET=SECRET, RATE_LIMITS_ENABLED=True, RATE_LIMIT_READS="3/minute"
    )
    client = app.test_client()
    assert client.get(feed_url(STUDENT)).status_code == 200
    assert client.get(f"/sessions/student/{STUDENT}/calendar.ics?key=guess").status_code == 404
    assert client.get("/sessions/course/c/calendar.ics").status_code == 200
    refused = client.get(feed_url(STUDENT))
    assert (refused.status_code, refused.get_json()) == (
        429,
        {"message": "Too many requests, please try again later."},
    )


# -- flask --app wsgi calendar link STUDENT_ID ----------------------------------------------


@pytest.mark.parametrize("student_id", [STUDENT, AWKWARD_STUDENT])
def test_the_cli_prints_a_link_that_works(app, client, db, student_id):
    doc = seed_session(db, participants=[student_id])
    result = app.test_cli_runner().invoke(args=["calendar", "link", student_id])
    assert result.exit_code == 0, result.output
    assert result.output == feed_url(student_id) + "\n"
    assert SECRET not in result.output
    path = result.output.strip()
    assert list(events(parse(client.get(path)))) == [uid(doc)]


def test_the_cli_refuses_without_a_secret(make_app):
    result = make_app().test_cli_runner().invoke(args=["calendar", "link", STUDENT])
    assert result.exit_code == 1
    assert result.output == (
        "Error: CALENDAR_FEED_SECRET is not set: the student calendar feeds are off\n"
    )


@pytest.mark.parametrize("student_id", ["a/b", ".", "..", "tab\there", "x" * 129])
def test_the_cli_refuses_an_id_no_session_can_hold(app, student_id):
    result = app.test_cli_runner().invoke(args=["calendar", "link", student_id])
    assert result.exit_code == 2
    assert "not a student id the service admits" in result.output
    assert "/sessions/student/" not in result.output
