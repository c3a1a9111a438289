"""Meeting tokens: Daily's `POST /meeting-tokens`, HS256 JWTs the sandbox can check again,
and the ones a client signs itself with the API key."""

import base64
import hashlib
import hmac

import jwt
from werkzeug.routing import Rule

from .common import error

MAX_USER_ID = 36  # Daily's limit on a meeting token's user_id

# A self-signed token's abbreviated claims -> the properties' names (those the sandbox reads)
CLAIMS = {
    "r": "room_name",
    "ud": "user_id",
    "u": "user_name",
    "o": "is_owner",
    "nbf": "nbf",
    "exp": "exp",
    "ejt": "eject_at_token_exp",
    "sr": "start_cloud_recording",
}

RULES = [Rule("/v1/meeting-tokens", methods=["POST"], endpoint="create_meeting_token")]


class MeetingTokens:
    """The meeting tokens part of `DailySandbox` (each one issued is kept in
    `self.meeting_tokens`)."""

    def create_meeting_token(self, body):
        """Daily's `POST /meeting-tokens`: an HS256 JWT whose claims are the properties."""
        properties = body.get("properties")
        problem = _token_problem(properties, self.clock())
        if problem is not None:
            return 400, error("invalid-request-error", problem)
        token = jwt.encode(dict(properties), self._token_secret, algorithm="HS256")
        with self.lock:
            self.meeting_tokens.append(dict(properties))
        return 200, {"token": token}

    def verify_meeting_token(self, token, room_name):
        """The token's properties (Daily's long names) if it is valid for `room_name` now,
        else None: one this sandbox issued, or one signed with the API key as Daily accepts.

        nbf and exp are checked here against `self.clock`, not by PyJWT, so that tests can
        move the sandbox's clock.
        """
        properties = _hs256_claims(token, self._token_secret)
        if properties is None:
            properties = self._self_signed_properties(token)
        if properties is None or properties.get("room_name") != room_name:
            return None
        now = self.clock()
        if "nbf" in properties and now < properties["nbf"]:
            return None
        if "exp" in properties and now >= properties["exp"]:
            return None
        return properties

    def _self_signed_properties(self, token):
        """The properties of a token signed with the API key for this domain, or None.

        Such tokens are not kept in `self.meeting_tokens`: they cost no Daily call.
        """
        if not self.api_key:
            return None
        claims = _hs256_claims(token, self.api_key.encode())
        if claims is None or claims.get("d") != self.domain_id or not _is_number(claims.get("iat")):
            return None
        properties = {name: claims[short] for short, name in CLAIMS.items() if short in claims}
        # Daily would open every room for a token without `r`; as for POST /meeting-tokens,
        # the sandbox refuses it (the service must never sign one).
        if _token_problem(properties, self.clock()) is not None:
            return None
        return properties


def _hs256_claims(token, key):
    """The claims of `token` if it is an HS256 JWT signed with `key` (bytes), else None.

    The signature is checked here, not by PyJWT, which warns about HMAC keys under 32 bytes
    (an error under the tests' warning filter, raised in the server's thread): API keys are
    what the domain has, and the sandbox's are short words such as `sandbox-key`.
    """
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    signed, _, signature = token.rpartition(".")
    digest = hmac.new(key, signed.encode(), hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=")
    if header.get("alg") != "HS256" or not hmac.compare_digest(expected, signature.encode()):
        return None
    return claims


def _token_problem(properties, now):
    """Why Daily would refuse these token properties (or this sandbox, for room_name)."""
    if not isinstance(properties, dict):
        return "properties must be an object"
    # Daily accepts a token without room_name (it then opens every room of the domain); the
    # service must never issue one, so the sandbox refuses it.
    if not isinstance(properties.get("room_name"), str) or not properties["room_name"]:
        return "room_name is required (a string)"
    user_id = properties.get("user_id", "")
    if not isinstance(user_id, str) or len(user_id) > MAX_USER_ID:
        return f"user_id must be a string of at most {MAX_USER_ID} characters"
    if not isinstance(properties.get("user_name", ""), str):
        return "user_name must be a string"
    for name in ("is_owner", "start_cloud_recording"):
        if not isinstance(properties.get(name, False), bool):
            return f"{name} must be a boolean"
    for name in ("nbf", "exp"):
        if name in properties and not _is_number(properties[name]):
            return f"{name} must be a number (Unix seconds)"
    if "exp" in properties and properties["exp"] < now:
        return "exp must be a time in the future"
    return None


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)
