"""A small reverse proxy on loopback, as a PaaS router is: it forwards every request to one
upstream and appends the address it saw the request come from to `X-Forwarded-For`.

Clients on loopback can come from distinct addresses: every 127.x.y.z is this machine's, so
a client that binds its socket to 127.0.0.7 (`LoopbackClient(source="127.0.0.7")`) is seen
by the proxy, and forwarded, as 127.0.0.7. Nothing is trusted from the client itself."""

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Headers of one connection, not of the request (RFC 9110 7.6.1): never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host"}


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards the client, as a router does

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        seen = self.client_address[0]
        before = self.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{before}, {seen}" if before else seen
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(name, value)
        finally:
            upstream.close()
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    def log_message(self, *args):  # quiet: the test reads statuses, not a log
        pass


class ForwardingProxy:
    """`ForwardingProxy("http://127.0.0.1:7000").start()`; `.url` is where clients go."""

    def __init__(self, upstream_url):
        parts = urlsplit(upstream_url)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Forward)
        self.server.daemon_threads = True
        self.server.upstream = (parts.hostname, parts.port)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


class LoopbackClient:
    """JSON requests to a loopback URL from the source address `source` (any 127.x.y.z),
    a fresh connection each: (status, decoded body)."""

    def __init__(self, base_url, source="127.0.0.1"):
        parts = urlsplit(base_url)
        self.address = (parts.hostname, parts.port)
        self.source = source

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection(
            *self.address, timeout=60, source_address=(self.source, 0)
        )
        sent = {"Content-Type": "application/json", **(headers or {})}
        try:
            data = None if body is None else json.dumps(body)
            connection.request(method, path, body=data, headers=sent)
            answer = connection.getresponse()
            return answer.status, json.loads(answer.read() or b"null")
        finally:
            connection.close()
