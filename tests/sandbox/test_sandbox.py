"""End to end over real loopback HTTP: the app against the Daily.co sandbox."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from devtools.sandbox import DailySandbox
from tests.support.factories import session_payload


@pytest.fixture
def sandbox():
    sandbox = DailySandbox(api_key="sandbox-test-key", rate_limits=False).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandboxed_client(make_app, sandbox):
    app = make_app(DAILY_API_URL=sandbox.api_url, DAILY_API_KEY="sandbox-test-key")
    return app.test_client()


def test_create_update_delete_against_the_sandbox(sandboxed_client, sandbox, auth):
    created = sandboxed_client.post("/sessions", json=session_payload(), headers=auth)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    name = body["roomName"]
    assert body["roomUrl"] == f"{sandbox.url}/{name}"
    assert sandbox.rooms[name]["config"]["enable_recording"] == "cloud"
    page = requests.get(body["roomUrl"], timeout=5)
    assert page.status_code == 200
    assert "development stand-in" in page.text

    updated = sandboxed_client.put(f"/sessions/{body['_id']}", json={"duration": 120}, headers=auth)
    assert updated.status_code == 200
    scheduled = datetime.strptime(body["scheduledAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    expected_exp = scheduled + timedelta(minutes=120 + 30)
    assert sandbox.rooms[name]["config"]["exp"] == int(expected_exp.timestamp())

    deleted = sandboxed_client.delete(f"/sessions/{body['_id']}", headers=auth)
    assert deleted.get_json()["session"]["status"] == "cancelled"
    assert name not in sandbox.rooms


def test_the_sandbox_checks_the_api_key(make_app, sandbox, auth):
    client = make_app(DAILY_API_URL=sandbox.api_url, DAILY_API_KEY="wrong").test_client()
    response = client.post("/sessions", json=session_payload(), headers=auth)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to create Daily.co room"},
    )
    assert sandbox.rooms == {}


def test_the_sandbox_answers_like_daily(sandbox):
    headers = {"Authorization": "Bearer sandbox-test-key"}
    bad = requests.post(f"{sandbox.api_url}/rooms", json={"name": "no spaces"}, headers=headers)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid-request-error")
    newline = requests.post(f"{sandbox.api_url}/rooms", json={"name": "r\n"}, headers=headers)
    assert newline.status_code == 400  # a name is its whole value
    past = requests.post(
        f"{sandbox.api_url}/rooms", json={"name": "r", "properties": {"exp": 1}}, headers=headers
    )
    assert past.status_code == 400
    ok = requests.post(f"{sandbox.api_url}/rooms", json={"name": "r"}, headers=headers)
    assert ok.json()["name"] == "r"
    assert ok.headers["X-Sandbox"] == "daily"
    taken = requests.post(f"{sandbox.api_url}/rooms", json={"name": "r"}, headers=headers)
    assert "already exists" in taken.json()["info"]
    assert requests.delete(f"{sandbox.api_url}/rooms/r", headers=headers).json() == {
        "deleted": True,
        "name": "r",
    }
    gone = requests.delete(f"{sandbox.api_url}/rooms/r", headers=headers)
    assert (gone.status_code, gone.json()["error"]) == (404, "not-found")
