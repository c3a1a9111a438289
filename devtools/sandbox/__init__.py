"""Local stand-ins for Daily.co and Cloudinary. DEVELOPMENT AND TESTS ONLY.

They answer the calls the service makes the way the real APIs do, so `make run` works with
no accounts and the end-to-end tests talk real HTTP over loopback. They never run when real
credentials are configured.
"""

from .cloudinary import CloudinarySandbox
from .daily import DailySandbox

__all__ = ["CloudinarySandbox", "DailySandbox"]
