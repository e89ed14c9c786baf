"""The plugin contract checks itself: every hook spec is documented with its exact signature and tested.

A hook without a section in ``docs/plugin-hooks.md`` is a promise plugin authors cannot read; a hook no
test calls is a promise nobody checks. The rule for "tested" is written in that document's last section.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from connector import hookspecs
from connector.core.hooktypes import HookContext

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "plugin-hooks.md"
TESTS = REPO / "tests"
#: A hook's section heading: ``### `connector_name(arg, ...)```.
HEADING = re.compile(r"^###\s+`(connector_\w+)\(([^)]*)\)`", re.MULTILINE)


def hook_specs() -> dict[str, Callable[..., object]]:
    marker = f"{hookspecs.PROJECT}_spec"
    return {name: fn for name, fn in vars(hookspecs).items() if inspect.isfunction(fn) and hasattr(fn, marker)}


def signature(fn: Callable[..., object]) -> str:
    return f"{fn.__name__}({', '.join(inspect.signature(fn).parameters)})"


def documented() -> dict[str, str]:
    """Hook name -> the signature its section's heading gives."""
    return {name: f"{name}({args.strip()})" for name, args in HEADING.findall(DOC.read_text())}


def _marked_hooks(tree: ast.AST) -> set[str]:
    """Names in ``pytest.mark.hook("<name>")`` anywhere in a test module (decorators or ``pytestmark``)."""
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "hook"
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "mark"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


@functools.cache
def exercised() -> dict[str, list[str]]:
    """Hook name -> the test modules that call it on a plugin manager or carry its marker."""
    found: dict[str, list[str]] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        source = path.read_text()
        if "connector_" not in source:
            continue
        names = _marked_hooks(ast.parse(source)) | set(re.findall(r"\bhook\.(connector_\w+)\(", source))
        for name in names:
            found.setdefault(name, []).append(str(path.relative_to(REPO)))
    return found


SPECS = hook_specs()


def test_hook_contract_the_specs_are_found():
    """Guards the checks below against passing on an empty list (a renamed marker attribute, say)."""
    assert {"connector_plugin_info", "connector_fulfil_redemption", "connector_list_reward_orders"} <= set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_contract_every_hook_has_a_section_with_its_exact_signature(name: str):
    expected = signature(SPECS[name])
    heading = documented().get(name)
    assert heading is not None, f"docs/plugin-hooks.md has no section '### `{expected}`'; add one saying the promise"
    assert heading == expected, f"docs/plugin-hooks.md heads {name}'s section `{heading}`; the spec is `{expected}`"


def test_hook_contract_no_section_documents_a_hook_that_does_not_exist():
    stale = sorted(set(documented()) - set(SPECS))
    assert not stale, f"docs/plugin-hooks.md documents hooks connector/hookspecs.py does not have: {stale}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_contract_every_hook_is_exercised_by_a_test(name: str):
    assert exercised().get(name), (
        f"no test exercises {name}: mark one that calls it through the host or a plugin manager "
        f'with @pytest.mark.hook("{name}") (the marker is checked as the test runs)'
    )


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(HookContext)])
def test_hook_contract_every_hook_context_field_is_documented(field: str):
    section = DOC.read_text().split("## What every `ctx` holds: `HookContext`", 1)
    assert len(section) == 2, "docs/plugin-hooks.md lost its HookContext section"
    table = section[1].split("\n## ", 1)[0]
    assert f"| `{field}` |" in table, f"HookContext.{field} is not in docs/plugin-hooks.md's HookContext table"
