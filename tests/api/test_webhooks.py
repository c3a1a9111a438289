"""Registering outbound webhook endpoints: admins only, validated, the secret shown once,
and URLs that resolve to loopback or private addresses refused (WEBHOOKS_ALLOW_PRIVATE
off)."""

import socket

import pytest

from livesessions.errors import (
    MISSING_TOKEN,
    WEBHOOK_NOT_FOUND,
    WEBHOOK_URL_REFUSED,
    WEBHOOK_URL_UNRESOLVED,
    WEBHOOKS_FORBIDDEN,
)
from livesessions.outbound.emitter import EVENT_TYPES

URL = "http://127.0.0.1:9/hooks"
EVENTS_ONE_OF = "must be one of [" + ", ".join(EVENT_TYPES) + "]"
URI = "must be a valid uri with a scheme matching the http|https pattern"


@pytest.fixture
def admin(token_for):
    return {"Authorization": f"Bearer {token_for('admin-1', 'admin')}"}


def register(client, admin, **body):
    return client.post(
        "/webhooks", json={"url": URL, "events": ["session.created"], **body}, headers=admin
    )


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(client, admin, db):
    response = register(client, admin, events=["session.created", "recording.ready"])
    assert response.status_code == 201
    created = response.get_json()
    assert set(created) == {
        "id", "url", "events", "enabled", "consecutiveFailures", "disabledAt", "createdAt", "secret"
    }  # fmt: skip
    assert created["url"] == URL
    assert created["events"] == ["session.created", "recording.ready"]
    assert created["enabled"] is True
    assert created["consecutiveFailures"] == 0
    assert created["disabledAt"] is None
    assert len(created["secret"]) == 44  # base64 of 32 bytes
    stored = db.webhook_endpoints.find_one({"_id": created["id"]})
    assert stored["secret"] == created["secret"]
    assert stored["url"] == URL
    assert stored["enabled"] is True

    listed = client.get("/webhooks", headers=admin)
    assert listed.status_code == 200
    assert listed.get_json() == [{k: v for k, v in created.items() if k != "secret"}]
    assert created["secret"] not in listed.get_data(as_text=True)


def test_each_endpoint_gets_its_own_secret(client, admin):
    first = register(client, admin).get_json()
    second = register(client, admin).get_json()
    assert first["secret"] != second["secret"]
    assert [e["id"] for e in client.get("/webhooks", headers=admin).get_json()] == [
        first["id"],
        second["id"],
    ]


def test_an_admin_deletes_an_endpoint(client, admin, db):
    created = register(client, admin).get_json()
    response = client.delete(f"/webhooks/{created['id']}", headers=admin)
    assert response.status_code == 200
    assert response.get_json()["id"] == created["id"]
    assert "secret" not in response.get_json()
    assert db.webhook_endpoints.count_documents({}) == 0
    again = client.delete(f"/webhooks/{created['id']}", headers=admin)
    assert (again.status_code, again.get_json()) == (404, {"message": WEBHOOK_NOT_FOUND})


def test_an_unknown_endpoint_has_no_deliveries(client, admin):
    response = client.get("/webhooks/nope/deliveries", headers=admin)
    assert (response.status_code, response.get_json()) == (404, {"message": WEBHOOK_NOT_FOUND})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/webhooks"),
        ("get", "/webhooks"),
        ("delete", "/webhooks/x"),
        ("get", "/webhooks/x/deliveries"),
    ],
)
def test_only_admins_manage_webhooks(client, auth, method, path, db):
    body = {"json": {"url": URL, "events": ["session.created"]}} if method == "post" else {}
    anonymous = getattr(client, method)(path, **body)
    assert (anonymous.status_code, anonymous.get_json()) == (401, {"message": MISSING_TOKEN})
    instructor = getattr(client, method)(path, headers=auth, **body)
    assert (instructor.status_code, instructor.get_json()) == (403, {"message": WEBHOOKS_FORBIDDEN})
    assert db.webhook_endpoints.count_documents({}) == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": None}, '"url" must be a string'),
        ({"url": "ftp://example.com/x"}, f'"url" {URI}'),
        ({"url": "example.com/x"}, f'"url" {URI}'),
        ({"url": "http://"}, f'"url" {URI}'),
        (
            {"url": "https://example.com/" + "a" * 2029},
            '"url" length must be less than or equal to 2048 characters long',
        ),
        ({"events": []}, '"events" must contain at least 1 items'),
        ({"events": "session.created"}, '"events" must be an array'),
        ({"events": ["session.exploded"]}, f'"events[0]" {EVENTS_ONE_OF}'),
        (
            {"events": ["session.created", "session.created"]},
            '"events[1]" contains a duplicate value',
        ),
    ],
)
def test_registrations_are_validated(client, admin, body, message, db):
    response = register(client, admin, **body)
    assert (response.status_code, response.get_json()) == (400, {"message": message})
    assert db.webhook_endpoints.count_documents({}) == 0


def test_a_url_of_2048_characters_is_accepted(client, admin):
    url = "http://127.0.0.1/" + "a" * (2048 - len("http://127.0.0.1/"))
    assert register(client, admin, url=url).status_code == 201


@pytest.fixture
def guarded(make_app, token_for):
    """A client of an app with WEBHOOKS_ALLOW_PRIVATE off, and an admin's header."""
    app = make_app(WEBHOOKS_ALLOW_PRIVATE=False)
    return app.test_client(), app.extensions["livesessions"].database.db


def resolving_to(monkeypatch, address):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hooks",
        "http://0.0.0.0/hooks",
        "http://localhost:8080/hooks",
    ],
)
def test_private_and_loopback_addresses_are_refused(guarded, admin, url):
    client, db = guarded
    response = register(client, admin, url=url)
    assert (response.status_code, response.get_json()) == (400, {"message": WEBHOOK_URL_REFUSED})
    assert db.webhook_endpoints.count_documents({}) == 0


def test_a_hostname_resolving_to_loopback_is_refused(guarded, admin, monkeypatch):
    client, _ = guarded
    resolving_to(monkeypatch, "127.0.0.1")
    response = register(client, admin, url="https://hooks.example.com/x")
    assert (response.status_code, response.get_json()) == (400, {"message": WEBHOOK_URL_REFUSED})


def test_a_hostname_resolving_to_a_public_address_is_accepted(guarded, admin, monkeypatch):
    client, db = guarded
    resolving_to(monkeypatch, "93.184.215.14")
    response = register(client, admin, url="https://hooks.example.com/x")
    assert response.status_code == 201
    assert db.webhook_endpoints.count_documents({}) == 1


def test_a_hostname_that_does_not_resolve_is_refused(guarded, admin, monkeypatch):
    client, _ = guarded

    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    response = register(client, admin, url="https://nowhere.invalid/x")
    assert (response.status_code, response.get_json()) == (400, {"message": WEBHOOK_URL_UNRESOLVED})
