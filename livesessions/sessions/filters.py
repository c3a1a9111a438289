"""Filters every query of live sessions shares."""

from ..lifecycle import OPEN_STATUSES
from .documents import SESSION_DEFAULTS


def status_in(statuses) -> dict:
    """A filter on `status` matching `statuses` as sessions are read (`with_defaults`): a
    missing status is the default one, and `$in` with null also matches a missing field."""
    values = list(statuses)
    if SESSION_DEFAULTS["status"] in values:
        values.append(None)
    return {"$in": values}


NOT_DELETED = {"deletedAt": None}  # cancelled by DELETE: gone for every reader but the pipeline
OPEN = status_in(OPEN_STATUSES)  # the statuses that still take changes
