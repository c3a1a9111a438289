"""Demo data for a new user: the platform's courses and users, and a few live sessions.
`make run` seeds its embedded store with it; `python -m devtools.demo` adds it to the
database of the settings (.env), as `flask --app wsgi ...` would see them."""

import sys
from datetime import timedelta

import click
from dotenv import load_dotenv
from flask.cli import ScriptInfo, with_appcontext

from livesessions import create_app
from livesessions.auth.tokens import Caller
from livesessions.cli import fail_in_one_line
from livesessions.clock import utcnow
from livesessions.config import ConfigError
from livesessions.extensions import services

JS, REACT, PYTHON = (f"c0000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))
JOHN, JANE = (f"10000000-0000-4000-8000-00000000000{n}" for n in (1, 2))
ALICE, BOB = (f"20000000-0000-4000-8000-00000000000{n}" for n in (1, 2))
ADA = "30000000-0000-4000-8000-000000000001"

COURSES = [
    {"_id": JS, "title": "JavaScript Fundamentals"},
    {"_id": REACT, "title": "React Advanced"},
    {"_id": PYTHON, "title": "Python for Data Analysis"},
]
USERS = [
    {"_id": JOHN, "name": "John Doe", "role": "instructor"},
    {"_id": JANE, "name": "Jane Smith", "role": "instructor"},
    {"_id": ALICE, "name": "Alice Martin", "role": "student"},
    {"_id": BOB, "name": "Bob Lee", "role": "student"},
    {"_id": ADA, "name": "Ada Admin", "role": "admin"},
]
# title, description, course, instructor, starts in, minutes, seats, status, participants
SESSIONS = [
    ("Week 1: JavaScript Basics", "Variables, functions and the console", JS, JOHN,
     timedelta(days=1), 60, 100, "scheduled", [ALICE, BOB]),
    ("Week 2: Functions and Closures", "Scopes, closures and callbacks", JS, JOHN,
     timedelta(days=8), 90, 100, "scheduled", []),
    ("Hooks in Depth", "useState, useEffect and custom hooks, live", REACT, JANE,
     timedelta(minutes=1), 60, 50, "live", [ALICE]),
    ("State Management Patterns", "Context, reducers and stores", REACT, JANE,
     timedelta(days=9), 75, 50, "scheduled", []),
    ("pandas for Beginners", "DataFrames from zero (two seats: full)", PYTHON, JOHN,
     timedelta(days=3), 60, 2, "scheduled", [ALICE, BOB]),
    ("Plotting with matplotlib", "Moved to next term", PYTHON, JANE,
     timedelta(days=10), 45, 30, "cancelled", []),
]  # fmt: skip


def seed_demo(services):
    """Add the demo courses, users and sessions; sessions only once. Return what was added."""
    services.platform_store.upsert("courses", COURSES)
    services.platform_store.upsert("users", USERS)
    if services.session_store.count(course={"$in": [JS, REACT, PYTHON]}):
        return {"courses": len(COURSES), "users": len(USERS), "sessions": 0}
    start = utcnow().replace(second=0, microsecond=0)
    for title, description, course, instructor, delay, minutes, seats, status, people in SESSIONS:
        doc = services.session_service.create(
            {
                "title": title,
                "description": description,
                "courseId": course,
                "scheduledAt": start + delay,
                "duration": minutes,
                "maxParticipants": seats,
            },
            Caller(instructor),
        )
        for student in people:
            services.session_store.add_participant(doc["_id"], student)
        if status != "scheduled":
            services.session_store.set_status(doc["_id"], status)
    return {"courses": len(COURSES), "users": len(USERS), "sessions": len(SESSIONS)}


@fail_in_one_line
@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Add demo courses, users and sessions (refused in production)."""
    if services().production:
        raise click.ClickException("refusing to add demo data when APP_ENV=production")
    if services().database.embedded:
        click.echo(
            "note: the embedded store lives in this process only; `make run` seeds its own",
            err=True,
        )
    added = seed_demo(services())
    click.echo(
        f"demo data: {added['courses']} courses, {added['users']} users, "
        f"{added['sessions']} new sessions"
    )


def load_app():
    try:
        return create_app()
    except ConfigError as error:  # its one line, as wsgi.py says it, not a traceback
        sys.exit(str(error))


def main():
    load_dotenv()
    seed_demo_command.main(prog_name="python -m devtools.demo", obj=ScriptInfo(create_app=load_app))


if __name__ == "__main__":
    main()
