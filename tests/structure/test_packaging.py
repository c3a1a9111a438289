"""The project as a package: pyproject's dependencies and requirements.txt's pins agree."""

import tomllib

from packaging.requirements import Requirement

from tests.support.processes import ROOT


def pinned():
    """name -> version of each `name==version` line of requirements.txt."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", line
            pins[requirement.name.lower()] = spec.version
    return pins


def declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {Requirement(line).name.lower(): Requirement(line) for line in project["dependencies"]}


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
