"""Import rules that keep the domain core independent of the web and of HTTP."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "connector"
CORE = sorted((ROOT / "core").rglob("*.py"))
#: Modules with no database either: vocabulary, rules and parsers (frequent_buyer's included).
PURE = {
    "model.py",
    "lifecycle.py",
    "hooktypes.py",
    "errors.py",
    "access.py",
    "backoff.py",
    "ports.py",
    "pos_types.py",
    "rules.py",
    "units.py",
}
NEVER_IN_CORE = {
    "flask",
    "werkzeug",
    "requests",
    "urllib3",
    "http",
    "rq",
    "redis",
    "connector.plugins",
    "connector.api",
    "connector.webhooks",
    "connector.app",
}
NEVER_IN_PURE = NEVER_IN_CORE | {"sqlalchemy", "alembic", "psycopg"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _violations(path: Path, banned: set[str]) -> set[str]:
    return {m for m in _imports(path) if any(m == b or m.startswith(b + ".") for b in banned)}


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_architecture_core_imports_no_web_or_http(path: Path):
    banned = NEVER_IN_PURE if path.name in PURE else NEVER_IN_CORE
    assert not _violations(path, banned), f"{path.name} imports {_violations(path, banned)}"


@pytest.mark.parametrize("plugin", ["shopify", "darts", "email"])
def test_architecture_plugins_reach_core_only_through_public_modules(plugin: str):
    allowed = {
        "connector",
        "connector.core.hooktypes",
        "connector.core.errors",
        "connector.core.model",
        # POS report formats: the parsed-card types and the size units they are checked against.
        "connector.core.frequent_buyer.pos_types",
        "connector.core.frequent_buyer.units",
    }
    for path in (ROOT / "plugins" / plugin).rglob("*.py"):
        internal = {
            m for m in _imports(path) if m.startswith("connector.") and not m.startswith(f"connector.plugins.{plugin}")
        }
        assert internal <= allowed, f"{path.name} reaches into {internal - allowed}"


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "admin").rglob("*.py")) + sorted((ROOT / "api").rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_architecture_the_console_and_the_api_reach_plugins_only_through_hooks(path: Path):
    """Host code learns what a plugin knows (required scopes, say) through a hook, never by importing it."""
    assert not _violations(path, {"connector.plugins"}), f"{path.name} imports a plugin"


#: The demo and the two commands that start it or the simulator (lazily, after saying how to install it).
SIMULATOR_USERS = {"demo.py", "cli.py"}


def test_architecture_the_product_needs_neither_the_simulator_nor_graphql():
    """The simulator is its own distribution (``simulator/``): a production install carries neither it nor
    graphql-core, so the package never imports them (the demo excepted) and does not declare them."""
    for path in sorted(ROOT.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        banned = {"graphql"} if name in SIMULATOR_USERS else {"graphql", "shopify_sim"}
        assert not _violations(path, banned), f"{name} imports {_violations(path, banned)}"
    project = tomllib.loads((ROOT.parent / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower() for requirement in project["dependencies"]}
    assert not declared & {"graphql-core", "connector-shopify-sim"}, "a production dependency on the simulator"
