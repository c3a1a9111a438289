"""One outbound POST to an address already approved (`destinations.resolve`): urllib3
connects to that address itself, with the URL's host as the Host header, the TLS server
name and the certificate's expected name; no redirect is followed; one total deadline
covers connect, send and read; a failure is told as a short class only, never the
socket's own words (which would tell an open port from a closed one)."""

import errno
import http.client
import socket
import ssl
import threading

import certifi
import urllib3.exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection

from .destinations import Destination


class DeliveryFailed(Exception):
    """No HTTP answer came; the message is a short class such as `timeout`."""


class Watchdog:
    """Cut a connection at its deadline, whatever it is waiting for.

    urllib3, like requests, http.client and httpx, bounds each socket operation, never the
    whole exchange: a receiver that sends a byte just inside each read timeout (or trickles
    its TLS handshake) would hold the delivery, and the worker's slot, as long as it liked.
    None of them offers a total deadline, so this timer shuts the socket down when the
    deadline comes, which ends the operation waiting on it. It keeps the socket's file
    descriptor, not the socket object: wrapping it in TLS makes a new object on the same
    descriptor (and detaches the first), and `shutdown` acts on the connection, so a dup
    of the descriptor reaches it at every stage."""

    def __init__(self, seconds: float):
        self.lock = threading.Lock()
        self.descriptor = None
        self.expired = False
        self.finished = False
        self.timer = threading.Timer(seconds, self._cut)
        self.timer.daemon = True

    def attach(self, sock: socket.socket) -> None:
        """Watch a connection's socket (cut at once if the deadline has already come)."""
        with self.lock:
            self.descriptor = sock.fileno()
            if self.expired:
                self._shut_down()

    def start(self) -> None:
        self.timer.start()

    def finish(self) -> None:
        """Stop watching; call before the socket is closed (its descriptor then reused)."""
        with self.lock:
            self.finished = True
        self.timer.cancel()

    def _cut(self) -> None:
        with self.lock:
            if self.finished:
                return
            self.expired = True
            self._shut_down()

    def _shut_down(self) -> None:
        if self.descriptor is None:
            return
        try:
            with socket.fromfd(self.descriptor, socket.AF_INET, socket.SOCK_STREAM) as dup:
                dup.shutdown(socket.SHUT_RDWR)
        except OSError:  # closed or never connected: nothing left to cut
            pass


class _Watched:
    """A urllib3 connection whose socket, once made, is handed to its watchdog (the one
    point where urllib3 shows the socket before the TLS handshake)."""

    watchdog: Watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.watchdog.attach(sock)
        return sock


class _WatchedHTTP(_Watched, HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, HTTPSConnection):
    pass


def _connection(destination: Destination, address: str, seconds: float, watchdog: Watchdog):
    if destination.scheme == "https":
        connection = _WatchedHTTPS(
            address,
            destination.port,
            timeout=seconds,
            server_hostname=destination.host,  # SNI: the name, not the address
            assert_hostname=destination.host,  # the certificate must be the name's
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),  # the CA bundle requests used
        )
    else:
        connection = _WatchedHTTP(address, destination.port, timeout=seconds)
    connection.watchdog = watchdog
    return connection


def post(
    destination: Destination, address: str, body: bytes, headers: dict, deadline_seconds: float
) -> int:
    """POST `body` to `address` as `destination` names it; return the HTTP status (the body
    is not read; a redirect is a status like any other). Raise DeliveryFailed."""
    watchdog = Watchdog(deadline_seconds)
    connection = _connection(destination, address, deadline_seconds, watchdog)
    watchdog.start()
    try:
        connection.request(
            "POST",
            destination.target,
            body=body,
            headers={**headers, "Host": destination.host_header},
            preload_content=False,
        )
        return connection.getresponse().status
    except (OSError, ValueError, http.client.HTTPException, urllib3.exceptions.HTTPError) as error:
        raise DeliveryFailed("timeout" if watchdog.expired else failure_class(error)) from None
    finally:
        watchdog.finish()
        connection.close()


def _causes(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


# The classes a failure is told as: the first match, from the innermost cause out (urllib3
# wraps a refused connection in NewConnectionError, which is a ConnectTimeoutError).
CLASSES = (
    ((TimeoutError, urllib3.exceptions.TimeoutError), "timeout"),
    ((ssl.SSLError, ssl.CertificateError, urllib3.exceptions.SSLError), "tls"),
    ((http.client.HTTPException, urllib3.exceptions.ProtocolError), "invalid response"),
    ((ConnectionRefusedError,), "connection refused"),
    ((ConnectionResetError, ConnectionAbortedError, BrokenPipeError), "connection reset"),
)
UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH}


def failure_class(error: BaseException) -> str:
    """A short, fixed word for why a delivery got no answer."""
    for cause in reversed(list(_causes(error))):
        for types, name in CLASSES:
            if isinstance(cause, types):
                return name
        if isinstance(cause, OSError) and cause.errno in UNREACHABLE:
            return "unreachable"
    return "connection failed"
