"""Settings that can't work, under the real commands: the operator reads one line, the
process exits non-zero by itself (no traceback, no worker booted again and again)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_servers import serve_fast_command
from tests.support.processes import ROOT, free_port, procfile_web_command, start

pytestmark = pytest.mark.slow  # real processes

BAD = {"APP_ENV": "Production", "JWT_SECRET_KEY": "x", "LOG_LEVEL": "verbose"}
LINE = (
    "Invalid settings: "
    "LOG_LEVEL must be DEBUG or INFO or WARNING or ERROR or CRITICAL, got 'verbose'; "
    "CORS_ORIGINS is required in production; PROXY_HOPS is required in production; "
    "MONGODB_URI is required in production; "
    "JWT_SECRET_KEY must be at least 32 bytes in production; "
    "DAILY_API_KEY is required in production; DAILY_WEBHOOK_SECRET is required in production; "
    "CLOUD_NAME is required in production; CLOUD_API_KEY is required in production; "
    "CLOUD_API_SECRET is required in production"
)
UNKNOWN_ENV = "Invalid settings: APP_ENV must be development or test or production, got 'prod'"
# Each command exits in about 2 s (its imports, then the check). One that does not stop by
# itself (serving anyway, or booting one worker after another) never exits: a minute tells
# the two apart however slow the machine.
EXIT_DEADLINE_S = 60


def run_to_exit(command, env, timeout=EXIT_DEADLINE_S):
    """(exit status, output) of `command`, killed if it outlives `timeout`."""
    process = start(command, env)
    try:
        output = process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output = process.communicate()[0]
        raise AssertionError(f"still running after {timeout}s:\n{output[-2000:]}") from None
    return process.returncode, output


def test_the_procfile_gunicorn_stops_in_its_master_with_the_one_line(server_env):
    """The master checks the settings before it binds or boots a worker (gunicorn.conf.py)."""
    command = procfile_web_command(free_port(), workers=2)
    status, output = run_to_exit(command, server_env | BAD)
    assert status == 1
    assert output.splitlines()[-1] == LINE
    assert output.count("Invalid settings") == 1
    assert "Traceback" not in output
    assert "Booting worker" not in output


def test_gunicorn_without_the_hook_stops_after_the_first_worker(server_env, tmp_path):
    """A gunicorn config of its own (no on_starting): the worker says the line and exits 3,
    which makes the master stop rather than boot one worker after another."""
    command = procfile_web_command(free_port(), workers=1)
    own_config = tmp_path / "gunicorn.conf.py"
    own_config.write_text("# a deployment's own gunicorn settings\n")
    command[command.index("gunicorn.conf.py")] = str(own_config)
    status, output = run_to_exit(command, server_env | {"APP_ENV": "prod"})
    assert status == 3
    assert UNKNOWN_ENV in output.splitlines()
    assert output.count("Booting worker") == 1
    assert "Reason: Worker failed to boot." in output
    assert "Traceback" not in output


def test_flask_commands_say_the_one_line(server_env):
    """The Procfile's `worker:` (and every `flask --app wsgi ...` command)."""
    flask = str(Path(sys.executable).parent / "flask")
    status, output = run_to_exit(
        [flask, "--app", "wsgi", "recordings", "worker"], server_env | {"APP_ENV": "prod"}
    )
    assert (status, output) == (1, UNKNOWN_ENV + "\n")


def test_the_token_command_says_the_one_line_on_stderr_only(server_env):
    """A command checks the production settings before anything else, as the servers do."""
    flask = str(Path(sys.executable).parent / "flask")
    done = subprocess.run(
        [flask, "--app", "wsgi", "token", "user-1"],
        cwd=ROOT,
        env=server_env | BAD,
        capture_output=True,
        text=True,
        timeout=EXIT_DEADLINE_S,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (1, "", LINE + "\n")


def test_make_serve_fast_stops_before_granian_with_the_one_line(server_env):
    """`make serve-fast` checks the settings (livesessions/startup.py) before granian starts."""
    status, output = run_to_exit(serve_fast_command(free_port(), 2, 1), server_env | BAD)
    assert (status, output) == (1, LINE + "\n")


def test_make_run_says_the_one_line(server_env):
    """`make run`'s dev server, its sandboxes started before the settings are read."""
    env = server_env | {"APP_ENV": "prod", "PORT": str(free_port())}
    env |= {"DAILY_SANDBOX_PORT": str(free_port()), "CLOUDINARY_SANDBOX_PORT": str(free_port())}
    status, output = run_to_exit([sys.executable, "-m", "devtools.devserver"], env)
    assert (status, output) == (1, UNKNOWN_ENV + "\n")


def test_the_demo_seeder_says_the_one_line(server_env):
    """`python -m devtools.demo`, which replaced `flask --app wsgi db seed-demo`."""
    env = server_env | {"APP_ENV": "prod"}
    status, output = run_to_exit([sys.executable, "-m", "devtools.demo"], env)
    assert (status, output) == (1, UNKNOWN_ENV + "\n")
