"""A class end to end over loopback: private room, join tokens, a simulated call on the
Daily sandbox whose signed webhooks drive the status and attendance, the attendance CSV, the
course's and the student's calendar feeds."""

import csv
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from icalendar import Calendar

from livesessions.sessions.feed_keys import feed_path
from tests.support.factories import INSTRUCTOR, iso, session_payload

STUDENT = "student-1"


CALENDAR_SECRET = "classroom-calendar-secret-" + "0123456789abcdef" * 2
JOIN_PAGE = "https://lms.example/live/{sessionId}"


@pytest.fixture
def stack_config():
    return {
        "DAILY_ROOM_PRIVACY": "private",
        "CALENDAR_FEED_SECRET": CALENDAR_SECRET,
        "JOIN_PAGE_URL": JOIN_PAGE,
    }


def test_a_private_class_from_join_to_attendance(stack, token_for):
    base, auth, daily, _, _ = stack
    student = {"Authorization": f"Bearer {token_for(user_id=STUDENT, role='student', name='Ann')}"}
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
    session = requests.post(
        f"{base}/sessions",
        json=session_payload(scheduledAt=iso(starts), duration=30),
        headers=auth,
    ).json()
    room, session_url = session["roomName"], f"{base}/sessions/{session['_id']}"
    assert daily.rooms[room]["privacy"] == "private"
    assert requests.get(session["roomUrl"]).status_code == 403  # the URL alone gets nobody in

    # Not admitted yet: no token. Admitted: a participant token that opens the room.
    refused = requests.post(f"{session_url}/join", headers=student)
    assert (refused.status_code, refused.json()) == (
        403,
        {"message": "You are not a participant of this live session"},
    )
    requests.post(f"{session_url}/participants", json={"studentId": STUDENT}).raise_for_status()
    joined = requests.post(f"{session_url}/join", headers=student).json()
    assert joined["expiresAt"] == iso(starts + timedelta(minutes=30))
    assert parse_qs(urlsplit(joined["joinUrl"]).query)["t"] == [joined["token"]]
    page = requests.get(joined["joinUrl"])
    assert page.status_code == 200
    assert "token accepted" in page.text
    claims = daily.verify_meeting_token(joined["token"], room)
    assert (claims["user_id"], claims["user_name"], claims["is_owner"]) == (STUDENT, "Ann", False)
    owner = requests.post(f"{session_url}/join", headers=auth).json()
    assert daily.verify_meeting_token(owner["token"], room)["is_owner"] is True
    assert daily.verify_meeting_token(owner["token"], "another-room") is None

    # The call: the sandbox sends Daily's signed webhooks to the API as people come and go.
    teacher_visit = daily.join_call(room, token=owner["token"])
    assert requests.get(session_url, headers=auth).json()["status"] == "live"
    student_visit = daily.join_call(room, token=joined["token"])
    during = requests.get(f"{session_url}/attendance", headers=auth).json()
    assert [(a["userId"], a["role"], a["present"]) for a in during["attendees"]] == [
        (INSTRUCTOR, "instructor", True),
        (STUDENT, "participant", True),
    ]
    daily.leave_call(room, student_visit)
    daily.leave_call(room, teacher_visit)
    # The room emptied before the class's time (it starts in two minutes): only the end of
    # its time ends a class, so it is still to come.
    assert requests.get(session_url, headers=auth).json()["status"] == "scheduled"
    after = requests.get(f"{session_url}/attendance", headers=auth).json()
    assert [a["present"] for a in after["attendees"]] == [False, False]
    assert all(a["lastLeftAt"] is not None and a["visits"] == 1 for a in after["attendees"])
    assert after["totals"]["participantsAttended"] == after["totals"]["participantsAdmitted"] == 1
    delivered = [(d["type"], d["status"]) for d in daily.webhook_deliveries]
    assert delivered == [
        ("meeting.started", 200),
        ("participant.joined", 200),
        ("participant.joined", 200),
        ("participant.left", 200),
        ("participant.left", 200),
        ("meeting.ended", 200),
    ]
    again = requests.post(f"{session_url}/join", headers=student)  # and can be joined again
    assert again.status_code == 200
    assert daily.verify_meeting_token(again.json()["token"], room)["user_id"] == STUDENT

    feed = requests.get(f"{base}/sessions/course/{session['course']}/calendar.ics")
    (event,) = Calendar.from_ical(feed.content).walk("VEVENT")
    assert str(event["UID"]) == f"{session['_id']}@livesessions"
    assert str(event["URL"]) == session["roomUrl"]
    assert event.decoded("DTSTART") == starts

    # The student's own feed: no token, its key instead; the event links to the join page.
    mine = requests.get(base + feed_path(CALENDAR_SECRET, STUDENT))
    assert mine.headers["Content-Type"] == "text/calendar; charset=utf-8"
    (event,) = Calendar.from_ical(mine.content).walk("VEVENT")
    assert str(event["UID"]) == f"{session['_id']}@livesessions"
    assert str(event["URL"]) == JOIN_PAGE.replace("{sessionId}", session["_id"])
    assert session["roomUrl"].encode() not in mine.content
    assert requests.get(base + feed_path("another-secret-" * 3, STUDENT)).status_code == 404

    # The attendance as CSV: the JSON's attendees, row for row.
    download = requests.get(f"{session_url}/attendance.csv", headers=auth)
    rows = list(csv.reader(io.StringIO(download.text, newline="")))
    assert rows[0][:3] == ["userId", "userName", "role"]
    assert [row[:3] for row in rows[1:]] == [
        [a["userId"], a["userName"], a["role"]] for a in after["attendees"]
    ]
