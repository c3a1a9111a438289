"""What the benchmarks (and the tests, through tests/support) share to run servers on loopback."""

import random
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project root, where `make` runs
_PICK = random.SystemRandom()  # not the global generator: a test may seed that


def _ephemeral_start() -> int:
    """Where the kernel's ports for outgoing connections begin (Linux; 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now, chosen below the kernel's
    ephemeral range: a port the kernel picked (bind to 0) could be handed to any outgoing
    connection before the server that wanted it binds it ("Address already in use")."""
    for _ in range(100):
        port = _PICK.randrange(20000, _ephemeral_start())
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: another
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")
