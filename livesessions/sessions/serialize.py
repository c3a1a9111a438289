"""Turn stored session documents into the JSON the Node service returned."""

import math
from collections.abc import Callable
from datetime import datetime

from ..clock import iso
from ..schemas import SessionSchema

_ABSENT = object()
# The spec's key order, from the one description of a session's JSON. Fields a document
# lacks are left out; internal fields (the recording pipeline's) are never shown.
SESSION_FIELDS = tuple(field.data_key or name for name, field in SessionSchema().fields.items())


def session_json(doc) -> dict:
    """Return the session's public fields, in order, with dates as ISO strings (one pass)."""
    return {
        key: iso(value) if isinstance(value, datetime) else value
        for key in SESSION_FIELDS
        if (value := doc.get(key, _ABSENT)) is not _ABSENT
    }


def recording_status(doc) -> str:
    """The session's `recordingStatus`; documents from before it existed are `ready` when
    recorded, else `none`."""
    return doc.get("recordingStatus") or ("ready" if doc.get("isRecorded") else "none")


def page_json(docs, page: int, page_count: int, total: int, shown=session_json) -> dict:
    """A page of sessions (each as `shown` makes it) with mongoose-paginate-v2's fields."""
    total_pages = max(1, math.ceil(total / page_count))
    return {
        "sessions": [shown(doc) for doc in docs],
        "page": page,
        "pageCount": page_count,
        "totalItems": total,
        "totalPages": total_pages,
        "hasPrevPage": page > 1,
        "hasNextPage": page < total_pages,
        "prevPage": page - 1 if page > 1 else None,
        "nextPage": page + 1 if page < total_pages else None,
    }


class SessionPresenter:
    """Sessions as readers get them: with `recordingUrl` signed as it is read when the
    recording is on Cloudinary's authenticated delivery type (RECORDING_DELIVERY)."""

    def __init__(self, sign: Callable[[dict], str] | None = None):
        self.sign = sign  # the recording's stored asset -> a signed URL

    def session(self, doc) -> dict:
        shown = session_json(doc)
        asset = doc.get("recordingAsset")
        if self.sign and asset and asset.get("type") == "authenticated" and doc.get("recordingUrl"):
            shown["recordingUrl"] = self.sign(asset)
        return shown

    def anonymous(self, doc) -> dict:
        """As an anonymous reader sees it under AUTH_POLICY=strict: no recording URL."""
        shown = session_json(doc)
        if "recordingUrl" in shown:
            shown["recordingUrl"] = None
        return shown

    def detail(self, doc) -> dict:
        """GET /sessions/:id: the session plus where its latest recording is."""
        return {**self.session(doc), "recordingStatus": recording_status(doc)}

    def page(self, docs, page: int, page_count: int, total: int) -> dict:
        return page_json(docs, page, page_count, total, shown=self.session)
