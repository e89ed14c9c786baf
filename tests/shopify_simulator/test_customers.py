"""customerCreate / customerUpdate answer the userErrors recorded live (shopify-api.md §1(b))."""

from __future__ import annotations

from typing import Any

import pytest

from shopify_sim import SimServer

from .conftest import data
from .documents import CUSTOMER_CREATE, CUSTOMER_UPDATE, FIND_CUSTOMERS, GET_CUSTOMER


def create(sim: SimServer, **fields: Any) -> dict[str, Any]:
    return data(sim, CUSTOMER_CREATE, {"input": fields})["customerCreate"]


def update(sim: SimServer, **fields: Any) -> dict[str, Any]:
    return data(sim, CUSTOMER_UPDATE, {"input": fields})["customerUpdate"]


def test_create_normalises_phone_and_sets_default_address(sim: SimServer) -> None:
    result = create(
        sim,
        email="ann@example.com",
        phone="+1 (613) 450-5293",
        firstName="Ann",
        lastName="Lee",
        tags=["loyalty", "vip, gold"],
        addresses=[
            {"address1": "1 Main", "city": "Ottawa", "provinceCode": "ON", "countryCode": "CA", "zip": "K2P 2L8"}
        ],
    )
    assert result["userErrors"] == []
    customer = result["customer"]
    assert customer["id"].startswith("gid://shopify/Customer/")
    assert customer["phone"] == "+16134505293"
    assert customer["defaultPhoneNumber"] == {"phoneNumber": "+16134505293"}
    assert customer["defaultEmailAddress"] == {"emailAddress": "ann@example.com"}
    assert customer["displayName"] == "Ann Lee"
    assert customer["tags"] == ["loyalty", "vip", "gold"]
    address = customer["defaultAddress"]
    assert (address["provinceCode"], address["province"], address["countryCodeV2"], address["country"]) == (
        "ON",
        "Ontario",
        "CA",
        "Canada",
    )
    assert address["name"] is None  # no names on the address itself

    fetched = data(sim, GET_CUSTOMER, {"id": customer["id"]})["customer"]
    assert fetched["defaultEmailAddress"]["emailAddress"] == "ann@example.com"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"email": "x@example.com", "phone": "12"}, [{"field": ["phone"], "message": "Phone is invalid"}]),
        ({"email": "x@example.com", "phone": "call me"}, [{"field": ["phone"], "message": "Phone is invalid"}]),
        ({"email": "not-an-email"}, [{"field": ["email"], "message": "Email is invalid"}]),
        ({"note": "nobody"}, [{"field": None, "message": "A name, phone number, or email address must be present"}]),
        (
            {"email": "x@example.com", "addresses": [{"countryCode": "US", "provinceCode": "ON"}]},
            [{"field": ["addresses", "0", "province"], "message": "Province is invalid"}],
        ),
        (
            {"email": "x@example.com", "addresses": [{"countryCode": "ZZ"}]},
            [{"field": ["addresses", "0", "country"], "message": "Country is invalid"}],
        ),
        (
            {"email": "x@example.com", "addresses": [{"country": "Atlantis"}]},
            [{"field": ["addresses", "0", "country"], "message": "Country is invalid"}],
        ),
    ],
)
def test_create_validation_errors(sim: SimServer, fields: dict[str, Any], expected: list[dict]) -> None:
    result = create(sim, **fields)
    assert result == {"customer": None, "userErrors": expected}
    assert sim.control("customers")["count"] == 0  # nothing stored


def test_long_phone_reports_both_errors(sim: SimServer) -> None:
    result = create(sim, email="x@example.com", phone="1" * 256)
    assert [e["message"] for e in result["userErrors"]] == [
        "Phone is too long (maximum is 255 characters)",
        "Phone is invalid",
    ]


def test_province_of_an_unchecked_country_is_accepted(sim: SimServer) -> None:
    result = create(sim, email="sg@example.com", addresses=[{"countryCode": "SG", "provinceCode": "ON"}])
    assert result["userErrors"] == []


def test_duplicate_email_and_phone_are_taken(sim: SimServer) -> None:
    assert create(sim, email="dup@example.com", phone="6135550142")["userErrors"] == []
    result = create(sim, email="DUP@example.com", phone="+1 613 555 0142")
    assert result["userErrors"] == [
        {"field": ["email"], "message": "Email has already been taken"},
        {"field": ["phone"], "message": "Phone has already been taken"},
    ]


def test_update_changes_only_given_fields_and_validates(sim: SimServer) -> None:
    first = create(sim, email="a@example.com", firstName="A")["customer"]
    create(sim, email="b@example.com")
    ok = update(sim, id=first["id"], lastName="Z", phone="+442079460000")
    assert ok["userErrors"] == []
    assert (ok["customer"]["firstName"], ok["customer"]["lastName"], ok["customer"]["phone"]) == (
        "A",
        "Z",
        "+442079460000",
    )
    taken = update(sim, id=first["id"], email="b@example.com")
    assert taken["userErrors"] == [{"field": ["email"], "message": "Email has already been taken"}]
    bad_province = update(sim, id=first["id"], addresses=[{"countryCode": "CA", "provinceCode": "TX"}])
    assert bad_province["userErrors"] == [{"field": ["addresses", "0", "province"], "message": "Province is invalid"}]
    unknown = update(sim, id="gid://shopify/Customer/1", firstName="Ghost")
    assert unknown == {"customer": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}


def test_customer_search_by_email_phone_and_tag(sim: SimServer) -> None:
    create(sim, email="bo.wang@example.com", phone="+18005550100", tags=["member-7"])
    create(sim, email="bo@example.com")

    def emails(query: str) -> list[str]:
        return sorted(n["email"] for n in data(sim, FIND_CUSTOMERS, {"query": query})["customers"]["nodes"])

    assert emails('email:"bo@example.com"') == ["bo@example.com"]
    # Unquoted email is tokenised, as Shopify warns: it also finds bo.wang@...
    assert emails("email:bo@example.com") == ["bo.wang@example.com", "bo@example.com"]
    assert emails("phone:+18005550100") == ["bo.wang@example.com"]
    assert emails('phone:"(800) 555-0100"') == ["bo.wang@example.com"]  # quoted: parens are syntax
    assert emails("tag:member-7") == ["bo.wang@example.com"]
    assert emails("tag:member-8") == []


def test_control_api_customers(sim: SimServer) -> None:
    created = sim.control(
        "customers",
        {"email": "ctl@example.com", "first_name": "Ctl", "addresses": [{"country_code": "US", "province_code": "NY"}]},
    )
    customer = created["customer"]
    assert customer["default_address"]["province"] == "New York"
    assert sim.control("customers?email=CTL@example.com")["count"] == 1
    patched = sim.control(f"customers/{customer['id']}", {"phone": "bad"}, method="PATCH", check=False)
    assert "Phone is invalid" in patched["error"]
