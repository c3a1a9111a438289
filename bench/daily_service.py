"""What bench/daily.py drives: the service's processes, its callers' tokens, timed requests,
and the Daily sandbox's counters. BENCHMARK ONLY."""

import base64
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jwt

from tests.support.abuse import p50, p99, timed
from tests.support.factories import iso, session_payload, starting_soon
from tests.support.processes import ROOT, free_port, procfile_web_command, stop, wait_for

SECRET = "bench-daily-secret-" + "d" * 48
DAILY_KEY = "bench-daily-" + "0123456789abcdef" * 3  # as long as Daily's: it signs tokens
WEBHOOK_SECRET = base64.b64encode(b"bench-daily-webhook-secret").decode()
TIMEOUT = 35.0  # seconds a request may take: past gunicorn's 30 s worker timeout
WARNING_LEVELS = ("WARNING", "ERROR", "CRITICAL")


def bearer(user_id, role, name=None):
    """Authorization headers for a caller with this id and role, valid for an hour."""
    claims = {"sub": user_id, "role": role, "exp": int(time.time()) + 3600}
    if name:
        claims["name"] = name
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, 'HS256')}"}


INSTRUCTOR = bearer("instructor-1", "instructor", "Bench Instructor")


def call(method, url, headers=INSTRUCTOR, **kwargs):
    """(ms, status or the exception's class name, JSON body or None), on a fresh connection."""
    took, response = timed(method, url, TIMEOUT, headers=headers, **kwargs)
    if isinstance(response, Exception):
        return took * 1000, type(response).__name__, None
    try:
        body = response.json()
    except ValueError:
        body = None
    return took * 1000, response.status_code, body


def soon_payload(title):
    """A session starting in 5 minutes: it may be joined and recorded now."""
    return session_payload(title=title, scheduledAt=iso(starting_soon(5)), duration=60)


def statuses(results):
    """`200 x18, 500 x2`: the count of each status (or exception) among (ms, status, ...)."""
    counts = collections.Counter(str(result[1]) for result in results)
    return ", ".join(f"{status} x{count}" for status, count in sorted(counts.items())) or "none"


def quantiles(samples):
    if not samples:
        return "p50      -  p99      -"
    return f"p50 {p50(samples):6.0f}  p99 {p99(samples):6.0f}"


class Counters:
    """The sandbox's per-family API calls and 429s since `mark()` (zero when the sandbox
    counts nothing: a sandbox without rate limits)."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.mark()

    def _read(self, name):
        with self.sandbox.lock:
            return collections.Counter(getattr(self.sandbox, name, {}))

    def mark(self):
        self.calls, self.limited = self._read("api_calls"), self._read("rate_limited")
        self.tokens = len(self.sandbox.meeting_tokens)

    def report(self):
        """`429s: standard 12, slow 0 (of 340 calls)` since the mark."""
        calls = self._read("api_calls") - self.calls
        limited = self._read("rate_limited") - self.limited
        families = sorted(set(calls) | set(limited))
        shown = ", ".join(f"{family} {limited[family]}/{calls[family]}" for family in families)
        return f"sandbox 429s/calls: {shown or 'none counted'}"


def limits(sandbox, on):
    """Turn the sandbox's rate limits on (windows emptied) or off (to seed data)."""
    sandbox.rate_limits = on
    if on and hasattr(sandbox, "reset_rate_limits"):
        sandbox.reset_rate_limits()


class Service:
    """The Procfile's gunicorn (`workers`) and, with `job_worker`, one `recordings worker`,
    sharing `mongo_uri`; their output in temporary files, summarised by `log_summary`.

    Settings: what a deployment must give (JWT_SECRET_KEY, DAILY_API_KEY,
    DAILY_WEBHOOK_SECRET, MONGODB_URI) and where Daily is (DAILY_API_URL, the sandbox);
    every other one its default, rate limits on, unless `extra_env` says otherwise.
    APP_ENV=development, not production: production requires an https:// DAILY_API_URL,
    and the sandbox serves http on loopback. `source`: a directory holding another tree's
    `livesessions/`, `wsgi.py` and `gunicorn.conf.py` for the processes to run (their
    working directory and PYTHONPATH), else this checkout's."""

    def __init__(self, mongo_uri, sandbox, workers, job_worker, extra_env, source=None):
        self.source = Path(source or ROOT).resolve()
        path = [str(self.source), os.environ.get("PYTHONPATH", "")]
        self.env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, path)),
            APP_ENV="development",
            MONGODB_URI=mongo_uri,
            JWT_SECRET_KEY=SECRET,
            DAILY_API_URL=sandbox.api_url,
            DAILY_API_KEY=DAILY_KEY,
            DAILY_WEBHOOK_SECRET=WEBHOOK_SECRET,
            **extra_env,
        )
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.commands = [procfile_web_command(self.port, workers=workers)]
        if job_worker:
            flask = str(Path(sys.executable).parent / "flask")
            self.commands.append([flask, "--app", "wsgi", "recordings", "worker"])
        self.logs, self.processes = [], []

    def imports_from(self):
        """Where the service's processes import `livesessions` from (raises if that is not
        `source`: another copy on the path would be measured instead)."""
        found = subprocess.run(
            [sys.executable, "-c", "import livesessions; print(livesessions.__file__)"],
            cwd=self.source,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not Path(found).resolve().is_relative_to(self.source):
            raise RuntimeError(f"the service would import livesessions from {found}")
        return Path(found).parent

    def start(self, command, log):
        return subprocess.Popen(
            command,
            cwd=self.source,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def __enter__(self):
        self.imports_from()
        try:
            for command in self.commands:
                # A file, not a pipe: a worker blocked on a full pipe stops serving.
                log = tempfile.TemporaryFile("w+")
                self.logs.append(log)
                self.processes.append(self.start(command, log))
            wait_for(f"{self.base}/healthz", self.processes[0], timeout=30)
            time.sleep(1)  # the job worker's start: it has no health check
            for process, log, command in zip(self.processes, self.logs, self.commands, strict=True):
                if process.poll() is not None:
                    raise RuntimeError(f"{Path(command[0]).name} exited: {self._tail(log)}")
        except BaseException as error:
            for log in self.logs:
                print(f"--- server output (tail):\n{self._tail(log)}", file=sys.stderr)
            self.__exit__(type(error), error, None)
            raise
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            if process.poll() is None:
                stop(process)
        self.processes = []

    @staticmethod
    def _tail(log, lines=30):
        log.flush()
        log.seek(0)
        return "".join(log.readlines()[-lines:])

    def log_summary(self, top=12):
        """The server processes' WARNING-and-above lines, counted by message shape (after
        the processes stopped; the files are closed then)."""
        shapes = collections.Counter()
        for log in self.logs:
            log.seek(0)
            lines = log.readlines()
            log.close()
            for line in lines:
                text = _warning(line)
                if text:
                    shapes[re.sub(r"\S*\d\S*", "#", text)[:150]] += 1
        lines = [f"  {count:5d}  {shape}" for shape, count in shapes.most_common(top)]
        left = len(shapes) - top
        return "\n".join(lines + ([f"  ({left} more shapes)"] if left > 0 else []))


def _warning(line):
    """A log line's text if it is a warning or worse (JSON records at WARNING and above,
    gunicorn's own lines but its [INFO] ones, tracebacks), else ''."""
    try:
        record = json.loads(line)
    except ValueError:
        return "" if "[INFO]" in line else line.strip()  # gunicorn's start and stop
    try:
        if record["level"] not in WARNING_LEVELS:
            return ""
        return f"{record['level']} {record['logger']}: {record['message']}"
    except (KeyError, TypeError):
        return line.strip()
