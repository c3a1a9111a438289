"""Abuse and faults over loopback: clients that trickle their requests, a Daily.co that
hangs, clients that repeat a request, and latency figures."""

import contextlib
import math
import select
import socket
import threading
import time
from typing import NamedTuple
from urllib.parse import urlsplit

import requests

TRICKLE_BODY_BYTES = 100_000  # the Content-Length the body tricklers announce
TCP_ESTABLISHED = 1  # Linux's `tcpi_state` of a connection neither end has closed


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


class HangingDaily:
    """A Daily.co on loopback that, while `hanging`, accepts connections and never answers
    (it reads and drops what they send); otherwise it forwards them to `upstream` (the Daily
    sandbox). Counts the connections, keeps when each was held, and how many were held at
    once."""

    def __init__(self, upstream_url):
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname, parts.port)
        self.path = parts.path  # `/v1`
        self.hanging = False
        self.connections = 0  # accepted, held or forwarded
        self.held = []  # [accepted_at, closed_at or None] of each connection held unanswered
        self._lock = threading.Lock()
        self._holding = []  # the held connections not yet closed here
        self._most_held = 0
        self._forwarded = []
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._thread = threading.Thread(target=self._accept, name="hanging-daily", daemon=True)

    @property
    def api_url(self):
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}{self.path}"

    def start(self):
        self._thread.start()
        return self

    def hang(self):
        """From now on, hold every connection unanswered; drop the forwarded ones (a client
        reusing one sees it closed, and its next connection hangs)."""
        with self._lock:
            self.hanging = True
            forwarded, self._forwarded = self._forwarded, []
        for sock in forwarded:
            _close(sock)

    def answer(self):
        """From now on, forward new connections to the sandbox again."""
        with self._lock:
            self.hanging = False

    def most_held_at_once(self):
        """How many connections were held at the same time, their client's end still open.

        Counted as each is accepted, by the kernel's state of the others rather than by
        when the thread holding one noticed its close: a client closes a connection before
        it opens the next, and by the time that one is accepted the close has arrived."""
        with self._lock:
            return self._most_held

    def stop(self):
        _close(self._listener)

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                hanging = self.hanging
                if hanging:
                    span = [time.monotonic(), None]
                    self.held.append(span)
                    self._holding = [held for held in self._holding if _open_at_both_ends(held)]
                    self._holding.append(client)
                    self._most_held = max(self._most_held, len(self._holding))
            if hanging:
                threading.Thread(target=self._hold, args=(client, span), daemon=True).start()
            else:
                threading.Thread(target=self._forward, args=(client,), daemon=True).start()

    def _hold(self, client, span):
        try:
            while client.recv(65536):
                pass  # read and dropped: never an answer
        except OSError:
            pass
        with self._lock:  # out of the count before it is closed
            span[1] = time.monotonic()
            if client in self._holding:
                self._holding.remove(client)
        _close(client)

    def _forward(self, client):
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _close(client)
            return
        upstream.settimeout(None)
        with self._lock:
            self._forwarded += [client, upstream]
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)


def _pump(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _close(source)
    _close(sink)


def _open_at_both_ends(sock):
    """Whether neither end of `sock` has closed it, by the kernel's TCP state (Linux)."""
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == TCP_ESTABLISHED
    except OSError:
        return False


def _close(sock):
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class Answer(NamedTuple):
    """One answer `Repeating` got: `status` None and `body` the exception's repr if none
    came; `request_id`: the server's X-Request-ID, to find the request in its log."""

    started: float  # time.monotonic()
    seconds: float
    status: int | None
    body: object
    request_id: str | None


class Repeating:
    """`clients` threads that each send the same request again `pause` seconds after its
    answer, all starting at once, each request given up after `timeout` seconds; keeps the
    Answer to every one."""

    def __init__(self, method, url, clients=16, pause=0.2, timeout=10, **kwargs):
        self.request = (method, url, kwargs)
        self.pause = pause
        self.timeout = timeout
        self.answers = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._start = threading.Barrier(clients)
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def start(self):
        for thread in self._threads:
            thread.start()
        return self

    def stop(self):
        """Send no more, and wait for the requests in flight (each gives up by `timeout`)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2 * self.timeout)

    def first(self, predicate):
        """The first Answer (by the time it came) that `predicate` accepts, or None."""
        with self._lock:
            answers = sorted(self.answers, key=lambda a: a.started + a.seconds)
        return next((answer for answer in answers if predicate(answer)), None)

    def _run(self):
        method, url, kwargs = self.request
        self._start.wait()
        while not self._stop.is_set():
            started = time.monotonic()
            seconds, response = timed(method, url, timeout=self.timeout, **kwargs)
            if isinstance(response, Exception):
                answer = Answer(started, seconds, None, repr(response), None)
            else:
                request_id = response.headers.get("X-Request-ID")
                answer = Answer(started, seconds, response.status_code, response.json(), request_id)
            with self._lock:
                self.answers.append(answer)
            self._stop.wait(self.pause)
