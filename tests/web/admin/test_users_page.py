"""The Users page: invite, accept, change role, disable, reset, per role and per brand.

Real database, real sign-in and CSRF, and the real outbox mailer: an invitation is read from the
``.eml`` file the connector wrote, and its link opened as the invited person would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from connector.core.model import Role
from tests.web.admin.conftest import Console, Person, flashes
from tests.web.admin.dom import parse
from tests.web.admin.users_support import (
    audit_rows,
    link_path,
    link_rows,
    mails_to,
    state,
    token_rows,
    user_row,
)

NEW = "nina@acme.example"
NEW_PASSWORD = "a long enough passphrase"


def _invite(browser: Console, email: str = NEW, role: str = "viewer", **extra: str):
    return browser.post("/admin/users/invite", {"email": email, "name": "Nina", "role": role, **extra})


# -- who sees the page -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["support", "viewer", "global_viewer", "distributor", "retailer"])
def test_roles_that_do_not_manage_users_get_403_and_no_nav_link(signed_in, people, who):
    browser = signed_in(getattr(people, who))
    for url in ("/admin/users", "/admin/tokens", "/admin/audit"):
        assert browser.get(url).status_code == 403, url
    home = browser.client.get("/admin/", follow_redirects=True)
    assert home.status_code == 200
    nav = parse(home.text).find("nav")
    labels = nav.text if nav is not None else ""
    assert "Users" not in labels and "API tokens" not in labels and "Audit log" not in labels


def test_a_platform_admin_sees_every_user_and_the_nav_links(signed_in, people):
    page = signed_in(people.platform_admin).page("/admin/users")
    emails = {row.one("a").text for row in page.one("table", id="users").find_all("tr", data_user_id=True)}
    assert emails == {getattr(people, f).email for f in vars(people)}
    nav = page.one("nav").text
    assert "Users" in nav and "API tokens" in nav and "Audit log" in nav


def test_a_brand_admin_sees_only_their_brands_users(signed_in, people):
    page = signed_in(people.brand_admin).page("/admin/users")
    emails = {row.one("a").text for row in page.one("table", id="users").find_all("tr", data_user_id=True)}
    assert emails == {people.brand_admin.email, people.viewer.email}
    roles = [o["value"] for o in page.one("select", id="invite-role").find_all("option")]
    assert roles == ["brand_admin", "support", "viewer"]
    assert page.find("select", id="invite-brand") is None


def test_a_brand_admin_cannot_open_or_change_another_brands_user(signed_in, people, rt):
    browser = signed_in(people.brand_admin)
    other = user_row(rt, people.other_admin.email)
    before = state(rt)
    assert browser.get(f"/admin/users/{other.id}").status_code == 404
    for action, data in (("role", {"role": "viewer"}), ("disable", {}), ("enable", {}), ("send-link", {})):
        assert browser.post(f"/admin/users/{other.id}/{action}", data).status_code == 404, action
    assert state(rt) == before


# -- invite → accept → sign in ---------------------------------------------------------------------------


def test_an_invitation_is_emailed_once_and_its_link_sets_the_password_once(signed_in, people, rt, app):
    admin = signed_in(people.brand_admin)
    page = admin.follow(_invite(admin))
    assert "Invitation sent to nina@acme.example" in flashes(page, "success")[0]
    assert page.one("dd", class_="user-status").text == "invited"
    [mail] = mails_to(rt, NEW)
    assert mail["Subject"] == "You are invited to the connector console"
    path = link_path(mail)
    token = path.rsplit("/", 1)[1]
    # Only the hash is stored; the audit row names no secret.
    assert all(token not in (link.token_digest or "") for link in link_rows(rt))
    assert all(token not in repr((a.before, a.after)) for a in audit_rows(rt))
    invited = user_row(rt, NEW)
    assert (invited.role, invited.brand_id) == ("viewer", user_row(rt, people.brand_admin.email).brand_id)

    nina = Console(app)
    form = nina.page(path)
    assert "nina@acme.example" in form.one("section", id="welcome").text
    # A short password follows the usual rules and leaves the link usable.
    short = nina.post(path, {"password": "short", "password_again": "short"})
    assert short.status_code == 422 and "at least 10 characters" in parse(short.text).text
    done = nina.post(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/login")
    # Used once: the second time it is refused, and the password stays the one first set.
    hash_after = user_row(rt, NEW).password_hash
    again = Console(app).post(path, {"password": "another passphrase!", "password_again": "another passphrase!"})
    assert again.status_code == 410 and "already used" in parse(again.text).text
    assert user_row(rt, NEW).password_hash == hash_after
    signed = Console(app).login(Person(NEW, Role.VIEWER, NEW_PASSWORD))
    assert signed.status_code == 302
    actions = [a.action for a in audit_rows(rt)]
    assert actions == ["user.invited", "user.invitation_accepted"]
    accepted = audit_rows(rt)[-1]
    assert accepted.actor == f"user:{NEW}" and accepted.after == {"status": "active"}


def test_an_expired_link_is_refused(signed_in, people, rt, app, settings):
    admin = signed_in(people.platform_admin)
    _invite(admin)
    path = link_path(mails_to(rt, NEW)[0])
    later = rt.now() + timedelta(days=3, seconds=1)
    rt.now = lambda: later  # type: ignore[method-assign]
    response = Console(app).post(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert response.status_code == 410 and "expired" in parse(response.text).text
    assert user_row(rt, NEW).password_hash == "!invited"


def test_sending_again_replaces_the_old_link(signed_in, people, rt, app):
    admin = signed_in(people.platform_admin)
    _invite(admin)
    first = link_path(mails_to(rt, NEW)[0])
    uid = user_row(rt, NEW).id
    admin.post(f"/admin/users/{uid}/send-link")
    second = link_path(mails_to(rt, NEW)[1])
    assert Console(app).get(first).status_code == 410
    assert Console(app).get(second).status_code == 200


def test_inviting_an_existing_email_twice_makes_one_user(signed_in, people, rt):
    admin = signed_in(people.platform_admin)
    _invite(admin)
    page = admin.follow(_invite(admin))
    assert "already exists" in flashes(page, "error")[0]
    assert len(mails_to(rt, NEW)) == 1
    assert [a.action for a in audit_rows(rt)] == ["user.invited"]


# -- what a brand admin may grant ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["platform_admin", "distributor", "retailer"])
def test_a_brand_admin_cannot_grant_platform_or_party_roles(signed_in, people, rt, role):
    admin = signed_in(people.brand_admin)
    before = state(rt)
    page = admin.follow(_invite(admin, role=role, distributor_id="1", retailer_id="1"))
    assert flashes(page, "error")
    assert state(rt) == before and mails_to(rt, NEW) == []


def test_a_brand_admin_cannot_invite_into_another_brand(signed_in, people, rt, world):
    admin = signed_in(people.brand_admin)
    before = state(rt)
    page = admin.follow(_invite(admin, role="brand_admin", brand_id=str(world.other_brand.id)))
    assert flashes(page, "error") and state(rt) == before


def test_support_invited_by_a_brand_admin_is_pinned_to_the_brand(signed_in, people, rt, world):
    admin = signed_in(people.brand_admin)
    _invite(admin, role="support")
    assert user_row(rt, NEW).brand_id == world.brand.id


# -- role, disable, reset --------------------------------------------------------------------------------


def test_changing_a_role_is_audited_with_before_and_after(signed_in, people, rt, world):
    admin = signed_in(people.brand_admin)
    viewer = user_row(rt, people.viewer.email)
    page = admin.follow(admin.post(f"/admin/users/{viewer.id}/role", {"role": "brand_admin"}))
    assert page.one("dd", class_="user-role").text == "brand admin"
    [row] = audit_rows(rt)
    assert row.action == "user.role_changed" and row.actor == people.brand_admin.actor_name
    assert row.before["role"] == "viewer" and row.after["role"] == "brand_admin"
    assert row.brand_id == world.brand.id
    # The same change again changes nothing and writes nothing.
    admin.post(f"/admin/users/{viewer.id}/role", {"role": "brand_admin"})
    assert len(audit_rows(rt)) == 1
    # The history on the user's page shows it.
    assert "user: role changed" in admin.page(f"/admin/users/{viewer.id}").one("table", id="user-history").text


def test_no_one_changes_or_disables_themselves(signed_in, people, rt):
    admin = signed_in(people.brand_admin)
    me = user_row(rt, people.brand_admin.email)
    before = state(rt)
    page = admin.follow(admin.post(f"/admin/users/{me.id}/disable"))
    assert "your own account" in flashes(page, "error")[0]
    admin.post(f"/admin/users/{me.id}/role", {"role": "viewer"})
    assert state(rt) == before


def test_disabling_ends_the_users_sessions_at_once(signed_in, people, rt):
    viewer = signed_in(people.viewer)
    assert viewer.get("/admin/fulfilments").status_code == 200
    admin = signed_in(people.brand_admin)
    uid = user_row(rt, people.viewer.email).id
    admin.post(f"/admin/users/{uid}/disable")
    assert viewer.get("/admin/fulfilments").status_code == 302
    assert viewer.login(people.viewer).status_code == 200  # the sign-in form again: refused
    assert [a.action for a in audit_rows(rt)] == ["user.disabled"]
    admin.post(f"/admin/users/{uid}/disable")  # twice: one row
    admin.post(f"/admin/users/{uid}/enable")
    assert [a.action for a in audit_rows(rt)] == ["user.disabled", "user.enabled"]
    assert viewer.login(people.viewer).status_code == 302


def test_a_reset_link_sets_a_new_password_and_ends_old_sessions(signed_in, people, rt, app):
    viewer = signed_in(people.viewer)
    admin = signed_in(people.brand_admin)
    uid = user_row(rt, people.viewer.email).id
    page = admin.follow(admin.post(f"/admin/users/{uid}/send-link"))
    assert "Password-reset link sent" in flashes(page, "success")[0]
    [mail] = mails_to(rt, people.viewer.email)
    path = link_path(mail)
    assert Console(app).post(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}).status_code == 302
    assert viewer.get("/admin/fulfilments").status_code == 302
    assert Console(app).post(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}).status_code == 410
    assert [a.action for a in audit_rows(rt)] == ["user.password_reset_sent", "user.password_reset"]


def test_disabling_voids_pending_links(signed_in, people, rt, app):
    admin = signed_in(people.platform_admin)
    _invite(admin)
    path = link_path(mails_to(rt, NEW)[0])
    admin.post(f"/admin/users/{user_row(rt, NEW).id}/disable")
    assert Console(app).get(path).status_code == 410


def test_a_platform_admin_makes_distributor_users(signed_in, people, rt):
    from connector.core.database import transaction
    from connector.core.frequent_buyer.tables import Distributor

    with transaction(rt.sessions) as s:
        d = Distributor(name="Dist", slug="dist")
        s.add(d)
        s.flush()
        did = d.id
    admin = signed_in(people.platform_admin)
    admin.follow(_invite(admin, role="distributor", distributor_id=str(did)))
    assert user_row(rt, NEW).distributor_id == did


# -- CSRF on every form ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["invite", "role", "disable", "enable", "send-link", "token", "revoke", "welcome"])
def test_every_form_needs_the_csrf_token(signed_in, people, rt, app, action):
    admin = signed_in(people.platform_admin)
    viewer_id = user_row(rt, people.viewer.email).id
    admin.post("/admin/tokens", {"name": "t", "role": "viewer"})
    _invite(admin, email="x@acme.example")
    welcome = link_path(mails_to(rt, "x@acme.example")[0])
    token_id = token_rows(rt)[0].id
    url, data = {
        "invite": ("/admin/users/invite", {"email": NEW, "role": "viewer"}),
        "role": (f"/admin/users/{viewer_id}/role", {"role": "brand_admin"}),
        "disable": (f"/admin/users/{viewer_id}/disable", {}),
        "enable": (f"/admin/users/{viewer_id}/enable", {}),
        "send-link": (f"/admin/users/{viewer_id}/send-link", {}),
        "token": ("/admin/tokens", {"name": "t2", "role": "viewer"}),
        "revoke": (f"/admin/tokens/{token_id}/revoke", {}),
        "welcome": (welcome, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}),
    }[action]
    before = state(rt)
    response = admin.post(url, data, csrf="not-the-token")
    assert response.status_code == 400
    assert state(rt) == before


def test_a_refused_email_is_said_on_the_page_and_sending_again_works(signed_in, people, rt):
    from connector.mail import SmtpMailer
    from tests.core.test_user_links import _closed_port

    working, rt.mailer = rt.mailer, SmtpMailer(f"smtp://127.0.0.1:{_closed_port()}", rt.settings.mail_from, timeout=5)
    admin = signed_in(people.platform_admin)
    page = admin.follow(_invite(admin))
    [error] = flashes(page, "error")
    assert "could not be sent" in error and "CONNECTOR_SMTP_URL" in error
    assert page.one("dd", class_="user-status").text == "invited"
    rt.mailer = working
    page = admin.follow(admin.post(f"/admin/users/{user_row(rt, NEW).id}/send-link"))
    assert "Invitation sent" in flashes(page, "success")[0]
    assert len(mails_to(rt, NEW)) == 1
