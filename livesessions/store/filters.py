"""Filters every query of live sessions shares."""

from ..lifecycle import OPEN_STATUSES

NOT_DELETED = {"deletedAt": None}  # cancelled by DELETE: gone for every reader but the pipeline
OPEN = {"$in": list(OPEN_STATUSES)}  # the statuses that still take changes
