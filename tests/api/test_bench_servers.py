"""make bench's servers: started from the Procfile and the Makefile as the benchmark reads
them, and the bare Express peer answering what bare Flask answers."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bench.apps import SEARCH, bare_app, bare_bodies
from bench.http_bench import EXPRESS, serve_fast_command
from bench.loopback import free_port
from tests.support.processes import wait_until


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


def express_installed() -> Path:
    """bench/express's dependencies, as `make bench` installs them (npm ci: the lock)."""
    if not (EXPRESS / "node_modules" / "express").is_dir():
        subprocess.run(
            ["npm", "ci", "--prefix", str(EXPRESS), "--silent", "--no-audit", "--no-fund"],
            check=True,
            timeout=300,
        )
    return EXPRESS


@pytest.mark.skipif(shutil.which("npm") is None, reason="make bench's Express needs Node 20")
def test_bare_express_answers_what_bare_flask_answers(tmp_path):
    """The Express column serves the bare Flask app's bodies, byte for byte as JSON values,
    on the paths the benchmark times (its writes included)."""
    flask = bare_app().test_client()
    bodies = tmp_path / "bodies.json"
    bodies.write_bytes(bare_app().json.dumps(bare_bodies()).encode())
    port = free_port()
    env = dict(os.environ, PORT=str(port), WORKERS="1", BENCH_BODIES=str(bodies))
    server = subprocess.Popen(["node", "server.js"], cwd=express_installed(), env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{base}/sessions/course/x"))
        for method, path, status in [
            ("GET", "/sessions/some-id", 200),
            ("GET", "/sessions", 200),
            ("GET", f"/sessions?search={SEARCH}", 200),
            ("GET", "/sessions/course/some-course", 200),
            ("POST", "/sessions", 201),
            ("POST", "/sessions/some-id/participants", 200),
            ("PATCH", "/sessions/some-id/status", 200),
        ]:
            answer = requests.request(method, base + path, json={}, timeout=10)
            expected = flask.open(path, method=method, json={})
            assert (answer.status_code, answer.json()) == (status, expected.get_json()), path
            assert expected.status_code == status
    finally:
        server.terminate()
        server.wait(timeout=10)


def _answers(url) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False
