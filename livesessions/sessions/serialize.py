"""Turn stored session documents into the JSON the Node service returned."""

import math
from collections.abc import Callable
from datetime import datetime

from ..auth.policy import AccessPolicy, may_list_recordings
from ..auth.tokens import Caller
from ..clock import iso
from ..schemas import SessionSchema

_ABSENT = object()
# The spec's key order, from the one description of a session's JSON. Fields a document
# lacks are left out; internal fields (the recording pipeline's) are never shown.
SESSION_FIELDS = tuple(field.data_key or name for name, field in SessionSchema().fields.items())


# The references a reader's JSON has populated (`PlatformStore.populate`), once shown.
POPULATED = ("course", "instructor")


def session_json(doc, refs=()) -> dict:
    """Return the session's public fields, in order, with dates as ISO strings (one pass);
    the `refs` to be populated are there even when the document lacks them (as null, which
    populating keeps), in their place."""
    return {
        key: iso(value) if isinstance(value, datetime) else value
        for key in SESSION_FIELDS
        if (value := doc.get(key, None if key in refs else _ABSENT)) is not _ABSENT
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
    """Sessions as one reader (a `Caller`, or None when anonymous) gets them.

    A recording on Cloudinary's authenticated delivery type (RECORDING_DELIVERY) has its
    `recordingUrl` signed as it is read, for RECORDING_URL_TTL_SECONDS, and only for a
    reader who may list the session's recordings (`policy.may_list_recordings`, the rule
    of `GET /sessions/:id/recordings`); anyone else gets null. Under AUTH_POLICY=strict an
    anonymous reader gets no recording URL and no participants. The decisions are made on
    the stored document, so populate the JSON afterwards (its `course` and `instructor`
    are still ids here).
    """

    def __init__(self, sign: Callable[[dict], str] | None = None, policy=None):
        self.sign = sign  # the recording's stored asset -> a signed, expiring URL
        self.policy = policy or AccessPolicy()

    def session(self, doc, caller: Caller | None, refs=()) -> dict:
        """The session as `caller` may read it (`refs` as in `session_json`)."""
        shown = session_json(doc, refs)
        hidden = self.policy.hides_class_details_from(caller)
        if shown.get("recordingUrl") is not None:
            shown["recordingUrl"] = None if hidden else self._recording_url(doc, caller)
        if hidden and "participants" in shown:
            shown["participants"] = []  # the key and its type kept, as recordingUrl's null
        return shown

    def _recording_url(self, doc, caller):
        asset = doc.get("recordingAsset")
        if not (asset and asset.get("type") == "authenticated"):
            return doc["recordingUrl"]  # public delivery: as stored, as the Node service
        if self.sign is None or not may_list_recordings(caller, doc):
            return None
        return self.sign(asset)

    def detail(self, doc, caller: Caller | None) -> dict:
        """GET /sessions/:id: the session plus where its latest recording is."""
        return {**self.session(doc, caller, POPULATED), "recordingStatus": recording_status(doc)}

    def page(self, docs, caller: Caller | None, page: int, page_count: int, total: int) -> dict:
        """GET /sessions: a page of sessions as `caller` may read them, to be populated."""

        def shown(doc):
            return self.session(doc, caller, POPULATED)

        return page_json(docs, page, page_count, total, shown=shown)
