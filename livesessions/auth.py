"""Bearer-token authentication (flask-jwt-extended) with `{"message"}` errors and roles.

flask-jwt-extended verifies tokens; `token_required` remembers each verified token (per
app, bounded) so that the same token isn't decoded and re-verified on every request. A
remembered token is still checked against its `exp` each time.
"""

import functools
import time

from flask import current_app, g, request
from flask_jwt_extended import JWTManager, decode_token
from flask_jwt_extended.exceptions import (
    InvalidHeaderError,
    NoAuthorizationError,
    WrongTokenError,
)

from .errors import Forbidden, error_response

jwt = JWTManager()

MISSING_TOKEN = "Authorization header with a Bearer token is required"
INVALID_TOKEN = "Invalid token"
EXPIRED_TOKEN = "Token has expired"
NOT_OWNER = "You are not allowed to modify this live session"
VERIFIED_TOKENS_KEPT = 4096


def init_auth(app):
    """Configure JWT checks and make every auth failure a 401 `{"message"}`."""
    app.config["JWT_TOKEN_LOCATION"] = ["headers"]
    app.config["JWT_ALGORITHM"] = "HS256"
    app.config["JWT_DECODE_ALGORITHMS"] = ["HS256"]
    jwt.init_app(app)
    app.extensions["livesessions.verified_tokens"] = functools.lru_cache(VERIFIED_TOKENS_KEPT)(
        decode_token
    )

    def unauthorized(*_):
        return error_response(MISSING_TOKEN, 401)

    def invalid(*_):
        return error_response(INVALID_TOKEN, 401)

    jwt.unauthorized_loader(unauthorized)
    jwt.invalid_token_loader(invalid)
    jwt.revoked_token_loader(invalid)
    jwt.needs_fresh_token_loader(invalid)
    jwt.token_verification_failed_loader(invalid)
    jwt.user_lookup_error_loader(invalid)
    jwt.expired_token_loader(lambda *_: error_response(EXPIRED_TOKEN, 401))


def bearer_token():
    """The token of `Authorization: Bearer <token>`; the library's errors otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer":
        raise NoAuthorizationError("Missing 'Bearer' type in 'Authorization' header")
    token = token.strip()
    if not token or " " in token:
        raise InvalidHeaderError("Bad Authorization header. Expected 'Bearer <JWT>'")
    return token


def verified_claims(token):
    """The token's claims, verified by flask-jwt-extended (signature, algorithm, claims)."""
    claims = current_app.extensions["livesessions.verified_tokens"](token)
    if claims.get("exp", float("inf")) <= time.time():
        claims = decode_token(token)  # expired since it was remembered: let the library say so
    if claims.get("type", "access") != "access":
        raise WrongTokenError("Only access tokens are allowed")
    return claims


def token_required(view):
    """Let the view run only with a valid access token; its claims go to `g.jwt_claims`."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.jwt_claims = verified_claims(bearer_token())
        return view(*args, **kwargs)

    return wrapper


def current_user_id():
    identity = g.jwt_claims.get(current_app.config["JWT_IDENTITY_CLAIM"])
    return None if identity is None else str(identity)


def current_user_name():
    name = g.jwt_claims.get(current_app.config["JWT_NAME_CLAIM"])
    return name if isinstance(name, str) and name else None


def current_roles():
    roles = g.jwt_claims.get(current_app.config["JWT_ROLE_CLAIM"])
    if isinstance(roles, str):
        return {roles}
    if isinstance(roles, list):
        return {role for role in roles if isinstance(role, str)}
    return set()


def is_admin():
    return bool(current_roles() & set(current_app.config["ADMIN_ROLES"]))


def owns(doc):
    """Whether the caller is the session's instructor or an admin."""
    return doc.get("instructor") == current_user_id() or is_admin()


def require_owner(doc, message=NOT_OWNER):
    """Allow only the session's instructor or an admin to go on."""
    if not owns(doc):
        raise Forbidden(message)
