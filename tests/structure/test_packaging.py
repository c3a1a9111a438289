"""The project as a package: pyproject's dependencies and the requirements files' pins agree,
and what `pip install .` installs is the service alone, with what production needs."""

import sys
import tomllib
import warnings
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from livesessions.config import ConfigError
from livesessions.db import EMBEDDED_NEEDS_DEV_INSTALL, connect
from tests.support.processes import ROOT


def pinned(name="requirements.txt"):
    """name -> version of each `name==version` line of a requirements file."""
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r "):
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", line
            pins[requirement.name.lower()] = spec.version
    return pins


def declared(extra=None):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return {Requirement(line).name.lower(): Requirement(line) for line in lines}


def test_every_runtime_pin_is_a_declared_dependency_and_the_reverse():
    assert set(pinned()) == set(declared())


def test_every_pin_is_inside_its_declared_range():
    ranges = declared()
    outside = {
        name: (version, str(ranges[name].specifier))
        for name, version in pinned().items()
        if version not in ranges[name].specifier
    }
    assert outside == {}


def test_the_dev_extra_is_pinned_for_development_inside_its_range():
    pins = pinned("requirements-dev.txt")
    assert {
        name: (pins.get(name), str(requirement.specifier))
        for name, requirement in declared("dev").items()
        if pins.get(name) not in requirement.specifier
    } == {}


def test_without_the_development_install_the_embedded_store_says_what_it_needs(monkeypatch):
    """mongomock is no runtime requirement: without it, the embedded store (the default
    MONGODB_URI) is a setting that can't work, one line as any other (wsgi.py's)."""
    monkeypatch.setitem(sys.modules, "mongomock", None)  # `import mongomock` then fails
    with pytest.raises(ConfigError) as raised:
        connect("mongomock://localhost/livesessions")
    assert str(raised.value) == EMBEDDED_NEEDS_DEV_INSTALL
    assert "pip install -r requirements-dev.txt" in EMBEDDED_NEEDS_DEV_INSTALL


def installed_packages():
    """The packages `pip install .` puts in the wheel: pyproject's `packages.find`, as
    setuptools itself expands it."""
    with warnings.catch_warnings():  # older setuptools call its pyproject support "beta"
        warnings.simplefilter("ignore")
        from setuptools.config.pyprojecttoml import read_configuration

        return read_configuration(ROOT / "pyproject.toml")["tool"]["setuptools"]["packages"]


def test_the_installed_package_is_the_service_without_the_development_tools():
    """`livesessions` alone, without the sandboxes, the demo data or the dev server (they
    run from the checkout: devtools/), and no mongomock among the requirements the
    installed distribution declares (only in its `dev` extra)."""
    packages = installed_packages()
    assert "livesessions.sessions" in packages
    assert [p for p in packages if p.split(".")[0] != "livesessions" or "sandbox" in p] == []
    files = [
        str(path.relative_to(ROOT))
        for package in packages
        for path in (ROOT / package.replace(".", "/")).glob("*.py")
    ]
    assert "livesessions/sessions/service.py" in files
    assert [f for f in files if Path(f).stem in ("demo", "devserver", "sandbox")] == []
    requires = [Requirement(line) for line in metadata.requires("livesessions")]
    runtime = {r.name.lower() for r in requires if r.marker is None}
    assert runtime == set(declared())
    assert "mongomock" not in runtime
    assert [str(r.marker) for r in requires if r.name == "mongomock"] == ['extra == "dev"']
