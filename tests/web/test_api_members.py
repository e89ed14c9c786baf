"""/api/v1/members/<id>: the balance and the ledger that explains it, within the token's brand."""

from __future__ import annotations

from tests.web.support import bearer


def test_api_member_shows_balance_and_every_ledger_move(client, world, tokens):
    created = client.post(
        "/api/v1/redemptions",
        json={"member_id": world.member.id, "reward_id": world.reward.id},
        headers=bearer(tokens.support),
    ).get_json()
    client.post(f"/api/v1/redemptions/{created['id']}/reverse", json={"reason": "lost"}, headers=bearer(tokens.support))

    response = client.get(f"/api/v1/members/{world.member.id}", headers=bearer(tokens.viewer))
    assert response.status_code == 200
    member = response.get_json()
    assert member["id"] == world.member.id and member["name"] == "Ada Lovelace"
    assert member["email"] == "ada@example.com" and member["redacted_at"] is None
    assert member["points_balance"] == 5000
    ledger = [(e["kind"], e["delta"], e["redemption_id"]) for e in member["ledger"]]
    assert ledger == [("earned", 5000, None), ("spent", -500, created["id"]), ("returned", 500, created["id"])]
    assert sum(e["delta"] for e in member["ledger"]) == member["points_balance"]
    returned = member["ledger"][2]
    assert returned["actor"] == "token:support-desk" and "lost" in returned["note"] and returned["at"].endswith("Z")


def test_api_member_of_another_brand_is_404_like_a_missing_one(client, world, tokens):
    own = client.get(f"/api/v1/members/{world.other_member.id}", headers=bearer(tokens.other_admin))
    assert own.status_code == 200 and own.get_json()["name"] == "Bob Other"
    response = client.get(f"/api/v1/members/{world.member.id}", headers=bearer(tokens.other_admin))
    assert response.status_code == 404
    assert response.get_json()["error"] == {"code": "not_found", "message": f"member {world.member.id} not found"}
    missing = client.get("/api/v1/members/424242", headers=bearer(tokens.other_admin))
    assert missing.get_json()["error"]["message"] == "member 424242 not found"
