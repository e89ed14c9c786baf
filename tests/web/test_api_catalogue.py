"""``PATCH /api/v1/members/<id>`` and ``/api/v1/rewards``: roles, brand scope, refused input, retry.

The real Shopify plugin checks members; the fake shop fulfils and (``ShopSkus``) answers the SKU check.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.core.database import transaction
from connector.core.errors import ProviderError
from connector.core.runtime import Runtime
from connector.core.tables import Member, Reward
from tests.web.admin.stories import redeem, status_of
from tests.web.admin.test_rewards_page import ShopSkus
from tests.web.support import bearer


@pytest.fixture
def rt(make_runtime, shop) -> Runtime:
    return make_runtime(plugins=[shop, ShopSkus()])


def member_row(rt, member_id: int) -> tuple[object, ...]:
    with rt.sessions() as s:
        return tuple(s.execute(select(Member.__table__).where(Member.id == member_id)).one())


def rewards(rt) -> list[tuple[object, ...]]:
    with rt.sessions() as s:
        return [tuple(row) for row in s.execute(select(Reward.__table__).order_by(Reward.id))]


def city_error(rt, shop, world) -> int:
    with transaction(rt.sessions) as s:
        s.get(Member, world.member.id).city = "Ottawa 5"  # type: ignore[union-attr]
    error = ProviderError("crm_id_not_found", "city contains digits", field="city")
    return redeem(rt, shop, member_id=world.member.id, reward_id=world.reward.id, outcome=error)


def test_patch_member_fixes_and_retries(client, rt, shop, world, tokens):
    rid = city_error(rt, shop, world)
    response = client.patch(
        f"/api/v1/members/{world.member.id}", json={"city": "Ottawa", "retry": True}, headers=bearer(tokens.support)
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["changed"] == ["city"] and body["member"]["city"] == "Ottawa" and body["warnings"] == []
    assert [(r["id"], r["status"]) for r in body["retried"]] == [(rid, "fulfilled")]
    assert status_of(rt, rid) == "fulfilled"


def test_patch_member_refuses_a_malformed_value_per_field_and_stores_nothing(client, rt, world, tokens):
    before = member_row(rt, world.member.id)
    response = client.patch(
        f"/api/v1/members/{world.member.id}",
        json={"city": "Ottawa", "province_code": "ZZ", "date_of_birth": "2999-01-01"},
        headers=bearer(tokens.admin),
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert set(error["fields"]) == {"province_code", "date_of_birth"}
    assert "state/province 'ZZ' is not a Canadian province (country CA)" in error["message"]
    assert "date of birth is in the future: check the year" in error["message"]
    assert member_row(rt, world.member.id) == before
    too_long = client.patch(
        f"/api/v1/members/{world.member.id}", json={"country_code": "CAN"}, headers=bearer(tokens.admin)
    )
    assert too_long.status_code == 422 and set(too_long.get_json()["error"]["fields"]) == {"country_code"}
    assert member_row(rt, world.member.id) == before


def test_patch_member_roles_and_brands(client, rt, world, tokens):
    before = member_row(rt, world.member.id)
    viewer = client.patch(f"/api/v1/members/{world.member.id}", json={"city": "Hull"}, headers=bearer(tokens.viewer))
    assert viewer.status_code == 403
    other = client.patch(
        f"/api/v1/members/{world.member.id}", json={"city": "Hull"}, headers=bearer(tokens.other_admin)
    )
    assert other.status_code == 404
    assert member_row(rt, world.member.id) == before


def test_rewards_list_get_create_patch(client, rt, shop, world, tokens):
    listed = client.get("/api/v1/rewards", headers=bearer(tokens.viewer)).get_json()["items"]
    assert [(r["id"], r["sku"], r["claimed"]) for r in listed] == [(world.reward.id, "TSHIRT-M", 0)]
    assert client.get("/api/v1/rewards", headers=bearer(tokens.other_admin)).get_json()["items"] == []
    assert client.get(f"/api/v1/rewards/{world.reward.id}", headers=bearer(tokens.other_admin)).status_code == 404

    created = client.post(
        "/api/v1/rewards",
        json={"name": "Mug", "sku": "MUG", "points_cost": 150, "shop_id": world.shop.id, "total_quantity": 10},
        headers=bearer(tokens.admin),
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["sku_check"] == {"status": "confirmed", "detail": None}
    assert body["reward"]["brand_id"] == world.brand.id and body["reward"]["total_quantity"] == 10
    assert client.get(created.headers["Location"], headers=bearer(tokens.viewer)).get_json()["name"] == "Mug"

    support_create = client.post(
        "/api/v1/rewards",
        json={"name": "X", "sku": "X", "points_cost": 1, "brand_id": world.brand.id},
        headers=bearer(tokens.support),
    )
    assert support_create.status_code == 403


def test_patch_reward_sku_with_retry_fulfils(client, rt, shop, world, tokens):
    rid = redeem(
        rt,
        shop,
        member_id=world.member.id,
        reward_id=world.reward.id,
        outcome=ProviderError("product_not_found", field="sku"),
    )
    response = client.patch(
        f"/api/v1/rewards/{world.reward.id}", json={"sku": "TSHIRT-L", "retry": True}, headers=bearer(tokens.support)
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["changed"] == ["sku"] and body["sku_check"]["status"] == "confirmed"
    assert [(r["id"], r["status"]) for r in body["retried"]] == [(rid, "fulfilled")]


def test_patch_reward_refusals_store_nothing(client, rt, world, tokens):
    before = rewards(rt)
    bad_sku = client.patch(f"/api/v1/rewards/{world.reward.id}", json={"sku": "NOPE"}, headers=bearer(tokens.admin))
    assert bad_sku.status_code == 422
    assert bad_sku.get_json()["error"]["fields"] == {"sku": "SKU 'NOPE' does not exist in acme-pets.myshopify.com."}
    spaces = client.patch(f"/api/v1/rewards/{world.reward.id}", json={"sku": "T SHIRT"}, headers=bearer(tokens.admin))
    assert spaces.status_code == 422 and "sku" in spaces.get_json()["error"]["fields"]
    switch = client.patch(
        f"/api/v1/rewards/{world.reward.id}", json={"name": "Renamed", "active": False}, headers=bearer(tokens.support)
    )
    assert switch.status_code == 403  # switching off is an admin's; the rename is not stored either
    other = client.patch(
        f"/api/v1/rewards/{world.reward.id}", json={"name": "Mine"}, headers=bearer(tokens.other_admin)
    )
    assert other.status_code == 404
    viewer = client.patch(f"/api/v1/rewards/{world.reward.id}", json={"name": "Mine"}, headers=bearer(tokens.viewer))
    assert viewer.status_code == 403
    assert rewards(rt) == before
    off = client.patch(f"/api/v1/rewards/{world.reward.id}", json={"active": False}, headers=bearer(tokens.admin))
    assert off.status_code == 200 and off.get_json()["reward"]["active"] is False


def test_the_openapi_document_describes_the_new_operations(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"patch"} <= set(doc["paths"]["/api/v1/members/{member_id}"])
    assert {"get", "post"} <= set(doc["paths"]["/api/v1/rewards"])
    assert {"get", "patch"} <= set(doc["paths"]["/api/v1/rewards/{reward_id}"])
    assert "rewards" in {t["name"] for t in doc["tags"]}
