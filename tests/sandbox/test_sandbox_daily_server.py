"""The Daily.co sandbox as a server: what it answers to paths and methods it has no route
for, its domain endpoint and its own clock, over real loopback HTTP."""

import http.client
import json
import time
import uuid
from collections import Counter

import requests

from tests.support.sandbox import SANDBOX_AUTH, make_room, sandbox_api


def no_route(method, path):
    return {"error": "not-found", "info": f"no route for {method} /v1{path}"}


def raw_get(sandbox, target, headers=None):
    """GET `target` exactly as written (requests would tidy it): (status, type, body)."""
    host, port = sandbox.server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        connection.request("GET", target, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type"), answer.read().decode()
    finally:
        connection.close()


def test_an_unknown_api_path_is_dailys_404(make_sandbox):
    sandbox = make_sandbox()
    make_room(sandbox, "lesson")
    for method, path in [
        ("GET", "/nope"),
        ("POST", "/nope"),
        ("DELETE", "/nope"),
        ("POST", "/"),  # GET / is the domain endpoint
        ("DELETE", "/"),
        ("POST", "/rooms/lesson/recordings/pause"),
        ("GET", "/rooms/lesson/extra"),
        ("GET", "/recordings/some-id/access-link/extra"),
    ]:
        answer = sandbox_api(sandbox, method, path)
        assert (answer.status_code, answer.json()) == (404, no_route(method, path)), path
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.headers["X-Sandbox"] == "daily"


def test_a_wrong_method_on_an_api_path_is_the_same_404(make_sandbox):
    sandbox = make_sandbox()
    for method, path in [
        ("GET", "/rooms"),
        ("DELETE", "/rooms"),
        ("GET", "/rooms/lesson/recordings/start"),
        ("POST", "/recordings"),
        ("DELETE", "/recordings/some-id"),
        ("GET", "/meeting-tokens"),
        ("DELETE", "/webhooks"),
    ]:
        answer = sandbox_api(sandbox, method, path)
        assert (answer.status_code, answer.json()) == (404, no_route(method, path)), path
    head = requests.head(f"{sandbox.api_url}/rooms", headers=SANDBOX_AUTH, timeout=5)
    assert (head.status_code, head.content) == (404, b"")
    assert head.headers["Content-Length"] == str(len(sandbox_api(sandbox, "GET", "/rooms").content))


def test_the_key_and_the_body_are_checked_before_the_route(make_sandbox):
    sandbox = make_sandbox()
    keyless = sandbox_api(sandbox, "GET", "/nope", headers={})
    assert (keyless.status_code, keyless.json()) == (
        401,
        {"error": "authentication-error", "info": "bad API key"},
    )
    garbled = sandbox_api(sandbox, "GET", "/nope", data=b"{not json")
    assert (garbled.status_code, garbled.json()) == (
        400,
        {"error": "json-parsing-error", "info": "body is not JSON"},
    )


def test_extra_slashes_do_not_get_around_the_api_key(make_sandbox):
    sandbox = make_sandbox()
    make_room(sandbox, "lesson")
    assert raw_get(sandbox, "/v1//rooms//lesson/", SANDBOX_AUTH)[0] == 200  # split as before
    assert raw_get(sandbox, "////v1/rooms/lesson")[0] == 401  # leading slashes count as one
    for target in (f"{sandbox.url}//v1/rooms/lesson", "/v1%2Frooms/lesson"):
        status, content_type, text = raw_get(sandbox, target)
        assert (status, content_type) == (404, "text/html; charset=utf-8"), target
        assert "does not exist" in text, target


def test_outside_the_api_unknown_paths_and_methods(make_sandbox):
    sandbox = make_sandbox()
    make_room(sandbox, "lesson")
    for method, path in [
        ("POST", "/nope"),
        ("DELETE", "/lesson"),
        ("POST", "/recordings/some-id/download"),
        ("DELETE", "/sandbox/webhook"),
        ("POST", "/sandbox/rooms/lesson/join/extra"),
    ]:
        answer = requests.request(method, f"{sandbox.url}{path}", json={}, timeout=5)
        assert (answer.status_code, answer.json()) == (404, {}), path
        assert answer.headers["Content-Type"] == "application/json"
    dance = requests.post(f"{sandbox.url}/sandbox/rooms/lesson/dance", data=b"{", timeout=5)
    assert (dance.status_code, dance.json()) == (
        404,
        {"error": "not-found", "info": "no call action dance"},
    )
    page = requests.get(f"{sandbox.url}/sandbox/webhook", timeout=5)  # GET: a room page
    assert (page.status_code, page.headers["Content-Type"]) == (404, "text/html; charset=utf-8")
    assert "Room <code>sandbox/webhook</code> does not exist" in page.text


def test_methods_the_sandbox_does_not_speak_are_501(make_sandbox):
    sandbox = make_sandbox()
    for method in ("PUT", "PATCH", "OPTIONS"):
        for url in (f"{sandbox.api_url}/rooms/lesson", f"{sandbox.url}/lesson"):
            answer = requests.request(method, url, headers=SANDBOX_AUTH, timeout=5)
            assert answer.status_code == 501, (method, url)
            assert f"Unsupported method ('{method}')" in answer.text


def test_each_sandbox_reads_its_own_clock(make_sandbox):
    future = 4_000_000_000  # 2096-10-02T07:06:40Z
    sandbox = make_sandbox(clock=lambda: future)
    other = make_sandbox()
    soon = {"exp": int(time.time()) + 3600}
    late = sandbox_api(sandbox, "POST", "/rooms", json={"name": "lesson", "properties": soon})
    assert (late.status_code, late.json()["info"]) == (400, "exp must be a time in the future")
    assert make_room(other, "lesson", properties=soon)["config"] == soon  # its clock is time's
    assert make_room(sandbox, "lesson")["created_at"] == "2096-10-02T07:06:40.000Z"

    sandbox.join_call("lesson", user_id="ada")
    assert sandbox.meetings["lesson"]["start_ts"] == future
    recording_id = sandbox.add_finished_recording("lesson", duration=10)
    assert sandbox.recordings[recording_id]["start_ts"] == future - 10
    link = sandbox_api(sandbox, "GET", f"/recordings/{recording_id}/access-link").json()
    assert link["expires"] == future + 3600
    assert requests.get(link["download_link"], timeout=5).status_code == 200

    sandbox.clock = lambda: future + 3601  # settable after construction
    expired = requests.get(link["download_link"], timeout=5)
    assert (expired.status_code, expired.json()["info"]) == (403, "the link has expired")


def test_the_domain_endpoint_at_v1(make_sandbox):
    sandbox = make_sandbox()
    expected = {"domain_name": "sandbox", "domain_id": sandbox.domain_id, "config": {}}
    assert uuid.UUID(sandbox.domain_id).version == 4
    for target in ("/v1", "/v1/", "/v1//", "/v1?extra=1"):
        status, content_type, text = raw_get(sandbox, target, SANDBOX_AUTH)
        assert (status, content_type, json.loads(text)) == (200, "application/json", expected)
    keyless = raw_get(sandbox, "/v1")  # the API's own path, not a room page called v1
    assert (keyless[0], json.loads(keyless[2])["error"]) == (401, "authentication-error")
    assert make_sandbox().domain_id != sandbox.domain_id  # one per sandbox
    chosen = make_sandbox(domain_id="0d3c5c1e-2a8e-4a5b-9d61-1f0c9f4a7b2e")
    assert sandbox_api(chosen, "GET", "/").json() == expected | {
        "domain_id": "0d3c5c1e-2a8e-4a5b-9d61-1f0c9f4a7b2e"
    }
    assert chosen.api_calls == Counter({"standard": 1})
