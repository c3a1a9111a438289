"""Bearer-token authentication (flask-jwt-extended) with `{"message"}` errors and roles.

flask-jwt-extended verifies tokens (signature, algorithm, and `exp`, `nbf`, `iat` with
JWT_LEEWAY_SECONDS of clock skew); on top of it a token must carry an `exp` and a user in
its identity claim. Each verified token is remembered (per app, bounded: the app's
`TokenVerifier`, in its services) so that the same token isn't decoded and re-verified on
every request; a remembered token is still checked against its `exp` each time.
"""

import contextvars
import functools
from dataclasses import dataclass

from flask import g, request
from flask_jwt_extended import JWTManager, decode_token
from flask_jwt_extended.exceptions import (
    InvalidHeaderError,
    JWTDecodeError,
    JWTExtendedException,
    NoAuthorizationError,
    WrongTokenError,
)
from jwt import InvalidSignatureError, MissingRequiredClaimError, PyJWTError

from ..clock import unix_now
from ..errors import (
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    MISSING_TOKEN,
    NOT_OWNER,
    Forbidden,
    error_response,
)
from ..extensions import services

jwt = JWTManager()

VERIFIED_TOKENS_KEPT = 4096
# The key a token is being verified with (`TokenVerifier`): JWT_SECRET_KEY, or during a
# rotation one of JWT_PREVIOUS_SECRET_KEYS (the library asks `decode_key` for it).
_DECODE_KEY = contextvars.ContextVar("jwt_decode_key", default=None)


@jwt.decode_key_loader
def decode_key(_header, _payload):
    """The key of the `TokenVerifier` decoding (none decodes a token otherwise)."""
    return _DECODE_KEY.get()


@dataclass(frozen=True)
class Caller:
    """Who is calling: passed to the services, so that they never read Flask's `g` and run
    the same from a view, the CLI, the worker or a plain test."""

    user_id: str | None
    name: str | None = None
    roles: frozenset[str] = frozenset()
    is_admin: bool = False

    def owns(self, doc) -> bool:
        """Whether the caller is the session's instructor or an admin."""
        return doc.get("instructor") == self.user_id or self.is_admin

    def require_owner(self, doc, message: str = NOT_OWNER) -> None:
        """Allow only the session's instructor or an admin to go on."""
        if not self.owns(doc):
            raise Forbidden(message)


def init_auth(app):
    """Configure JWT checks and make every auth failure a 401 `{"message"}`."""
    app.config["JWT_TOKEN_LOCATION"] = ["headers"]
    app.config["JWT_ALGORITHM"] = "HS256"
    app.config["JWT_DECODE_ALGORITHMS"] = ["HS256"]
    # servers' clocks differ by a few seconds: without leeway a token minted by a server
    # ahead of ours would be "not yet valid" (its iat) for those seconds
    app.config["JWT_DECODE_LEEWAY"] = app.config["JWT_LEEWAY_SECONDS"]
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


class TokenVerifier:
    """The JWT settings a request's token is verified and read with, built once per app:
    JWT_SECRET_KEY, JWT_PREVIOUS_SECRET_KEYS, JWT_LEEWAY_SECONDS, the claims' names
    (JWT_IDENTITY_CLAIM, JWT_NAME_CLAIM, JWT_ROLE_CLAIM) and ADMIN_ROLES. Each verified
    token is remembered (bounded); a remembered one is still checked against its `exp`."""

    def __init__(
        self,
        secret: str,
        previous_secrets=(),
        *,
        identity_claim: str = "sub",
        name_claim: str = "name",
        role_claim: str = "role",
        admin_roles=("admin",),
        leeway: float = 0,
    ):
        self.secret = secret
        self.previous_secrets = tuple(previous_secrets or ())
        self.identity_claim = identity_claim
        self.name_claim = name_claim
        self.role_claim = role_claim
        self.admin_roles = frozenset(admin_roles)
        self.leeway = leeway
        self.remembered = functools.lru_cache(VERIFIED_TOKENS_KEPT)(self.decoded_claims)

    @classmethod
    def from_config(cls, config) -> "TokenVerifier":
        return cls(
            config["JWT_SECRET_KEY"],
            config["JWT_PREVIOUS_SECRET_KEYS"],
            identity_claim=config["JWT_IDENTITY_CLAIM"],
            name_claim=config["JWT_NAME_CLAIM"],
            role_claim=config["JWT_ROLE_CLAIM"],
            admin_roles=config["ADMIN_ROLES"],
            leeway=config["JWT_LEEWAY_SECONDS"],
        )

    def decoded_claims(self, token):
        """The token's claims as flask-jwt-extended verifies them, and what it doesn't
        require: an `exp` (a token without one would be valid forever, even after a leak)
        that is a number as RFC 7519 says (PyJWT would take "1800000000"), and a user id
        (an empty one would make a caller of nobody)."""
        try:
            claims = _decoded(token, self.secret)
        except InvalidSignatureError as error:
            claims = self._decoded_with_previous_keys(token, error)
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise MissingRequiredClaimError("exp")
        identity = claims.get(self.identity_claim)
        if identity is None or (isinstance(identity, str) and not identity.strip()):
            raise JWTDecodeError(f"Empty claim: {self.identity_claim}")
        return claims

    def _decoded_with_previous_keys(self, token, error):
        """During a rotation, the token verified with one of JWT_PREVIOUS_SECRET_KEYS
        (signed before the platform's auth service switched keys); else the signature's
        error."""
        for key in self.previous_secrets:
            try:
                return _decoded(token, key)
            except InvalidSignatureError:
                continue
        raise error

    def verified_claims(self, token):
        """The token's claims, verified (see `decoded_claims`), remembered while unexpired."""
        claims = self.remembered(token)
        # PyJWT's own rule (int(exp), expired from exp + leeway on): the two never disagree
        if int(claims["exp"]) <= unix_now() - self.leeway:
            # expired since it was remembered: let the library say so
            claims = _decoded(token, self.secret)
        if claims.get("type", "access") != "access":
            raise WrongTokenError("Only access tokens are allowed")
        return claims

    def caller(self, claims) -> Caller:
        """The caller a verified token's claims name."""
        identity = claims.get(self.identity_claim)
        name = claims.get(self.name_claim)
        roles = _roles(claims.get(self.role_claim))
        return Caller(
            user_id=None if identity is None else str(identity),
            name=name if isinstance(name, str) and name else None,
            roles=roles,
            is_admin=bool(roles & self.admin_roles),
        )


def _decoded(token, key):
    """flask-jwt-extended's `decode_token`, verifying the signature with `key`."""
    trying = _DECODE_KEY.set(key)
    try:
        return decode_token(token)
    finally:
        _DECODE_KEY.reset(trying)


def token_required(view):
    """Let the view run only with a valid access token; its claims go to `g.jwt_claims`."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        required_caller()
        return view(*args, **kwargs)

    return wrapper


def optional_caller() -> Caller | None:
    """The caller if the request carries a valid token, else None: a missing, malformed,
    expired or forged token is ignored, as the Node service ignored tokens on its open
    endpoints."""
    if not request.headers.get("Authorization"):
        return None
    try:
        g.jwt_claims = services().tokens.verified_claims(bearer_token())
    except (JWTExtendedException, PyJWTError):
        return None
    return current_caller()


def required_caller() -> Caller:
    """The caller of a request that must carry a valid token (the 401s otherwise)."""
    g.jwt_claims = services().tokens.verified_claims(bearer_token())
    return current_caller()


def _roles(claim) -> frozenset[str]:
    if isinstance(claim, str):
        return frozenset({claim})
    if isinstance(claim, list):
        return frozenset(role for role in claim if isinstance(role, str))
    return frozenset()


def current_caller() -> Caller:
    """The caller of the current request, from its verified token's claims."""
    return services().tokens.caller(g.jwt_claims)
