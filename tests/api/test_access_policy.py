"""AUTH_POLICY: the attacks of the security review, refused in `strict`; `compat` answers as
the spec; `audit` answers the same and reports every call made without a token."""

import logging

import pytest

from livesessions.config_report import log_startup_report
from tests.support.factories import (
    ADMIN,
    COURSE,
    INSTRUCTOR,
    OTHER_INSTRUCTOR,
    in_class,
    iso,
    seed_session,
    session_payload,
    starting_soon,
)

STUDENT = "student-7"
MISSING_TOKEN = {"message": "Authorization header with a Bearer token is required"}
RECORDING_FORBIDDEN = {"message": "You are not allowed to record this live session"}
PARTICIPANTS_FORBIDDEN = {
    "message": "You are not allowed to change this live session's participants"
}
CREATE_FORBIDDEN = {"message": "You are not allowed to create live sessions"}
RECORDED = "https://res.cloudinary.com/c/video/upload/v1/live-sessions/x/y-recording.mp4"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def strict(make_app):
    """The production-like deployment of the review: strict, private rooms."""
    return make_app(AUTH_POLICY="strict", DAILY_ROOM_PRIVACY="private")


@pytest.fixture
def tokens(token_for):
    return {
        "instructor": bearer(token_for(INSTRUCTOR)),
        "other": bearer(token_for(OTHER_INSTRUCTOR)),
        "student": bearer(token_for(STUDENT, role="student")),
        "admin": bearer(token_for(ADMIN, role="admin")),
    }


def stored(app, doc):
    return app.extensions["livesessions"].database.db.livesessions.find_one({"_id": doc["_id"]})


def seeded(app, **fields):
    return seed_session(app.extensions["livesessions"].database.db, **fields)


# -- attack 1: anyone records any class, then downloads it -------------------------------


def test_strict_recording_needs_the_owners_token(strict, daily, tokens):
    client = strict.test_client()
    doc = seeded(strict, roomName="room-a", status="live", scheduledAt=in_class())
    start = {"roomName": "room-a"}
    anonymous = client.post("/sessions/recording/start", json=start)
    assert (anonymous.status_code, anonymous.get_json()) == (401, MISSING_TOKEN)
    student = client.post("/sessions/recording/start", json=start, headers=tokens["student"])
    assert (student.status_code, student.get_json()) == (403, RECORDING_FORBIDDEN)
    assert daily.calls(kind="start") == []
    assert strict.extensions["livesessions"].database.db.recordings.count_documents({}) == 0
    owner = client.post("/sessions/recording/start", json=start, headers=tokens["instructor"])
    assert owner.get_json()["recording"]["status"] == "recording"
    stop = {"recordingId": owner.get_json()["recording"]["id"]}
    anonymous = client.post("/sessions/recording/stop", json=stop)
    assert (anonymous.status_code, anonymous.get_json()) == (401, MISSING_TOKEN)
    refused = client.post("/sessions/recording/stop", json=stop, headers=tokens["other"])
    assert (refused.status_code, refused.get_json()) == (403, RECORDING_FORBIDDEN)
    assert stored(strict, doc)["activeRecording"] == stop["recordingId"]  # still running
    admin = client.post("/sessions/recording/stop", json=stop, headers=tokens["admin"])
    assert admin.get_json()["recording"]["status"] == "finished"


def test_strict_open_lists_give_no_recording_url_to_anonymous_readers(strict, tokens):
    client = strict.test_client()
    seeded(strict, isRecorded=True, recordingUrl=RECORDED)
    for path in (f"/sessions/course/{COURSE}", f"/sessions/instructor/{INSTRUCTOR}"):
        (anonymous,) = client.get(path).get_json()
        assert (anonymous["isRecorded"], anonymous["recordingUrl"]) == (True, None)
        (signed_in,) = client.get(path, headers=tokens["student"]).get_json()
        assert signed_in["recordingUrl"] == RECORDED
        assert {k: v for k, v in anonymous.items() if k != "recordingUrl"} == {
            k: v for k, v in signed_in.items() if k != "recordingUrl"
        }


def test_compat_lists_show_the_recording_url_as_the_spec(client, db):
    seed_session(db, isRecorded=True, recordingUrl=RECORDED)
    (listed,) = client.get(f"/sessions/course/{COURSE}").get_json()
    assert listed["recordingUrl"] == RECORDED


ENROLLED = ["student-1", "student-2"]
OPEN_LISTS = (f"/sessions/course/{COURSE}", f"/sessions/instructor/{INSTRUCTOR}")


def test_strict_anonymous_readers_see_no_participants_anywhere(strict, tokens):
    """Attack: without a token, read who is enrolled in which class from the open course
    and instructor lists (the enrolment the students' calendar keys protect)."""
    client = strict.test_client()
    doc = seeded(strict, participants=ENROLLED, isRecorded=True, recordingUrl=RECORDED)
    forged = bearer("not-a-token")  # ignored on the open lists: still anonymous
    for path in OPEN_LISTS:
        for headers in ({}, forged):
            (anonymous,) = client.get(path, headers=headers).get_json()
            assert (anonymous["participants"], anonymous["recordingUrl"]) == ([], None)
        (signed_in,) = client.get(path, headers=tokens["student"]).get_json()
        assert signed_in["participants"] == ENROLLED
        hidden = ("participants", "recordingUrl")
        assert {k: v for k, v in anonymous.items() if k not in hidden} == {
            k: v for k, v in signed_in.items() if k not in hidden
        }
    for path in (f"/sessions/{doc['_id']}", "/sessions"):  # no session shown at all
        response = client.get(path)
        assert (response.status_code, response.get_json()) == (401, MISSING_TOKEN)
    for path in OPEN_LISTS:  # the calendar feeds name no participant
        feed = client.get(f"{path}/calendar.ics")
        assert feed.status_code == 200
        assert not any(student.encode() in feed.data for student in ENROLLED)
    assert stored(strict, doc)["participants"] == ENROLLED


def test_compat_anonymous_readers_see_participants_as_the_node_service(client, db):
    seed_session(db, participants=ENROLLED)
    for path in OPEN_LISTS:
        (listed,) = client.get(path).get_json()
        assert listed["participants"] == ENROLLED


# -- attack 2: any logged-in user admits themselves to a private class, then joins --------


def test_strict_private_rooms_admit_whom_their_instructor_admits(strict, daily, tokens):
    client = strict.test_client()
    doc = seeded(strict, scheduledAt=starting_soon())
    add = f"/sessions/{doc['_id']}/participants"
    itself = client.post(add, json={"studentId": STUDENT}, headers=tokens["student"])
    assert (itself.status_code, itself.get_json()) == (403, PARTICIPANTS_FORBIDDEN)
    assert stored(strict, doc)["participants"] == []
    joined = client.post(f"/sessions/{doc['_id']}/join", headers=tokens["student"])
    assert (joined.status_code, joined.get_json()) == (
        403,
        {"message": "You are not a participant of this live session"},
    )
    assert daily.calls(kind="token") == []
    admitted = client.post(add, json={"studentId": STUDENT}, headers=tokens["instructor"])
    assert admitted.get_json()["participants"] == [STUDENT]
    joined = client.post(f"/sessions/{doc['_id']}/join", headers=tokens["student"])
    assert joined.status_code == 200
    assert joined.get_json()["token"]


def test_strict_public_rooms_let_a_student_change_only_their_own_seat(make_app, tokens):
    app = make_app(AUTH_POLICY="strict")
    client = app.test_client()
    doc = seeded(app, participants=["someone"], roomPrivacy="public")
    add = f"/sessions/{doc['_id']}/participants"
    anonymous = client.post(add, json={"studentId": STUDENT})
    assert (anonymous.status_code, anonymous.get_json()) == (401, MISSING_TOKEN)
    mine = client.post(add, json={"studentId": STUDENT}, headers=tokens["student"])
    assert mine.get_json()["participants"] == ["someone", STUDENT]
    other = client.post(add, json={"studentId": "friend"}, headers=tokens["student"])
    assert (other.status_code, other.get_json()) == (403, PARTICIPANTS_FORBIDDEN)
    freeing = client.delete(f"{add}/someone", headers=tokens["student"])
    assert (freeing.status_code, freeing.get_json()) == (403, PARTICIPANTS_FORBIDDEN)
    leaving = client.delete(f"{add}/{STUDENT}", headers=tokens["student"])
    assert (leaving.status_code, leaving.get_json()["participants"]) == (200, ["someone"])
    assert stored(app, doc)["participants"] == ["someone"]


def restarted(make_app, app, **settings):
    """`app` started again with `settings`, over the same stored sessions (each embedded
    store is the app's own, so they are copied over; a real server's database is shared)."""
    again = make_app(**settings)
    before, after = (a.extensions["livesessions"].database for a in (app, again))
    if before.embedded:
        after.db.livesessions.insert_many(list(before.db.livesessions.find()))
    return again


def self_added(app, doc, tokens):
    path = f"/sessions/{doc['_id']}/participants"
    return app.test_client().post(path, json={"studentId": STUDENT}, headers=tokens["student"])


def test_strict_self_admission_follows_the_room_as_created_not_todays_setting(
    make_app, daily, tokens
):
    """Attack: rooms were private; the setting is switched to public; a student admits
    themselves to an old private room (and could then get a meeting token for it)."""
    private = make_app(AUTH_POLICY="strict", DAILY_ROOM_PRIVACY="private")
    made = private.test_client().post(
        "/sessions", json=session_payload(), headers=tokens["instructor"]
    )
    assert made.status_code == 201, made.get_json()
    old = made.get_json()
    assert daily.rooms[old["roomName"]]["privacy"] == "private"
    assert "roomPrivacy" not in old  # kept for the service, never shown
    public = restarted(make_app, private, AUTH_POLICY="strict", DAILY_ROOM_PRIVACY="public")

    refused = self_added(public, old, tokens)
    assert (refused.status_code, refused.get_json()) == (403, PARTICIPANTS_FORBIDDEN)
    assert stored(public, old)["participants"] == []
    assert stored(public, old)["roomPrivacy"] == "private"
    joined = public.test_client().post(f"/sessions/{old['_id']}/join", headers=tokens["student"])
    assert joined.status_code == 403
    assert daily.calls(kind="token") == []

    client = public.test_client()
    new = client.post("/sessions", json=session_payload(), headers=tokens["instructor"])
    assert daily.rooms[new.get_json()["roomName"]]["privacy"] == "public"
    admitted = self_added(public, new.get_json(), tokens)
    assert (admitted.status_code, admitted.get_json()["participants"]) == (200, [STUDENT])
    assert "roomPrivacy" not in admitted.get_json()
    assert stored(public, new.get_json())["participants"] == [STUDENT]
    assert stored(public, new.get_json())["roomPrivacy"] == "public"


def test_strict_sessions_stored_without_room_privacy_admit_no_student_themselves(make_app, tokens):
    """A session stored before `roomPrivacy` was kept (the Node service's, or an earlier
    version's) may be in a private room: it reads as private, even under public rooms."""
    app = make_app(AUTH_POLICY="strict", DAILY_ROOM_PRIVACY="public")
    doc = seeded(app)
    refused = self_added(app, doc, tokens)
    assert (refused.status_code, refused.get_json()) == (403, PARTICIPANTS_FORBIDDEN)
    assert stored(app, doc) == doc
    path = f"/sessions/{doc['_id']}/participants"
    admitted = app.test_client().post(
        path, json={"studentId": STUDENT}, headers=tokens["instructor"]
    )
    assert (admitted.status_code, admitted.get_json()["participants"]) == (200, [STUDENT])


# -- attack 3: anyone cancels or ends any class ------------------------------------------


@pytest.mark.parametrize("status", ["cancelled", "live"])
def test_strict_status_changes_are_the_owners(strict, tokens, status):
    client = strict.test_client()
    doc = seeded(strict)
    path = f"/sessions/{doc['_id']}/status"
    anonymous = client.patch(path, json={"status": status})
    assert (anonymous.status_code, anonymous.get_json()) == (401, MISSING_TOKEN)
    student = client.patch(path, json={"status": status}, headers=tokens["student"])
    assert (student.status_code, student.get_json()) == (
        403,
        {"message": "You are not allowed to modify this live session"},
    )
    assert stored(strict, doc) == doc
    owner = client.patch(path, json={"status": status}, headers=tokens["instructor"])
    assert owner.get_json()["status"] == status


# -- attack 6: a student creates sessions under an instructor's name ---------------------


def test_strict_creation_needs_an_instructor_creating_for_themselves(strict, daily, tokens):
    client = strict.test_client()
    body = session_payload(instructorId=INSTRUCTOR)
    student = client.post("/sessions", json=body, headers=tokens["student"])
    assert (student.status_code, student.get_json()) == (403, CREATE_FORBIDDEN)
    impostor = client.post("/sessions", json=body, headers=tokens["other"])
    assert (impostor.status_code, impostor.get_json()) == (
        403,
        {"message": "Only an admin may create a live session for another instructor"},
    )
    assert daily.rooms == {}
    assert strict.extensions["livesessions"].database.db.livesessions.count_documents({}) == 0
    own = client.post("/sessions", json=session_payload(), headers=tokens["other"])
    assert own.get_json()["instructor"] == OTHER_INSTRUCTOR
    for_them = client.post("/sessions", json=body, headers=tokens["admin"])
    assert for_them.get_json()["instructor"] == INSTRUCTOR


def test_instructor_roles_are_configurable(make_app, daily, token_for):
    app = make_app(AUTH_POLICY="strict", INSTRUCTOR_ROLES="teacher,tutor")
    client = app.test_client()
    tutor = bearer(token_for(OTHER_INSTRUCTOR, role="tutor"))
    instructor = bearer(token_for(INSTRUCTOR, role="instructor"))
    created = client.post("/sessions", json=session_payload(), headers=tutor)
    assert (created.status_code, created.get_json()["instructor"]) == (201, OTHER_INSTRUCTOR)
    refused = client.post("/sessions", json=session_payload(), headers=instructor)
    assert (refused.status_code, refused.get_json()) == (403, CREATE_FORBIDDEN)


# -- compat: the spec's rules, a token changes nothing -----------------------------------


def test_compat_ignores_tokens_on_open_endpoints(client, db, token_for):
    doc = seed_session(db)
    add = f"/sessions/{doc['_id']}/participants"
    for headers in (
        bearer("not-a-jwt"),
        {"Authorization": "Basic eA=="},
        bearer(token_for(STUDENT, role="student")),  # another student's seat: allowed
    ):
        response = client.post(add, json={"studentId": "s1"}, headers=headers)
        assert response.status_code == 200
    assert client.patch(f"/sessions/{doc['_id']}/status", json={"status": "live"}).status_code == (
        200
    )
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == ["s1"]


def test_compat_creation_under_another_instructor_stays_as_the_spec(client, daily, token_for):
    body = session_payload(instructorId=OTHER_INSTRUCTOR)
    headers = bearer(token_for(STUDENT, role="student"))
    assert client.post("/sessions", json=body, headers=headers).get_json()["instructor"] == (
        OTHER_INSTRUCTOR
    )


# -- audit: compat's answers, and each anonymous call reported ---------------------------


def test_audit_logs_and_counts_every_call_without_a_token(make_app, daily, token_for, caplog):
    app = make_app(AUTH_POLICY="audit")
    client = app.test_client()
    doc = seeded(app, roomName="room-a", scheduledAt=in_class(), status="live")
    add = f"/sessions/{doc['_id']}/participants"
    agent = {"User-Agent": "old-frontend/1.2", "X-Request-ID": "req-42"}
    with caplog.at_level(logging.WARNING, logger="livesessions.access"):
        assert client.post(add, json={"studentId": "a"}, headers=agent).status_code == 200
        assert client.post(add, json={"studentId": "b"}).status_code == 200
        assert client.delete(f"{add}/b").status_code == 200
        same = client.patch(f"/sessions/{doc['_id']}/status", json={"status": "live"})
        assert (same.status_code, same.get_json()["status"]) == (200, "live")
        started = client.post("/sessions/recording/start", json={"roomName": "room-a"})
        recording = {"recordingId": started.get_json()["recording"]["id"]}
        assert client.post("/sessions/recording/stop", json=recording).status_code == 200
        signed = bearer(token_for(INSTRUCTOR))
        assert client.post(add, json={"studentId": "c"}, headers=signed).status_code == 200
    lines = [r for r in caplog.records if r.name == "livesessions.access"]
    assert len(lines) == 6  # the signed call is not reported
    first = lines[0]
    assert first.getMessage() == f"unauthenticated add_participant on {doc['_id']}"
    assert (first.endpoint, first.target) == ("add_participant", doc["_id"])
    assert (first.user_agent, first.client_request_id) == ("old-frontend/1.2", "req-42")
    assert lines[4].target == "room-a"
    assert client.get("/readyz").get_json()["unauthenticatedWrites"] == {
        "add_participant": 2,
        "remove_participant": 1,
        "set_status": 1,
        "start_recording": 1,
        "stop_recording": 1,
    }


def test_readyz_has_no_counts_outside_audit(client):
    assert "unauthenticatedWrites" not in client.get("/readyz").get_json()


def test_production_in_compat_says_what_it_allows(production_app, make_app, caplog):
    log_startup_report(production_app.config)
    started = " ".join(r.getMessage() for r in caplog.get_records("call"))
    assert "AUTH_POLICY=compat: participants, status and recording start/stop accept" in started
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        log_startup_report(make_app(AUTH_POLICY="strict").config)
    assert "AUTH_POLICY" not in caplog.text


def test_an_unknown_policy_is_refused_at_start(make_app):
    from livesessions.config import ConfigError

    with pytest.raises(ConfigError, match="AUTH_POLICY must be compat or audit or strict"):
        make_app(AUTH_POLICY="lenient")


def test_create_in_strict_without_a_role_claim(strict, daily, token_for):
    token = bearer(token_for(INSTRUCTOR, role=None))
    body = session_payload(scheduledAt=iso(starting_soon()))
    response = strict.test_client().post("/sessions", json=body, headers=token)
    assert (response.status_code, response.get_json()) == (403, CREATE_FORBIDDEN)
