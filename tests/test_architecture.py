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


# -- import cycles ---------------------------------------------------------------------------------------------

#: Cycles allowed for now, each a frozenset of module names with the reason it is not fixed yet.
#: Empty: connector has no import cycle. A cycle through code another change is moving may be
#: listed here while that change lands, never silently.
KNOWN_CYCLES: dict[frozenset[str], str] = {}

#: Cycles through imports inside functions (they run on first call, not at import time), each with the
#: reason it stays. Such a cycle cannot half-initialise a module, but it still ties two modules together.
KNOWN_DEFERRED_CYCLES: dict[frozenset[str], str] = {
    frozenset({"connector.app", "connector.cli"}): (
        "create_app mounts the connector commands so `flask --app connector.app <command>` works (README), and "
        "`connector serve`/`connector demo` build the app with create_app; breaking it means moving the Flask "
        "entry point or the serve command out of the `connector` group, both visible to users"
    ),
}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_imports(body: list[ast.stmt], *, deferred: bool = False) -> list[ast.Import | ast.ImportFrom]:
    """The imports that run when the module is imported: not those under TYPE_CHECKING, nor (unless
    ``deferred``) those in functions, which run on the function's first call."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not deferred:
            continue
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            found += _import_time_imports(node.orelse, deferred=deferred)
        else:
            # Class bodies, ``if``/``try``/``with``/loops run at import time: look inside them.
            for field in ("body", "orelse", "finalbody"):
                found += _import_time_imports(getattr(node, field, []), deferred=deferred)
            for handler in getattr(node, "handlers", []):
                found += _import_time_imports(handler.body, deferred=deferred)
    return found


def import_graph(root: Path = ROOT, *, deferred: bool = False) -> dict[str, set[str]]:
    """Module -> the connector modules it imports at import time (with ``deferred``, in functions too).

    ``from package import name`` points at ``package.name`` when that is a module, else at the package.
    """
    modules = {_module_name(p, root): p for p in root.rglob("*.py") if "migrations" not in p.relative_to(root).parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _import_time_imports(ast.parse(path.read_text()).body, deferred=deferred):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name in modules}
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:
                    targets.add(sub)
                elif base in modules:
                    targets.add(base)
        graph[name] = targets - {name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle once, as a path that starts and ends at the same module (one per strongly connected group)."""
    return [_one_cycle(graph, group) for group in tangles(graph)]


def tangles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of two or more modules that all reach each other (strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def _one_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, staying inside the group."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & group):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    raise AssertionError(f"{sorted(group)} is not a cycle")


def test_architecture_the_cycle_finder_sees_a_cycle_and_ignores_deferred_imports(tmp_path: Path):
    """The finder itself: a real cycle is reported; imports in functions or under TYPE_CHECKING are not edges."""
    pkg = tmp_path / "connector"
    (pkg / "web").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "web" / "__init__.py").write_text("from connector.web import views\nbp = 1\n")
    (pkg / "web" / "views.py").write_text("from connector.web import bp\n")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from connector import b\n")
    (pkg / "b.py").write_text(
        "def f():\n    from connector import a\n\ntry:\n    from . import c\nexcept ImportError:\n    pass\n"
    )
    (pkg / "c.py").write_text("import connector.b\n")
    graph = import_graph(pkg)
    assert graph["connector.a"] == set() and graph["connector.b"] == {"connector.c"}
    assert sorted(map(sorted, import_cycles(graph))) == [
        ["connector.b", "connector.b", "connector.c"],
        ["connector.web", "connector.web", "connector.web.views"],
    ]
    # Counting imports inside functions, b's deferred import of a is an edge; TYPE_CHECKING ones never are.
    deferred = import_graph(pkg, deferred=True)
    assert deferred["connector.a"] == set() and deferred["connector.b"] == {"connector.a", "connector.c"}


def test_architecture_no_import_cycles():
    """A module never imports, at import time, a module that imports it back (directly or around a circle).

    A cycle makes import order matter and a module half-initialised when its partner reads it; the fix
    is a leaf module both sides import (see ``connector/request_context.py``, ``core/scheduling.py``).
    """
    cycles = [c for c in import_cycles(import_graph()) if frozenset(c) not in KNOWN_CYCLES]
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
    stale = [sorted(k) for k in KNOWN_CYCLES if k not in {frozenset(c) for c in import_cycles(import_graph())}]
    assert not stale, f"KNOWN_CYCLES lists cycles that are gone; remove them: {stale}"


def test_architecture_no_import_cycles_even_through_imports_in_functions():
    """Counting the imports inside functions too, the only cycles are the ones listed, each with its reason.

    A deferred import hides a dependency from the import-time check above; a new cycle through one is
    fixed the same way (a leaf both import, or the caller passing what the callee needs: ``connector demo``
    gets the app factory from the command instead of importing the host).
    """
    graph = import_graph(deferred=True)
    found = {frozenset(group) for group in tangles(graph)}  # whole groups: a new module joining one is new
    new = [group for group in found if group not in KNOWN_DEFERRED_CYCLES]
    assert not new, "import cycles through imports in functions:\n" + "\n".join(
        f"{' -> '.join(_one_cycle(graph, set(group)))} (modules in the tangle: {sorted(group)})" for group in new
    )
    stale = [sorted(k) for k in KNOWN_DEFERRED_CYCLES if k not in found]
    assert not stale, f"KNOWN_DEFERRED_CYCLES lists cycles that are gone; remove them: {stale}"
