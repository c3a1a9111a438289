"""make bench starts its servers from the Procfile and the Makefile: their commands as the
benchmark reads them."""

import sys
from pathlib import Path

from bench.http_bench import serve_fast_command


def test_the_serve_fast_server_is_granian_on_the_benchmark_factory():
    """The recipe checks the settings before granian (`startup && exec granian`): the
    benchmark starts granian itself, not python with `&&` among its arguments."""
    command = serve_fast_command("bench.apps:service_app", 7123)
    assert command[0] == str(Path(sys.executable).parent / "granian")
    assert "&&" not in command
    assert "exec" not in command
    assert command[command.index("--factory") + 1] == "bench.apps:service_app"
    assert command[command.index("--port") + 1] == "7123"
    assert command[command.index("--host") + 1] == "127.0.0.1"
