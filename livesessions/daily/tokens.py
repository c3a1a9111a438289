"""Daily.co meeting tokens signed here, as Daily documents: an HS256 JWT whose secret is
the domain's API key, with Daily's abbreviated claim names. A join then costs no call to
Daily at all, so no rate limit ever touches it."""

import jwt


def self_signed_token(
    api_key: str,
    domain_id: str,
    room_name: str,
    *,
    issued_at: int,
    nbf: int,
    exp: int,
    is_owner: bool,
    user_id: str,
    user_name: str,
    start_recording: bool = False,
) -> str:
    """A token for one room (`r`: without it a token opens every room of the domain), of
    domain `d`, valid from `nbf` to `exp` (Unix seconds). With `start_recording`, Daily starts
    a cloud recording when its holder joins (`sr`, start_cloud_recording): no REST call."""
    claims = {
        "r": room_name,
        "d": domain_id,
        "iat": issued_at,
        "nbf": nbf,
        "exp": exp,
        "o": is_owner,
        "ud": user_id,
        "u": user_name,
        # No one is ejected at `exp`: a class that runs over keeps its people until the
        # room closes (its grace period), as with the tokens Daily issues by REST.
        "ejt": False,
    }
    if start_recording:
        claims["sr"] = True
    return jwt.encode(claims, api_key, algorithm="HS256")
