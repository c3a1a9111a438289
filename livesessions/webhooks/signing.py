"""What every outbound delivery relies on: the endpoint's secret, the signature (Daily's
encoding: base64 HMAC-SHA256 of `timestamp.body`, keyed with the base64-decoded secret),
and the guard that keeps deliveries off loopback and private networks."""

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Livesessions-Signature"
TIMESTAMP_HEADER = "X-Livesessions-Timestamp"
SCHEMES = ("http", "https")


class DestinationRefused(Exception):
    """The URL's host resolves to an address deliveries may not reach (or none)."""


class DestinationUnresolved(DestinationRefused):
    """The URL's host can't be resolved (or the URL has none)."""


def new_secret() -> str:
    """A fresh endpoint secret: 32 random bytes, base64 (as Daily's webhook secrets are)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(base64decode(secret), `timestamp.body`))."""
    key = base64.b64decode(secret)
    message = timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def is_public(address: str) -> bool:
    """Whether an IP address is neither loopback, private, link-local, multicast, reserved
    nor unspecified (an IPv4-mapped IPv6 address is judged as its IPv4 address)."""
    ip = ipaddress.ip_address(address.split("%")[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_destination(url: str, *, allow_private: bool) -> None:
    """Refuse a URL whose host resolves to any address that is not public (unless
    `allow_private`), or doesn't resolve; raise DestinationRefused."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in SCHEMES or not host:
        raise DestinationUnresolved(f"not an http(s) URL: {url}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as error:
        raise DestinationUnresolved(f"cannot resolve {host}: {error}") from None
    if allow_private:
        return
    refused = sorted({info[4][0] for info in found if not is_public(info[4][0])})
    if refused:
        raise DestinationRefused(f"{host} resolves to a non-public address ({refused[0]})")
