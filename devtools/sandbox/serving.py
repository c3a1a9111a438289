"""Serving a sandbox on loopback: in a daemon thread, and stopped at once."""

import threading


class Served:
    """`start()` and `stop()` for a sandbox whose `server` is a socketserver-style server."""

    thread_name = "sandbox"
    _thread = None

    def start(self):
        """Serve in a daemon thread; return self."""
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits for the poll: keep it short
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and close the socket."""
        if self._thread is not None:  # shutdown() would wait forever for a loop never started
            self.server.shutdown()
            self._thread.join()
        self.server.server_close()
