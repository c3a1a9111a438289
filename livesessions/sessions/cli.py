"""`flask --app wsgi calendar ...`: the students' calendar feed links."""

import click
from flask.cli import AppGroup

from ..extensions import services
from ..schemas.requests import STUDENT_ID, STUDENT_ID_MAX_LENGTH
from ..validation.javascript import length
from .feed_keys import feed_path

calendar_cli = AppGroup("calendar", help="Calendar feeds.")


@calendar_cli.command("link")
@click.argument("student_id")
def calendar_link(student_id):
    """Print STUDENT_ID's calendar feed path with its key, to put after the service's public
    URL (changing CALENDAR_FEED_SECRET invalidates every link)."""
    # what POST /sessions/:id/participants admits: another id is in no session's participants
    if not STUDENT_ID.fullmatch(student_id) or length(student_id) > STUDENT_ID_MAX_LENGTH:
        raise click.BadParameter(
            'not a student id the service admits (no "/" or control characters, not "." '
            f'or "..", at most {STUDENT_ID_MAX_LENGTH} UTF-16 code units)',
            param_hint="STUDENT_ID",
        )
    secret = services().calendar_feeds.secret
    if not secret:
        raise click.ClickException(
            "CALENDAR_FEED_SECRET is not set: the student calendar feeds are off"
        )
    click.echo(feed_path(secret, student_id))
