"""Members, rewards and redemptions by the platform's own ids: idempotent upserts, precise refusals, per brand."""

from __future__ import annotations

from sqlalchemy import func, select

from connector.core.tables import LedgerEntry, Member, Redemption, Reward
from tests.web.support import bearer

MEMBER = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email": "grace@example.com",
    "phone": "+16135550100",
    "date_of_birth": "1986-12-09",
    "address1": "1 Navy Way",
    "city": "Ottawa",
    "province_code": "on",
    "country_code": "CA",
    "zip": "K1A 0B1",
    "points_balance": 1200,
}
REWARD = {"name": "Water Bottle", "sku": "BOTTLE-1", "points_cost": 400}


def _count(rt, model, *where) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _snapshot(rt) -> tuple:
    """Everything an upsert or a redemption could have written."""
    with rt.sessions() as s:
        members = s.execute(select(Member.__table__)).all()
        rewards = s.execute(select(Reward.__table__)).all()
        ledger = s.execute(select(LedgerEntry.__table__)).all()
        redemptions = s.execute(select(Redemption.__table__)).all()
    return members, rewards, ledger, redemptions


# -- idempotent upserts ------------------------------------------------------------------------------------------


def test_member_upsert_twice_creates_once_and_then_changes_nothing(client, rt, world, tokens):
    url = "/api/v1/members/by-ref/cus_1042"
    first = client.put(url, json=MEMBER, headers=bearer(tokens.admin))
    assert first.status_code == 201, first.get_json()
    assert first.headers["Location"].endswith("/api/v1/members/by-ref/cus_1042")
    body = first.get_json()
    assert body["result"] == "created" and body["external_ref"] == "cus_1042" and body["brand_id"] == world.brand.id
    assert body["points_balance"] == 1200 and body["province_code"] == "ON"
    before = _snapshot(rt)

    again = client.put(url, json=MEMBER, headers=bearer(tokens.admin))
    assert again.status_code == 200 and again.get_json()["result"] == "unchanged"
    assert _snapshot(rt) == before  # not a byte written: no updated_at, no ledger entry
    assert again.get_json()["id"] == body["id"]


def test_member_upsert_changes_what_is_sent_and_keeps_what_is_left_out(client, rt, world, tokens):
    url = "/api/v1/members/by-ref/cus_1042"
    client.put(url, json=MEMBER, headers=bearer(tokens.admin))
    changed = client.put(
        url, json={"city": "Toronto", "phone": None, "points_balance": 700}, headers=bearer(tokens.admin)
    )
    assert changed.status_code == 200 and changed.get_json()["result"] == "updated"
    member = client.get(url, headers=bearer(tokens.admin)).get_json()
    assert (member["city"], member["phone"], member["email"]) == ("Toronto", None, "grace@example.com")
    assert member["points_balance"] == 700
    with rt.sessions() as s:
        kinds = s.scalars(
            select(LedgerEntry.kind).where(LedgerEntry.member_id == member["id"]).order_by(LedgerEntry.id)
        ).all()
    assert kinds == ["adjusted", "adjusted"]  # +1200, then -500


def test_member_upsert_refuses_an_incomplete_new_member_and_stores_nothing(client, rt, world, tokens):
    before = _snapshot(rt)
    response = client.put("/api/v1/members/by-ref/cus_9", json={"email": "x@example.com"}, headers=bearer(tokens.admin))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"first_name", "last_name"}
    bad = client.put(
        "/api/v1/members/by-ref/cus_9", json={**MEMBER, "date_of_birth": "09/12/1986"}, headers=bearer(tokens.admin)
    )
    assert bad.status_code == 422 and "date_of_birth" in bad.get_json()["error"]["fields"]
    assert _snapshot(rt) == before


def test_reward_upsert_twice_creates_once_then_unchanged_then_updates(client, rt, world, tokens):
    url = "/api/v1/rewards/by-ref/bottle"
    created = client.put(url, json={**REWARD, "shop_id": world.shop.id}, headers=bearer(tokens.admin))
    assert created.status_code == 201 and created.get_json()["channel"] == "shopify"
    before = _snapshot(rt)
    again = client.put(url, json={**REWARD, "shop_id": world.shop.id}, headers=bearer(tokens.admin))
    assert again.status_code == 200 and again.get_json()["result"] == "unchanged"
    assert _snapshot(rt) == before
    off = client.put(url, json={"active": False}, headers=bearer(tokens.admin))
    assert off.get_json()["result"] == "updated" and off.get_json()["active"] is False
    assert off.get_json()["sku"] == "BOTTLE-1"
    assert _count(rt, Reward, Reward.external_ref == "bottle") == 1
    unknown = client.put(url, json={"channel": "carrier_pigeon"}, headers=bearer(tokens.admin))
    assert unknown.status_code == 422 and "shopify" in unknown.get_json()["error"]["fields"]["channel"]


def test_reward_upsert_with_another_brands_shop_is_refused(client, rt, world, tokens):
    response = client.put(
        "/api/v1/rewards/by-ref/bottle", json={**REWARD, "shop_id": world.shop.id}, headers=bearer(tokens.other_admin)
    )
    assert response.status_code == 422 and "shop_id" in response.get_json()["error"]["fields"]
    assert _count(rt, Reward, Reward.external_ref == "bottle") == 0


# -- tenants -------------------------------------------------------------------------------------------------------


def test_brand_b_cannot_reach_brand_a_refs(client, rt, world, tokens):
    url = "/api/v1/members/by-ref/cus_1042"
    mine = client.put(url, json=MEMBER, headers=bearer(tokens.admin)).get_json()

    # Brand B's PUT with the same ref makes B's own member; A's is untouched and invisible to B.
    theirs = client.put(url, json={"first_name": "Mallory", "last_name": "B"}, headers=bearer(tokens.other_admin))
    assert theirs.status_code == 201 and theirs.get_json()["id"] != mine["id"]
    assert theirs.get_json()["brand_id"] == world.other_brand.id
    assert client.get(url, headers=bearer(tokens.admin)).get_json()["first_name"] == "Grace"
    assert client.get(url, headers=bearer(tokens.other_admin)).get_json()["first_name"] == "Mallory"

    # Naming brand A explicitly does not help.
    forced = client.put(
        f"{url}?brand_id={world.brand.id}", json={"first_name": "Mallory"}, headers=bearer(tokens.other_admin)
    )
    assert forced.status_code == 404
    assert client.get(f"{url}?brand_id={world.brand.id}", headers=bearer(tokens.other_admin)).status_code == 404
    assert client.get(url, headers=bearer(tokens.admin)).get_json()["first_name"] == "Grace"

    client.put("/api/v1/rewards/by-ref/bottle", json=REWARD, headers=bearer(tokens.admin))
    assert client.get("/api/v1/rewards/by-ref/bottle", headers=bearer(tokens.other_admin)).status_code == 404


def test_upserts_need_a_configuring_role_and_unscoped_tokens_name_the_brand(client, rt, world, tokens):
    url = "/api/v1/members/by-ref/cus_1"
    assert client.put(url, json=MEMBER, headers=bearer(tokens.viewer)).status_code == 403
    assert client.put(url, json=MEMBER, headers=bearer(tokens.support)).status_code == 403
    from connector.core.model import Role
    from tests.web.support import make_token

    platform = make_token(rt, Role.PLATFORM_ADMIN)
    unnamed = client.put(url, json=MEMBER, headers=bearer(platform))
    assert unnamed.status_code == 422 and "brand_id" in unnamed.get_json()["error"]["fields"]
    named = client.put(f"{url}?brand_id={world.other_brand.id}", json=MEMBER, headers=bearer(platform))
    assert named.status_code == 201 and named.get_json()["brand_id"] == world.other_brand.id
    assert named.headers["Location"].endswith(f"/members/by-ref/cus_1?brand_id={world.other_brand.id}")


# -- redemptions by refs ---------------------------------------------------------------------------------------


def _setup_refs(client, tokens) -> None:
    assert client.put("/api/v1/members/by-ref/cus_1042", json=MEMBER, headers=bearer(tokens.admin)).status_code == 201
    assert client.put("/api/v1/rewards/by-ref/bottle", json=REWARD, headers=bearer(tokens.admin)).status_code == 201


def test_redemption_by_refs_is_created_once_per_idempotency_key(client, rt, world, tokens):
    _setup_refs(client, tokens)
    headers = {**bearer(tokens.admin), "Idempotency-Key": "order-77"}
    body = {"member_ref": "cus_1042", "reward_ref": "bottle"}
    first = client.post("/api/v1/redemptions/by-ref", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["reward"]["sku"] == "BOTTLE-1" and first.get_json()["points_cost"] == 400
    again = client.post("/api/v1/redemptions/by-ref", json=body, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotency-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert _count(rt, Redemption) == 1
    member = client.get("/api/v1/members/by-ref/cus_1042", headers=bearer(tokens.admin)).get_json()
    assert member["points_balance"] == 800  # spent once


def test_redemption_by_refs_names_each_bad_ref_and_writes_nothing(client, rt, world, tokens):
    _setup_refs(client, tokens)
    before = _snapshot(rt)
    url = "/api/v1/redemptions/by-ref"
    both = client.post(url, json={"member_ref": "cus_nope", "reward_ref": "nope"}, headers=bearer(tokens.admin))
    assert both.status_code == 422
    fields = both.get_json()["error"]["fields"]
    assert "no member with external_ref 'cus_nope'" in fields["member_ref"]
    assert "PUT /api/v1/members/by-ref/cus_nope" in fields["member_ref"]
    assert "no reward with external_ref 'nope'" in fields["reward_ref"]

    one = client.post(url, json={"member_ref": "cus_1042", "reward_ref": "nope"}, headers=bearer(tokens.admin))
    assert set(one.get_json()["error"]["fields"]) == {"reward_ref"}

    malformed = client.post(url, json={"member_ref": "cus 1042", "reward_ref": "bottle"}, headers=bearer(tokens.admin))
    assert malformed.status_code == 422 and "letters, digits" in malformed.get_json()["error"]["fields"]["member_ref"]

    # Brand B's token does not find brand A's refs.
    other = client.post(
        url, json={"member_ref": "cus_1042", "reward_ref": "bottle"}, headers=bearer(tokens.other_admin)
    )
    assert other.status_code == 422 and set(other.get_json()["error"]["fields"]) == {"member_ref", "reward_ref"}
    assert _snapshot(rt) == before

    client.put("/api/v1/rewards/by-ref/bottle", json={"active": False}, headers=bearer(tokens.admin))
    before = _snapshot(rt)
    inactive = client.post(url, json={"member_ref": "cus_1042", "reward_ref": "bottle"}, headers=bearer(tokens.admin))
    assert inactive.status_code == 422 and "switched off" in inactive.get_json()["error"]["fields"]["reward_ref"]
    assert _snapshot(rt) == before


def test_two_first_upserts_of_one_ref_racing_make_one_member(rt, world):
    """The platform retries on a timeout, so its first PUT may arrive twice at once: one row, one ledger entry."""
    import threading

    from connector.core.access import Actor
    from connector.core.model import Role
    from connector.core.platform_refs import upsert_member

    admin = Actor("platform", Role.BRAND_ADMIN, brand_id=world.brand.id)
    barrier = threading.Barrier(4)
    results: list[str] = []

    def put() -> None:
        barrier.wait()
        results.append(upsert_member(rt, admin, "cus_race", dict(MEMBER)).result)

    threads = [threading.Thread(target=put) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["created", "unchanged", "unchanged", "unchanged"]
    assert _count(rt, Member, Member.external_ref == "cus_race") == 1
    with rt.sessions() as s:
        member_id = s.scalar(select(Member.id).where(Member.external_ref == "cus_race"))
    assert _count(rt, LedgerEntry, LedgerEntry.member_id == member_id) == 1
