"""Daily.co REST client (rooms, recordings, meeting tokens): timeouts, one retry if transient."""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import quote, urlencode

import requests

from .breaker import CircuitBreaker
from .daily_names import room_name

log = logging.getLogger(__name__)

RETRY_AFTER_CAP_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 3.05
NAME_ATTEMPTS = 3
DEFAULT_BACKOFF = 0.5
# Waits after a 429 of the rate-limited list call, in seconds at the default backoff (the
# retry delays scale with DAILY_RETRY_BACKOFF_SECONDS, so tests can make them short).
RATE_LIMIT_DELAYS = (1, 2, 4, 8)
# Daily allows GET /recordings about 50 times in 30 s: list calls are spaced by this much.
LIST_INTERVAL_SECONDS = 0.6


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


class DailyClient:
    """The Daily.co calls the service makes. Every call has a timeout and at most one retry."""

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
        max_concurrent: int = 1,
        queue_seconds: float = 0.5,
        breaker_failures: int = 5,
        breaker_reset_seconds: float = 30,
    ):
        self.base_url = base_url.rstrip("/")
        # Time as the client sees it (retry waits, list pacing, room names' timestamps):
        # a test gives its own instead of patching the time module for the whole process.
        self.sleep = sleep
        self.monotonic = monotonic
        self.clock = clock
        self.timeout = (CONNECT_TIMEOUT_SECONDS, timeout)
        self.backoff = backoff
        self.http = http or requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key or ''}"
        # A hanging Daily must not hold every request thread: at most `max_concurrent` calls
        # of this process wait on it (others wait `queue_seconds` for a turn, then fail), and
        # after `breaker_failures` outages in a row calls fail at once for
        # `breaker_reset_seconds`, then one is let through to see if Daily is back. A call
        # keeps its turn through its retry: were the retry to queue again, a waiting call
        # would take the turn, the retry would fail as busy, and under load the breaker
        # would never count an outage.
        self._in_flight = threading.BoundedSemaphore(max_concurrent)
        self.queue_seconds = queue_seconds
        self.breaker = CircuitBreaker(breaker_failures, breaker_reset_seconds, monotonic)
        self.list_interval = LIST_INTERVAL_SECONDS
        self._list_lock = threading.Lock()
        self._next_list_at = 0.0

    def _request(self, method, path, body=None):
        """One call, retried once if transient, through the circuit breaker, in one turn
        (if a turn comes within `queue_seconds`)."""
        if not self.breaker.allow():
            raise DailyError("Daily.co is failing: calls are paused for a while")
        if not self._in_flight.acquire(timeout=self.queue_seconds):
            self.breaker.gave_up()  # our own queue was full: nothing learnt about Daily
            raise DailyBusy("too many Daily.co calls in flight in this process")
        try:
            response = self._attempts(method, path, body)
        except DailyError:  # unreachable or timing out, twice
            self.breaker.failed()
            raise
        except _Outage as outage:  # 5xx twice: an outage, but the answer is given back
            self.breaker.failed()
            return outage.response
        finally:
            self._in_flight.release()
        self.breaker.succeeded()
        return response

    def _attempts(self, method, path, body):
        url = f"{self.base_url}{path}"
        for attempt in (1, 2):
            try:
                response = self.http.request(method, url, json=body, timeout=self.timeout)
            except requests.RequestException as error:
                if attempt == 1:
                    log.warning(
                        "Daily %s %s failed (%s); retrying", method, path, type(error).__name__
                    )
                    self.sleep(self.backoff)
                    continue
                raise DailyError(f"Daily.co unreachable: {type(error).__name__}") from None
            if (response.status_code == 429 or response.status_code >= 500) and attempt == 1:
                log.warning("Daily %s %s answered %s; retrying", method, path, response.status_code)
                self.sleep(self._retry_delay(response))
                continue
            if response.status_code >= 500:
                raise _Outage(response)
            return response
        return response  # unreachable: the second attempt always returns or raises

    def _retry_delay(self, response):
        try:
            return min(float(response.headers.get("Retry-After", "")), RETRY_AFTER_CAP_SECONDS)
        except ValueError:
            return self.backoff

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

    def _json(self, method, path, body=None):
        response = self._request(method, path, body)
        if not response.ok:
            raise self._error(response)
        try:
            return response.json()
        except ValueError:
            raise DailyError("Daily.co answered with a body that is not JSON") from None

    def create_room(
        self, title: str, *, exp: int, max_participants: int, privacy: str = "public"
    ) -> dict:
        """Create a recordable room named after `title`; return Daily's room object."""
        timestamp_ms = int(self.clock() * 1000)
        for _ in range(NAME_ATTEMPTS):
            body = {
                "name": room_name(title, timestamp_ms),
                "privacy": privacy,
                "properties": {
                    "exp": exp,
                    "max_participants": max_participants,
                    "enable_recording": "cloud",
                },
            }
            try:
                return self._json("POST", "/rooms", body)
            except DailyError as error:
                # Daily words a taken name only in `info`; try the next millisecond.
                if error.status == 400 and "already exists" in str(error):
                    timestamp_ms += 1
                    continue
                raise
        raise DailyError("Daily.co room name still taken after retries")

    def update_room_exp(self, name: str, exp: int) -> dict:
        """Move the room's expiry (Unix seconds)."""
        return self._json("POST", f"/rooms/{quote(name, safe='')}", {"properties": {"exp": exp}})

    def delete_room(self, name: str) -> None:
        """Delete the room; one that Daily no longer has counts as deleted."""
        response = self._request("DELETE", f"/rooms/{quote(name, safe='')}")
        if response.status_code == 404:
            return
        if not response.ok:
            raise self._error(response)

    def start_recording(self, room_name: str, instance_id: str) -> dict:
        """Start a cloud recording of the room's call, tagged with our `instance_id`."""
        path = f"/rooms/{quote(room_name, safe='')}/recordings/start"
        return self._json("POST", path, {"type": "cloud", "instanceId": instance_id})

    def stop_recording(self, room_name: str, instance_id: str | None = None) -> dict:
        """Stop the recording started with `instance_id`; without one, the room's default
        instance (a recording started from Daily's own UI has no instanceId), so no body."""
        path = f"/rooms/{quote(room_name, safe='')}/recordings/stop"
        body = None if instance_id is None else {"instanceId": instance_id}
        return self._json("POST", path, body)

    def get_recording(self, recording_id: str) -> dict:
        """Daily's recording object: `room_name`, `status`, `start_ts`, `duration`..."""
        body = self._json("GET", f"/recordings/{quote(recording_id, safe='')}")
        if not isinstance(body, dict):
            raise DailyError("Daily.co's recording answer is not an object")
        return body

    def access_link(self, recording_id: str) -> str:
        """Return a fresh, short-lived download link for a finished recording."""
        body = self._json("GET", f"/recordings/{quote(recording_id, safe='')}/access-link")
        link = body.get("download_link") if isinstance(body, dict) else None
        if not isinstance(link, str) or not link:
            raise DailyError("Daily.co gave no download link")
        return link

    def list_recordings(self, room_name: str, page_size: int = 100) -> Iterator[dict]:
        """Yield the room's recordings (Daily's objects, newest first), a page at a time.

        Calls are spaced by `list_interval` (Daily allows about 50 in 30 s); a 429 is still
        retried with exponential backoff (RATE_LIMIT_DELAYS), then raised.
        """
        cursor = None
        while True:
            query = {"room_name": room_name, "limit": page_size}
            if cursor:
                query["starting_after"] = cursor
            self._pace_list()
            body = self._json_with_backoff("GET", f"/recordings?{urlencode(query)}")
            page = body.get("data") if isinstance(body, dict) else None
            if not isinstance(page, list):
                raise DailyError("Daily.co's recordings list has no data array")
            recordings = [r for r in page if isinstance(r, dict) and isinstance(r.get("id"), str)]
            yield from recordings
            if len(page) < page_size or not recordings:
                return
            cursor = recordings[-1]["id"]

    def _pace_list(self):
        """Keep list calls (from any thread of this client) under Daily's rate limit."""
        with self._list_lock:
            wait = self._next_list_at - self.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._next_list_at = max(self.monotonic(), self._next_list_at) + self.list_interval

    def _json_with_backoff(self, method, path, body=None):
        for delay in RATE_LIMIT_DELAYS:
            try:
                return self._json(method, path, body)
            except DailyError as error:
                if error.status != 429:
                    raise
                log.warning("Daily %s %s rate-limited; retrying in %ss", method, path, delay)
                self.sleep(delay * self.backoff / DEFAULT_BACKOFF)
        return self._json(method, path, body)  # the last try: a 429 now is raised

    def webhooks(self) -> list[dict]:
        """The domain's webhooks (Daily allows one): a list of Daily's webhook objects."""
        body = self._json("GET", "/webhooks")
        if not isinstance(body, list):
            raise DailyError("Daily.co's webhooks answer is not a list")
        return [hook for hook in body if isinstance(hook, dict)]

    def create_webhook(self, settings: dict) -> dict:
        """Create the domain's webhook (Daily first sends it a test request)."""
        return self._json("POST", "/webhooks", settings)

    def update_webhook(self, uuid: str, settings: dict) -> dict:
        """Change the webhook; this also re-activates one that Daily marked FAILED."""
        return self._json("POST", f"/webhooks/{quote(uuid, safe='')}", settings)

    def create_meeting_token(
        self,
        room_name: str,
        *,
        nbf: int,
        exp: int,
        is_owner: bool,
        user_id: str,
        user_name: str,
    ) -> str:
        """Return a meeting token for one room, valid from `nbf` to `exp` (Unix seconds)."""
        properties = {
            "room_name": room_name,  # without it the token would open every room of the domain
            "nbf": nbf,
            "exp": exp,
            "is_owner": is_owner,
            "user_id": user_id,
            "user_name": user_name,
        }
        body = self._json("POST", "/meeting-tokens", {"properties": properties})
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise DailyError("Daily.co gave no meeting token")
        return token
