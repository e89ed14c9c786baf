"""/api/v1/users/{id}/notices: user managers read and switch a user's notices; others cannot."""

from __future__ import annotations

from connector.core.database import transaction
from connector.core.model import Role
from connector.core.users import create_user
from tests.frequent_buyer.conftest import auth


def _user(rt, email: str, role: Role, **scope: int) -> int:
    with transaction(rt.sessions) as s:
        return create_user(s, email=email, name=email, password="pw-long-enough-1", role=role, scrypt_n=2, **scope).id


def test_notice_switches_through_the_api(fb_client, rt, fb_world, fb_tokens):
    paws = _user(rt, "owner@paws.example", Role.RETAILER, retailer_id=fb_world.retailer_id)
    nw = _user(rt, "ops@nw.example", Role.DISTRIBUTOR, distributor_id=fb_world.distributor_id)
    admin = auth(fb_tokens.platform_admin)
    got = fb_client.get(f"/api/v1/users/{paws}/notices", headers=admin).get_json()
    assert [(p["kind"], p["enabled"]) for p in got["preferences"]] == [("denials", True), ("credited", True)]
    put = fb_client.put(f"/api/v1/users/{paws}/notices", json={"denials": False}, headers=admin)
    assert put.status_code == 200 and put.get_json()["preferences"][0] == {
        "kind": "denials",
        "label": "Denied redemptions in a POS report, with the reasons",
        "enabled": False,
    }
    wrong = fb_client.put(f"/api/v1/users/{nw}/notices", json={"denials": False}, headers=admin)
    assert wrong.status_code == 422 and "denials" in wrong.get_json()["error"]["fields"]
    digest = fb_client.get(f"/api/v1/users/{nw}/notices", headers=admin).get_json()["preferences"]
    assert [p["kind"] for p in digest] == ["new_rewards_digest"]
    for token in (fb_tokens.retailer, fb_tokens.distributor, fb_tokens.support):
        refused = fb_client.put(f"/api/v1/users/{paws}/notices", json={"denials": True}, headers=auth(token))
        assert refused.status_code == 403
    assert fb_client.get("/api/v1/users/999999/notices", headers=admin).status_code == 404
    still = fb_client.get(f"/api/v1/users/{paws}/notices", headers=admin).get_json()["preferences"]
    assert still[0]["enabled"] is False  # the refused calls changed nothing
