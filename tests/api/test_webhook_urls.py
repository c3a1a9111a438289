"""Webhook URLs an attacker would register (issue 26): URLs that two parsers read two ways,
and hosts whose addresses are not global under any disguise (shared address space, the
cloud metadata address, IPv6 forms carrying a private IPv4). Each is refused with a 400
and nothing is stored (WEBHOOKS_ALLOW_PRIVATE off, as in production)."""

import socket

import pytest

from livesessions.errors import WEBHOOK_URL_AMBIGUOUS, WEBHOOK_URL_REFUSED
from tests.support.outbound import PUBLIC, FakeDns

URI = '"url" must be a valid uri with a scheme matching the http|https pattern'


@pytest.fixture
def admin(token_for):
    return {"Authorization": f"Bearer {token_for('admin-1', 'admin')}"}


@pytest.fixture
def guarded(make_app, monkeypatch):
    """A client of an app with WEBHOOKS_ALLOW_PRIVATE off, where good.example is public."""
    FakeDns(monkeypatch, {"good.example": [PUBLIC]})
    app = make_app(WEBHOOKS_ALLOW_PRIVATE=False)
    return app.test_client(), app.extensions["livesessions"].database.db


def register(client, admin, url):
    return client.post("/webhooks", json={"url": url, "events": ["session.created"]}, headers=admin)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1\\@good.example/",  # urlsplit: good.example; urllib3: 127.0.0.1
        "http://127.0.0.1:8080\\@good.example/x",
        "http://good.example\\@127.0.0.1/",  # the other way round
        "http://a@b@good.example/",  # two @
        "http://%31%32%37.0.0.1/",  # urllib3 decodes it to 127.0.0.1
        "http://good.ex%61mple/",
        "http://[::1]%25eth0/",  # a zone after the brackets
        "http://[fe80::1%25eth0]/",
        "http://\u0661\u0662\u0667.0.0.1/",  # Arabic-Indic digits
        "http://127.1/",  # inet_aton's shorthands
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://good.example:0/",
        "http://good.example/\x00",  # a control character
        "http://good.example\x7f/",
    ],
)
def test_urls_that_parsers_read_differently_are_refused(guarded, admin, url):
    client, db = guarded
    response = register(client, admin, url)
    assert (response.status_code, response.get_json()) == (400, {"message": WEBHOOK_URL_AMBIGUOUS})
    assert db.webhook_endpoints.count_documents({}) == 0


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1\tgood", "http://good.example\r\n/", "http://good.example/a b"]
)
def test_urls_with_whitespace_are_refused_by_the_schema(guarded, admin, url):
    client, db = guarded
    response = register(client, admin, url)
    assert (response.status_code, response.get_json()) == (400, {"message": URI})
    assert db.webhook_endpoints.count_documents({}) == 0


def test_the_parser_check_holds_with_private_addresses_allowed(client, admin, db, monkeypatch):
    FakeDns(monkeypatch, {"good.example": [PUBLIC]})
    response = register(client, admin, "http://127.0.0.1\\@good.example/")
    assert (response.status_code, response.get_json()) == (400, {"message": WEBHOOK_URL_AMBIGUOUS})
    assert db.webhook_endpoints.count_documents({}) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://100.100.100.200/latest/meta-data",  # shared address space: a cloud's metadata
        "http://100.64.0.1/",
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[::7f00:1]/",  # IPv4-compatible 127.0.0.1
        "http://224.0.0.1/",  # multicast, which 3.11 calls global
    ],
)
def test_non_global_addresses_in_any_form_are_refused(guarded, admin, url):
    client, db = guarded
    response = register(client, admin, url)
    assert (response.status_code, response.get_json()) == (400, {"message": WEBHOOK_URL_REFUSED})
    assert db.webhook_endpoints.count_documents({}) == 0


def test_a_name_with_one_private_address_among_public_ones_is_refused(guarded, admin, monkeypatch):
    client, db = guarded

    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("100.100.100.200", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    response = register(client, admin, "https://hooks.example.com/x")
    assert (response.status_code, response.get_json()) == (400, {"message": WEBHOOK_URL_REFUSED})
    assert db.webhook_endpoints.count_documents({}) == 0


# What Python 3.11's `is_global` says of each (the reason for the checks beside it).
REFUSED = [
    ("100.64.0.1", False),  # shared address space (RFC 6598)
    ("100.100.100.200", False),  # ...with a cloud metadata address in it
    ("10.0.0.1", False),
    ("169.254.169.254", False),
    ("192.0.2.1", False),  # documentation
    ("198.18.0.1", False),  # benchmarking
    ("240.0.0.1", False),
    ("0.0.0.0", False),
    ("224.0.0.1", True),  # multicast: refused by is_multicast
    ("::ffff:127.0.0.1", False),  # IPv4-mapped
    ("::ffff:100.64.0.1", True),  # mapped shared space: refused as its IPv4 address
    ("2002:7f00:1::", True),  # 6to4 of 127.0.0.1: refused by its embedded address
    ("2002:a00:1::", True),  # 6to4 of 10.0.0.1
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ("64:ff9b::7f00:1", True),  # NAT64 of 127.0.0.1
    ("64:ff9b::6440:1", True),  # NAT64 of 100.64.0.1
    ("64:ff9b:1::a00:1", True),  # NAT64 local use: refused whole
    ("::7f00:1", True),  # IPv4-compatible 127.0.0.1: refused whole
    ("::808:808", True),  # IPv4-compatible, even of a public address
    ("::1", False),
    ("::", False),
    ("fe80::1%eth0", False),
    ("fc00::1", False),
    ("2001:db8::1", False),
    ("ff0e::1", True),  # global multicast
]
ALLOWED = [
    "8.8.8.8",
    PUBLIC,
    "2606:4700::1111",
    "::ffff:8.8.8.8",
    "2002:808:808::",
    "64:ff9b::808:808",
]


@pytest.mark.parametrize(("address", "python_says_global"), REFUSED)
def test_every_non_global_form_is_refused(address, python_says_global):
    import ipaddress

    from livesessions.outbound.destinations import is_public

    assert ipaddress.ip_address(address.split("%")[0]).is_global is python_says_global
    assert is_public(address) is False


@pytest.mark.parametrize("address", ALLOWED)
def test_global_addresses_are_allowed(address):
    from livesessions.outbound.destinations import is_public

    assert is_public(address) is True
