"""Meeting tokens: Daily's `POST /meeting-tokens`, HS256 JWTs the sandbox can check again."""

import jwt
from werkzeug.routing import Rule

from .common import error

MAX_USER_ID = 36  # Daily's limit on a meeting token's user_id

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
        """The token's properties if this sandbox signed it for `room_name` and it is valid
        now, else None.

        nbf and exp are checked here against `self.clock`, not by PyJWT, so that tests can
        move the sandbox's clock.
        """
        try:
            claims = jwt.decode(
                token,
                self._token_secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_nbf": False},
            )
        except jwt.InvalidTokenError:
            return None
        now = self.clock()
        if claims.get("room_name") != room_name:
            return None
        if "nbf" in claims and now < claims["nbf"]:
            return None
        if "exp" in claims and now >= claims["exp"]:
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
    if not isinstance(properties.get("is_owner", False), bool):
        return "is_owner must be a boolean"
    for name in ("nbf", "exp"):
        if name in properties and not _is_number(properties[name]):
            return f"{name} must be a number (Unix seconds)"
    if "exp" in properties and properties["exp"] < now:
        return "exp must be a time in the future"
    return None


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)
