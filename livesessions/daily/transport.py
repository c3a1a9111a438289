"""The transport under the Daily.co client: turns under Daily's rate limits, the in-flight
limit, the circuit breaker, timeouts, one retry if transient, backoff after 429s."""

import logging
import random
import threading
import time
from collections.abc import Callable

import requests

from ..metrics import BREAKER_OPEN, DAILY_CALLS
from .breaker import OPEN, CircuitBreaker
from .limits import NoTurn, Pacer, family

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3.05
DEFAULT_BACKOFF = 0.5
# The longest a call waits for its turn and through Daily's 429s: a request must still be
# answered well inside gunicorn's 30 s timeout (the Procfile) and a proxy's.
# At the default, 20 recording starts released together all get a turn (1 per second and
# 5 in 5 s, with the margins: the last about 21.7 s later).
DEFAULT_RATE_WAIT_SECONDS = 24.0
# The call that goes at the end of that wait gets at most this long (its read timeout is
# cut to what is left of it): 24 + 3 s, and the request is answered inside the 30 s.
LAST_CALL_SECONDS = 3.0
# A 5xx's Retry-After is honoured up to this long before the one retry.
RETRY_AFTER_CAP_SECONDS = 5.0
# After a 429, the first wait is about this long at the default backoff (it scales with
# DAILY_RETRY_BACKOFF_SECONDS), then twice as long each time, with jitter; at most this
# many tries in all (the deadline usually ends them first).
RATE_LIMIT_BACKOFF_SECONDS = 1.0
RATE_LIMIT_ATTEMPTS = 6


class _Outage(Exception):
    def __init__(self, response):
        super().__init__(f"Daily.co answered {response.status_code}")
        self.response = response


class DailyError(Exception):
    """Daily.co answered with an error, or could not be reached."""

    def __init__(self, message, status=None, error_type=None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class DailyBusy(DailyError):
    """This process has its share of calls to Daily in flight already."""


class DailyRateLimited(DailyError):
    """Daily's rate limit leaves no turn for this call before its deadline; `retry_in`:
    about how many seconds until there would be one."""

    def __init__(self, message, retry_in):
        super().__init__(message, status=429, error_type="rate-limit-error")
        self.retry_in = retry_in


class DailyHttp:
    """Calls to Daily.co's API. Every call waits its turn under Daily's rate limits, has a
    timeout and at most one retry if transient, and is retried after 429s until its
    deadline."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        timeout: float = 10.0,
        backoff: float = DEFAULT_BACKOFF,
        http: requests.Session | None = None,
        *,
        sleep: Callable[[float], object] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
        random_fraction: Callable[[], float] = random.random,
        max_concurrent: int = 1,
        queue_seconds: float = 0.5,
        breaker_failures: int = 5,
        breaker_reset_seconds: float = 30,
        pacer: Pacer | None = None,
        rate_wait_seconds: float = DEFAULT_RATE_WAIT_SECONDS,
    ):
        self.base_url = base_url.rstrip("/")
        # Time as the client sees it (retry waits, turns, room names' timestamps): a test
        # gives its own instead of patching the time module for the whole process.
        self.sleep = sleep
        self.monotonic = monotonic
        self.clock = clock
        self.random_fraction = random_fraction
        self.timeout = (CONNECT_TIMEOUT_SECONDS, timeout)
        self.backoff = backoff
        self.api_key = api_key
        self.http = http or requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key or ''}"
        # A hanging Daily must not hold every request thread: at most `max_concurrent` calls
        # of this process wait on it (others wait `queue_seconds` for a slot, then fail), and
        # after `breaker_failures` outages in a row calls fail at once for
        # `breaker_reset_seconds`, then one is let through to see if Daily is back. A call
        # keeps its slot through its retry: were the retry to queue again, a waiting call
        # would take the slot, the retry would fail as busy, and under load the breaker
        # would never count an outage.
        self._in_flight = threading.BoundedSemaphore(max_concurrent)
        self.queue_seconds = queue_seconds
        self.breaker = CircuitBreaker(breaker_failures, breaker_reset_seconds, monotonic)
        self.pacer = pacer or Pacer(clock=clock, sleep=sleep)
        self.rate_wait_seconds = rate_wait_seconds

    def _request(self, method, path, body=None, *, wait=None):
        """One call, in its turn under Daily's rate limits, retried after a 429 until `wait`
        seconds (default `rate_wait_seconds`) have passed: then DailyRateLimited. The retry
        keeps its place: it takes its family's first turn from Daily's `Retry-After` (if it
        sends one, else a jittered, doubling backoff) on, ahead of the calls waiting."""
        calls = family(method, path)
        clock = self.pacer.clock  # the turns' time (Unix seconds, shared by processes)
        deadline = clock() + (self.rate_wait_seconds if wait is None else wait)
        not_before = None  # after a 429: the retry goes first in its family from then on
        for attempt in range(1, RATE_LIMIT_ATTEMPTS + 1):
            response = self._in_turn(method, path, body, calls, deadline, not_before)
            if response.status_code != 429:
                return response
            delay = self._rate_limit_delay(response, attempt)
            if clock() + delay > deadline:
                raise DailyRateLimited(f"Daily.co answered 429 to {method} {path}", delay)
            log.warning("Daily %s %s answered 429; retrying first in %.2fs", method, path, delay)
            not_before = clock() + delay
        raise DailyRateLimited(f"Daily.co kept answering 429 to {method} {path}", 0)

    def _rate_limit_delay(self, response, attempt):
        try:
            return max(float(response.headers.get("Retry-After", "")), 0.0)
        except ValueError:  # none (Daily documents none), or a date: back off ourselves
            scale = self.backoff / DEFAULT_BACKOFF
            full = RATE_LIMIT_BACKOFF_SECONDS * scale * 2 ** (attempt - 1)
            return full / 2 + full / 2 * self.random_fraction()

    def _retry_delay(self, response):
        try:
            return min(float(response.headers.get("Retry-After", "")), RETRY_AFTER_CAP_SECONDS)
        except ValueError:
            return self.backoff

    def _in_turn(self, method, path, body, calls, deadline, not_before=None):
        """The call, through the circuit breaker (an open one refuses before any wait), in
        its turn of the `calls` family (if one comes by `deadline`; first from `not_before`
        on, for a 429's retry), in a slot of the
        in-flight limit (if one frees within `queue_seconds`), retried once if transient.

        A turn taken but not used (no slot) is given back: calls refused here must not
        push the turns of the others later."""
        if not self.breaker.allow():
            raise DailyError("Daily.co is failing: calls are paused for a while")
        try:
            turn = self.pacer.wait_turn(calls, deadline, not_before)
        except NoTurn as no_turn:
            self.breaker.gave_up()  # nothing learnt about Daily
            raise DailyRateLimited(
                f"no turn for Daily {calls} calls yet", no_turn.retry_in
            ) from None
        if not self._in_flight.acquire(timeout=self.queue_seconds):
            self.pacer.give_back(calls, turn)
            self.breaker.gave_up()  # our own queue was full: nothing learnt about Daily
            raise DailyBusy("too many Daily.co calls in flight in this process")
        try:
            response = self._attempts(method, path, body, calls, deadline + LAST_CALL_SECONDS)
        except DailyError:  # unreachable or timing out, twice
            self.breaker.failed()
            raise
        except _Outage as outage:  # 5xx twice: an outage, but the answer is given back
            self.breaker.failed()
            return outage.response
        finally:
            self._in_flight.release()
            BREAKER_OPEN.set(self.breaker.state == OPEN)
        self.breaker.succeeded()  # a 429 too: Daily is up, only busy
        return response

    def _attempts(self, method, path, body, calls, end):
        """The call (of the `calls` family), and its one retry if transient, each read
        given at most what is left until `end` (pacer time), at least a second."""
        url = f"{self.base_url}{path}"
        unanswered = DAILY_CALLS.labels(calls, "error")
        for attempt in (1, 2):
            started = time.monotonic()
            try:
                left = max(end - self.pacer.clock(), 1.0)
                timeout = (self.timeout[0], min(self.timeout[1], left))
                response = self.http.request(method, url, json=body, timeout=timeout)
                log.debug(
                    "Daily %s %s: %s in %.0f ms",
                    method,
                    path,
                    response.status_code,
                    (time.monotonic() - started) * 1000,
                )
            except requests.RequestException as error:
                unanswered.inc()
                if attempt == 1:
                    log.warning(
                        "Daily %s %s failed (%s); retrying", method, path, type(error).__name__
                    )
                    self.sleep(self.backoff)
                    continue
                raise DailyError(f"Daily.co unreachable: {type(error).__name__}") from None
            DAILY_CALLS.labels(calls, str(response.status_code)).inc()
            if response.status_code >= 500 and attempt == 1:
                log.warning("Daily %s %s answered %s; retrying", method, path, response.status_code)
                self.sleep(self._retry_delay(response))
                continue
            if response.status_code >= 500:
                raise _Outage(response)
            return response
        return response  # unreachable: the second attempt always returns or raises

    @staticmethod
    def _error(response):
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        error_type, info = body.get("error"), body.get("info") or ""
        return DailyError(
            f"Daily.co answered {response.status_code} {error_type}: {info}",
            status=response.status_code,
            error_type=error_type,
        )

    def _json(self, method, path, body=None, *, wait=None):
        response = self._request(method, path, body, wait=wait)
        if not response.ok:
            raise self._error(response)
        try:
            return response.json()
        except ValueError:
            raise DailyError("Daily.co answered with a body that is not JSON") from None
