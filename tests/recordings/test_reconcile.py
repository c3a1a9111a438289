"""Never losing a recording: Daily's recordings list (reconciliation) and webhook health,
with Daily answered by `responses`."""

import json
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from livesessions.clock import iso
from livesessions.daily.client import DailyRateLimited
from livesessions.daily.transport import RATE_LIMIT_ATTEMPTS
from tests.support.factories import seed_recording, seed_session
from tests.support.fake_daily import DAILY_URL
from tests.support.sandbox import cloudinary_settings

LIST_URL = re.compile(re.escape(f"{DAILY_URL}/recordings") + r"(\?.*)?$")
WEBHOOKS_URL = f"{DAILY_URL}/webhooks"
SECRET = "c2VjcmV0LWZvci10aGUtd2ViaG9vaw=="
# Every event type the service acts on, written out here: `daily webhook ensure` must
# subscribe to exactly these, and the dispatch table must handle exactly these.
HANDLED_EVENTS = [
    "meeting.ended",
    "meeting.started",
    "participant.joined",
    "participant.left",
    "recording.error",
    "recording.ready-to-download",
    "recording.started",
    "recording.stopped",
    "room.exp",
]


class DailyRecordings:
    """Daily's GET /recordings over a list of recording objects: newest first, cursors."""

    def __init__(self, daily):
        self.recordings = []
        self.queries = []
        self.rate_limited = 0  # answer 429 to this many calls first
        daily.mock.add_callback(responses.GET, LIST_URL, callback=self.answer)

    def add(self, room, status="finished", duration=60, start_ts=None):
        recording = {
            "id": f"rec-{len(self.recordings):03d}",
            "room_name": room,
            "start_ts": start_ts or 1_800_000_000 + len(self.recordings),
            "status": status,
            "max_participants": 3,
            "s3key": "k",
            "mtgSessionId": "m",
        }
        if status != "in-progress":
            recording["duration"] = duration
        self.recordings.append(recording)
        return recording["id"]

    def answer(self, request):
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.queries.append(query)
        if self.rate_limited:
            self.rate_limited -= 1
            return 429, {}, json.dumps({"error": "rate-limit-error", "info": "slow down"})
        matching = sorted(
            (r for r in self.recordings if r["room_name"] == query.get("room_name")),
            key=lambda r: -r["start_ts"],
        )
        ids = [r["id"] for r in matching]
        start = ids.index(query["starting_after"]) + 1 if "starting_after" in query else 0
        page = matching[start : start + int(query.get("limit", 100))]
        return 200, {}, json.dumps({"total_count": len(matching), "data": page})


@pytest.fixture
def listed(daily):
    return DailyRecordings(daily)


@pytest.fixture
def app(make_app):
    return make_app(DAILY_RETRY_BACKOFF_SECONDS="0.5")  # the default; sleeps are recorded


@pytest.fixture
def services(app):
    services = app.extensions["livesessions"]
    delays, now = [], [time.time()]

    def sleep(seconds):  # a 429's retry waits for its turn: time moves only then
        delays.append(pytest.approx(seconds))
        now[0] += seconds

    services.daily.sleep = services.daily.pacer.sleep = sleep
    services.daily.pacer.clock = lambda: now[0]
    services.backoff_delays = delays
    return services


def ended(db, room, hours_ago=2, **fields):
    scheduled = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)
    return seed_session(db, roomName=room, status="ended", scheduledAt=scheduled, **fields)


# -- the recordings list -------------------------------------------------------------------


def test_the_list_is_read_page_by_page_with_daily_cursors(services, listed):
    made = [listed.add("room-a") for _ in range(250)]
    listed.add("room-b")
    found = [r["id"] for r in services.daily.list_recordings("room-a")]
    # each once
    assert sorted(found) == sorted(made)
    assert len(found) == 250
    assert [q.get("starting_after") for q in listed.queries] == [None, found[99], found[199]]
    assert {(q["room_name"], q["limit"]) for q in listed.queries} == {("room-a", "100")}


def test_a_rate_limited_list_backs_off_exponentially_then_succeeds(services, listed):
    listed.add("room-a")
    listed.rate_limited = 3
    services.daily.backoff = 0.5  # the default: 429 backoffs of about 1, 2, 4... seconds
    services.daily.random_fraction = lambda: 0.5  # the jitter: half of the upper half
    assert [r["id"] for r in services.daily.list_recordings("room-a")] == ["rec-000"]
    assert len(listed.queries) == 4  # a 429 is not retried at once, only after a wait
    assert services.backoff_delays == [0.75, 1.5, 3.0]


def test_a_list_that_stays_rate_limited_gives_up_with_an_error(services, listed):
    listed.rate_limited = 100
    services.daily.random_fraction = lambda: 0.5  # 0.75 + 1.5 + 3 + 6 + 12 s: inside 24 s
    with pytest.raises(DailyRateLimited, match="429"):
        list(services.daily.list_recordings("room-a"))
    assert len(listed.queries) == RATE_LIMIT_ATTEMPTS


# -- reconciliation ------------------------------------------------------------------------


def test_reconcile_queues_finished_recordings_that_have_no_job(services, db, listed):
    lost = ended(db, "room-lost")
    first, second = listed.add("room-lost", duration=120), listed.add("room-lost", duration=30)
    listed.add("room-lost", status="in-progress")
    listed.add("room-lost", duration=0)  # Daily never sends ready-to-download for those
    listed.add("room-lost", status="canceled")
    recorded = ended(db, "room-done", isRecorded=True, recordingUrl="https://cdn/x.mp4")
    listed.add("room-done")  # not checked: the session has its recording
    old = ended(db, "room-old", hours_ago=24 * 30)
    listed.add("room-old")  # before the look-back: not checked

    assert services.reconcile() == (1, 2)
    jobs = {job["_id"]: job for job in db.recording_jobs.find()}
    assert set(jobs) == {first, second}
    assert jobs[first]["session"] == lost["_id"]
    assert jobs[first]["room"] == "room-lost"
    assert (jobs[first]["duration"], jobs[first]["status"], jobs[first]["downloadUrl"]) == (
        120,
        "pending",
        None,
    )
    assert db.livesessions.find_one({"_id": lost["_id"]})["recordingStatus"] == "processing"
    assert [q["room_name"] for q in listed.queries] == ["room-lost"]
    for untouched in (recorded, old):
        assert db.livesessions.find_one({"_id": untouched["_id"]}) == untouched

    assert services.reconcile() == (1, 0)  # again: nothing new, nothing doubled
    assert db.recording_jobs.count_documents({}) == 2


def test_sessions_with_a_recording_started_are_checked_even_if_recorded(services, db, listed):
    session = seed_session(db, roomName="room-live", status="live", isRecorded=True)
    seed_recording(db, session, status="finished")
    second = listed.add("room-live")
    assert services.reconcile() == (1, 1)
    assert db.recording_jobs.find_one({"_id": second})["session"] == session["_id"]


def test_a_late_webhook_after_reconcile_makes_no_second_job(services, client, db, listed):
    ended(db, "room-lost")
    recording = listed.add("room-lost")
    services.reconcile()
    payload = {"recording_id": recording, "room_name": "room-lost", "duration": 60}
    response = client.post(
        "/sessions/webhook/daily", json={"type": "recording.ready-to-download", "payload": payload}
    )
    assert response.get_json() == {"received": True}
    assert db.recording_jobs.count_documents({}) == 1


def test_one_room_failing_does_not_stop_the_others(services, db, listed, daily):
    ended(db, "room-a", hours_ago=3)
    ended(db, "room-b", hours_ago=2)
    listed.add("room-b")
    services.daily.random_fraction = lambda: 1.0  # waits of 1, 2, 4, 8 s: 16 more is too long
    listed.rate_limited = 5  # room-a: its 5 attempts all rate-limited
    assert services.reconcile() == (2, 1)
    assert db.recording_jobs.count_documents({"room": "room-b"}) == 1


def test_the_reconcile_command(app, services, db, listed):
    ended(db, "room-a", hours_ago=24 * 10)
    listed.add("room-a")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["recordings", "reconcile"])
    assert result.output.strip() == "checked 0 session(s), queued 0 recording(s)"
    since = (datetime.now(UTC) - timedelta(days=11)).strftime("%Y-%m-%d")
    result = runner.invoke(args=["recordings", "reconcile", "--since", since])
    assert result.exit_code == 0
    assert result.output.strip() == "checked 1 session(s), queued 1 recording(s)"
    bad = runner.invoke(args=["recordings", "reconcile", "--since", "last week"])
    assert bad.exit_code == 2
    assert "must be an ISO 8601 date" in bad.output


# -- webhook health --------------------------------------------------------------------------


def webhook(state="ACTIVE", **fields):
    return {
        "uuid": "wh-1",
        "url": "https://api.example.com/sessions/webhook/daily",
        "hmac": SECRET,
        "basicAuth": None,
        "retryType": "exponential",
        "eventTypes": list(HANDLED_EVENTS),
        "state": state,
        "failedCount": 3 if state == "FAILED" else 0,
        "lastMomentPushed": None,
        "domainId": "d",
        "createdAt": "2026-11-01T00:00:00.000Z",
        "updatedAt": "2026-11-01T00:00:00.000Z",
        **fields,
    }


@pytest.fixture
def hooks(daily):
    """Daily's webhook endpoints over a list holding at most one webhook."""
    state = {"hooks": [], "writes": []}

    def listing(request):
        return 200, {}, json.dumps(state["hooks"])

    def write(request):
        body = json.loads(request.body)
        state["writes"].append((request.method, request.url, body))
        hook = webhook(**{k: body[k] for k in ("url", "hmac", "eventTypes", "retryType")})
        state["hooks"] = [hook]
        return 200, {}, json.dumps(hook)

    daily.mock.add_callback(responses.GET, WEBHOOKS_URL, callback=listing)
    daily.mock.add_callback(responses.POST, WEBHOOKS_URL, callback=write)
    daily.mock.add_callback(responses.POST, f"{WEBHOOKS_URL}/wh-1", callback=write)
    return state


@pytest.fixture
def signed_app(make_app):
    return make_app(DAILY_WEBHOOK_SECRET=SECRET)


def test_status_reports_a_failed_webhook_and_exits_1(signed_app, hooks):
    hooks["hooks"] = [webhook("FAILED")]
    result = signed_app.test_cli_runner().invoke(args=["daily", "webhook", "status"])
    assert result.exit_code == 1
    assert "state: FAILED" in result.output
    assert "failedCount: 3" in result.output
    assert "run `daily webhook ensure URL`" in result.output


def test_status_of_an_active_webhook(signed_app, hooks):
    hooks["hooks"] = [webhook()]
    result = signed_app.test_cli_runner().invoke(args=["daily", "webhook", "status"])
    assert result.exit_code == 0
    assert result.output.splitlines()[:3] == [
        "state: ACTIVE",
        "url: https://api.example.com/sessions/webhook/daily",
        "failedCount: 0",
    ]


def test_ensure_creates_the_webhook_with_the_secret_and_handled_events(signed_app, hooks):
    url = "https://api.example.com/sessions/webhook/daily"
    result = signed_app.test_cli_runner().invoke(args=["daily", "webhook", "ensure", url])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == ["webhook created", "state: ACTIVE"]
    ((method, target, body),) = hooks["writes"]
    assert (method, target) == ("POST", WEBHOOKS_URL)
    assert body == {
        "url": url,
        "hmac": SECRET,
        "eventTypes": HANDLED_EVENTS,
        "retryType": "exponential",
    }
    assert signed_app.extensions["livesessions"].events.types() == HANDLED_EVENTS


def test_ensure_reactivates_a_failed_webhook_and_leaves_a_good_one(signed_app, hooks):
    url = "https://api.example.com/sessions/webhook/daily"
    hooks["hooks"] = [webhook("FAILED")]
    signed_app.extensions["livesessions"].check_webhook()  # the worker saw it FAILED
    client = signed_app.test_client()
    assert client.get("/readyz").get_json()["webhook"] == "failed"
    runner = signed_app.test_cli_runner()
    result = runner.invoke(args=["daily", "webhook", "ensure", url])
    assert result.output.splitlines()[:2] == ["webhook updated", "state: ACTIVE"]
    assert client.get("/readyz").get_json()["webhook"] == "active"  # at once
    assert [(m, t) for m, t, _ in hooks["writes"]] == [("POST", f"{WEBHOOKS_URL}/wh-1")]
    again = runner.invoke(args=["daily", "webhook", "ensure", url])
    assert again.output.splitlines()[0] == "webhook unchanged"
    assert len(hooks["writes"]) == 1


def test_ensure_needs_a_secret_and_a_url(app, signed_app, hooks):
    no_secret = app.test_cli_runner().invoke(args=["daily", "webhook", "ensure", "https://x/y"])
    assert no_secret.exit_code == 1
    assert "DAILY_WEBHOOK_SECRET must be set" in no_secret.output
    bad = signed_app.test_cli_runner().invoke(args=["daily", "webhook", "ensure", "ftp://x"])
    assert bad.exit_code == 2
    assert "must be an http(s) URL" in bad.output
    assert hooks["writes"] == []


def test_the_worker_warns_about_a_failed_webhook_and_readyz_shows_it(signed_app, hooks, caplog):
    client = signed_app.test_client()
    assert client.get("/readyz").get_json() == {
        "status": "ready",
        "database": "up",
        "webhook": "unknown",
        "workers": 0,
        "oldestDueJobSeconds": None,
    }
    hooks["hooks"] = [webhook("FAILED")]
    services = signed_app.extensions["livesessions"]
    assert services.check_webhook()["state"] == "FAILED"
    assert "Daily webhook is FAILED (failedCount 3)" in caplog.text
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_json()["webhook"]) == (200, "failed")
    hooks["hooks"] = []
    services.check_webhook()
    assert client.get("/readyz").get_json()["webhook"] == "missing"


def test_the_set_up_check_is_acknowledged_even_unsigned(signed_app):
    client = signed_app.test_client()
    response = client.post("/sessions/webhook/daily", json={"test": "test"})
    assert (response.status_code, response.get_json()) == (200, {"received": True})
    event = {"type": "meeting.started", "payload": {"room": "r"}}
    unsigned = client.post("/sessions/webhook/daily", json=event)
    assert (unsigned.status_code, unsigned.get_json()) == (
        401,
        {"message": "Invalid webhook signature"},
    )


def test_a_recording_reconciled_40_days_late_is_purged_at_once(make_app, daily, listed, cloud):
    """Retention counts from when Daily finished the recording: one whose webhook was lost,
    found by `recordings reconcile --since` 40 days after it finished, is past a 30-day
    policy at once, and `recordings list` shows when it really started."""
    app = make_app(**cloudinary_settings(cloud), RECORDING_RETENTION_DAYS=30)
    services = app.extensions["livesessions"]
    db = services.database.db
    session = ended(db, "room-old", hours_ago=24 * 40 + 2)
    finished = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)
    started = finished - timedelta(hours=1)
    recording = listed.add("room-old", duration=3600, start_ts=int(started.timestamp()))
    daily.files[recording] = b"\x00\x00\x00\x18ftypmp42" * 1000
    runner = app.test_cli_runner()

    since = (datetime.now(UTC) - timedelta(days=41)).strftime("%Y-%m-%d")
    result = runner.invoke(args=["recordings", "reconcile", "--since", since])
    assert result.output.strip() == "checked 1 session(s), queued 1 recording(s)"
    assert services.make_worker(periodic=[]).drain() == 1  # uploaded to the sandbox
    asset = db.recording_jobs.find_one({"_id": recording})["result"]["asset"]["publicId"]
    assert asset in cloud.assets

    (task,) = [t for t in services.make_worker().periodic if "retention" in t.name]
    assert task.action() == (1, 0)  # the worker's retention pass: at once, not in 30 days
    assert [d["params"]["public_id"] for d in cloud.destroys] == [asset]
    assert asset not in cloud.assets
    job = db.recording_jobs.find_one({"_id": recording})
    assert job["deletedAt"] is not None
    assert (job.get("startedAt"), job.get("finishedAt")) == (started, finished)
    stored = db.livesessions.find_one({"_id": session["_id"]})
    assert (stored["recordingUrl"], stored["isRecorded"]) == (None, False)
    listing = runner.invoke(args=["recordings", "list"])
    assert f"{recording}  done" in listing.output
    assert f"started={iso(started)}  finished={iso(finished)}" in listing.output
