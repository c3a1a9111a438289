"""Loopback servers that trickle (never long enough silent for a read timeout) until
released: a recording download that gets stuck, and a webhook receiver that takes every
delivery and then answers one byte at a time."""

import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Trickling:
    """What both servers share: serving `handler` on a loopback port in a thread, and a
    stop that releases whatever is held first."""

    release: threading.Event

    def _serve(self, handler, path):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        serve = {"poll_interval": 0.05}  # so that shutdown() returns at once
        threading.Thread(target=self.server.serve_forever, kwargs=serve, daemon=True).start()

    def stop(self):
        """Release everything held (a download hung up on, an answer finished), then stop
        listening."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class TricklingSource(_Trickling):
    """Serves every GET as a recording of `declared` bytes that never arrives: `piece`
    every `every` seconds until `release` is set (or after `cap_seconds`), then hangs up.

    `serving` is how many responses it is sending now; `requests` how many it was sent.
    """

    def __init__(self, declared=10 * 1024 * 1024, piece=b"x" * 64, every=0.05, cap_seconds=60):
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.serving = 0
        self.requests = 0
        source = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with source.lock:
                    source.serving += 1
                    source.requests += 1
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "video/mp4")
                    self.send_header("Content-Length", str(declared))
                    self.end_headers()
                    for _ in range(int(cap_seconds / every)):
                        self.wfile.write(piece)
                        self.wfile.flush()
                        if source.release.wait(every):
                            break
                except OSError:  # the client gave up
                    pass
                finally:
                    with source.lock:
                        source.serving -= 1

        self._serve(Handler, "/recording.mp4")


class TricklingReceiver(_Trickling):
    """A webhook receiver that reads every POST whole, then answers one byte every `every`
    seconds (a status line, then a header that never ends) until `release` is set, and
    then finishes a 200 at once.

    `holding` is how many deliveries it is holding now; `received` the bodies it was sent.
    """

    def __init__(self, every=1.0):
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.holding = 0
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(body)
                    receiver.holding += 1
                try:
                    trickle = b"HTTP/1.1 200 OK\r\nX-Trickle: "  # then "x" for ever
                    for n in itertools.count():
                        self.wfile.write(trickle[n : n + 1] or b"x")
                        self.wfile.flush()
                        if receiver.release.wait(every):
                            break
                    self.wfile.write(trickle[n + 1 :] + b"\r\nContent-Length: 0\r\n\r\n")
                    self.wfile.flush()
                except OSError:  # the client gave up
                    pass
                finally:
                    with receiver.lock:
                        receiver.holding -= 1
                self.close_connection = True

        self._serve(Handler, "/hooks")
