"""The API tokens page (the secret shown once, revoking) and the Audit log page, per role and per brand."""

from __future__ import annotations

from connector.core.catalog import hash_token
from connector.core.model import Role
from tests.web.admin.conftest import flashes
from tests.web.admin.users_support import audit_rows, state, token_rows, user_row
from tests.web.support import bearer, make_token


def _create(browser, name: str = "warehouse-sync", role: str = "viewer", **extra: str):
    return browser.post("/admin/tokens", {"name": name, "role": role, **extra})


def test_a_token_secret_is_shown_once_and_works_until_revoked(signed_in, people, rt, app, world):
    admin = signed_in(people.brand_admin)
    response = _create(admin)
    assert response.status_code == 201
    from tests.web.admin.dom import parse

    page = parse(response.text)
    secret = page.one("code", id="token-secret").text
    assert secret.startswith("cn_")
    [row] = token_rows(rt)
    assert row.token_hash == hash_token(secret) and (row.role, row.brand_id) == ("viewer", world.brand.id)
    # The API takes it.
    api = app.test_client()
    assert api.get("/api/v1/redemptions", headers=bearer(secret)).status_code == 200
    # Never again: not on the list, not in the audit log, not on any page.
    for url in ("/admin/tokens", "/admin/audit", "/admin/users"):
        assert secret not in admin.get(url).text, url
    assert all(secret not in repr((a.before, a.after)) for a in audit_rows(rt))
    [created] = audit_rows(rt)
    assert created.action == "token.created" and created.after["name"] == "warehouse-sync"
    # Revoked: refused at once; revoking twice writes one row.
    page = admin.follow(admin.post(f"/admin/tokens/{row.id}/revoke"))
    assert "revoked" in flashes(page, "success")[0]
    assert api.get("/api/v1/redemptions", headers=bearer(secret)).status_code == 401
    admin.post(f"/admin/tokens/{row.id}/revoke")
    assert [a.action for a in audit_rows(rt)] == ["token.created", "token.revoked"]


def test_a_brand_admin_sees_and_revokes_only_their_brands_tokens(signed_in, people, rt, world):
    make_token(rt, Role.VIEWER, world.other_brand, name="other")
    make_token(rt, Role.VIEWER, world.brand, name="ours")
    admin = signed_in(people.brand_admin)
    page = admin.page("/admin/tokens")
    names = [
        r.one("td", class_="token-name").text for r in page.one("table", id="tokens").find_all("tr", data_token_id=True)
    ]
    assert names == ["ours"]
    other = next(t for t in token_rows(rt) if t.name == "other")
    before = state(rt)
    assert admin.post(f"/admin/tokens/{other.id}/revoke").status_code == 404
    assert state(rt) == before


def test_a_brand_admin_cannot_make_a_platform_or_other_brand_token(signed_in, people, rt, world):
    admin = signed_in(people.brand_admin)
    before = state(rt)
    for data in ({"role": "platform_admin"}, {"role": "viewer", "brand_id": str(world.other_brand.id)}):
        page = admin.follow(_create(admin, **data))
        assert flashes(page, "error"), data
    assert state(rt) == before


def test_the_audit_log_of_brand_b_shows_none_of_brand_a(signed_in, people, rt, world):
    acme = signed_in(people.brand_admin)
    _create(acme, name="acme-token")
    acme.post(f"/admin/users/{user_row(rt, people.viewer.email).id}/disable")
    other = signed_in(people.other_admin)
    _create(other, name="other-token")
    acme_rows = acme.page("/admin/audit").one("table", id="audit").find_all("tr", data_audit_id=True)
    other_rows = other.page("/admin/audit").one("table", id="audit").find_all("tr", data_audit_id=True)
    assert {r.one("td", class_="audit-target").text for r in acme_rows} == {
        "token acme-token",
        f"user {people.viewer.email}",
    }
    assert [r.one("td", class_="audit-target").text for r in other_rows] == ["token other-token"]
    platform = signed_in(people.platform_admin).page("/admin/audit")
    assert len(platform.one("table", id="audit").find_all("tr", data_audit_id=True)) == 3
    # Who, what, when, before and after are all on the row.
    disabled = next(r for r in acme_rows if r["data-action"] == "user.disabled")
    assert disabled.one("td", class_="audit-actor").text == people.brand_admin.actor_name
    assert "active" in disabled.one("td", class_="audit-before").text
    assert "disabled" in disabled.one("td", class_="audit-after").text
    assert disabled.one("time")["datetime"]
