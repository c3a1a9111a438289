"""Webhooks: Daily's `/webhooks` configuration, its circuit breaker, and signed delivery."""

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid

from werkzeug.routing import Rule

from .common import error, iso

RETRY_TYPES = ("circuit-breaker", "exponential")
CIRCUIT_BREAKER_FAILURES = 3  # failed deliveries before a circuit-breaker webhook is FAILED

RULES = [
    Rule("/v1/webhooks", methods=["GET"], endpoint="list_webhooks"),
    Rule("/v1/webhooks", methods=["POST"], endpoint="create_webhook"),
    Rule("/v1/webhooks/<part:webhook_id>", methods=["GET"], endpoint="get_webhook"),
    Rule("/v1/webhooks/<part:webhook_id>", methods=["POST"], endpoint="update_webhook"),
    Rule("/v1/webhooks/<part:webhook_id>", methods=["DELETE"], endpoint="delete_webhook"),
    # Outside the API and without its key: any process may fire an event by hand.
    Rule("/sandbox/webhook", methods=["POST"], endpoint="_fire_posted_event"),
]


class Webhooks:
    """The webhooks part of `DailySandbox`: the one webhook configured through the API is
    `self.webhook`; until there is one, events go to `self.webhook_url`."""

    # -- configuration -------------------------------------------------------------------------

    def list_webhooks(self):
        with self.lock:
            return 200, [dict(self.webhook)] if self.webhook else []

    def get_webhook(self, webhook_id):
        with self.lock:
            hook = self._webhook_by_id(webhook_id)
            if hook is None:
                return 404, error("not-found", f"webhook {webhook_id} not found")
            return 200, dict(hook)

    def create_webhook(self, body):
        """Daily's `POST /webhooks`: one per domain, and only once the URL answered a test."""
        fields, problem = _webhook_fields(body, creating=True)
        with self.lock:
            if problem is None and self.webhook is not None:  # Daily: one per domain
                problem = "a webhook already exists for this domain: update or delete it"
        if problem is not None:
            return 400, error("invalid-request-error", problem)
        now = iso(self.clock())
        hook = {
            "uuid": str(uuid.uuid4()),
            "url": fields["url"],
            "hmac": fields.get("hmac") or base64.b64encode(secrets.token_bytes(32)).decode(),
            "basicAuth": None,
            "retryType": fields.get("retryType", "circuit-breaker"),
            "eventTypes": fields.get("eventTypes", []),
            "state": "ACTIVE",
            "failedCount": 0,
            "lastMomentPushed": None,
            "domainId": "sandbox",
            "createdAt": now,
            "updatedAt": now,
        }
        problem = self._test_endpoint(hook["url"], hook["hmac"])
        with self.lock:
            if problem is None and self.webhook is not None:  # created while we were testing
                problem = "a webhook already exists for this domain: update or delete it"
            if problem is not None:
                return 400, error("invalid-request-error", problem)
            self.webhook = hook
            return 200, dict(hook)

    def update_webhook(self, webhook_id, body):
        """Daily's `POST /webhooks/:id`: tests the URL again, then re-activates the webhook."""
        fields, problem = _webhook_fields(body, creating=False)
        if problem is not None:
            return 400, error("invalid-request-error", problem)
        with self.lock:
            hook = self._webhook_by_id(webhook_id)
            if hook is None:
                return 404, error("not-found", f"webhook {webhook_id} not found")
            url, secret = fields.get("url", hook["url"]), fields.get("hmac", hook["hmac"])
        problem = self._test_endpoint(url, secret)
        if problem is not None:
            return 400, error("invalid-request-error", problem)
        with self.lock:
            if self.webhook is not hook:
                return 404, error("not-found", f"webhook {webhook_id} not found")
            hook.update(fields, state="ACTIVE", failedCount=0, updatedAt=iso(self.clock()))
            return 200, dict(hook)

    def delete_webhook(self, webhook_id):
        with self.lock:
            if self._webhook_by_id(webhook_id) is None:
                return 404, error("not-found", f"webhook {webhook_id} not found")
            self.webhook = None
        return 200, {"deleted": True, "uuid": webhook_id}

    def fail_webhook(self):
        """Put the configured webhook in the FAILED state, as after 3 failed deliveries."""
        with self.lock:
            if self.webhook is None:
                raise LookupError("no webhook is configured through /v1/webhooks")
            self.webhook.update(state="FAILED", failedCount=CIRCUIT_BREAKER_FAILURES)

    def _webhook_by_id(self, webhook_id):
        hook = self.webhook
        return hook if hook is not None and hook["uuid"] == webhook_id else None

    def _test_endpoint(self, url, secret):
        """Daily's check before it saves a webhook: None if the URL answered 200, else why not."""
        status = _post_json(url, {"test": "test"}, secret, timeout=5, now=self.clock())
        if status == 200:
            return None
        answer = "no answer" if status is None else f"status {status}"
        return f"the webhook URL must answer 200 to a test request; it gave {answer}"

    # -- delivery ------------------------------------------------------------------------------

    def fire_webhook(self, event_type, payload):
        """POST one event now to the configured webhook (or `webhook_url`), signed when there
        is a secret; return its status, or None when it was not delivered."""
        target = self._webhook_target(event_type)
        if target is None:
            return None
        url, secret, hook = target
        now = self.clock()  # one reading: the sandbox sends each event the moment it happens
        envelope = {
            "version": "1.0.0",
            "type": event_type,
            "id": str(uuid.uuid4()),
            "payload": payload,
            "event_ts": now,
        }
        status = _post_json(url, envelope, secret, timeout=10, now=now)
        with self.lock:
            self.webhook_deliveries.append({"type": event_type, "status": status})
            if hook is not None and hook is self.webhook:  # not deleted meanwhile
                _count_delivery(hook, status, self.clock())
        return status

    def _fire_posted_event(self, body):
        """`POST /sandbox/webhook`: fire the event `{"type": ..., "payload": {...}}` now."""
        if self.webhook_url is None and self.webhook is None:
            return 400, error("invalid-request-error", "no webhook_url is set")
        if not isinstance(body.get("type"), str) or not isinstance(body.get("payload"), dict):
            info = 'send {"type": "<event>", "payload": {...}}'
            return 400, error("invalid-request-error", info)
        return 200, {"delivered": self.fire_webhook(body["type"], body["payload"])}

    def _webhook_target(self, event_type):
        """(url, secret, webhook object or None) to deliver `event_type` to, or None."""
        with self.lock:
            hook = self.webhook
            if hook is None:  # none configured through the API: the constructor's settings
                if self.webhook_url is None:
                    return None
                return self.webhook_url, self.webhook_secret, None
            if hook["state"] != "ACTIVE":
                return None
            if hook["eventTypes"] and event_type not in hook["eventTypes"]:
                return None
            return hook["url"], hook["hmac"], hook

    def _fire_later(self, event_type, payload, delay):
        def deliver():
            time.sleep(delay)
            self.fire_webhook(event_type, payload)

        threading.Thread(target=deliver, name=f"daily-sandbox-{event_type}", daemon=True).start()


def _webhook_fields(body, creating):
    """(fields to set, None) from a `/webhooks` create or update body, or (None, why not)."""
    fields = {}
    if creating or "url" in body:
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return None, "url must be an http(s) URL"
        fields["url"] = url
    if "hmac" in body:
        try:
            if not base64.b64decode(body["hmac"], validate=True):
                raise ValueError("empty")
        except (TypeError, ValueError):
            return None, "hmac must be a non-empty base64 string"
        fields["hmac"] = body["hmac"]
    if "eventTypes" in body:
        types = body["eventTypes"]
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            return None, "eventTypes must be a list of event type names"
        fields["eventTypes"] = list(types)
    if "retryType" in body:
        if body["retryType"] not in RETRY_TYPES:
            return None, f"retryType must be one of {', '.join(RETRY_TYPES)}"
        fields["retryType"] = body["retryType"]
    return fields, None


def _count_delivery(hook, status, now):
    """Daily's circuit breaker: consecutive failures counted, FAILED at the third."""
    if status is not None and 200 <= status < 300:
        hook.update(failedCount=0, lastMomentPushed=iso(now))
        return
    hook["failedCount"] += 1
    if hook["retryType"] == "circuit-breaker" and hook["failedCount"] >= CIRCUIT_BREAKER_FAILURES:
        hook["state"] = "FAILED"


def _post_json(url, body, secret, timeout, now):
    """POST `body` as JSON, signed like Daily (at `now`) when there is a secret; the status,
    or None."""
    try:
        raw = json.dumps(body)
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            timestamp = str(int(now))
            key = base64.b64decode(secret)
            digest = hmac.new(key, f"{timestamp}.{raw}".encode(), hashlib.sha256).digest()
            headers["X-Webhook-Timestamp"] = timestamp
            headers["X-Webhook-Signature"] = base64.b64encode(digest).decode()
        request = urllib.request.Request(url, raw.encode(), headers, method="POST")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as answer:  # the receiver answered, just not with a 2xx
        answer.close()
        return answer.code
    except Exception:  # unreachable, timed out, bad URL or secret: reported, never raised
        return None
