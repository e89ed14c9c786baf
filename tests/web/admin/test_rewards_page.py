"""The Rewards section: list, create, edit, switch off, Save and retry; each role and each brand scope.

The fake shop fulfils and, through ``ShopSkus``, answers the live SKU check the way the Shopify plugin
does (tests/core/test_reward_catalogue.py runs the real plugin against the simulator).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from connector import hookimpl
from connector.core.hooktypes import CheckProblem, HookContext, ShopInfo
from connector.core.runtime import Runtime
from connector.core.tables import Reward
from tests.web.admin.conftest import flashes
from tests.web.admin.dom import parse
from tests.web.admin.stories import failed, status_of


@dataclass
class ShopSkus:
    """The fake shop's catalogue for ``connector_check_sku``: the SKUs it can order."""

    orderable: set[str] = field(default_factory=lambda: {"TSHIRT-M", "TSHIRT-L", "MUG"})
    asked: list[str] = field(default_factory=list)
    __name__ = "shop_skus"

    @hookimpl(tryfirst=True)
    def connector_check_sku(
        self, shop: ShopInfo, sku: str, provider: str, ctx: HookContext
    ) -> list[CheckProblem] | None:
        if provider != "shopify":
            return None
        self.asked.append(sku)
        if sku in self.orderable:
            return []
        return [CheckProblem("product_not_found", f"SKU '{sku}' does not exist in {shop.domain}.", "Fix it.", ("sku",))]


@pytest.fixture
def skus() -> ShopSkus:
    return ShopSkus()


@pytest.fixture
def rt(make_runtime, shop, skus) -> Runtime:
    return make_runtime(plugins=[shop, skus])


def rewards(rt) -> list[tuple[object, ...]]:
    with rt.sessions() as s:
        return [tuple(row) for row in s.execute(select(Reward.__table__).order_by(Reward.id))]


def form(world, **changes: object) -> dict[str, object]:
    values = {
        "name": "Ambassador T-Shirt",
        "sku": "TSHIRT-M",
        "points_cost": "500",
        "channel": "shopify",
        "shop_id": str(world.shop.id),
        "instructions": "Ships in 5-7 days.",
        "available_from": "",
        "available_until": "",
        "per_member_limit": "",
        "total_quantity": "",
    }
    return {**values, **changes}


def test_the_list_shows_each_role_its_brands_rewards(signed_in, people, rt, world):
    support = signed_in(people.support).page("/admin/rewards")
    assert [a.text for a in support.find_all("a", class_="action-edit")] == ["Edit"]
    assert not support.find_all("a", id="new-reward") and not support.find_all("button", class_="action-toggle")
    assert any(a.text == "Rewards" for a in support.one("nav").find_all("a"))
    admin = signed_in(people.brand_admin).page("/admin/rewards")
    assert admin.one("a", id="new-reward") and admin.one("button", class_="action-toggle").text == "Switch off"
    viewer = signed_in(people.viewer).page("/admin/rewards")
    assert [a.text for a in viewer.find_all("a", class_="action-edit")] == ["View"]
    other = signed_in(people.other_admin).page("/admin/rewards")
    assert not other.find_all("tr", data_reward_id=str(world.reward.id))
    assert signed_in(people.distributor).get("/admin/rewards").status_code == 403


def test_support_fixes_the_sku_and_save_and_retry_fulfils(signed_in, people, rt, shop, world):
    rid = failed(rt, shop, world, code="product_not_found")
    browser = signed_in(people.support)
    page = browser.page(f"/admin/rewards/{world.reward.id}/edit")
    assert page.one("tr", data_redemption_id=str(rid)) and page.one("button", id="save-retry")
    landed = browser.follow(
        browser.post(f"/admin/rewards/{world.reward.id}/edit", {**form(world, sku="TSHIRT-L"), "action": "save_retry"})
    )
    (message,) = flashes(landed, "success")
    assert message.startswith("Saved: SKU. Retried 1: R-") and message.endswith(
        "The shop confirmed the SKU can be ordered."
    )
    assert status_of(rt, rid) == "fulfilled"
    with rt.sessions() as s:
        assert s.get(Reward, world.reward.id).sku == "TSHIRT-L"  # type: ignore[union-attr]


def test_a_sku_the_shop_does_not_have_is_refused_and_nothing_changes(signed_in, people, rt, shop, world):
    rid = failed(rt, shop, world, code="product_not_found")
    browser = signed_in(people.support)
    before = rewards(rt)
    response = browser.post(
        f"/admin/rewards/{world.reward.id}/edit",
        {**form(world, sku="TSHIRT-XL", name="Renamed"), "action": "save_retry"},
    )
    assert response.status_code == 422
    page = parse(response.text)
    assert flashes(page, "error") == [
        "The reward was not saved: SKU 'TSHIRT-XL' does not exist in acme-pets.myshopify.com. Fix it."
    ]
    assert page.one("input", id="f-sku")["value"] == "TSHIRT-XL" and page.one("span", id="e-sku")
    assert rewards(rt) == before and status_of(rt, rid) == "error"


def test_bad_numbers_and_dates_are_named_field_by_field(signed_in, people, rt, world):
    browser = signed_in(people.brand_admin)
    before = rewards(rt)
    response = browser.post(
        f"/admin/rewards/{world.reward.id}/edit",
        form(world, points_cost="0", total_quantity="lots", available_from="2026-13-01"),
    )
    assert response.status_code == 422
    page = parse(response.text)
    assert {span["id"] for span in page.find_all("span", class_="field-error")} == {
        "e-points_cost",
        "e-total_quantity",
        "e-available_from",
    }
    assert "points must be a whole number from 1 to 2,147,483,647" in flashes(page, "error")[0]
    assert rewards(rt) == before


def test_an_admin_creates_and_switches_off_a_reward(signed_in, people, rt, skus, world):
    browser = signed_in(people.brand_admin)
    assert browser.page("/admin/rewards/new").one("form", id="reward-form")
    landed = browser.follow(browser.post("/admin/rewards/new", form(world, name="Mug", sku="MUG", points_cost="150")))
    assert flashes(landed, "success") == ["Reward 'Mug' created. The shop confirmed the SKU can be ordered."]
    assert skus.asked == ["MUG"]
    with rt.sessions() as s:
        mug = s.scalars(select(Reward).where(Reward.name == "Mug")).one()
        assert (mug.brand_id, mug.points_cost, mug.active) == (world.brand.id, 150, True)
    browser.post(f"/admin/rewards/{mug.id}/active", {"active": "0"})
    with rt.sessions() as s:
        assert s.get(Reward, mug.id).active is False  # type: ignore[union-attr]


def test_support_and_viewers_cannot_create_or_switch_off(signed_in, people, rt, world):
    before = rewards(rt)
    support = signed_in(people.support)
    assert support.get("/admin/rewards/new").status_code == 403
    assert support.post("/admin/rewards/new", form(world, name="X", brand_id=str(world.brand.id))).status_code == 403
    assert support.post(f"/admin/rewards/{world.reward.id}/active", {"active": "0"}).status_code == 403
    viewer = signed_in(people.viewer)
    page = viewer.page(f"/admin/rewards/{world.reward.id}/edit")
    assert page.one("p", id="read-only-note") and not page.find_all("button", id="save")
    assert viewer.post(f"/admin/rewards/{world.reward.id}/edit", form(world, name="Viewer's")).status_code == 403
    assert rewards(rt) == before


def test_another_brands_admin_can_neither_read_nor_change_the_reward(signed_in, people, rt, world):
    before = rewards(rt)
    other = signed_in(people.other_admin)
    assert other.get(f"/admin/rewards/{world.reward.id}/edit").status_code == 404
    assert other.post(f"/admin/rewards/{world.reward.id}/edit", form(world, name="Mine")).status_code == 404
    assert other.post(f"/admin/rewards/{world.reward.id}/active", {"active": "0"}).status_code == 404
    # Creating in their own brand with the first brand's shop is refused: the shop is not theirs.
    response = other.post("/admin/rewards/new", form(world, name="Sneaky", channel="shopify"))
    assert response.status_code == 422
    assert parse(response.text).one("span", id="e-shop_id").text == "no such shop in the reward's brand"
    assert rewards(rt) == before


def test_a_platform_admin_chooses_the_brand_and_is_told_when_they_did_not(signed_in, people, rt, world):
    browser = signed_in(people.platform_admin)
    page = browser.page("/admin/rewards/new")
    assert {o.text for o in page.one("select", id="f-brand_id").find_all("option")} >= {"Acme Pets", "Other Brand"}
    before = rewards(rt)
    response = browser.post("/admin/rewards/new", form(world, name="Cap", sku="CAP-1", shop_id="", brand_id=""))
    assert response.status_code == 422
    assert parse(response.text).one("span", class_="field-error").text == "choose a brand"
    assert rewards(rt) == before
    landed = browser.follow(
        browser.post(
            "/admin/rewards/new",
            form(
                world, name="Voucher", sku="VOUCHER-5", channel="email", shop_id="", brand_id=str(world.other_brand.id)
            ),
        )
    )
    assert flashes(landed, "success") == ["Reward 'Voucher' created."]  # no shop: nothing to check the SKU in
    with rt.sessions() as s:
        voucher = s.scalars(select(Reward).where(Reward.name == "Voucher")).one()
        assert (voucher.brand_id, voucher.channel, voucher.shop_id) == (world.other_brand.id, "email", None)
