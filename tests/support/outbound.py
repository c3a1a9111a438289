"""Attackers' tools against outbound webhooks: a DNS that answers what the test says (and
rebinds), a connection hook that sends "public" addresses to a loopback stand-in, and raw
loopback servers that answer garbage or trickle their answer a byte at a time."""

import socket
import threading

import urllib3.util.connection

PUBLIC = "93.184.215.14"  # a global address (example.com's once): never really contacted


class FakeDns:
    """socket.getaddrinfo for the names in `answers` (name -> list of addresses, served in
    turn, one per lookup: a rebinding DNS); every other name the real resolver's."""

    def __init__(self, monkeypatch, answers):
        self.answers = {name: list(addresses) for name, addresses in answers.items()}
        self.lookups = []
        self.real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)

    def getaddrinfo(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        turn = self.answers[host]
        address = turn[len(self.lookups) % len(turn)]
        self.lookups.append((host, address))
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]


class Connections:
    """Every TCP connection the HTTP clients (urllib3, under requests too) open, recorded;
    one to PUBLIC is made to `stand_in` (a loopback port) instead, as if that were the
    public host, and any other goes where it says."""

    def __init__(self, monkeypatch, stand_in=None):
        self.targets = []
        self.stand_in = stand_in
        self.real = urllib3.util.connection.create_connection
        monkeypatch.setattr(urllib3.util.connection, "create_connection", self.connect)

    def connect(self, address, *args, **kwargs):
        self.targets.append(address)
        if address[0] == PUBLIC:
            if self.stand_in is None:
                raise ConnectionRefusedError(111, "Connection refused")
            address = ("127.0.0.1", self.stand_in)
        return self.real(address, *args, **kwargs)


class RawServer:
    """A loopback TCP server that reads a request and answers with `answer` bytes, `every`
    seconds apart `chunk` bytes at a time, then hangs up (or when stopped). `accepted`
    counts connections; `cut` is set when a client hung up before the answer was out."""

    def __init__(self, answer: bytes, chunk=None, every=0.0):
        self.answer, self.chunk, self.every = answer, chunk or len(answer), every
        self.stop = threading.Event()
        self.cut = threading.Event()
        self.accepted = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)  # accept() wakes to see `stop` (close() doesn't wake it)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)
        self.listener.close()

    def _serve(self):
        while not self.stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            with client:
                client.settimeout(None)
                self._answer(client)

    def _answer(self, client):
        try:
            client.recv(65536)
            for start in range(0, len(self.answer), self.chunk):
                client.sendall(self.answer[start : start + self.chunk])
                if self.stop.wait(self.every):
                    return
        except OSError:
            self.cut.set()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]
