"""Member checks before Shopify: each error names the field and says how to fix it."""

from __future__ import annotations

from datetime import date

import pytest
from shopify_fakes import make_member

from connector.core.errors import ProviderError
from connector.plugins.shopify.member_validation import normalize_phone, validate_member

TODAY = date(2026, 9, 1)


def rejected(**changes) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        validate_member(make_member(**changes), TODAY)
    return caught.value


def test_valid_member_is_normalised_for_shopify():
    member = validate_member(
        make_member(phone="(613) 555-0142", province_code="ontario", country_code="ca", zip="k2p2l8"), TODAY
    )
    assert member.phone == "+16135550142"
    assert member.province_code == "ON"
    assert member.country_code == "CA"
    assert member.zip == "K2P 2L8"
    assert member.mailing_address() == {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "address1": "151 O'Connor Street",
        "city": "Ottawa",
        "countryCode": "CA",
        "provinceCode": "ON",
        "zip": "K2P 2L8",
        "phone": "+16135550142",
    }


@pytest.mark.parametrize(
    ("changes", "fields", "words"),
    [
        ({"first_name": " "}, "first_name", "first name"),
        ({"address1": None, "city": ""}, "address1,city", "address line 1, city"),
        ({"zip": None}, "zip", "ZIP/postal code"),
        ({"country_code": None}, "country_code", "country"),
        ({"province_code": None}, "province_code", "state/province"),
        ({"country_code": "US", "province_code": "", "zip": "10001"}, "province_code", "state/province"),
    ],
)
def test_missing_fields_are_missing_user_information_naming_each_field(changes, fields, words):
    error = rejected(**changes)
    assert error.code == "missing_user_information"
    assert error.retryable is False
    assert error.field == fields
    assert words in error.message and "empty" in error.message
    assert "Fill in" in error.fix


def test_province_is_optional_outside_us_and_canada_and_zip_where_there_are_none():
    member = validate_member(
        make_member(country_code="HK", province_code=None, zip=None, phone="+852 2123 4567"), TODAY
    )
    assert member.country_code == "HK" and member.zip is None and member.province_code is None


@pytest.mark.parametrize(
    ("changes", "field", "hint"),
    [
        ({"phone": "613-CALL-NOW"}, "phone", "letters"),
        ({"phone": "555-0142"}, "phone", "10-digit"),
        ({"phone": "(013) 555-0142"}, "phone", "cannot start with 0 or 1"),
        ({"phone": "+44 12"}, "phone", "too short"),
        ({"country_code": "FR", "province_code": None, "zip": "75001", "phone": "+33 1 23"}, "phone", "short"),
        ({"country_code": "BR", "province_code": None, "zip": "01310-100", "phone": "11 91234 5678"}, "phone", "+"),
        ({"province_code": "NY"}, "province_code", "not a Canadian province"),
        ({"country_code": "US", "province_code": "ON", "zip": "10001"}, "province_code", "not a US state"),
        ({"city": "Ottawa 2"}, "city", "digits"),
        ({"city": "<b>Ottawa</b>"}, "city", "HTML"),
        ({"address1": "O'Connor Street"}, "address1", "street or box number"),
        ({"address1": "151 O'Connor 🎁"}, "address1", "emoji"),
        ({"address1": "1" + "x" * 300}, "address1", "longer than 255"),
        ({"address2": "see https://evil.example"}, "address2", "link"),
        ({"country_code": "Canadia"}, "country_code", "ISO 3166"),
        ({"zip": "12345"}, "zip", "A1A 1A1"),
        ({"country_code": "US", "province_code": "NY", "zip": "1000"}, "zip", "5 digits"),
        ({"email": "ada.example.com"}, "email", "name@example.com"),
        ({"date_of_birth": date(2027, 1, 1)}, "date_of_birth", "in the future"),
        ({"date_of_birth": date(1890, 1, 1)}, "date_of_birth", "more than 120 years"),
    ],
)
def test_malformed_values_are_crm_id_not_found_saying_what_and_how(changes, field, hint):
    error = rejected(**changes)
    assert error.code == "crm_id_not_found"
    assert error.retryable is False
    assert error.field == field
    assert hint in error.message
    assert "Correct the member's" in error.fix


def test_every_malformed_field_is_reported_at_once():
    error = rejected(city="Ottawa 2", phone="abc", province_code="ZZ")
    assert error.field == "province_code,city,phone"
    assert "city contains digits" in error.message and "letters" in error.message


def test_messages_do_not_quote_the_members_personal_data():
    error = rejected(phone="613-555-01AB", address1="Secret Lane", email="not-an-email")
    for secret in ("613-555-01AB", "Secret Lane", "not-an-email"):
        assert secret not in error.message


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("(613) 555-0142", "CA", "+16135550142"),
        ("613.555.0142", "US", "+16135550142"),
        ("1-613-555-0142", "US", "+16135550142"),
        ("+1 (613) 450-5293", "CA", "+16134505293"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("06 1234 5678", "IT", "+390612345678"),
        ("+49 30 123456", "US", "+4930123456"),
    ],
)
def test_phone_normalisation(raw, country, expected):
    assert normalize_phone(raw, country) == expected


def test_us_territory_given_as_country_becomes_a_us_state():
    member = validate_member(
        make_member(country_code="PR", province_code=None, zip="00901", phone="787 555 0142"), TODAY
    )
    assert (member.country_code, member.province_code) == ("US", "PR")
