"""Where an outbound delivery may go: one reading of the URL, one resolution of its host,
and the guard that keeps deliveries off loopback, private and every other non-global
network (SSRF).

The URL is read once (`parse_destination`) and refused if two parsers read it differently;
the host is resolved once (`resolve`) and every address it resolves to is judged; the
delivery then connects to the approved address itself (`transport`), so no second lookup
or second parse can send it elsewhere.
"""

import ipaddress
import re
import socket
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

SCHEMES = {"http": 80, "https": 443}
# A host name as DNS writes it (letters, digits, hyphens; ASCII only: IDNs as punycode),
# whose last label starts with a letter, so that `2130706433`, `0x7f.1` or `127.1`, which
# inet_aton reads as IPv4 addresses, are never taken for names.
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"^(?:{LABEL}\.)*[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?$")
# IPv6 ranges that carry an IPv4 address but that `ipaddress` (3.11) calls global:
# NAT64's local-use prefix (RFC 8215; where its IPv4 sits depends on the operator) and the
# deprecated IPv4-compatible addresses (::a.b.c.d, RFC 4291), refused whole.
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
ANSWERS_KEPT = 16  # addresses of one name judged (a name with more is refused)


class DestinationRefused(Exception):
    """The URL's host resolves to an address deliveries may not reach (or none)."""


class DestinationUnresolved(DestinationRefused):
    """The URL's host can't be resolved."""


class DestinationAmbiguous(DestinationRefused):
    """The URL is not one plain http(s) URL that every parser reads alike."""


class Destination(NamedTuple):
    """A webhook URL as read once: what to connect to, and what to send."""

    scheme: str
    host: str  # lower case; an IPv6 address without brackets
    port: int
    target: str  # the path and query, as sent on the request line
    userinfo: tuple[str, str] | None  # (user, password), percent-decoded

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"


def _plain(url: str) -> bool:
    """ASCII only, no whitespace, control character or backslash (which parsers split on
    differently: WHATWG reads `\\` as `/`, urlsplit as part of the user name)."""
    return url.isascii() and not any(c.isspace() or c < " " or c in "\x7f\\" for c in url)


def _authority_is_plain(netloc: str) -> bool:
    """At most one `@`, no percent-escape in the host (an escaped name, an IPv6 zone) and
    no port 0: what is left is read the same way by any parser."""
    host_and_port = netloc.rpartition("@")[2]
    zero_port = re.search(r":0+$", host_and_port)
    return netloc.count("@") <= 1 and "%" not in host_and_port and not zero_port


def _host_is_plain(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return bool(HOST_NAME.match(host))
    return str(ip) == host or isinstance(ip, ipaddress.IPv6Address)


def parse_destination(url: str) -> Destination:
    """Read a webhook URL; raise DestinationAmbiguous unless it is a plain http(s) URL that
    the standard library (`urlsplit`) and urllib3 (`parse_url`, what `requests` connects
    by) read to the same scheme, host, port and user information."""
    try:
        split = urlsplit(url)
        split_port = split.port
        other = parse_url(url)
    except (ValueError, LocationParseError):
        raise DestinationAmbiguous("malformed URL") from None
    host = (split.hostname or "").removesuffix(".")
    if not (_plain(url) and _authority_is_plain(split.netloc) and _host_is_plain(host)):
        raise DestinationAmbiguous("not a plain URL")
    scheme = split.scheme.lower()
    userinfo = split.netloc.rpartition("@")[0] if "@" in split.netloc else None
    other_host = (other.host or "").strip("[]").lower().removesuffix(".")
    if (scheme, host, split_port, userinfo) != (other.scheme, other_host, other.port, other.auth):
        raise DestinationAmbiguous("parsers disagree")
    if scheme not in SCHEMES:
        raise DestinationAmbiguous("not an http(s) URL")
    target = (split.path or "/") + (f"?{split.query}" if split.query else "")
    credentials = None
    if userinfo is not None:
        user, _, password = userinfo.partition(":")
        credentials = (unquote(user), unquote(password))
    return Destination(scheme, host, split_port or SCHEMES[scheme], target, credentials)


def shown_url(url: str) -> str:
    """The URL as logs and answers show it: any user information replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(malformed URL)"
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries to an IPv4 host: IPv4-mapped, 6to4,
    Teredo (server and client) and NAT64's well-known prefix."""
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in NAT64_WELL_KNOWN:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]


def _global(ip) -> bool:
    return ip.is_global and not ip.is_multicast  # 3.11 calls 224.0.0.0/4 and ff0e:: global


def is_public(address: str) -> bool:
    """Whether deliveries may reach an IP address: global in the standard library's sense
    (`ipaddress.is_global`, which refuses 100.64.0.0/10 among others), not multicast, and,
    for an IPv6 address carrying an IPv4 one, that IPv4 address global too."""
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 zone says where, not what
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:  # an IPv4 connection in all but name: judged as IPv4
            return _global(ip.ipv4_mapped)
        if ip in NAT64_LOCAL or ip in IPV4_COMPATIBLE:
            return False
        if not all(_global(embedded) for embedded in _embedded_ipv4(ip)):
            return False
    return _global(ip)


def resolve(destination: Destination, *, allow_private: bool) -> tuple[int, str]:
    """Resolve the host once; return the (address family, address) to connect to: the
    first answer, once every answer is public (unless `allow_private`). Raise
    DestinationUnresolved or DestinationRefused."""
    try:
        found = socket.getaddrinfo(
            destination.host, destination.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError):
        raise DestinationUnresolved("no address") from None
    answers = [(family, sockaddr[0]) for family, _, _, _, sockaddr in found]
    if not answers or len(answers) > ANSWERS_KEPT:
        raise DestinationUnresolved("no address")
    if not allow_private and not all(is_public(address) for _, address in answers):
        raise DestinationRefused("non-public address")
    return answers[0]


def check_destination(url: str, *, allow_private: bool) -> tuple[Destination, tuple[int, str]]:
    """Read the URL and resolve its host as a delivery would; return both. Raise
    DestinationRefused (or a subclass) if the delivery may not be made."""
    destination = parse_destination(url)
    return destination, resolve(destination, allow_private=allow_private)
