"""Register, list and delete outbound webhook endpoints, list their delivery attempts, and
enable a disabled one (the CLI): the rules the routes and the CLI share."""

from __future__ import annotations  # `list[...]` below: the class has a method `list`

import logging

from ..auth.tokens import Caller
from ..clock import iso
from ..errors import (
    WEBHOOK_NOT_FOUND,
    WEBHOOK_URL_AMBIGUOUS,
    WEBHOOK_URL_REFUSED,
    WEBHOOK_URL_UNRESOLVED,
    WEBHOOKS_FORBIDDEN,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from ..jobs import JobStore
from .attempts_repository import WebhookAttemptStore
from .destinations import (
    DestinationAmbiguous,
    DestinationRefused,
    DestinationUnresolved,
    check_destination,
    shown_url,
)
from .repository import WebhookStore
from .signing import new_secret

log = logging.getLogger(__name__)


def endpoint_json(endpoint: dict, *, with_secret: bool = False) -> dict:
    """An endpoint as the API shows it (the secret only when just registered; the URL's
    user information, a credential, never)."""
    shown = {
        "id": endpoint["_id"],
        "url": shown_url(endpoint["url"]),
        "events": endpoint["events"],
        "enabled": endpoint["enabled"],
        "consecutiveFailures": endpoint["consecutiveFailures"],
        "disabledAt": iso(endpoint["disabledAt"]) if endpoint.get("disabledAt") else None,
        "createdAt": iso(endpoint["createdAt"]),
    }
    if with_secret:
        shown["secret"] = endpoint["secret"]
    return shown


def attempt_json(attempt: dict) -> dict:
    return {
        "eventId": attempt["eventId"],
        "type": attempt["type"],
        "attempt": attempt["attempt"],
        "status": attempt["status"],
        "error": attempt["error"],
        "at": iso(attempt["at"]),
        "durationMs": attempt["durationMs"],
    }


def refusal_message(error: DestinationRefused) -> str:
    if isinstance(error, DestinationAmbiguous):
        return WEBHOOK_URL_AMBIGUOUS
    if isinstance(error, DestinationUnresolved):
        return WEBHOOK_URL_UNRESOLVED
    return WEBHOOK_URL_REFUSED


class WebhookService:
    """Admins' management of outbound webhook endpoints."""

    def __init__(
        self,
        endpoints: WebhookStore,
        attempts: WebhookAttemptStore,
        jobs: JobStore,
        *,
        allow_private: bool = False,
    ):
        self.endpoints = endpoints
        self.attempts = attempts
        self.jobs = jobs
        self.allow_private = allow_private

    @staticmethod
    def _require_admin(caller: Caller) -> None:
        if not caller.is_admin:
            raise Forbidden(WEBHOOKS_FORBIDDEN)

    def register(self, data: dict, caller: Caller) -> dict:
        """Register an endpoint (its URL plain, read alike by every parser, and resolving
        to public addresses only); return it with its new secret."""
        self._require_admin(caller)
        try:
            check_destination(data["url"], allow_private=self.allow_private)
        except DestinationRefused as error:
            log.info("webhook registration of %s refused: %s", shown_url(data["url"]), error)
            raise ValidationFailed(refusal_message(error)) from None
        endpoint = self.endpoints.create(data["url"], data["events"], new_secret())
        log.info(
            "webhook endpoint %s registered for %s", endpoint["_id"], shown_url(endpoint["url"])
        )
        return endpoint

    def list(self, caller: Caller) -> list[dict]:
        self._require_admin(caller)
        return self.endpoints.list()

    def delete(self, endpoint_id: str, caller: Caller) -> dict:
        """Delete an endpoint and its attempts (its queued deliveries are dropped when their
        turn comes); return it as it was."""
        self._require_admin(caller)
        endpoint = self.endpoints.find(endpoint_id)
        if endpoint is None or not self.endpoints.delete(endpoint_id):
            raise NotFound(WEBHOOK_NOT_FOUND)
        self.attempts.forget(endpoint_id)
        return endpoint

    def deliveries(self, endpoint_id: str, caller: Caller) -> list[dict]:
        """The endpoint's most recent delivery attempts, newest first."""
        self._require_admin(caller)
        if self.endpoints.find(endpoint_id) is None:
            raise NotFound(WEBHOOK_NOT_FOUND)
        return self.attempts.recent(endpoint_id)

    def enable(self, endpoint_id: str) -> tuple[dict, int]:
        """Enable an endpoint and resume the deliveries its disabling stopped; return it and
        how many were resumed."""
        endpoint = self.endpoints.enable(endpoint_id)
        if endpoint is None:
            raise NotFound(WEBHOOK_NOT_FOUND)
        return endpoint, self.jobs.resume_webhooks(endpoint_id)
