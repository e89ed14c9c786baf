"""Signing in and out: one message for every failure, sessions that end when the password or account changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.admin.session_auth import SESSION_ENDED, SIGN_IN_FAILED, THROTTLED
from connector.core.database import transaction
from connector.core.tables import User
from connector.core.users import disable_user, find_user, set_password
from tests.web.admin.conftest import Console, Person, flashes
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
    for person, landing in ((people.distributor, "/admin/distributor"), (people.retailer, "/admin/pos-reports")):
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


# -- throttling: a guesser slows themselves down, never the real user -----------------------------------------

ATTACKER, USER, PROXY = "203.0.113.7", "198.51.100.20", "10.0.0.2"


def _from(app, address: str) -> Console:
    browser = Console(app)
    browser.client.environ_base["REMOTE_ADDR"] = address
    return browser


class Clock:
    """The runtime's clock, moved by the test (no sleeps)."""

    def __init__(self, rt) -> None:
        self.at = rt.now()
        rt.now = lambda: self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def test_a_guesser_at_one_address_cannot_lock_out_the_user_at_another(app, people, rt):
    Clock(rt)
    attacker = _from(app, ATTACKER)
    for _ in range(5):
        answer = attacker.login(people.support, password="wrong-password-123")
        assert answer.status_code == 200 and flashes(parse(answer.text), "error") == [SIGN_IN_FAILED]
    # The attacker's address is now throttled, even with the right password (their sixth try is not checked).
    throttled = attacker.login(people.support)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == str(15 * 60)
    assert flashes(parse(throttled.text), "error") == [THROTTLED.format(seconds=15 * 60)]
    assert attacker.get("/admin/fulfilments").status_code == 302
    # The real user, at their own address, signs in at once.
    user = _from(app, USER)
    assert user.login(people.support).status_code == 302
    assert user.get("/admin/fulfilments").status_code == 200


def test_one_address_guessing_many_accounts_is_throttled_as_a_whole(app, people, rt):
    Clock(rt)
    attacker = _from(app, ATTACKER)
    for i in range(20):  # four tries on each of five emails: under the per-account limit every time
        email = f"guess{i % 5}@nowhere.example"
        assert attacker.login(Person(email, people.support.role), password="wrong-password-123").status_code == 200
    assert attacker.login(people.brand_admin, password="wrong-password-123").status_code == 429
    assert _from(app, USER).login(people.brand_admin).status_code == 302


def test_wrong_sign_ins_stop_counting_once_they_are_older_than_the_window(app, people, rt):
    clock = Clock(rt)
    attacker = _from(app, ATTACKER)
    for _ in range(4):
        attacker.login(people.support, password="wrong-password-123")
    clock.advance(minutes=10)
    attacker.login(people.support, password="wrong-password-123")  # the fifth in 15 minutes
    assert attacker.login(people.support).headers.get("Retry-After") == str(5 * 60)  # when the first four expire
    clock.advance(minutes=5, seconds=1)
    # Four of the five have left the window: the address may try again.
    assert attacker.login(people.support).status_code == 302


def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(people, rt):
    import dataclasses

    from connector.app import create_app

    Clock(rt)
    direct = create_app(runtime=rt)
    attacker = _from(direct, ATTACKER)
    for i in range(5):  # a new forged address each time does not reset the count
        headers = {"X-Forwarded-For": f"192.0.2.{i}"}
        attacker.client.environ_base["HTTP_X_FORWARDED_FOR"] = headers["X-Forwarded-For"]
        assert attacker.login(people.support, password="wrong-password-123").status_code == 200
    attacker.client.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.99"
    assert attacker.login(people.support).status_code == 429

    # Behind one trusted proxy, the forwarded address is the client: the attacker is throttled, the
    # user coming through the same proxy is not.
    proxied = create_app(settings=dataclasses.replace(rt.settings, trusted_proxies=1), runtime=rt)
    via_proxy = _from(proxied, PROXY)
    via_proxy.client.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.50"
    for _ in range(5):
        assert via_proxy.login(people.brand_admin, password="wrong-password-123").status_code == 200
    assert via_proxy.login(people.brand_admin).status_code == 429
    user = _from(proxied, PROXY)
    user.client.environ_base["HTTP_X_FORWARDED_FOR"] = USER
    assert user.login(people.brand_admin).status_code == 302


def test_trusted_proxies_is_read_from_the_environment():
    from connector.config import Settings

    assert Settings.from_env({}).trusted_proxies == 0
    assert Settings.from_env({"CONNECTOR_TRUSTED_PROXIES": "1"}).trusted_proxies == 1
    with pytest.raises(ValueError, match="CONNECTOR_TRUSTED_PROXIES must be a whole number"):
        Settings.from_env({"CONNECTOR_TRUSTED_PROXIES": "yes"})


# -- sessions end on the server -----------------------------------------------------------------------------


def test_a_cookie_saved_before_logout_no_longer_signs_in(signed_in, people):
    browser = signed_in(people.support)
    saved = browser.client.get_cookie("session").value
    assert browser.post("/admin/logout").status_code == 302
    browser.client.set_cookie("session", saved, domain="localhost")
    replay = browser.get("/admin/fulfilments")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/admin/login")
    assert flashes(browser.follow(replay), "error") == [SESSION_ENDED]


def test_signing_out_on_one_device_leaves_the_other_signed_in(signed_in, people):
    laptop, phone = signed_in(people.support), signed_in(people.support)
    laptop.post("/admin/logout")
    assert phone.get("/admin/fulfilments").status_code == 200


def test_one_users_sign_out_and_password_change_end_no_one_elses_session(signed_in, people, rt):
    """Sessions are the user's own: another brand's admin signing out, or changing a password, ends none of ours."""
    ours, theirs = signed_in(people.brand_admin), signed_in(people.other_admin)
    theirs.post("/admin/logout")
    with transaction(rt.sessions) as s:
        set_password(s, find_user(s, people.other_admin.email), "another long passphrase", scrypt_n=2**4)
    assert ours.get("/admin/fulfilments").status_code == 200
    assert theirs.get("/admin/fulfilments").status_code == 302


def test_a_session_ends_after_its_absolute_lifetime_however_active(signed_in, people, rt):
    clock = Clock(rt)
    browser = signed_in(people.support)
    for _ in range(11):
        clock.advance(hours=1)
        assert browser.get("/admin/fulfilments").status_code == 200
    clock.advance(hours=1, seconds=1)  # 12 h (the default lifetime) after sign-in
    response = browser.get("/admin/fulfilments")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    assert flashes(browser.follow(response), "error") == [SESSION_ENDED]
    assert browser.login(people.support).status_code == 302  # signing in again starts a new one


def test_the_session_lifetime_is_configurable():
    from connector.config import Settings

    assert Settings.from_env({}).session_lifetime_hours == 12
    assert Settings.from_env({"CONNECTOR_SESSION_LIFETIME_HOURS": "8"}).session_lifetime_hours == 8
    with pytest.raises(ValueError, match="CONNECTOR_SESSION_LIFETIME_HOURS must be a number of hours"):
        Settings.from_env({"CONNECTOR_SESSION_LIFETIME_HOURS": "0"})


def test_the_sign_in_page_speaks_to_every_kind_of_user_who_signs_in_there(client):
    """Retailers and distributors sign in on the same page as brand admins and support; it says so."""
    said = parse(client.get("/admin/login").text).one("p", id="login-audience").text
    for who in ("brand admins", "support", "retailers", "distributors"):
        assert who in said, who
