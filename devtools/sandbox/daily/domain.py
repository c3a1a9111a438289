"""The domain: Daily's `GET /v1/`, which gives the `domain_id` self-signed tokens carry."""

from werkzeug.routing import Rule

# `/v1` and `/v1/` both reach it: the dispatch tidies every API path to `/v1/...`.
RULES = [Rule("/v1/", methods=["GET"], endpoint="get_domain")]


class Domain:
    """The domain part of `DailySandbox` (`self.domain_name`, `self.domain_id`)."""

    def get_domain(self):
        """Daily's domain configuration; the sandbox keeps every default, so `config` is {}."""
        return 200, {"domain_name": self.domain_name, "domain_id": self.domain_id, "config": {}}
