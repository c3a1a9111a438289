"""`flask --app wsgi webhooks ...`: list the outbound endpoints and enable a disabled one."""

import click
from flask.cli import AppGroup

from ..errors import NotFound
from ..extensions import services
from .destinations import shown_url

webhooks_cli = AppGroup("webhooks", help="Outbound webhook endpoints.")


@webhooks_cli.command("list")
def webhooks_list():
    """One line per endpoint: id, enabled or disabled, failures in a row, URL (its user
    information masked), events."""
    for endpoint in services().webhook_store.list():
        state = "enabled" if endpoint["enabled"] else "disabled"
        click.echo(
            f"{endpoint['_id']} {state} failures={endpoint['consecutiveFailures']} "
            f"{shown_url(endpoint['url'])} {','.join(endpoint['events'])}"
        )


@webhooks_cli.command("enable")
@click.argument("endpoint_id")
def webhooks_enable(endpoint_id):
    """Enable an endpoint (disabled after a run of failed deliveries) and resume the
    deliveries its disabling stopped."""
    try:
        endpoint, resumed = services().webhook_service.enable(endpoint_id)
    except NotFound as error:
        raise click.ClickException(f"{error.message}: {endpoint_id}") from None
    click.echo(f"webhook endpoint {endpoint['_id']} enabled; {resumed} delivery(ies) resumed")
