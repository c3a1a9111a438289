"""Fixtures of the sandbox tests: Daily sandboxes and webhook receivers on loopback."""

import pytest

from devtools.sandbox import DailySandbox
from tests.support.sandbox import SANDBOX_API_KEY, WebhookReceiver


@pytest.fixture
def make_receiver():
    made = []

    def make():
        made.append(WebhookReceiver())
        return made[-1]

    yield make
    for receiver in made:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
def receiver(make_receiver):
    return make_receiver()


@pytest.fixture
def make_sandbox():
    """Start Daily sandboxes (API key SANDBOX_API_KEY, quick `ready` events, no rate limits
    unless `rate_limits=True`); stop them after."""
    started = []

    def make(**options):
        options.setdefault("ready_delay", 0.05)
        options.setdefault("rate_limits", False)
        started.append(DailySandbox(api_key=SANDBOX_API_KEY, **options).start())
        return started[-1]

    yield make
    for sandbox in started:
        sandbox.stop()
