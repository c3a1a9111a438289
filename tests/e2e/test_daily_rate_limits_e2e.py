"""Against the Daily sandbox with Daily's rate limits on, over real loopback HTTP: a burst
of recording starts waits its turns and every one starts; joins cost Daily nothing and
the sandbox accepts their tokens; deletions past the limit are finished by the worker."""

import threading
import time

import pytest
import requests

from livesessions.daily.limits import LIMITS, RECORDING_START
from livesessions.jobs.repository import ROOM_DELETION
from tests.support.factories import iso, session_payload, starting_soon

pytestmark = pytest.mark.slow


def create_sessions(base, auth, count):
    payload = session_payload(scheduledAt=iso(starting_soon()))
    sessions = [requests.post(f"{base}/sessions", json=payload, headers=auth) for _ in range(count)]
    assert [response.status_code for response in sessions] == [201] * count
    return [response.json() for response in sessions]


def at_once(count, action):
    """Run `action(n)` in `count` threads released together; (results, seconds taken)."""
    barrier, results = threading.Barrier(count + 1), [None] * count

    def run(n):
        barrier.wait()
        results[n] = action(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join(timeout=60)
    return results, time.monotonic() - began


def test_recording_starts_past_the_limit_wait_their_turn(stack):
    base, auth, daily, _, _ = stack
    rooms = [session["roomName"] for session in create_sessions(base, auth, 7)]
    daily.rate_limits = True

    def start(n):
        return requests.post(f"{base}/sessions/recording/start", json={"roomName": rooms[n]})

    answers, took = at_once(len(rooms), start)
    assert [answer.status_code for answer in answers] == [200] * len(rooms)
    assert sorted(answer.json()["recording"]["room_name"] for answer in answers) == sorted(rooms)
    assert daily.rate_limited[RECORDING_START] == 0  # Daily never had to refuse one
    assert len(daily.recordings) == len(rooms)
    assert took >= 6 * LIMITS[RECORDING_START][0].seconds  # 1 a second: they waited


def test_joins_make_no_daily_call_and_daily_accepts_their_tokens(stack, token_for):
    base, auth, daily, _, _ = stack
    (session,) = create_sessions(base, auth, 1)
    daily.rate_limits = True
    calls_before = sum(daily.api_calls.values())
    students = [f"student-{n}" for n in range(30)]
    for student in students:
        added = requests.post(
            f"{base}/sessions/{session['_id']}/participants", json={"studentId": student}
        )
        assert added.status_code == 200
    joined = [
        requests.post(
            f"{base}/sessions/{session['_id']}/join",
            headers={"Authorization": f"Bearer {token_for(user_id=student, role='student')}"},
        ).json()
        for student in students
    ]
    # at most the one domain lookup of this process, then nothing per join
    assert sum(daily.api_calls.values()) - calls_before <= 1
    assert daily.meeting_tokens == []
    accepted = [daily.verify_meeting_token(j["token"], session["roomName"]) for j in joined]
    assert [(claims["user_id"], claims["is_owner"]) for claims in accepted] == [
        (student, False) for student in students
    ]
    page = requests.get(joined[0]["joinUrl"])  # the sandbox's room page, `?t=` the token
    assert "token accepted for user_name student-0" in page.text


def test_deletions_past_the_limit_answer_at_once_and_leave_jobs(stack):
    """53 deletions at once: Daily allows 2 a second and 50 in 30 s, and this process one
    call in flight (DAILY_MAX_CONCURRENT_CALLS). Each deletion is answered 200 at once,
    whichever way its room goes: deleted now, or left to the worker's job because no turn
    was free or no slot freed in time (how many of each depends on the machine's speed;
    none is a 500). The worker's part: test_daily_stricter_limits_e2e."""
    base, auth, daily, _, app = stack
    sessions = create_sessions(base, auth, 53)
    daily.rate_limits = True
    daily.reset_rate_limits()
    services = app.extensions["livesessions"]
    waits = []  # every wait for a turn or a 429's retry, in seconds
    services.daily.pacer.sleep = services.daily.sleep = waits.append
    answers, _ = at_once(
        len(sessions),
        lambda n: requests.delete(f"{base}/sessions/{sessions[n]['_id']}", headers=auth),
    )
    assert [answer.status_code for answer in answers] == [200] * len(sessions)
    assert {answer.json()["message"] for answer in answers} == {"Live session deleted successfully"}
    assert waits == []  # nobody waited for the window to slide
    db = services.database.db
    left = [s["roomName"] for s in sessions if s["roomName"] in daily.rooms]
    assert len(left) >= 3  # Daily allows 2 deletions a second (more if turns fall back)
    queued = list(db.recording_jobs.find({"kind": ROOM_DELETION}))
    assert sorted(job["room"] for job in queued) == sorted(left)
    # A call reaching Daily later after its turn than the client's margin (a loaded
    # machine) can be refused; its room then goes to the job like the others: none lost.
    refused = {path.rsplit("/", 1)[1] for family, _, path in daily.refused if family == "slow"}
    assert refused <= set(left)
