"""What the benchmarks share to run servers on loopback. BENCHMARK ONLY."""

import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project root, where `make` runs


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
