"""The console as a whole: the front door, HTML errors under /admin only, headers, assets, the nav registry."""

from __future__ import annotations

from flask import url_for

from connector.admin import NAV, add_nav, nav_for
from connector.admin.session_auth import current_user, login_required
from connector.app import create_app
from connector.core.model import Role
from tests.web.admin.conftest import Console
from tests.web.admin.dom import parse


def test_the_front_door_is_the_console(client, people):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin"
    assert client.get("/admin").headers["Location"].startswith("/admin/login")


def test_admin_home_sends_each_role_to_its_first_page(signed_in, people):
    for person in (people.support, people.viewer, people.brand_admin, people.platform_admin):
        response = signed_in(person).get("/admin/")
        assert response.status_code == 302 and response.headers["Location"] == "/admin/fulfilments"


def test_errors_under_admin_are_html_pages_and_elsewhere_json_as_before(signed_in, people, client):
    browser = signed_in(people.support)
    response = browser.get("/admin/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"
    page = parse(response.text)
    assert "There is no page at this address." in page.one("main").text
    assert page.one("form", id="logout-form")  # the header still works on an error page
    assert browser.client.delete("/admin/fulfilments").status_code == 405
    api = client.get("/api/v1/nothing-here")
    assert api.status_code == 404 and api.json["error"]["code"] == "not_found"
    assert client.get("/webhooks/nothing").mimetype == "application/json"


def test_console_pages_are_not_cached_framed_or_sniffed_and_load_nothing_from_elsewhere(signed_in, people):
    browser = signed_in(people.support)
    response = browser.get("/admin/fulfilments")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    page = parse(response.text)
    sources = [n.get("src") or n.get("href") for n in page.find_all("script") + page.find_all("link")]
    assert sources and all(s.startswith("/admin/static/") for s in sources)
    assert [s for s in page.find_all("script") if s.get("src") is None] == []  # no inline script
    assert "style=" not in response.text and "<style" not in response.text
    for asset in sources:
        static = browser.get(asset)
        assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_the_console_session_is_not_an_api_credential(signed_in, people):
    browser = signed_in(people.support)
    assert browser.get("/api/v1/redemptions").status_code == 401


def test_the_nav_registry_lets_a_feature_add_a_page_for_some_roles(monkeypatch):
    monkeypatch.setattr("connector.admin.blueprint.NAV", list(NAV))  # where add_nav and nav_for keep it
    before = {role: [e.label for e in nav_for(role)] for role in Role}
    add_nav("Rebates", "admin.rebates", [Role.DISTRIBUTOR, Role.RETAILER])
    add_nav("Rebates", "admin.rebates", [Role.DISTRIBUTOR])  # registering twice changes nothing
    assert [e.label for e in nav_for(Role.DISTRIBUTOR)] == [*before[Role.DISTRIBUTOR], "Rebates"]
    assert [e.label for e in nav_for(Role.RETAILER)] == [*before[Role.RETAILER], "Rebates"]
    assert [e.label for e in nav_for(Role.SUPPORT)] == before[Role.SUPPORT]
    assert "Rebates" not in [e.label for e in nav_for(Role.VIEWER)]


def test_the_header_shows_only_the_users_nav_entries(signed_in, people):
    support = signed_in(people.support).page("/admin/fulfilments")
    links = support.one("header").one("nav").find_all("a")
    assert [(a.text, a["href"], a.get("aria-current")) for a in links][0] == (
        "Fulfillments",
        "/admin/fulfilments",
        "page",
    )
    assert all(a.get("aria-current") is None for a in links[1:])
    # A distributor's header has its own portal and never the brand redemptions.
    portal = signed_in(people.distributor).page("/admin/distribution")
    labels = [a.text for a in portal.one("header").one("nav").find_all("a")]
    assert "Distributor Portal" in labels and "Fulfillments" not in labels


def test_an_unexpected_error_under_admin_is_an_html_500_that_leaks_nothing(rt, world, people):
    app = create_app(runtime=rt)

    def boom() -> None:
        raise RuntimeError("kaboom with a secret inside")

    app.add_url_rule("/admin/boom", "admin_boom", boom)
    browser = Console(app)
    response = browser.get("/admin/boom")
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "secret" not in response.text and "It was logged" in response.text


def test_login_required_protects_a_view_outside_the_blueprint_with_the_same_session(rt, world, people):
    app = create_app(runtime=rt)

    @login_required
    def whoami() -> str:
        return current_user().email

    app.add_url_rule("/admin-extra/whoami", "whoami", whoami)
    browser = Console(app)
    response = browser.get("/admin-extra/whoami")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    browser.login(people.viewer)
    assert browser.get("/admin-extra/whoami").text == people.viewer.email


def test_every_header_link_is_shown_exactly_to_the_users_its_page_opens_for(app, signed_in, people):
    """One rule for the header and the pages: for every role (and scope), a link is shown iff its page opens."""
    persons = [getattr(people, name) for name in people.__dataclass_fields__]
    assert {p.role for p in persons} == set(Role)  # every role is tried
    with app.test_request_context():
        urls = {entry.label: url_for(entry.endpoint) for entry in NAV}
    assert {"Fulfillments", "Shops", "POS Reports", "Distributor Portal", "Credit Status", "Programs"} <= set(urls)
    for person in persons:
        browser = signed_in(person)
        home = browser.get("/admin/")
        landing = parse(browser.get(home.headers["Location"]).text) if home.status_code == 302 else parse(home.text)
        shown = {a.text for a in landing.one("header").one("nav").find_all("a")}
        for label, url in urls.items():
            status = browser.get(url).status_code
            assert (status == 200) == (label in shown), (
                f"{person.email} ({person.role}): {label} shown={label in shown}"
            )
            assert status in (200, 403), (person.email, label, status)


def test_a_viewer_sees_and_opens_the_frequent_buyer_pages_a_brand_reads(signed_in, people):
    """The report that started this: the viewer's menu hid pages that opened, yet POS Reports was refused."""
    viewer = signed_in(people.viewer)
    labels = [a.text for a in viewer.page("/admin/fulfilments").one("header").one("nav").find_all("a")]
    assert labels == ["Fulfillments", "Rewards", "Distributor Portal", "Credit Status", "Programs", "Brand Fulfillment"]
    assert viewer.get("/admin/pos-reports").status_code == 403
