"""Abuse over loopback: clients that trickle their requests, and latency figures."""

import contextlib
import math
import select
import socket
import threading
import time
from urllib.parse import urlsplit

import requests

TRICKLE_BODY_BYTES = 100_000  # the Content-Length the body tricklers announce


def p99(samples):
    """The 99th percentile by nearest rank: the value that 99 % of the samples don't exceed."""
    ordered = sorted(samples)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def p50(samples):
    ordered = sorted(samples)
    return ordered[math.ceil(0.50 * len(ordered)) - 1]


def timed(method, url, timeout=2.0, **kwargs):
    """(seconds, response or the exception) of one request on a fresh connection."""
    started = time.perf_counter()
    try:
        with requests.Session() as session:
            response = session.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as error:
        return time.perf_counter() - started, error
    return time.perf_counter() - started, response


class Tricklers:
    """`headers` sockets that send a request line and then one header byte a second, never
    finishing the headers, and `bodies` sockets that send complete headers of a POST with
    `Content-Length: 100000` and then one body byte a second. A socket the server closes
    (or answers) is opened again at the next tick, so that the count holds all along."""

    def __init__(self, base_url, headers=64, bodies=64, body_path="/sessions/recording/start"):
        parts = urlsplit(base_url)
        self.address = (parts.hostname, parts.port)
        host = f"Host: {parts.netloc}\r\n"
        self.prefixes = [f"GET /healthz HTTP/1.1\r\n{host}X-Trickle: ".encode()] * headers
        self.prefixes += [
            (
                f"POST {body_path} HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                f"Content-Length: {TRICKLE_BODY_BYTES}\r\n\r\n"
            ).encode()
        ] * bodies
        self.sockets = [None] * len(self.prefixes)
        self.reopened = 0  # sockets the server closed or answered, opened again
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tricklers", daemon=True)

    def start(self):
        for index in range(len(self.prefixes)):
            self._open(index)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.sockets:
            if sock is not None:
                sock.close()

    def _open(self, index):
        if self.sockets[index] is not None:
            self.sockets[index].close()
            self.reopened += 1
        sock = socket.create_connection(self.address, timeout=2)
        sock.sendall(self.prefixes[index])
        self.sockets[index] = sock

    def _run(self):
        while not self._stop.wait(1.0):
            for index, sock in enumerate(self.sockets):
                try:
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable:  # an answer or a close: either way this one is done
                        raise ConnectionError
                    sock.send(b"a")
                except OSError:
                    with contextlib.suppress(OSError):  # refused: tried again next tick
                        self._open(index)
