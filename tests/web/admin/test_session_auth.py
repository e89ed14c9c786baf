"""Signing in and out: one message for every failure, sessions that end when the password or account changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.admin.session_auth import SESSION_ENDED, SIGN_IN_FAILED
from connector.core.database import transaction
from connector.core.tables import User
from connector.core.users import disable_user, find_user, set_password
from tests.web.admin.conftest import Person, flashes
from tests.web.admin.dom import parse
from tests.web.admin.stories import fulfilled


def test_login_page_has_the_form_of_the_dom_contract(console):
    page = console.page("/admin/login")
    form = page.one("form", id="login-form")
    assert form["method"] == "post"
    assert form.one("input", name="email")
    assert form.one("input", name="password")["type"] == "password"
    assert form.one("button", type="submit")
    assert form.one("input", name="csrf_token", type="hidden")["value"]
    assert page.find("form", id="logout-form") is None  # nobody to sign out yet


def test_login_with_the_right_password_lands_on_the_fulfilments_with_a_safe_cookie(console, people, rt):
    response = console.login(people.support)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/fulfilments"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    page = console.page("/admin/fulfilments")
    assert people.support.email.split("@")[0].title() in page.one("header").text
    with rt.sessions() as s:
        assert s.scalars(select(User).where(User.email == people.support.email)).one().last_login_at is not None


def test_login_failure_says_the_same_for_an_unknown_email_a_wrong_password_and_a_disabled_user(console, people, rt):
    with transaction(rt.sessions) as s:
        disable_user(s, find_user(s, people.retailer.email), rt.now())
    answers = [
        console.login(Person("nobody@nowhere.example", people.support.role)),
        console.login(people.support, password="wrong-password-123"),
        console.login(people.retailer),
        console.login(Person("", people.support.role), password=""),
    ]
    messages = []
    for response in answers:
        assert response.status_code == 200  # the form again, not a redirect
        page = parse(response.text)
        assert page.one("form", id="login-form")
        messages.append(flashes(page, "error"))
    assert messages == [[SIGN_IN_FAILED]] * 4
    assert console.get("/admin/fulfilments").status_code == 302  # still signed out
    assert "Set-Cookie" not in answers[1].headers or "uid" not in answers[1].headers["Set-Cookie"]


def test_behind_tls_the_session_cookie_is_marked_secure(rt, people):
    import dataclasses

    from connector.app import create_app
    from connector.config import Settings
    from tests.web.admin.conftest import Console

    assert "Secure" not in Console(create_app(runtime=rt)).login(people.support).headers["Set-Cookie"]
    assert Settings.from_env({"CONNECTOR_SECURE_COOKIES": "true"}).secure_cookies
    with pytest.raises(ValueError, match="CONNECTOR_SECURE_COOKIES must be true or false"):
        Settings.from_env({"CONNECTOR_SECURE_COOKIES": "maybe"})
    tls = create_app(settings=dataclasses.replace(rt.settings, secure_cookies=True), runtime=rt)
    assert "; Secure" in Console(tls).login(people.support).headers["Set-Cookie"]


def test_login_is_case_insensitive_on_the_email(console, people):
    response = console.login(Person(people.support.email.upper(), people.support.role))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/fulfilments"


def test_a_distributor_or_retailer_lands_on_their_own_pages_never_on_brand_redemptions(signed_in, people):
    for person, landing in ((people.distributor, "/admin/distribution"), (people.retailer, "/admin/pos-reports")):
        browser = signed_in(person)
        assert browser.get("/admin/fulfilments").status_code == 403
        home = browser.get("/admin/")
        assert home.status_code == 302 and home.headers["Location"] == landing


def test_a_signed_out_visitor_is_sent_to_login_and_back_to_the_page_asked_for(console, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    response = console.get(f"/admin/redemptions/{rid}?from=mail")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")
    login_page = console.follow(response)
    assert flashes(login_page, "error") == ["Sign in to continue."]
    next_url = login_page.one("input", name="next")["value"]
    assert next_url == f"/admin/redemptions/{rid}?from=mail"
    response = console.login(people.support, next_url=next_url)
    assert response.headers["Location"] == f"/admin/redemptions/{rid}?from=mail"


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/admin",
        "//evil.example/admin",
        "/\\evil.example/admin",
        "/\t/evil.example",
        "/admin/\nx",
        "javascript:alert(1)",
        "/api/v1/openapi.json",
        "admin/fulfilments",
    ],
)
def test_login_never_redirects_outside_the_console(console, people, evil):
    response = console.login(people.support, next_url=evil)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/fulfilments"


def test_every_signed_out_console_url_redirects_to_login(console, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    for url in (
        "/admin",
        "/admin/",
        "/admin/fulfilments",
        f"/admin/redemptions/{rid}",
        f"/admin/redemptions/{rid}/reverse",
        f"/admin/members/{world.member.id}",
        "/admin/fulfilments/export.csv",
    ):
        response = console.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login"), url


def test_logout_ends_the_session_and_is_a_post(signed_in, people):
    browser = signed_in(people.support)
    assert browser.get("/admin/logout").status_code == 405
    assert browser.get("/admin/fulfilments").status_code == 200
    response = browser.post("/admin/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    assert flashes(browser.follow(response), "success") == ["You are signed out."]
    assert browser.get("/admin/fulfilments").status_code == 302


def test_a_password_change_ends_sessions_opened_before_it(signed_in, people, rt):
    browser = signed_in(people.support)
    other_device = signed_in(people.support)
    with transaction(rt.sessions) as s:
        set_password(s, find_user(s, people.support.email), "a-brand-new-passphrase")
    for device in (browser, other_device):
        response = device.get("/admin/fulfilments")
        assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
        assert flashes(device.follow(response), "error") == [SESSION_ENDED]
    assert browser.login(people.support).status_code == 200  # the old password no longer works
    assert browser.login(people.support, password="a-brand-new-passphrase").status_code == 302
    assert browser.get("/admin/fulfilments").status_code == 200


def test_disabling_a_user_ends_their_open_session_at_once(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    with transaction(rt.sessions) as s:
        disable_user(s, find_user(s, people.support.email), rt.now())
    response = browser.post(f"/admin/redemptions/{rid}/resend")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    assert browser.get("/admin/fulfilments").status_code == 302


def test_a_forged_session_cookie_is_ignored(console, people):
    console.client.set_cookie("session", "eyJ1aWQiOjF9.forged.signature", domain="localhost")
    assert console.get("/admin/fulfilments").status_code == 302


def test_the_logout_form_is_in_the_header_of_every_page(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    token = browser.csrf()
    for url in (
        "/admin/fulfilments",
        f"/admin/redemptions/{rid}",
        f"/admin/redemptions/{rid}/reverse",
        f"/admin/members/{world.member.id}",
        "/admin/no-such-page",
    ):
        response = browser.get(url)
        page = parse(response.text)
        form = page.one("header").one("form", id="logout-form")
        assert form["method"] == "post" and form["action"] == "/admin/logout", url
        assert form.one("button", type="submit")
        assert form.one("input", name="csrf_token")["value"] == token, url


def test_five_wrong_passwords_lock_the_account_for_a_while_with_the_same_message(console, people, rt):
    from datetime import timedelta

    for _ in range(5):
        console.login(people.support, password="wrong-password-123")
    locked = console.login(people.support)  # the right password, now refused
    assert locked.status_code == 200 and flashes(parse(locked.text), "error") == [SIGN_IN_FAILED]
    with rt.sessions() as s:
        user = find_user(s, people.support.email)
        assert user.locked_until is not None and user.locked_until > rt.now()
        user_id = user.id
    # Another account is not affected, and the lock ends by itself.
    assert console.login(people.brand_admin).status_code == 302
    with transaction(rt.sessions) as s:
        s.get(User, user_id).locked_until = rt.now() - timedelta(seconds=1)
    assert console.login(people.support).status_code == 302
