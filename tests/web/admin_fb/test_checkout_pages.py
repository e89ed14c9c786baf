"""Checkout through the console: lookup, + Add Customer with field errors, Add Item, Redeem Selected Items once,
another retailer's cashier refused, and a cashier's login reaching nothing but Checkout."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connector.core.frequent_buyer.tables import Customer, FreeGood
from tests.frequent_buyer.checkout_fixtures import fix_clock
from tests.web.admin.dom import parse
from tests.web.admin_fb.conftest import flashes


@pytest.fixture(autouse=True)
def _counter_day(rt):
    fix_clock(rt)


def _count(rt, model) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _add_dana(browser) -> int:
    response = browser.post(
        "/admin/checkout/customers/new", {"name": "Dana Smith", "phone": "206-555-0101", "email": ""}
    )
    assert response.status_code == 302, response.text[:2000]
    return int(response.headers["Location"].split("/")[-1].split("?")[0])


def test_a_cashier_adds_a_customer_scans_a_card_full_and_redeems_once(signed_in, people, rt, fb_world):
    cashier = signed_in(people.cashier)
    home = cashier.get("/admin/")
    assert home.headers["Location"] == "/admin/checkout"

    bad = cashier.post("/admin/checkout/customers/new", {"name": "", "phone": "12", "email": "x"})
    assert bad.status_code == 422
    page = parse(bad.text)
    assert page.one("span", id="name-error").text == "the pet owner's name, as the cashier would search for it"
    assert page.one("span", id="phone-error").text == "7 to 15 digits (got 2), like 303-555-0142"
    assert page.one("span", id="email-error").text == "an email address like ana@example.com"
    assert _count(rt, Customer) == 0

    dana = _add_dana(cashier)
    lookup = cashier.page("/admin/checkout?q=206555")
    assert [li["data-customer-id"] for li in lookup.one("ul", id="checkout-results").find_all("li")] == [str(dana)]

    url = f"/admin/checkout/customers/{dana}"
    screen = cashier.page(url)
    key = screen.one("form", id="add-item-form").one("input", name="key")["value"]
    store = {"location_id": str(fb_world.store_001_id)}
    scanned = cashier.post(f"{url}/items", {"item": "KIB-4", "quantity": "10", "key": key, **store})
    again = cashier.post(f"{url}/items", {"item": "KIB-4", "quantity": "10", "key": key, **store})  # double-click
    screen = cashier.follow(again)
    assert scanned.status_code == 302
    card = screen.one("section", data_program_id=str(fb_world.kibble_id))
    assert card["data-eligible"] == "true" and card.one("p", class_="co-progress").text == "10 of 10 purchased"
    assert (
        screen.one("div", id="reward-alert").text.strip()
        == "Dana Smith qualifies for a free good on Acme Kibble Buy 10 Get 1."
    )

    form = card.one("form", class_="redeem-form")
    data = {i["name"]: i["value"] for i in form.find_all("input") if i.get("name") not in (None, "csrf_token")}
    data["free_item_id"] = form.one("select", name="free_item_id").one("option")["value"]
    data.update(store)
    first = cashier.post(f"{url}/redeem", data)
    second = cashier.post(f"{url}/redeem", data)  # the button pressed twice: one free good
    after = cashier.follow(second)
    assert first.status_code == 302 and _count(rt, FreeGood) == 1
    visit = after.one("section", id="visit-rewards")
    assert "1 × Acme Kibble 4 lb" in visit.text
    assert visit.one("div", class_="co-redeemed").text == "This reward was redeemed this visit"
    assert after.find("section", data_program_id=str(fb_world.kibble_id)) is None  # the card was used


def test_a_denied_redemption_says_the_rule_and_records_nothing(signed_in, people, rt, fb_world):
    cashier = signed_in(people.cashier)
    dana = _add_dana(cashier)
    url = f"/admin/checkout/customers/{dana}"
    cashier.post(f"{url}/items", {"item": "KIB-4", "quantity": "4", "key": "k1"})
    data = {"program_id": str(fb_world.kibble_id), "free_item_id": str(fb_world.items["KIB-4"]), "key": "r1"}
    page = cashier.follow(cashier.post(f"{url}/redeem", data))
    assert flashes(page, "error") == [
        "Not redeemed — Insufficient purchase quantity: purchased 4 of 10 required "
        "(program 'Acme Kibble Buy 10 Get 1'). Nothing was recorded."
    ]
    assert _count(rt, FreeGood) == 0


def test_another_retailers_cashier_cannot_open_or_redeem_our_customer(signed_in, people, rt, fb_world):
    dana = _add_dana(signed_in(people.cashier))
    bark = signed_in(people.other_cashier)
    assert bark.get(f"/admin/checkout/customers/{dana}").status_code == 404
    data = {"program_id": str(fb_world.kibble_id), "free_item_id": str(fb_world.items["KIB-4"]), "key": "x"}
    assert bark.post(f"/admin/checkout/customers/{dana}/redeem", data).status_code == 404
    assert bark.post(f"/admin/checkout/customers/{dana}/items", {"item": "KIB-4", "key": "y"}).status_code == 404
    assert "checkout-results" not in bark.get("/admin/checkout?q=dana").text


@pytest.mark.parametrize(
    "url", ["/admin/pos-reports", "/admin/credit-status", "/admin/programs", "/admin/distribution", "/admin/users"]
)
def test_a_cashier_login_reaches_checkout_only(signed_in, people, url):
    assert signed_in(people.cashier).get(url).status_code == 403


@pytest.mark.parametrize("role", ["viewer", "distributor", "brand_admin"])
def test_roles_without_a_counter_are_refused_checkout(signed_in, people, role):
    browser = signed_in(getattr(people, role))
    assert browser.get("/admin/checkout").status_code == 403
    nav = [a.text for a in browser.page("/admin/programs").one("header").one("nav").find_all("a")]
    assert "Checkout" not in nav


def test_the_days_counter_redemptions_are_a_report_on_the_retailers_dashboard(signed_in, people, rt, fb_world):
    cashier = signed_in(people.cashier)
    dana = _add_dana(cashier)
    url = f"/admin/checkout/customers/{dana}"
    cashier.post(f"{url}/items", {"item": "KIB-4", "quantity": "10", "key": "k1"})
    data = {"program_id": str(fb_world.kibble_id), "free_item_id": str(fb_world.items["KIB-4"]), "key": "r1"}
    assert cashier.post(f"{url}/redeem", data).status_code == 302
    store = signed_in(people.retailer)
    dashboard = store.page("/admin/pos-reports")
    [row] = dashboard.one("table", id="pos-reports").find_all("tr", data_report_id=True)
    assert "Checkout 2026-06-15" in row.text
    review = store.page(f"/admin/pos-reports/{row['data-report-id']}?status=processed")
    assert "Dana Smith" in review.text
