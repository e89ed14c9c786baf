"""``connector checkout``: find, add, punch, cards and redeem from the shell, through the same use cases."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from connector.commands.checkout import checkout
from connector.core.frequent_buyer.tables import FreeGood
from tests.frequent_buyer.checkout_fixtures import fix_clock


@pytest.fixture
def cli(rt):
    fix_clock(rt)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(checkout, list(args), obj=rt, catch_exceptions=False)

    return run


def _free_goods(rt) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(FreeGood)) or 0)


def test_the_counter_from_the_shell(cli, rt, fb_world):
    paws = str(fb_world.retailer_id)
    bad = cli("add-customer", "--retailer", paws, "--name", "Dana Smith", "--phone", "12")
    assert bad.exit_code == 1 and "phone: 7 to 15 digits (got 2), like 303-555-0142" in bad.output
    added = cli("add-customer", "--retailer", paws, "--name", "Dana Smith", "--phone", "206-555-0101")
    assert added.exit_code == 0, added.output
    customer = added.output.split()[2].rstrip(":")
    found = cli("find", "dana", "--retailer", paws)
    assert found.output.startswith(f"{customer}\tDana Smith\t2065550101")
    short = cli("punch", customer, "KIB-4", "--retailer", paws, "--quantity", "9", "--key", "p1")
    assert "insufficient_purchase_quantity: purchased 9 of 10 required" in short.output
    again = cli("punch", customer, "KIB-4", "--retailer", paws, "--quantity", "9", "--key", "p1")
    assert again.output.startswith("already recorded with this key; nothing new")
    program, item = str(fb_world.kibble_id), str(fb_world.items["KIB-4"])
    denied = cli("redeem", customer, "--retailer", paws, "--program", program, "--free-item", item, "--key", "r0")
    assert denied.exit_code == 1 and "not redeemed: insufficient_purchase_quantity" in denied.output
    cli("punch", customer, "KIB-15", "--retailer", paws, "--key", "p2")
    cards = cli("cards", customer, "--retailer", paws)
    assert (
        f"program {program} Acme Kibble Buy 10 Get 1: 10 of 10  READY: Acme Kibble 4 lb (item {item})" in cards.output
    )
    done = cli("redeem", customer, "--retailer", paws, "--program", program, "--free-item", item, "--key", "r1")
    assert done.exit_code == 0 and done.output.startswith("redeemed 1 x Acme Kibble 4 lb (Acme Kibble Buy 10 Get 1)")
    replay = cli("redeem", customer, "--retailer", paws, "--program", program, "--free-item", item, "--key", "r1")
    assert "(already redeemed with this key; nothing new)" in replay.output
    assert _free_goods(rt) == 1


def test_another_retailers_customer_is_not_found(cli, rt, fb_world):
    added = cli("add-customer", "--retailer", str(fb_world.retailer_id), "--name", "Dana", "--phone", "2065550101")
    customer = added.output.split()[2].rstrip(":")
    other = cli("cards", customer, "--retailer", str(fb_world.other_retailer_id))
    assert other.exit_code == 1 and f"customer {customer} not found" in other.output
