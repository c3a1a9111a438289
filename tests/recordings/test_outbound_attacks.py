"""Outbound webhook deliveries under attack (issue 26): a rebinding DNS, a URL that parsers
read two ways, a trickling receiver, probes of internal ports, and credentials in the URL.
Each test performs the attack through the worker and looks at what the receivers saw and
what the attempts, jobs and logs say."""

import base64
import logging

import pytest

from livesessions.clock import utcnow
from tests.support.outbound import PUBLIC, Connections, FakeDns, RawServer, closed_port
from tests.support.receiver import Receiver

SESSION = {"_id": "s-1", "title": "Algebra"}
LOW_LEVEL = ("Errno", "Error(", "refused by", "garbage", "BadStatusLine", "HTTPConnection")


def our_logs(caplog):
    """Every log line but the database driver's: at DEBUG pymongo logs its server's
    address and each command with the documents it writes (the stored URL among them,
    like the endpoint's secret), which is no line of the service's."""
    lines = (r.getMessage() for r in caplog.records if not r.name.startswith("pymongo"))
    return "\n".join(lines)


def drain(hub):
    return hub.make_worker(periodic=[], worker_store=None).drain()


def make_due(hub):
    hub.database.db.recording_jobs.update_many(
        {"kind": "webhook", "status": "pending"}, {"$set": {"runAt": utcnow()}}
    )


def attempts(hub, endpoint_id):
    """(status, error) of the endpoint's attempts, oldest first."""
    found = hub.webhook_service.attempts.recent(endpoint_id)
    return [(attempt["status"], attempt["error"]) for attempt in reversed(found)]


def admin_headers(app):
    from flask_jwt_extended import create_access_token

    with app.app_context():
        token = create_access_token(identity="admin-1", additional_claims={"role": "admin"})
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def guarded(make_app):
    """The services of an app with WEBHOOKS_ALLOW_PRIVATE off (production's setting)."""
    app = make_app(WEBHOOKS_ALLOW_PRIVATE=False)
    return app, app.extensions["livesessions"]


def test_a_rebinding_name_never_reaches_loopback(guarded, monkeypatch):
    """The attacker's DNS answers a public address, then 127.0.0.1, then public again...:
    whichever answer the check gets, the connection goes to that answer, never to a
    second lookup's. The approved public address is played by a second loopback server."""
    app, hub = guarded
    with Receiver() as internal, Receiver() as public:
        dns = FakeDns(monkeypatch, {"rebind.example": [PUBLIC, "127.0.0.1"]})
        connections = Connections(monkeypatch, stand_in=public.server.server_port)
        url = f"http://rebind.example:{internal.server.server_port}/hooks"
        response = app.test_client().post(
            "/webhooks",
            json={"url": url, "events": ["session.created"]},
            headers=admin_headers(app),
        )
        assert response.status_code == 201  # the first answer was public
        endpoint_id = response.get_json()["id"]
        hub.webhook_emitter.emit("session.created", SESSION)
        for _ in range(2):  # the retry resolves again: the answers alternate
            assert drain(hub) == 1
            make_due(hub)
        assert internal.received == []  # loopback never reached
        port = internal.server.server_port
        assert connections.targets == [(PUBLIC, port)]  # only the approved address
        hosts = [headers["Host"] for _, headers, _ in public.received]
        assert hosts == [f"rebind.example:{port}"]
    assert [address for _, address in dns.lookups] == [PUBLIC, "127.0.0.1", PUBLIC]
    assert attempts(hub, endpoint_id) == [
        (None, "refused: non-public address"),
        (200, None),
    ]  # delivered on the second attempt, the job done
    assert hub.database.db.recording_jobs.find_one({"kind": "webhook"})["status"] == "done"


def test_a_url_read_two_ways_is_not_delivered_to_its_hidden_host(guarded, monkeypatch):
    """`http://127.0.0.1:PORT\\@good.example/`: urlsplit reads good.example (public),
    urllib3 (what requests connects by) 127.0.0.1:PORT. Stored before the fix, it is
    refused at delivery; nothing reaches the loopback receiver, and no connection is
    opened at all."""
    _, hub = guarded
    with Receiver() as internal:
        FakeDns(monkeypatch, {"good.example": [PUBLIC]})
        connections = Connections(monkeypatch)
        url = f"http://127.0.0.1:{internal.server.server_port}\\@good.example/hooks"
        endpoint = hub.webhook_store.create(url, ["session.created"], "c2VjcmV0")
        hub.webhook_emitter.emit("session.created", SESSION)
        assert drain(hub) == 1
        assert internal.received == []
    assert connections.targets == []
    assert attempts(hub, endpoint["_id"]) == [(None, "refused: malformed URL")]
    job = hub.database.db.recording_jobs.find_one({"kind": "webhook"})
    assert (job["status"], job["error"]) == ("pending", "refused: malformed URL")


def test_failures_are_told_by_class_only(make_app, caplog):
    """With WEBHOOKS_ALLOW_PRIVATE (tests, local set-ups), a closed port and a port that
    answers garbage are told apart only by a short class: no socket message, no parser
    message, no echo of what the port said, in the attempts or the logs."""
    hub = make_app().extensions["livesessions"]
    with RawServer(b"SSH-2.0-OpenSSH_9.6 garbage\r\n") as garbage:
        closed = hub.webhook_store.create(
            f"http://127.0.0.1:{closed_port()}/hooks", ["session.created"], "c2VjcmV0"
        )
        talking = hub.webhook_store.create(garbage.url, ["session.created"], "c2VjcmV0")
        hub.webhook_emitter.emit("session.created", SESSION)
        with caplog.at_level(logging.DEBUG):
            assert drain(hub) == 2
        assert garbage.accepted == 1
    assert attempts(hub, closed["_id"]) == [(None, "connection refused")]
    assert attempts(hub, talking["_id"]) == [(None, "invalid response")]
    errors = {job["error"] for job in hub.database.db.recording_jobs.find({"kind": "webhook"})}
    assert errors == {"connection refused", "invalid response"}
    for word in LOW_LEVEL:
        assert word not in our_logs(caplog)


def test_internal_ports_open_or_closed_are_refused_alike(guarded, caplog):
    """With WEBHOOKS_ALLOW_PRIVATE off, an internal address is refused before any
    connection: an open port and a closed one give the same attempt, word for word."""
    _, hub = guarded
    with RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") as open_port:
        urls = (open_port.url, f"http://127.0.0.1:{closed_port()}/hooks")
        endpoints = [hub.webhook_store.create(url, ["session.created"], "c2VjcmV0") for url in urls]
        hub.webhook_emitter.emit("session.created", SESSION)
        with caplog.at_level(logging.DEBUG):
            assert drain(hub) == 2
        assert open_port.accepted == 0
    for endpoint in endpoints:
        assert attempts(hub, endpoint["_id"]) == [(None, "refused: non-public address")]
    for word in (*LOW_LEVEL, "127.0.0.1"):
        assert word not in our_logs(caplog)


def test_a_trickling_receiver_is_cut_off_at_the_deadline(make_app):
    """A receiver that sends its answer one byte a second (never silent for a read
    timeout: 38 bytes, 38 s) is cut off at WEBHOOKS_DEADLINE_SECONDS: the attempt is a
    `timeout`, the job waits for its retry like any failure, the receiver sees the hang-up."""
    hub = make_app(WEBHOOKS_DEADLINE_SECONDS=2).extensions["livesessions"]
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    with RawServer(answer, chunk=1, every=1.0) as trickle:
        endpoint = hub.webhook_store.create(trickle.url, ["session.created"], "c2VjcmV0")
        hub.webhook_emitter.emit("session.created", SESSION)
        assert drain(hub) == 1
        assert trickle.cut.wait(60)  # the delivery hung up on it
    assert attempts(hub, endpoint["_id"]) == [(None, "timeout")]
    job = hub.database.db.recording_jobs.find_one({"kind": "webhook"})
    assert (job["status"], job["error"], job["attempts"]) == ("pending", "timeout", 1)
    (attempt,) = hub.webhook_service.attempts.recent(endpoint["_id"])
    assert job["runAt"] > attempt["at"]  # retried later, as any failure


def test_a_url_s_credentials_are_sent_but_never_shown_or_logged(make_app, caplog):
    """`http://user:password@host/`: the receiver gets them as Basic auth; the API's
    answers, the delivery log, the CLI and every log line show `***@` instead."""
    app = make_app()
    hub = app.extensions["livesessions"]
    client, admin = app.test_client(), admin_headers(app)
    with Receiver(statuses=[500]) as receiver, caplog.at_level(logging.DEBUG):
        url = receiver.url.replace("http://", "http://hook-user:pa55-w0rd@")
        created = client.post(
            "/webhooks", json={"url": url, "events": ["session.created"]}, headers=admin
        )
        assert created.status_code == 201
        endpoint_id = created.get_json()["id"]
        hub.webhook_emitter.emit("session.created", SESSION)
        for _ in range(2):  # a failure (logged), then a success
            assert drain(hub) == 1
            make_due(hub)
        shown = [
            created.get_data(as_text=True),
            client.get("/webhooks", headers=admin).get_data(as_text=True),
            client.get(f"/webhooks/{endpoint_id}/deliveries", headers=admin).get_data(as_text=True),
            app.test_cli_runner().invoke(args=["webhooks", "list"]).output,
            client.delete(f"/webhooks/{endpoint_id}", headers=admin).get_data(as_text=True),
        ]
    expected = "Basic " + base64.b64encode(b"hook-user:pa55-w0rd").decode()
    assert [headers["Authorization"] for _, headers, _ in receiver.received] == [expected] * 2
    assert created.get_json()["url"] == receiver.url.replace("http://", "http://***@")
    for text in [*shown, our_logs(caplog)]:
        assert "pa55-w0rd" not in text
        assert "hook-user" not in text
    assert "***@" in shown[3]
