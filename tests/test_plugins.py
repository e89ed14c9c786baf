"""Plugin discovery: built-ins and separately installed packages through entry points; broken ones stop start-up."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import PluginLoadError
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.tables import Redemption
from connector.plugin_manager import describe_plugins, make_plugin_manager
from tests.conftest import seed_world


@pytest.mark.hook("connector_plugin_info")
def test_plugins_builtin_and_third_party_are_discovered():
    names = {row["name"]: row for row in describe_plugins(make_plugin_manager())}
    assert {"shopify", "darts"} <= names.keys()
    assert "example" in names, (
        "the example plugin package is not installed: pip install -e examples/connector-example-plugin"
    )
    assert "connector_fulfil_redemption" in names["example"]["hooks"]
    assert names["shopify"]["channels"] == ["shopify"]


@pytest.mark.hook("connector_fulfil_redemption")
def test_plugins_third_party_plugin_fulfils_through_the_core(make_runtime, tmp_path):
    orders = tmp_path / "orders.jsonl"
    rt = make_runtime(plugin_env={"EXAMPLE_ORDERS_FILE": str(orders)})
    w = seed_world(rt)
    with transaction(rt.sessions) as s:
        from connector.core import catalog

        reward = catalog.add_reward(s, s.merge(w.brand), name="Sticker", sku="STK", points_cost=10, channel="example")
        reward_id = reward.id
    created = create_redemption(rt, Actor("t", Role.SUPPORT), member_id=w.member.id, reward_id=reward_id)
    with rt.sessions() as s:
        r = s.get(Redemption, created.redemption.id)
        assert r.status == "fulfilled" and r.external_order_id == f"example-{r.code}"
    assert [json.loads(line)["sku"] for line in orders.read_text().splitlines()] == ["STK"]


def _fake_distribution(root: Path, name: str, entry: str, module_source: str) -> None:
    """Make an importable module plus dist-info metadata, as pip would install it."""
    (root / f"{name}.py").write_text(module_source)
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[connector.plugins]\n{entry} = {name}\n")


@pytest.fixture
def on_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for mod in [m for m in sys.modules if m.startswith("broken_")]:
        del sys.modules[mod]


def test_plugins_broken_plugin_stops_startup_with_clear_message(on_path):
    _fake_distribution(on_path, "broken_import", "brokenimport", "import does_not_exist_anywhere\n")
    with pytest.raises(PluginLoadError) as info:
        make_plugin_manager()
    message = info.value.message
    assert "brokenimport" in message and "ModuleNotFoundError" in message
    assert "CONNECTOR_DISABLED_PLUGINS=brokenimport" in message


def test_plugins_misspelt_hook_stops_startup(on_path):
    _fake_distribution(
        on_path,
        "broken_hook",
        "brokenhook",
        "from connector import hookimpl\n\n\n@hookimpl\n"
        "def connector_fulfill_redemtion(request, ctx):\n    return None\n",
    )
    with pytest.raises(PluginLoadError, match="connector_fulfill_redemtion"):
        make_plugin_manager()


def test_plugins_blocked_plugin_is_skipped(on_path):
    _fake_distribution(on_path, "broken_blocked", "brokenblocked", "raise RuntimeError('boom')\n")
    names = {row["name"] for row in describe_plugins(make_plugin_manager(blocked=["brokenblocked"]))}
    assert "brokenblocked" not in names and "shopify" in names
