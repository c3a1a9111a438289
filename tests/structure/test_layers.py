"""The packages' layers: the platform below every feature, the features in one order, each
reaching another only through its public module (its `__init__`), and only downwards.

    app (create_app, the composition roots: services and worker, the CLI, /readyz, indexes)
    outbound > recordings > sessions > daily > jobs
    platform (every other top-level module, auth/, schemas/, validation/)
"""

import ast
from pathlib import Path

import pytest

import livesessions

PACKAGE = Path(livesessions.__file__).parent
# Lowest first: a feature may import the public module of one before it, never after.
FEATURES = ("jobs", "daily", "sessions", "recordings", "outbound")
# What wires the features together: it may import any of their modules.
APP = {"livesessions", "livesessions.services", "livesessions.worker", "livesessions.cli"}
APP |= {"livesessions.probes", "livesessions.indexes"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def feature_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FEATURES else None


def imports_of(path: Path, source: str | None = None) -> set[str]:
    """The modules of the package `path` imports, at module level or inside functions:
    `from x import y` counts as x (y is a name of x, or a submodule: then x.y)."""
    here = module_name(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text() if source is None else source)):
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                is_module = (PACKAGE.parent / submodule.replace(".", "/")).with_suffix(".py")
                found.add(submodule if is_module.exists() else target)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name.split(".")[0] == "livesessions"}


MODULES = sorted(PACKAGE.rglob("*.py"))


def rule_breaks(path: Path, source: str | None = None) -> list[str]:
    module = module_name(path)
    if module in APP:
        return []
    mine = feature_of(module)
    breaks = []
    for target in sorted(imports_of(path, source)):
        theirs = feature_of(target)
        if theirs is None or theirs == mine:
            continue
        if mine is None:
            breaks.append(f"the platform module {module} imports the feature {target}")
        elif FEATURES.index(theirs) > FEATURES.index(mine):
            breaks.append(f"{module} imports {target}, a feature above {mine}")
        elif target != f"livesessions.{theirs}":
            breaks.append(f"{module} imports {target}, not {theirs}'s public module")
    return breaks


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_a_module_imports_only_below_it_and_only_public_modules(path):
    assert rule_breaks(path) == []


def test_the_rule_sees_an_upward_import_and_an_internal_one():
    """The check itself: what it must refuse, it refuses."""
    source = "from ..outbound import x\nfrom ..daily.client import DailyClient\n"
    assert rule_breaks(PACKAGE / "sessions" / "service.py", source) == [
        "livesessions.sessions.service imports livesessions.daily.client, "
        "not daily's public module",
        "livesessions.sessions.service imports livesessions.outbound, a feature above sessions",
    ]
    assert rule_breaks(PACKAGE / "clock.py", "from .sessions import SessionStore\n") == [
        "the platform module livesessions.clock imports the feature livesessions.sessions"
    ]


def test_every_feature_is_a_package_with_a_public_module():
    for feature in FEATURES:
        assert (PACKAGE / feature / "__init__.py").is_file(), feature
