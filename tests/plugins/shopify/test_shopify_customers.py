"""CRM sync: lookup by stored id, then email, then phone, then create; userErrors to member fields.

The userError messages and paths are the ones Shopify answered live
(reference shopify-api.md §1(b)).
"""

from __future__ import annotations

import logging

import pytest
from shopify_fakes import NOW, FakeShopify, customer_node, customer_payload, customers, make_member, ok

from connector.core.errors import ProviderError
from connector.plugins.shopify.customers import sync_customer
from connector.plugins.shopify.member_validation import validate_member

LOG = logging.getLogger("tests.shopify")
NEW = customer_node(900)


def member(**changes):
    return validate_member(make_member(**changes), NOW.date())


def test_stored_customer_id_is_used_when_it_still_exists(client, shopify: FakeShopify):
    shopify.on("CustomerById", ok({"customer": customer_node(500)}))
    assert sync_customer(client, member(shop_customer_id="gid://shopify/Customer/500"), LOG) == (
        "gid://shopify/Customer/500"
    )
    assert shopify.operations == ["CustomerById"]  # same details: no update


def test_numeric_stored_id_is_turned_into_a_gid(client, shopify):
    shopify.on("CustomerById", ok({"customer": customer_node(500)}))
    sync_customer(client, member(shop_customer_id="500"), LOG)
    assert shopify.calls[0].variables == {"id": "gid://shopify/Customer/500"}


def test_deleted_stored_customer_falls_back_to_email(client, shopify):
    shopify.on("CustomerById", ok({"customer": None}))
    shopify.on("FindCustomers", customers(customer_node(501)))
    assert sync_customer(client, member(shop_customer_id="gid://shopify/Customer/500"), LOG).endswith("/501")
    assert shopify.operations == ["CustomerById", "FindCustomers"]
    assert shopify.calls[1].variables == {"query": 'email:"ada@example.com" OR phone:"+16135550142"'}


def test_email_search_near_miss_is_ignored_and_phone_match_is_taken(client, shopify):
    shopify.on(
        "FindCustomers",
        customers(
            customer_node(502, email="ada.lovelace@example.com", phone=None),  # tokenised search near miss
            customer_node(503, email="other@example.com", phone="+16135550142"),
        ),
    )
    shopify.on("CustomerUpdate", customer_payload("customerUpdate", customer_node(503)))
    assert sync_customer(client, member(), LOG) == "gid://shopify/Customer/503"
    # One search for email OR phone: customer searches were most of a redemption's Shopify cost.
    assert [c.variables["query"] for c in shopify.calls_to("FindCustomers")] == [
        'email:"ada@example.com" OR phone:"+16135550142"',
    ]
    # Found by phone with another email: the email is brought in line, nothing else is sent.
    assert shopify.calls_to("CustomerUpdate")[0].variables == {
        "input": {"id": "gid://shopify/Customer/503", "email": "ada@example.com"}
    }


def test_full_page_without_a_match_falls_back_to_one_search_per_key(client, shopify):
    crowd = customers(*[customer_node(600 + i, email=f"ada{i}@example.com", phone=None) for i in range(5)])
    shopify.on(
        "FindCustomers", crowd, customers(), customers(customer_node(507, email="x@example.com", phone="+16135550142"))
    )
    shopify.on("CustomerUpdate", customer_payload("customerUpdate", customer_node(507)))
    assert sync_customer(client, member(), LOG) == "gid://shopify/Customer/507"
    assert [c.variables["query"] for c in shopify.calls_to("FindCustomers")] == [
        'email:"ada@example.com" OR phone:"+16135550142"',
        'email:"ada@example.com"',
        'phone:"+16135550142"',
    ]


def test_no_match_creates_the_customer_with_the_normalised_address(client, shopify):
    shopify.on("FindCustomers", customers())
    shopify.on("CustomerCreate", customer_payload("customerCreate", NEW))
    assert sync_customer(client, member(), LOG) == NEW["id"]
    assert shopify.operations == ["FindCustomers", "CustomerCreate"]
    sent = shopify.calls_to("CustomerCreate")[0].variables["input"]
    assert sent["phone"] == "+16135550142"
    assert sent["email"] == "ada@example.com"
    assert sent["addresses"] == [
        {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "address1": "151 O'Connor Street",
            "city": "Ottawa",
            "countryCode": "CA",
            "provinceCode": "ON",
            "zip": "K2P 2L8",
            "phone": "+16135550142",
        }
    ]


def test_found_customer_with_other_details_is_updated_but_addresses_are_left_alone(client, shopify):
    shopify.on("FindCustomers", customers(customer_node(504, phone="+16135550000", first="Adah")))
    shopify.on("CustomerUpdate", customer_payload("customerUpdate", customer_node(504)))
    sync_customer(client, member(), LOG)
    update = shopify.calls_to("CustomerUpdate")[0].variables["input"]
    assert update == {"id": "gid://shopify/Customer/504", "firstName": "Ada", "phone": "+16135550142"}


@pytest.mark.parametrize(
    ("error", "code", "field", "shown"),
    [
        (
            {"field": ["addresses", "0", "province"], "message": "Province is invalid"},
            "crm_id_not_found",
            "province_code",
            "state/province: Province is invalid",
        ),
        (
            {"field": ["addresses", "0", "country"], "message": "Country is invalid"},
            "crm_id_not_found",
            "country_code",
            "Country is invalid",
        ),
        ({"field": ["phone"], "message": "Phone is invalid"}, "crm_id_not_found", "phone", "Phone is invalid"),
        ({"field": ["email"], "message": "Email is invalid"}, "crm_id_not_found", "email", "Email is invalid"),
        (
            {"field": ["address", "zip"], "message": "Zip cannot contain URL"},
            "crm_id_not_found",
            "zip",
            "Zip cannot contain URL",
        ),
        (
            {"field": ["addresses", "0", "address1"], "message": "Address1 cannot contain emojis"},
            "crm_id_not_found",
            "address1",
            "Address1 cannot contain emojis",
        ),
        (
            {"field": ["addresses", "0", "city"], "message": "City cannot contain HTML tags"},
            "crm_id_not_found",
            "city",
            "City cannot contain HTML tags",
        ),
        (
            {"field": None, "message": "A name, phone number, or email address must be present"},
            "missing_user_information",
            "first_name,last_name,email,phone",
            "must be present",
        ),
    ],
)
def test_create_user_errors_point_at_the_member_field(client, shopify, error, code, field, shown):
    shopify.on("FindCustomers", customers())
    shopify.on("CustomerCreate", customer_payload("customerCreate", None, error))
    with pytest.raises(ProviderError) as caught:
        sync_customer(client, member(), LOG)
    assert caught.value.code == code
    assert caught.value.field == field
    assert shown in caught.value.message
    assert caught.value.retryable is False


def test_customer_that_does_not_exist_on_update_is_looked_up_again_once(client, shopify):
    gone = customer_node(505, first="Old")
    shopify.on(
        "FindCustomers",
        customers(gone),  # the search still returns the customer (deleted since)
        customers(gone),  # after "does not exist": searched again; the deleted one must be skipped
    )
    shopify.on(
        "CustomerUpdate",
        customer_payload("customerUpdate", None, {"field": ["id"], "message": "Customer does not exist"}),
    )
    shopify.on("CustomerCreate", customer_payload("customerCreate", NEW))
    assert sync_customer(client, member(), LOG) == NEW["id"]
    assert shopify.operations == ["FindCustomers", "CustomerUpdate", "FindCustomers", "CustomerCreate"]


def test_email_taken_on_create_means_search_lagged_and_the_customer_is_found_again(client, shopify):
    shopify.on("FindCustomers", customers(), customers(customer_node(506)))
    shopify.on(
        "CustomerCreate",
        customer_payload("customerCreate", None, {"field": ["email"], "message": "Email has already been taken"}),
    )
    assert sync_customer(client, member(), LOG) == "gid://shopify/Customer/506"


def test_phone_taken_by_another_customer_on_update_says_to_merge(client, shopify):
    shopify.on("FindCustomers", customers(customer_node(507, phone=None)))
    shopify.on(
        "CustomerUpdate",
        customer_payload("customerUpdate", None, {"field": ["phone"], "message": "Phone has already been taken"}),
    )
    with pytest.raises(ProviderError) as caught:
        sync_customer(client, member(), LOG)
    assert caught.value.code == "crm_id_not_found" and caught.value.field == "phone"
    assert "Merge" in caught.value.fix
