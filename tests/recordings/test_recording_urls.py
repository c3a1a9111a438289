"""A recording's URL wherever a session is shown: with RECORDING_DELIVERY=authenticated it
is signed, for RECORDING_URL_TTL_SECONDS, only for callers who may list the session's
recordings (the rule of GET /sessions/:id/recordings); the Cloudinary sandbox refuses it once
expired. The uploads run through the real worker, the URLs are fetched over loopback."""

import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import cloudinary.utils
import pytest

import livesessions.recordings.cloudinary as cloudinary_gateway
from livesessions.clock import to_seconds, utcnow
from livesessions.errors import RECORDINGS_FORBIDDEN
from tests.support.factories import COURSE, INSTRUCTOR, in_class, seed_session
from tests.support.sandbox import UPLOAD_CHUNK, cloudinary_settings

REMOVED = "student-removed"
ADMITTED = "student-admitted"
STRANGER = "student-stranger"
TTL = 900
DATA = bytes(range(256)) * (3 * UPLOAD_CHUNK // 256)


def bearer(token_for, user, role="student"):
    return {"Authorization": f"Bearer {token_for(user, role)}"}


def recorded(make_app, daily, cloud, **settings):
    """An app on the Cloudinary sandbox, and a live session of room-a (REMOVED and ADMITTED
    admitted) whose recording Daily finished and the worker uploaded."""
    app = make_app(**cloudinary_settings(cloud), RECORDING_MAX_ATTEMPTS=1, **settings)
    db = app.extensions["livesessions"].database.db
    session = seed_session(
        db, roomName="room-a", status="live", scheduledAt=in_class(), participants=[REMOVED]
    )
    db.livesessions.update_one({"_id": session["_id"]}, {"$push": {"participants": ADMITTED}})
    daily.files["rec-1"] = DATA
    payload = {"recording_id": "rec-1", "room_name": "room-a", "duration": 600}
    envelope = {"type": "recording.ready-to-download", "id": str(uuid.uuid4()), "payload": payload}
    assert app.test_client().post("/sessions/webhook/daily", json=envelope).status_code == 200
    assert app.extensions["livesessions"].make_worker(periodic=[]).drain() == 1
    return app, session


def every_session_url(client, session, headers):
    """`recordingUrl` as GET /sessions/:id, the list, the course and the instructor lists
    show it to the caller of `headers`, each keyed by where it was read."""
    detail = client.get(f"/sessions/{session['_id']}", headers=headers)
    page = client.get("/sessions", headers=headers)
    course = client.get(f"/sessions/course/{COURSE}", headers=headers)
    instructor = client.get(f"/sessions/instructor/{INSTRUCTOR}", headers=headers)
    for response in (detail, page, course, instructor):
        assert response.status_code == 200, response.get_json()
    (listed,) = page.get_json()["sessions"]
    ((by_course,), (by_instructor,)) = (course.get_json(), instructor.get_json())
    shown = {"detail": detail.get_json(), "list": listed, "course": by_course}
    shown["instructor"] = by_instructor
    for doc in shown.values():
        assert doc["isRecorded"] is True  # the shape kept: the key is there, null or not
    return {where: doc["recordingUrl"] for where, doc in shown.items()}


def fetched(url):
    """GET `url` over loopback (urllib: the `daily` fixture's `responses` holds `requests`):
    its status, its X-Cld-Error and its body."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["X-Cld-Error"], response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["X-Cld-Error"], refused.read()


def expires_at(url):
    return int(parse_qs(urlsplit(url).query)["expires_at"][0])


@pytest.fixture
def held(monkeypatch):
    """The service's clock, held: signed URLs expire TTL after it. The SDK signs each
    download URL with a timestamp of its own (`cloudinary.utils.now`, the wall clock),
    held too: two reads a second apart would otherwise differ however alike the rule."""
    now = utcnow()
    monkeypatch.setattr(cloudinary_gateway, "utcnow", lambda: now, raising=False)
    monkeypatch.setattr(cloudinary.utils, "now", lambda: str(to_seconds(now)))
    return now


@pytest.mark.parametrize("policy", ["compat", "strict"])
def test_who_may_not_list_recordings_reads_no_recording_url(
    make_app, daily, cloud, token_for, policy
):
    """Attack: a student refused GET /sessions/:id/recordings reads the signed URL from the
    session itself (its detail, the list, the course and instructor lists)."""
    app, session = recorded(
        make_app, daily, cloud, RECORDING_DELIVERY="authenticated", AUTH_POLICY=policy
    )
    client = app.test_client()
    stranger = bearer(token_for, STRANGER)
    listing = client.get(f"/sessions/{session['_id']}/recordings", headers=stranger)
    assert (listing.status_code, listing.get_json()) == (403, {"message": RECORDINGS_FORBIDDEN})
    urls = every_session_url(client, session, stranger)
    assert urls == dict.fromkeys(urls, None)
    for path in (f"/sessions/course/{COURSE}", f"/sessions/instructor/{INSTRUCTOR}"):
        assert [doc["recordingUrl"] for doc in client.get(path).get_json()] == [None]
    assert cloud.downloads == []
    stored = app.extensions["livesessions"].database.db.livesessions.find_one()
    assert stored["recordingAsset"]["type"] == "authenticated"  # a recording to hide


@pytest.mark.parametrize("policy", ["compat", "strict"])
def test_a_removed_student_reads_no_recording_url_anywhere_and_the_old_one_expires(
    make_app, daily, cloud, token_for, held, policy
):
    """Attack: a student reads the signed URL while admitted, is removed from the class,
    then reads the session wherever it is shown, and keeps downloading the old URL."""
    app, session = recorded(
        make_app,
        daily,
        cloud,
        RECORDING_DELIVERY="authenticated",
        RECORDING_URL_TTL_SECONDS=TTL,
        AUTH_POLICY=policy,
    )
    client = app.test_client()
    student = bearer(token_for, REMOVED)
    before = every_session_url(client, session, student)
    assert len(set(before.values())) == 1  # the same rule, the same URL, everywhere
    kept = before["detail"]
    assert expires_at(kept) == to_seconds(held) + TTL
    assert fetched(kept) == (200, None, DATA)

    path = f"/sessions/{session['_id']}/participants/{REMOVED}"
    removed = client.delete(path, headers=bearer(token_for, INSTRUCTOR, "instructor"))
    assert removed.status_code == 200
    stored = app.extensions["livesessions"].database.db.livesessions.find_one()
    assert stored["participants"] == [ADMITTED]

    listing = client.get(f"/sessions/{session['_id']}/recordings", headers=student)
    assert (listing.status_code, listing.get_json()) == (403, {"message": RECORDINGS_FORBIDDEN})
    assert every_session_url(client, session, student) == dict.fromkeys(before, None)
    assert every_session_url(client, session, bearer(token_for, STRANGER)) == dict.fromkeys(
        before, None
    )
    anonymous = client.get(f"/sessions/course/{COURSE}").get_json()
    assert [doc["recordingUrl"] for doc in anonymous] == [None]

    # The URL read while admitted can't be taken back: it works until it expires, no longer.
    expiry = expires_at(kept)
    cloud.clock = lambda: expiry - 1
    assert fetched(kept) == (200, None, DATA)
    cloud.clock = lambda: expiry
    status, reason, body = fetched(kept)
    assert (status, reason) == (401, f"Download URL expired at {expiry}")
    assert DATA not in body
    assert [d["status"] for d in cloud.downloads] == [200, 200, 401]


def test_callers_who_may_list_recordings_get_urls_signed_for_the_ttl(
    make_app, daily, cloud, token_for, held
):
    app, session = recorded(
        make_app,
        daily,
        cloud,
        RECORDING_DELIVERY="authenticated",
        RECORDING_URL_TTL_SECONDS=TTL,
        AUTH_POLICY="strict",
    )
    client = app.test_client()
    for headers in (
        bearer(token_for, ADMITTED),
        bearer(token_for, INSTRUCTOR, "instructor"),
        bearer(token_for, "an-admin", "admin"),
    ):
        urls = every_session_url(client, session, headers)
        assert {expires_at(url) for url in urls.values()} == {to_seconds(held) + TTL}
        (recording,) = client.get(f"/sessions/{session['_id']}/recordings", headers=headers).json
        assert expires_at(recording["url"]) == to_seconds(held) + TTL
        assert fetched(recording["url"]) == (200, None, DATA)
    later = held + timedelta(seconds=TTL + 1)
    cloud.clock = later.timestamp
    assert fetched(urls["list"])[0] == fetched(recording["url"])[0] == 401


def test_a_tampered_download_url_is_refused(make_app, daily, cloud, token_for, held):
    app, session = recorded(make_app, daily, cloud, RECORDING_DELIVERY="authenticated")
    admitted = bearer(token_for, ADMITTED)
    url = app.test_client().get(f"/sessions/{session['_id']}", headers=admitted).json
    url = url["recordingUrl"]
    later = url.replace(f"expires_at={expires_at(url)}", f"expires_at={expires_at(url) + 86400}")
    cloud.clock = lambda: expires_at(url) + 1
    status, reason, _ = fetched(later)
    assert (status, reason.split()[:2]) == (401, ["Invalid", "Signature"])


def test_public_delivery_shows_the_stored_url_to_every_reader_as_the_node_service(
    make_app, daily, cloud, token_for
):
    app, session = recorded(make_app, daily, cloud)  # compat, RECORDING_DELIVERY=public
    client = app.test_client()
    stored = app.extensions["livesessions"].database.db.livesessions.find_one()
    assert "/video/upload/" in stored["recordingUrl"]
    urls = every_session_url(client, session, bearer(token_for, STRANGER))
    assert urls == dict.fromkeys(urls, stored["recordingUrl"])
    anonymous = client.get(f"/sessions/instructor/{INSTRUCTOR}").get_json()
    assert [doc["recordingUrl"] for doc in anonymous] == [stored["recordingUrl"]]
