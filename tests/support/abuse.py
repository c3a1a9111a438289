"""Abuse and faults over loopback: clients that trickle their requests, a Daily.co that
hangs, clients that repeat a request, and latency figures."""

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


class HangingDaily:
    """A Daily.co on loopback that, while `hanging`, accepts connections and never answers
    (it reads and drops what they send); otherwise it forwards them to `upstream` (the Daily
    sandbox). Keeps when each connection was held, to count how many were held at once."""

    def __init__(self, upstream_url):
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname, parts.port)
        self.path = parts.path  # `/v1`
        self.hanging = False
        self.held = []  # [accepted_at, closed_at or None] of each connection held unanswered
        self._lock = threading.Lock()
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

    def most_held_at_once(self, slack=0.1):
        """How many connections were held at the same time, each counted `slack` seconds
        shorter (the time this server may take to notice that a client gave up)."""
        now = time.monotonic()
        with self._lock:
            spans = [(start, (end or now) - slack) for start, end in self.held]
        edges = sorted(
            [(start, 1) for start, end in spans if end > start]
            + [(end, -1) for start, end in spans if end > start]
        )
        most = current = 0
        for _, change in edges:
            current += change
            most = max(most, current)
        return most

    def stop(self):
        _close(self._listener)

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                hanging = self.hanging
            target = self._hold if hanging else self._forward
            threading.Thread(target=target, args=(client,), daemon=True).start()

    def _hold(self, client):
        span = [time.monotonic(), None]
        with self._lock:
            self.held.append(span)
        try:
            while client.recv(65536):
                pass  # read and dropped: never an answer
        except OSError:
            pass
        span[1] = time.monotonic()
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


def _close(sock):
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class Repeating:
    """`clients` threads that each send the same request again `pause` seconds after its
    answer, all starting at once; keeps (started, seconds, status, body) of every answer."""

    def __init__(self, method, url, clients=16, pause=0.2, **kwargs):
        self.request = (method, url, kwargs)
        self.pause = pause
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
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def first(self, predicate):
        """The first answer (by the time it came) that `predicate` accepts, or None."""
        with self._lock:
            answers = sorted(self.answers, key=lambda a: a[0] + a[1])
        return next((answer for answer in answers if predicate(*answer)), None)

    def _run(self):
        method, url, kwargs = self.request
        self._start.wait()
        while not self._stop.is_set():
            started = time.monotonic()
            seconds, response = timed(method, url, timeout=10, **kwargs)
            if isinstance(response, Exception):
                answer = (started, seconds, None, repr(response))
            else:
                answer = (started, seconds, response.status_code, response.json())
            with self._lock:
                self.answers.append(answer)
            self._stop.wait(self.pause)
