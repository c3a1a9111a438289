"""The package's structure: messages written once, imports without a cycle, settings read
in one place (the packages' layers: test_layers.py)."""

import ast
from functools import cache
from pathlib import Path

import pytest

import livesessions.errors as errors

PACKAGE = Path(errors.__file__).parent
# The development tools beside it (never installed): in the import graph and the size
# limit too, but not the service's messages (the sandboxes answer in Daily's and
# Cloudinary's words).
DEVTOOLS = PACKAGE.parent / "devtools"
SHIPPED = sorted(PACKAGE.rglob("*.py"))
MODULES = SHIPPED + sorted(DEVTOOLS.rglob("*.py"))


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache  # read once for the run: each of the ~200 parametrized checks walks every module
def parsed(path):
    return ast.parse(path.read_text(), filename=str(path))


def messages():
    """Every client-facing message errors.py defines (templates included)."""
    found = {
        name: value
        for name, value in vars(errors).items()
        if name.isupper() and isinstance(value, str)
    }
    found.update({f"HTTP_MESSAGES[{code}]": text for code, text in errors.HTTP_MESSAGES.items()})
    return found


def service_modules():
    return SHIPPED


@cache
def string_constants(path):
    nodes = ast.walk(parsed(path))
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


@cache
def names_used(path):
    """The names a module reads or imports."""
    used = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.ImportFrom):
            used |= {alias.name for alias in node.names}
    return used


def test_errors_defines_the_messages_it_is_meant_to():
    assert messages()["SESSION_NOT_FOUND"] == "Live session not found"
    assert messages()["CANNOT_JOIN"] == "Cannot join a session that is {status}"
    assert len(messages()) > 30


@pytest.mark.parametrize("name", sorted(messages()))
def test_each_message_is_written_once_in_the_package(name):
    """Nowhere but errors.py: not as a copy, nor as the fixed start of a template."""
    fixed = messages()[name].split("{")[0].strip()
    copies = [
        f"{path.relative_to(PACKAGE)}: {text!r}"
        for path in service_modules()
        if path.name != "errors.py" or path.parent != PACKAGE
        for text in string_constants(path)
        if len(fixed) >= 8 and fixed in text
    ]
    assert copies == []


@pytest.mark.parametrize("name", sorted(n for n in messages() if not n.startswith("HTTP_")))
def test_each_message_is_used_outside_errors(name):
    used = any(name in names_used(path) for path in service_modules() if path.name != "errors.py")
    assert used, f"{name} is defined in errors.py but nothing uses it"


def imports_of(path):
    """The package modules `path` imports (relative or absolute), at module level or not."""
    here = module_name(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    found = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            submodules = [f"{target}.{alias.name}" for alias in node.names]
            # `from . import calls` takes a module, not its package's __init__
            names_a_module = all(name in MODULE_NAMES for name in submodules)
            candidates = submodules if names_a_module else [target, *submodules]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {name for name in candidates if name in MODULE_NAMES}
    found.discard(module_name(path))
    return found


MODULE_NAMES = {module_name(path) for path in MODULES}


def test_the_imports_form_layers_without_a_cycle():
    graph = {module_name(path): imports_of(path) for path in MODULES}
    assert "livesessions.sessions.repository" in graph["livesessions.sessions.service"]
    visiting, done, cycles = set(), set(), []

    def visit(name, trail):
        if name in done:
            return
        if name in visiting:
            cycles.append(trail[trail.index(name) :])
            return
        visiting.add(name)
        for target in sorted(graph[name]):
            visit(target, [*trail, target])
        visiting.discard(name)
        done.add(name)

    for name in sorted(graph):
        visit(name, [name])
    assert cycles == []


def test_the_shipped_package_imports_nothing_of_the_development_tools():
    """`pip install .` installs `livesessions` alone: an import of `devtools` would fail."""
    assert "devtools.sandbox" in imports_of(DEVTOOLS / "devserver.py")
    reaching = {
        module_name(path): sorted(m for m in imports_of(path) if m.split(".")[0] == "devtools")
        for path in SHIPPED
    }
    assert {name: found for name, found in reaching.items() if found} == {}


# Where the settings are read: the composition root (create_app, build_services) and the
# settings' own modules. Everything else is given values, or objects built from them there.
SETTINGS_READERS = {
    "livesessions",
    "livesessions.services",
    "livesessions.config",
    "livesessions.config_checks",
    "livesessions.config_report",
    "livesessions.startup",
}


def reads_current_app_config(node) -> bool:
    """`current_app.config` (or `flask.current_app.config`)."""
    if not (isinstance(node, ast.Attribute) and node.attr == "config"):
        return False
    owner = node.value
    return (isinstance(owner, ast.Name) and owner.id == "current_app") or (
        isinstance(owner, ast.Attribute) and owner.attr == "current_app"
    )


def test_settings_reach_code_one_way():
    """No module but the composition root and the settings' own reads `current_app.config`
    (at request or command time): each is given what it needs when the app is built."""
    reads = [
        f"{module_name(path)}:{node.lineno}"
        for path in MODULES
        if module_name(path) not in SETTINGS_READERS
        for node in ast.walk(parsed(path))
        if reads_current_app_config(node)
    ]
    assert reads == []


def test_features_publish_events_without_importing_who_listens():
    """Sessions and recordings publish to the platform's event hub and import nothing of
    outbound (which subscribes); daily, below them, imports none of sessions, recordings,
    outbound (its handlers are given at composition)."""
    below = {
        "sessions": ("outbound",),
        "recordings": ("outbound",),
        "daily": ("sessions", "recordings", "outbound"),
    }
    upward = {}
    for feature, above in below.items():
        banned = tuple(f"livesessions.{name}" for name in above)
        for path in sorted((PACKAGE / feature).rglob("*.py")):
            found = sorted(m for m in imports_of(path) if m.startswith(banned))
            if found:
                upward[module_name(path)] = found
    assert upward == {}
    assert imports_of(PACKAGE / "events.py") == set()  # the hub knows no feature
