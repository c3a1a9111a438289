"""Bearer-token authentication (flask-jwt-extended) with `{"message"}` errors and roles."""

from flask import current_app
from flask_jwt_extended import JWTManager, get_jwt, get_jwt_identity

from .errors import Forbidden, error_response

jwt = JWTManager()

MISSING_TOKEN = "Authorization header with a Bearer token is required"
INVALID_TOKEN = "Invalid token"
EXPIRED_TOKEN = "Token has expired"
NOT_OWNER = "You are not allowed to modify this live session"


def init_auth(app):
    """Configure JWT checks and make every auth failure a 401 `{"message"}`."""
    app.config["JWT_TOKEN_LOCATION"] = ["headers"]
    app.config["JWT_ALGORITHM"] = "HS256"
    app.config["JWT_DECODE_ALGORITHMS"] = ["HS256"]
    jwt.init_app(app)

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


def current_user_id():
    identity = get_jwt_identity()
    return None if identity is None else str(identity)


def current_roles():
    roles = get_jwt().get(current_app.config["JWT_ROLE_CLAIM"])
    if isinstance(roles, str):
        return {roles}
    if isinstance(roles, list):
        return {role for role in roles if isinstance(role, str)}
    return set()


def is_admin():
    return bool(current_roles() & set(current_app.config["ADMIN_ROLES"]))


def require_owner(doc):
    """Allow only the session's instructor or an admin to go on."""
    if doc.get("instructor") != current_user_id() and not is_admin():
        raise Forbidden(NOT_OWNER)
