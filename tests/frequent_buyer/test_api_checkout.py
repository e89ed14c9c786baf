"""/api/v1/checkout: lookup, add, cards, punches and redeem over HTTP; a cashier's token reaches nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connector.core import catalog
from connector.core.database import transaction
from connector.core.frequent_buyer.tables import Customer, FreeGood
from connector.core.model import Role
from tests.frequent_buyer.checkout_fixtures import punch as scan
from tests.frequent_buyer.checkout_fixtures import set_up_counter
from tests.frequent_buyer.conftest import auth

URL = "/api/v1/checkout/customers"


@pytest.fixture
def counter(rt, fb_world):
    return set_up_counter(rt, fb_world)


@pytest.fixture
def cashier_tokens(rt, fb_world) -> tuple[str, str]:
    with transaction(rt.sessions) as s:
        paws = catalog.create_api_token(s, "paws-till", Role.CASHIER, retailer_id=fb_world.retailer_id)[1]
        bark = catalog.create_api_token(s, "bark-till", Role.CASHIER, retailer_id=fb_world.other_retailer_id)[1]
    return paws, bark


def _count(rt, model) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_lookup_add_punch_and_redeem_over_the_api(fb_client, rt, fb_world, counter, cashier_tokens):
    token = auth(cashier_tokens[0])
    found = fb_client.get(URL, query_string={"q": "206555"}, headers=token)
    assert found.status_code == 200
    assert [c["name"] for c in found.get_json()["customers"]] == ["Dana Smith"]

    added = fb_client.post(URL, json={"name": "Ana Lima", "email": "ana@example.com"}, headers=token)
    assert added.status_code == 201
    ana = added.get_json()
    assert (ana["name"], ana["email"], ana["phone"], ana["retailer_id"]) == (
        "Ana Lima",
        "ana@example.com",
        None,
        fb_world.retailer_id,
    )

    punched = fb_client.post(
        f"{URL}/{ana['id']}/purchases",
        json={"item": "KIB-4", "quantity": 10},
        headers={**token, "Idempotency-Key": "p1"},
    )
    assert punched.status_code == 201 and punched.get_json()["eligible"] is True
    again = fb_client.post(
        f"{URL}/{ana['id']}/purchases",
        json={"item": "KIB-4", "quantity": 10},
        headers={**token, "Idempotency-Key": "p1"},
    )
    assert again.status_code == 200 and again.headers["Idempotency-Replayed"] == "true"
    assert again.get_json()["punched"] == 10

    cards = fb_client.get(f"{URL}/{ana['id']}/cards", headers=token).get_json()
    [card] = cards["cards"]
    assert (card["program_name"], card["punched"], card["buy_quantity"]) == ("Acme Kibble Buy 10 Get 1", 10, 10)
    choice = card["choices"][0]["item_id"]

    body = {"program_id": card["program_id"], "free_item_id": choice, "location_id": fb_world.store_001_id}
    headers = {**token, "Idempotency-Key": "visit-ana-1"}
    redeemed = fb_client.post(f"{URL}/{ana['id']}/redemptions", json=body, headers=headers)
    assert redeemed.status_code == 201, redeemed.get_json()
    done = redeemed.get_json()
    assert (done["status"], done["sku"], done["quantity"], done["replayed"], done["cards"]) == (
        "processed",
        "KIB-4",
        1,
        False,
        [],
    )
    retried = fb_client.post(f"{URL}/{ana['id']}/redemptions", json=body, headers=headers)
    assert retried.status_code == 200 and retried.headers["Idempotency-Replayed"] == "true"
    assert retried.get_json()["free_good_id"] == done["free_good_id"]
    assert _count(rt, FreeGood) == 1


def test_a_denied_redemption_answers_409_with_the_rule(fb_client, rt, fb_world, counter, cashier_tokens):
    scan(rt, counter.cashier, counter.dana_id, "KIB-4", 3)
    body = {"program_id": fb_world.kibble_id, "free_item_id": fb_world.items["KIB-4"]}
    response = fb_client.post(f"{URL}/{counter.dana_id}/redemptions", json=body, headers=auth(cashier_tokens[0]))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "redemption_denied"
    assert error["details"] == {
        "reason": "insufficient_purchase_quantity",
        "detail": "purchased 3 of 10 required (program 'Acme Kibble Buy 10 Get 1')",
    }
    assert _count(rt, FreeGood) == 0


def test_add_customer_field_errors(fb_client, rt, fb_world, counter, cashier_tokens):
    before = _count(rt, Customer)
    response = fb_client.post(URL, json={"name": "", "email": "nope"}, headers=auth(cashier_tokens[0]))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "name": "the pet owner's name, as the cashier would search for it",
        "email": "an email address like ana@example.com",
    }
    assert _count(rt, Customer) == before


def test_another_retailers_cashier_finds_and_redeems_nothing_of_ours(fb_client, rt, fb_world, counter, cashier_tokens):
    scan(rt, counter.cashier, counter.dana_id, "KIB-4", 10)
    bark = auth(cashier_tokens[1])
    assert fb_client.get(URL, query_string={"q": "dana s"}, headers=bark).get_json() == {"customers": []}
    assert fb_client.get(f"{URL}/{counter.dana_id}/cards", headers=bark).status_code == 404
    body = {"program_id": fb_world.kibble_id, "free_item_id": fb_world.items["KIB-4"]}
    assert fb_client.post(f"{URL}/{counter.dana_id}/redemptions", json=body, headers=bark).status_code == 404
    lookup = {"q": "dana", "retailer_id": fb_world.retailer_id}
    assert fb_client.get(URL, query_string=lookup, headers=bark).status_code == 404
    assert _count(rt, FreeGood) == 0


def test_roles_without_a_counter_get_403(fb_client, rt, fb_world, counter, fb_tokens):
    for token in (fb_tokens.viewer, fb_tokens.distributor, fb_tokens.brand_admin):
        q = {"q": "dana", "retailer_id": fb_world.retailer_id}
        assert fb_client.get(URL, query_string=q, headers=auth(token)).status_code == 403
        body = {"program_id": fb_world.kibble_id, "free_item_id": 1, "retailer_id": fb_world.retailer_id}
        assert fb_client.post(f"{URL}/{counter.dana_id}/redemptions", json=body, headers=auth(token)).status_code == 403
    # The retailer's own token rings up too; support names the retailer.
    assert fb_client.get(URL, query_string={"q": "dana"}, headers=auth(fb_tokens.retailer)).status_code == 200
    q = {"q": "dana", "retailer_id": fb_world.retailer_id}
    assert fb_client.get(URL, query_string=q, headers=auth(fb_tokens.support)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/pos-reports"),
        ("post", "/api/v1/pos-reports"),
        ("get", "/api/v1/programs"),
        ("get", "/api/v1/retailer/credit-status"),
        ("get", "/api/v1/users"),
        ("get", "/api/v1/redemptions"),
    ],
)
def test_a_cashier_token_reaches_checkout_only(fb_client, rt, fb_world, cashier_tokens, method, path):
    response = getattr(fb_client, method)(path, headers=auth(cashier_tokens[0]))
    assert response.status_code == 403
    assert response.get_json()["error"]["message"] == "a cashier token reaches Checkout only (/api/v1/checkout/...)"
