"""Command-line tools: `flask --app wsgi db init`, `flask --app wsgi token USER_ID`."""

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from flask_jwt_extended import create_access_token

db_cli = AppGroup("db", help="Database maintenance.")


@db_cli.command("init")
def db_init():
    """Create the indexes (safe to run again)."""
    current_app.extensions["livesessions"].database.ensure_indexes()
    click.echo("indexes are in place")


@click.command("token")
@click.argument("user_id")
@click.option("--role", default="instructor", show_default=True, help="Role claim.")
@click.option("--name", default=None, help="Display name claim.")
@click.option("--hours", default=12, show_default=True, help="Validity in hours.")
@with_appcontext
def token(user_id, role, name, hours):
    """Print a development JWT for USER_ID (refused in production)."""
    from datetime import timedelta

    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("refusing to mint tokens when APP_ENV=production")
    claims = {current_app.config["JWT_ROLE_CLAIM"]: role}
    if name:
        claims["name"] = name
    click.echo(
        create_access_token(
            identity=user_id, additional_claims=claims, expires_delta=timedelta(hours=hours)
        )
    )


def register_commands(app):
    """Add the service's commands to `flask`."""
    app.cli.add_command(db_cli)
    app.cli.add_command(token)
