"""Names as Daily.co accepts them: room names from titles, user ids of meeting tokens."""

import hashlib
import re
import unicodedata

ROOM_NAME_MAX = 128
USER_ID_MAX = 36  # Daily's limit on a meeting token's user_id


def slugify(title: str) -> str:
    """Lower-case ASCII slug of `title` using only the characters Daily allows in names."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-") or "session"


def daily_user_id(user_id: str) -> str:
    """The platform's user id as Daily can carry it: unchanged up to 36 characters, else a
    stable digest (attendance maps it back with this same function)."""
    if len(user_id) <= USER_ID_MAX:
        return user_id
    return "h-" + hashlib.sha256(user_id.encode()).hexdigest()[: USER_ID_MAX - 2]


def room_name(title: str, timestamp_ms: int) -> str:
    """`<slug>-<timestamp>`, the slug cut so the name fits Daily's 128 characters."""
    suffix = f"-{timestamp_ms}"
    slug = slugify(title)[: ROOM_NAME_MAX - len(suffix)].rstrip("-") or "session"
    return slug + suffix
