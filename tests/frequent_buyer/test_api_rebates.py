"""Rebates through the JSON API with real tokens: the distributor's batch flow, refusals, tenants, OpenAPI."""

from __future__ import annotations

import pytest

from connector.core import catalog
from connector.core.database import transaction
from connector.core.model import Role
from tests.frequent_buyer.conftest import auth
from tests.frequent_buyer.rebate_fixtures import rebate_rows, seed_rebates


@pytest.fixture
def rw(rt, fb_world):
    return seed_rebates(rt, fb_world)


@pytest.fixture
def columbia(rt, fb_world):
    with transaction(rt.sessions) as s:
        _, plain = catalog.create_api_token(
            s, "columbia", Role.DISTRIBUTOR, distributor_id=fb_world.other_distributor_id
        )
    return auth(plain)


def test_the_rebate_batch_flow_through_the_api(fb_client, fb_tokens, rw):
    nw = auth(fb_tokens.distributor)
    counts = fb_client.get("/api/v1/distribution/rebates/sections", headers=nw).get_json()["sections"]
    assert counts[0] == {"section": "unbatched-rebates", "title": "Unbatched Rebates", "count": 3}
    page = fb_client.get("/api/v1/distribution/rebates/sections/unbatched-rebates", headers=nw).get_json()
    assert page["kind"] == "rebates" and [x["amount"] for x in page["rebates"]] == ["5.00"] * 3

    created = fb_client.post(
        "/api/v1/distribution/rebate-batches", json={"rebate_ids": rw.paws[:2], "description": "June"}, headers=nw
    )
    assert created.status_code == 201, created.get_json()
    batch = created.get_json()
    assert (batch["status"], batch["rebates"], batch["amount"]) == ("unfulfilled", 2, "10.00")
    assert created.headers["Location"].endswith(f"/api/v1/distribution/rebate-batches/{batch['id']}")

    declined = fb_client.post(
        "/api/v1/distribution/rebates/decline", json={"rebate_ids": [rw.paws[1]], "reason": "duplicate"}, headers=nw
    )
    assert declined.status_code == 200 and declined.get_json()["batch_ids"] == [batch["id"]]

    credited = fb_client.post(
        f"/api/v1/distribution/rebate-batches/{batch['id']}/credit", json={"note": "CM-9"}, headers=nw
    )
    assert credited.status_code == 200 and credited.get_json()["status"] == "fulfilled"
    assert credited.get_json()["amount"] == "5.00"

    again = fb_client.post(f"/api/v1/distribution/rebate-batches/{batch['id']}/credit", json={}, headers=nw)
    assert again.status_code == 409
    assert "cannot fulfil a rebate credit batch that is fulfilled" in again.get_json()["error"]["message"]

    mine = fb_client.get("/api/v1/retailer/rebate-batches", headers=auth(fb_tokens.retailer)).get_json()["items"]
    assert [(b["id"], b["status"], b["amount"]) for b in mine] == [(batch["id"], "fulfilled", "5.00")]
    detail = fb_client.get(f"/api/v1/distribution/rebate-batches/{batch['id']}", headers=auth(fb_tokens.retailer))
    assert [e["event"] for e in detail.get_json()["events"]] == ["create", "remove", "fulfil"]

    report = fb_client.get("/api/v1/distribution/reports/rebate-credit-fulfillment", headers=nw).get_json()
    assert report["title"] == "Rebate Credit Fulfillment" and [r["rebate_id"] for r in report["rows"]] == [rw.paws[0]]


def test_a_refused_move_answers_409_naming_the_rebate_and_changes_nothing(fb_client, fb_tokens, rt, rw):
    nw = auth(fb_tokens.distributor)
    before = rebate_rows(rt)
    res = fb_client.post("/api/v1/distribution/rebates/release", json={"rebate_ids": [rw.paws[0]]}, headers=nw)
    assert res.status_code == 409
    assert res.get_json()["error"]["details"]["current"] == {str(rw.paws[0]): "unbatched"}
    assert rebate_rows(rt) == before


@pytest.mark.parametrize("who", ["retailer", "support", "viewer", "brand_admin"])
def test_roles_that_do_not_credit_are_refused(fb_client, fb_tokens, rt, rw, who):
    before = rebate_rows(rt)
    res = fb_client.post(
        "/api/v1/distribution/rebate-batches",
        json={"rebate_ids": rw.paws[:1], "description": "x"},
        headers=auth(getattr(fb_tokens, who)),
    )
    assert res.status_code == 403
    assert rebate_rows(rt) == before


def test_a_second_distributor_gets_404_and_sees_none_of_the_first_s_rebates(fb_client, fb_tokens, rt, rw, columbia):
    nw = auth(fb_tokens.distributor)
    batch = fb_client.post(
        "/api/v1/distribution/rebate-batches", json={"rebate_ids": rw.paws[:1], "description": "June"}, headers=nw
    ).get_json()
    before = rebate_rows(rt)
    assert fb_client.get(f"/api/v1/distribution/rebate-batches/{batch['id']}", headers=columbia).status_code == 404
    assert (
        fb_client.post(
            f"/api/v1/distribution/rebate-batches/{batch['id']}/credit", json={}, headers=columbia
        ).status_code
        == 404
    )
    res = fb_client.post(
        "/api/v1/distribution/rebates/decline", json={"rebate_ids": rw.paws[1:2], "reason": "x"}, headers=columbia
    )
    assert res.status_code == 404
    assert rebate_rows(rt) == before
    page = fb_client.get("/api/v1/distribution/rebates/sections/unbatched-rebates", headers=columbia).get_json()
    assert [x["id"] for x in page["rebates"]] == rw.bark
    other = fb_client.get("/api/v1/retailer/rebate-batches", headers=auth(fb_tokens.other_retailer)).get_json()
    assert other["items"] == []


def test_the_rebate_routes_are_in_the_openapi_document(fb_client):
    doc = fb_client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/distribution/rebates/sections",
        "/api/v1/distribution/rebates/sections/{name}",
        "/api/v1/distribution/rebate-batches",
        "/api/v1/distribution/rebate-batches/{batch_id}",
        "/api/v1/distribution/rebate-batches/{batch_id}/credit",
        "/api/v1/distribution/rebates/decline",
        "/api/v1/retailer/rebate-batches",
    ):
        assert path in doc["paths"], path
    assert "rebate_amount" in doc["components"]["schemas"]["ProgramCreate"]["properties"]


def test_a_brand_creates_a_dollars_off_program_through_the_api(fb_client, fb_tokens, fb_world):
    res = fb_client.post(
        "/api/v1/programs",
        json={
            "brand_id": fb_world.brand_id, "name": "Acme $3 Off", "buy_quantity": 4, "rebate_amount": "3.00",
            "items": [{"sku": "X3", "description": "X", "size_value": "1", "size_unit": "lb"}],
        },
        headers=auth(fb_tokens.platform_admin),
    )  # fmt: skip
    assert res.status_code == 201, res.get_json()
    assert res.get_json()["rebate_amount"] == "3.00"
