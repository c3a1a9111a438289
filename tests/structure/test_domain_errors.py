"""The layers under the views: the store and the lifecycle raise the domain's exceptions
(domain_errors.py), which errors.py words for a client in one place; and every "now" is
read from the one clock (clock.py)."""

import ast
from pathlib import Path

import pytest

import livesessions.domain_errors as domain_errors
import livesessions.errors as errors

PACKAGE = Path(errors.__file__).parent
# Local stand-ins, not the service (they keep their own time, as the services they mimic).
OUTSIDE_THE_SERVICE = ("sandbox",)
SERVICE_MODULES = sorted(
    path
    for path in PACKAGE.rglob("*.py")
    if not set(path.relative_to(PACKAGE).parts) & set(OUTSIDE_THE_SERVICE)
)
# What reads the wall clock for "now": called anywhere but clock.py, it escapes the one
# clock the tests hold and move. (`clock=time.time` as a default is an injection point:
# not a call, so not counted.)
NOW_CALLS = {("time", "time"), ("datetime", "now"), ("datetime", "utcnow"), ("date", "today")}


def relative(path):
    return str(path.relative_to(PACKAGE))


def imported_from(path) -> set[str]:
    """Every module a module imports from, and each `module.name` it takes, relative
    imports resolved against the package (`livesessions.errors.ApiError`)."""
    package = ["livesessions", *path.relative_to(PACKAGE).parts[:-1]]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found |= {module, *(f"{module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def now_calls(source: str) -> list[str]:
    """The wall-clock reads in `source`, as `line N time.time()`."""
    return [
        f"line {node.lineno} {node.func.value.id}.{node.func.attr}()"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and (node.func.value.id, node.func.attr) in NOW_CALLS
    ]


REPOSITORIES = sorted(
    [
        *PACKAGE.rglob("*repository.py"),
        *(PACKAGE / name for name in ("service_state.py", "ratelimit_storage.py")),
        *(PACKAGE / "jobs" / name for name in ("leases.py", "heartbeats.py")),
        PACKAGE / "daily" / "turns.py",
    ]
)


@pytest.mark.parametrize("path", REPOSITORIES, ids=relative)
def test_the_repositories_know_no_client_message_nor_api_error(path):
    """A repository says what happened (domain_errors); what a client reads is errors.py's."""
    assert {name for name in imported_from(path) if name.startswith("livesessions.errors")} == set()


# pymongo's collection methods (not `find`: every string has one)
QUERIES = {
    "find_one", "find_one_and_update", "find_one_and_delete", "find_one_and_replace",
    "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one",
    "delete_many", "count_documents", "estimated_document_count", "aggregate", "distinct",
    "bulk_write",
}  # fmt: skip


def queries_in(source: str) -> set[str]:
    return {
        node.func.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in QUERIES
    }


@pytest.mark.parametrize(
    "path", sorted(set(PACKAGE.rglob("*.py")) - set(REPOSITORIES)), ids=relative
)
def test_every_query_is_in_a_repository(path):
    assert queries_in(path.read_text()) == set()


def test_the_check_sees_a_query():
    assert queries_in("def f(db):\n    db.livesessions.update_one({}, {})\n") == {"update_one"}


@pytest.mark.parametrize("low", ["lifecycle.py", "domain_errors.py"])
def test_the_lifecycle_and_the_domain_errors_know_nothing_of_http(low):
    imported = imported_from(PACKAGE / low)
    assert {name for name in imported if name.startswith(("livesessions.errors", "flask"))} == set()


# What a client reads for each refusal, as the spec words it (the Node service's answers).
WORDED = [
    (domain_errors.SessionNotFound(), 404, "Live session not found"),
    (domain_errors.StudentNotFound(), 404, "Student not found in session participants"),
    (domain_errors.SessionFull(), 400, "Session has reached maximum participants"),
    (domain_errors.SessionNotJoinable("ended"), 400, "Cannot join a session that is ended"),
    (
        domain_errors.SessionNotChangeable("cancelled"),
        400,
        "Cannot update a session that is cancelled",
    ),
    (
        domain_errors.CapacityBelowParticipants(3),
        400,
        '"maxParticipants" must be greater than or equal to the current number of participants (3)',
    ),
    (
        domain_errors.TransitionRefused("ended", "live"),
        400,
        "Cannot change status from ended to live",
    ),
]


@pytest.mark.parametrize(
    ("error", "status", "message"), WORDED, ids=[type(error).__name__ for error, _, _ in WORDED]
)
def test_each_domain_error_is_worded_as_the_spec_says(error, status, message):
    worded = errors.client_error(error)
    assert isinstance(worded, errors.ApiError)
    assert (worded.status_code, worded.message) == (status, message)


def test_every_domain_error_has_its_wording():
    """A new refusal without a wording would answer a client with a 500."""
    kinds = {
        value
        for value in vars(domain_errors).values()
        if isinstance(value, type) and issubclass(value, domain_errors.DomainError)
    }
    assert kinds - {domain_errors.DomainError} == {type(error) for error, _, _ in WORDED}


def test_no_module_reads_the_wall_clock_but_clock_py():
    calls = [
        f"{relative(path)}: {call}"
        for path in SERVICE_MODULES
        if path.name != "clock.py"
        for call in now_calls(path.read_text())
    ]
    assert calls == []


def test_the_check_sees_a_wall_clock_call_and_not_an_injection_default():
    source = "import time\ndef f(clock=time.time):\n    return time.time() - clock()\n"
    assert now_calls(source) == ["line 3 time.time()"]
