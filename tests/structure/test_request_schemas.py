"""Each endpoint names its request schema once: `@documented(body=..., query=...)` declares it
for the OpenAPI document, and the view loads what it declares (`request_body()`,
`request_query()`), so the document and the validation can't name different schemas."""

import ast
import re
from pathlib import Path

import pytest

import livesessions

PACKAGE = Path(livesessions.__file__).parent


def documented_calls(tree):
    """Every `@documented(...)` of the module's views."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Name)
                    and decorator.func.id == "documented"
                ):
                    yield decorator


def declared_schemas(tree):
    """The schema names passed as `body=` or `query=`, once per declaration."""
    return [
        keyword.value.id
        for call in documented_calls(tree)
        for keyword in call.keywords
        if keyword.arg in ("body", "query") and isinstance(keyword.value, ast.Name)
    ]


def load_calls(tree):
    """`load(...)` and `<x>.load(...)` calls, by line."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "load")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "load")
        )
    ]


def view_modules():
    trees = {path: ast.parse(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))}
    return {
        str(path.relative_to(PACKAGE)): tree
        for path, tree in trees.items()
        if any(documented_calls(tree))
    }


VIEWS = view_modules()


def test_the_views_are_found():
    """Wherever the feature packages put them."""
    declared = {schema for tree in VIEWS.values() for schema in declared_schemas(tree)}
    assert len(VIEWS) >= 6
    assert {"CreateSessionSchema", "ListQuerySchema", "RegisterWebhookSchema"} <= declared


@pytest.mark.parametrize("module", sorted(VIEWS))
def test_views_load_only_what_they_declare(module):
    """No view module loads a schema itself: a second naming of the schema it declares."""
    assert load_calls(VIEWS[module]) == [], f"{module} calls load() at these lines"


def instance_name(schema):
    """`CreateSessionSchema` -> `create_session_schema`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", schema).lower()


@pytest.mark.parametrize("module", sorted(VIEWS))
def test_each_declared_schema_is_named_only_in_its_declaration(module):
    """Neither the class again (`ListQuerySchema().load({})`) nor an instance of it."""
    tree = VIEWS[module]
    declared = declared_schemas(tree)
    names = [node.id for node in ast.walk(tree) if isinstance(node, ast.Name)]
    imported = [
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ]
    for schema in set(declared):
        assert names.count(schema) == declared.count(schema), f"{schema} named again"
        instance = instance_name(schema)
        assert instance not in names + imported, f"{module} uses {instance}"
