"""Daily.co REST client: rooms, recordings, meeting tokens, webhooks (the transport,
with Daily's rate limits, is transport's)."""

import logging
import threading
from collections.abc import Iterator
from urllib.parse import quote, urlencode

from .limits import MARGIN_SECONDS, Pacer
from .names import room_name
from .tokens import self_signed_token
from .transport import DailyBusy, DailyError, DailyHttp, DailyRateLimited
from .turns import daily_turns

log = logging.getLogger(__name__)

NAME_ATTEMPTS = 3
__all__ = ["DailyBusy", "DailyClient", "DailyError", "DailyRateLimited"]


class DailyClient(DailyHttp):
    """The Daily.co calls the service makes. Meeting tokens are signed here with the API
    key (`self_signed_tokens`, when there is a key), carrying the domain's id."""

    def __init__(self, *args, self_signed_tokens: bool = True, domain_id=None, **options):
        super().__init__(*args, **options)
        self.self_signed_tokens = self_signed_tokens and bool(self.api_key)
        self._domain_id = domain_id
        self._domain_lock = threading.Lock()

    @classmethod
    def from_config(cls, config, database) -> "DailyClient":
        """The client the DAILY_* settings describe, its turns kept as DAILY_PACING_STORAGE
        says (in `database`, shared by every process, by default)."""
        return cls(
            config["DAILY_API_URL"],
            config["DAILY_API_KEY"],
            timeout=config["DAILY_TIMEOUT_SECONDS"],
            backoff=config["DAILY_RETRY_BACKOFF_SECONDS"],
            max_concurrent=config["DAILY_MAX_CONCURRENT_CALLS"],
            queue_seconds=config["DAILY_QUEUE_SECONDS"],
            breaker_failures=config["DAILY_BREAKER_FAILURES"],
            breaker_reset_seconds=config["DAILY_BREAKER_RESET_SECONDS"],
            # a call may reach Daily as late as its wait for an in-flight slot after its turn
            pacer=Pacer(
                daily_turns(config, database),
                margin=MARGIN_SECONDS + config["DAILY_QUEUE_SECONDS"],
            ),
            rate_wait_seconds=config["DAILY_RATE_WAIT_SECONDS"],
            self_signed_tokens=config["DAILY_SELF_SIGNED_TOKENS"],
            domain_id=config["DAILY_DOMAIN_ID"],
        )

    def create_room(
        self,
        title: str,
        *,
        exp: int,
        max_participants: int,
        privacy: str = "public",
        knocking: bool = False,
    ) -> dict:
        """Create a recordable room named after `title`; return Daily's room object.

        With `knocking`, someone without a token may ask to be let in (a private room's)."""
        timestamp_ms = int(self.clock() * 1000)
        properties = {"exp": exp, "max_participants": max_participants, "enable_recording": "cloud"}
        if knocking:
            properties["enable_knocking"] = True
        for _ in range(NAME_ATTEMPTS):
            body = {
                "name": room_name(title, timestamp_ms),
                "privacy": privacy,
                "properties": properties,
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

    def delete_room(self, name: str, *, wait: float | None = None) -> None:
        """Delete the room; one that Daily no longer has counts as deleted. `wait`: the
        longest to wait for a turn (0: only if one is free now)."""
        response = self._request("DELETE", f"/rooms/{quote(name, safe='')}", wait=wait)
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

    def get_recording(self, recording_id: str, *, wait: float | None = None) -> dict:
        """Daily's recording object: `room_name`, `status`, `start_ts`, `duration`...
        (`wait`: the longest to wait for a turn and through 429s)."""
        body = self._json("GET", f"/recordings/{quote(recording_id, safe='')}", wait=wait)
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
        """Yield the room's recordings (Daily's objects, newest first), a page at a time."""
        cursor = None
        while True:
            query = {"room_name": room_name, "limit": page_size}
            if cursor:
                query["starting_after"] = cursor
            body = self._json("GET", f"/recordings?{urlencode(query)}")
            page = body.get("data") if isinstance(body, dict) else None
            if not isinstance(page, list):
                raise DailyError("Daily.co's recordings list has no data array")
            recordings = [r for r in page if isinstance(r, dict) and isinstance(r.get("id"), str)]
            yield from recordings
            if len(page) < page_size or not recordings:
                return
            cursor = recordings[-1]["id"]

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
        start_recording: bool = False,
    ) -> str:
        """Return a meeting token for one room, valid from `nbf` to `exp` (Unix seconds):
        signed here with the API key (no call to Daily, once the domain id is known), or
        made by `POST /meeting-tokens` when self-signed tokens are off. With
        `start_recording`, Daily starts a cloud recording when its holder joins."""
        if self.self_signed_tokens:
            return self_signed_token(
                self.api_key,
                self.domain_id(),
                room_name,
                issued_at=int(self.clock()),
                nbf=nbf,
                exp=exp,
                is_owner=is_owner,
                user_id=user_id,
                user_name=user_name,
                start_recording=start_recording,
            )
        properties = {
            "room_name": room_name,  # without it the token would open every room of the domain
            "nbf": nbf,
            "exp": exp,
            "is_owner": is_owner,
            "user_id": user_id,
            "user_name": user_name,
        }
        if start_recording:
            properties["start_cloud_recording"] = True
        body = self._json("POST", "/meeting-tokens", {"properties": properties})
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise DailyError("Daily.co gave no meeting token")
        return token

    def domain_id(self) -> str:
        """The domain's id (a self-signed token's `d`): as configured, or asked of Daily's
        domain endpoint once and kept."""
        with self._domain_lock:  # one call, however many joins arrive first
            if self._domain_id is None:
                body = self._json("GET", "/")
                found = body.get("domain_id") if isinstance(body, dict) else None
                if not isinstance(found, str) or not found:
                    raise DailyError("Daily.co's domain answer has no domain_id")
                self._domain_id = found
            return self._domain_id
