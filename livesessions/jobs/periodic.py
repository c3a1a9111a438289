"""The worker's periodic housekeeping tasks (the sweep, the reconciler, the webhook check,
the retention purge, its heartbeat)."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class PeriodicTask:
    """Housekeeping the worker runs every `every_seconds` (first at start)."""

    name: str
    every_seconds: float
    action: Callable[[], object]
    due: float = 0.0  # time.monotonic() of the next run
    shared: bool = True  # one worker at a time runs it (False: every worker, e.g. heartbeat)
