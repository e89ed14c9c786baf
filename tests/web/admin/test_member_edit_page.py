"""The member edit page: each role, each brand scope, refused input, Save and retry, and the links to it.

The real Shopify plugin answers ``connector_check_member`` (its own rules and words); the fake shop
fulfils, so "Save and retry" ends in a real fulfilment attempt.
"""

from __future__ import annotations

from sqlalchemy import select

from connector.core.errors import ProviderError
from connector.core.tables import Member
from tests.web.admin.conftest import flashes
from tests.web.admin.stories import events, failed, redeem, status_of
from tests.web.admin.stories import snapshot as redemptions_snapshot


def set_city(rt, member_id: int, city: str) -> None:
    from connector.core.database import transaction

    with transaction(rt.sessions) as s:
        s.get(Member, member_id).city = city


def member_row(rt, member_id: int) -> tuple[object, ...]:
    with rt.sessions() as s:
        return tuple(s.execute(select(Member.__table__).where(Member.id == member_id)).one())


def city_error(rt, shop, world) -> int:
    """A redemption in error because the member's city has digits (as the Shopify plugin reports it)."""
    set_city(rt, world.member.id, "Ottawa 5")
    error = ProviderError("crm_id_not_found", "city contains digits", field="city")
    return redeem(rt, shop, member_id=world.member.id, reward_id=world.reward.id, outcome=error)


FORM = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "+16135550142",
    "date_of_birth": "1990-12-10",
    "address1": "150 Elgin St",
    "address2": "",
    "city": "Ottawa",
    "province_code": "ON",
    "country_code": "CA",
    "zip": "K2P 1L4",
}


def test_support_fixes_the_member_and_save_and_retry_fulfils(signed_in, people, rt, shop, world):
    rid = city_error(rt, shop, world)
    browser = signed_in(people.support)
    page = browser.page(f"/admin/members/{world.member.id}/edit")
    assert page.one("input", id="f-city")["value"] == "Ottawa 5"
    assert page.one("input", id="f-city")["aria-invalid"] == "true"  # the plugin's check, run as the page opens
    assert "city contains digits" in page.one("section", id="current-problems").text
    assert page.one("tr", data_redemption_id=str(rid))
    assert page.one("button", id="save-retry").text == "Save and retry 1 redemption"

    response = browser.post(f"/admin/members/{world.member.id}/edit", {**FORM, "action": "save_retry"})
    landed = browser.follow(response)
    (message,) = flashes(landed, "success")
    assert message.startswith("Saved: city. Retried 1: R-")
    assert status_of(rt, rid) == "fulfilled"
    assert ("member_updated", people.support.actor_name) in events(rt, rid)
    assert ("retried", people.support.actor_name) in events(rt, rid)


def test_plain_save_stores_but_does_not_retry(signed_in, people, rt, shop, world):
    rid = city_error(rt, shop, world)
    browser = signed_in(people.brand_admin)
    browser.follow(browser.post(f"/admin/members/{world.member.id}/edit", {**FORM, "action": "save"}))
    assert status_of(rt, rid) == "error"
    with rt.sessions() as s:
        assert s.get(Member, world.member.id).city == "Ottawa"  # type: ignore[union-attr]


def test_a_malformed_value_is_refused_with_the_plugins_words_and_nothing_changes(signed_in, people, rt, shop, world):
    rid = city_error(rt, shop, world)
    browser = signed_in(people.support)
    before, story = member_row(rt, world.member.id), redemptions_snapshot(rt)
    response = browser.post(
        f"/admin/members/{world.member.id}/edit", {**FORM, "phone": "call me", "action": "save_retry"}
    )
    assert response.status_code == 422
    from tests.web.admin.dom import parse

    page = parse(response.text)
    (error,) = flashes(page, "error")
    assert error.startswith("The member was not saved: The member's details cannot be matched to a Shopify customer:")
    assert "phone contains letters: enter digits only, e.g. +16135550142" in error
    assert page.one("input", id="f-phone")["value"] == "call me"  # what was typed comes back
    assert page.one("span", id="e-phone").text == "phone contains letters: enter digits only, e.g. +16135550142"
    assert member_row(rt, world.member.id) == before and redemptions_snapshot(rt) == story
    assert status_of(rt, rid) == "error"


def test_a_viewer_reads_the_form_but_cannot_save(signed_in, people, rt, world):
    browser = signed_in(people.viewer)
    page = browser.page(f"/admin/members/{world.member.id}/edit")
    assert page.one("fieldset").get("disabled") is not None or "disabled" in page.one("fieldset").attrs
    assert not page.find_all("button", id="save") and page.one("p", id="read-only-note")
    before = member_row(rt, world.member.id)
    assert browser.post(f"/admin/members/{world.member.id}/edit", {**FORM, "city": "Hull"}).status_code == 403
    assert member_row(rt, world.member.id) == before


def test_another_brands_admin_can_neither_read_nor_edit(signed_in, people, rt, world):
    browser = signed_in(people.other_admin)
    before = member_row(rt, world.member.id)
    assert browser.get(f"/admin/members/{world.member.id}/edit").status_code == 404
    assert browser.post(f"/admin/members/{world.member.id}/edit", {**FORM, "city": "Hull"}).status_code == 404
    assert member_row(rt, world.member.id) == before
    # ... and their own member is theirs to edit.
    response = browser.post(
        f"/admin/members/{world.other_member.id}/edit", {"first_name": "Bobby", "last_name": "Other"}
    )
    assert response.status_code == 302


def test_a_party_user_and_a_forged_form_change_nothing(signed_in, people, rt, world):
    before = member_row(rt, world.member.id)
    assert signed_in(people.retailer).get(f"/admin/members/{world.member.id}/edit").status_code == 403
    browser = signed_in(people.support)
    assert (
        browser.post(f"/admin/members/{world.member.id}/edit", {**FORM, "city": "Hull"}, csrf="forged").status_code
        == 400
    )
    assert member_row(rt, world.member.id) == before


def test_the_error_tooltip_and_the_details_page_link_to_the_page_that_fixes_it(signed_in, people, rt, shop, world):
    member_rid = city_error(rt, shop, world)
    sku_rid = failed(rt, shop, world, code="product_not_found")
    browser = signed_in(people.support)
    listing = browser.page("/admin/fulfilments?tab=all")
    member_tip = listing.one("span", id=f"tip-{member_rid}").one("a")
    assert member_tip["href"] == f"/admin/members/{world.member.id}/edit" and member_tip.text == "Edit the member →"
    assert listing.one("span", id=f"tip-{sku_rid}").one("a")["href"] == f"/admin/rewards/{world.reward.id}/edit"
    details = browser.page(f"/admin/redemptions/{member_rid}")
    link = details.one("section", id="error").one("a", class_="error-fix-link")
    assert link["href"].startswith(f"/admin/members/{world.member.id}/edit?next=")
    # Following it and saving comes back to the redemption.
    response = browser.post(link["href"], {**FORM, "action": "save_retry", "next": f"/admin/redemptions/{member_rid}"})
    assert response.headers["Location"] == f"/admin/redemptions/{member_rid}"
    assert status_of(rt, member_rid) == "fulfilled"


def test_a_member_whose_data_was_erased_cannot_be_edited(signed_in, people, rt, world):
    from datetime import UTC, datetime

    from connector.core.database import transaction

    with transaction(rt.sessions) as s:
        s.get(Member, world.member.id).redacted_at = datetime(2026, 7, 1, tzinfo=UTC)  # type: ignore[union-attr]
    before = member_row(rt, world.member.id)
    browser = signed_in(people.support)
    page = browser.page(f"/admin/members/{world.member.id}/edit")
    assert "erased" in page.one("p", id="read-only-note").text and not page.find_all("button", id="save")
    landed = browser.follow(browser.post(f"/admin/members/{world.member.id}/edit", {**FORM, "city": "Hull"}))
    assert "This member's personal data was erased at the shop's request; it cannot be edited." in flashes(
        landed, "error"
    )
    assert member_row(rt, world.member.id) == before


def test_hostile_form_values_are_refused_by_field_not_a_server_error(signed_in, people, rt, world):
    before = member_row(rt, world.member.id)
    browser = signed_in(people.support)
    for field, value in (("city", "Ott\x00awa"), ("last_name", "x" * 101), ("date_of_birth", "1990-02-30")):
        response = browser.post(f"/admin/members/{world.member.id}/edit", {**FORM, field: value})
        assert response.status_code == 422, (field, response.status_code)
        from tests.web.admin.dom import parse

        assert parse(response.text).one("span", id=f"e-{field}")
    assert member_row(rt, world.member.id) == before
