"""``/api/v1/users``, ``/tokens`` and ``/audit-log``: the console's user administration as JSON, per role and brand."""

from __future__ import annotations

import pytest

from connector.core.catalog import hash_token
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.users import create_user
from tests.web.admin.users_support import audit_rows, link_path, mails_to, state, token_rows, user_row
from tests.web.support import bearer, make_token

NEW = "nina@acme.example"


@pytest.fixture
def platform(rt) -> str:
    return make_token(rt, Role.PLATFORM_ADMIN, name="platform")


@pytest.fixture
def acme_viewer(rt, world) -> int:
    with transaction(rt.sessions) as s:
        return create_user(
            s,
            email="vic@acme.example",
            name="Vic",
            password="correct-horse-battery",
            role=Role.VIEWER,
            brand_id=world.brand.id,
            scrypt_n=rt.settings.password_scrypt_n,
        ).id


@pytest.fixture
def other_viewer(rt, world) -> int:
    with transaction(rt.sessions) as s:
        return create_user(
            s,
            email="ola@other.example",
            name="Ola",
            password="correct-horse-battery",
            role=Role.VIEWER,
            brand_id=world.other_brand.id,
            scrypt_n=rt.settings.password_scrypt_n,
        ).id


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.VIEWER])
def test_roles_that_do_not_manage_users_get_403(client, rt, world, role):
    token = make_token(rt, role, world.brand)
    for url in ("/api/v1/users", "/api/v1/tokens", "/api/v1/audit-log"):
        assert client.get(url, headers=bearer(token)).status_code == 403, url
    assert client.post("/api/v1/users", json={"email": NEW, "role": "viewer"}, headers=bearer(token)).status_code == 403


def test_invite_through_the_api_emails_a_one_time_link(client, rt, world, tokens, app):
    response = client.post(
        "/api/v1/users", json={"email": NEW, "name": "Nina", "role": "support"}, headers=bearer(tokens.admin)
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["user"]["status"] == "invited" and body["user"]["brand_id"] == world.brand.id
    assert body["email_sent"] is True and body["purpose"] == "invite"
    path = link_path(mails_to(rt, NEW)[0])
    browser = app.test_client()
    page = browser.get(path)
    assert page.status_code == 200
    [row] = audit_rows(rt)
    assert row.actor == "token:acme-admin" and row.action == "user.invited"


def test_a_brand_admin_token_sees_and_changes_only_its_brand(client, rt, tokens, acme_viewer, other_viewer):
    listed = client.get("/api/v1/users", headers=bearer(tokens.admin)).json
    assert [u["id"] for u in listed["items"]] == [acme_viewer]
    before = state(rt)
    h = bearer(tokens.admin)
    assert client.get(f"/api/v1/users/{other_viewer}", headers=h).status_code == 404
    assert client.patch(f"/api/v1/users/{other_viewer}", json={"role": "viewer"}, headers=h).status_code == 404
    assert client.post(f"/api/v1/users/{other_viewer}/disable", headers=h).status_code == 404
    assert client.post(f"/api/v1/users/{other_viewer}/password-link", headers=h).status_code == 404
    assert state(rt) == before
    # Nor grant a platform role, nor a role in another brand.
    assert client.patch(f"/api/v1/users/{acme_viewer}", json={"role": "platform_admin"}, headers=h).status_code == 403
    assert (
        client.post("/api/v1/tokens", json={"name": "x", "role": "support", "brand_id": 999}, headers=h).status_code
        == 404
    )
    assert state(rt) == before


def test_change_disable_enable_and_reset_are_audited_once_each(client, rt, world, tokens, acme_viewer):
    h = bearer(tokens.admin)
    changed = client.patch(f"/api/v1/users/{acme_viewer}", json={"role": "support"}, headers=h)
    assert changed.status_code == 200 and changed.json["role"] == "support"
    assert client.patch(f"/api/v1/users/{acme_viewer}", json={"role": "support"}, headers=h).status_code == 200
    assert client.post(f"/api/v1/users/{acme_viewer}/disable", headers=h).json["status"] == "disabled"
    assert client.post(f"/api/v1/users/{acme_viewer}/disable", headers=h).status_code == 200
    assert client.post(f"/api/v1/users/{acme_viewer}/password-link", headers=h).status_code == 409
    assert client.post(f"/api/v1/users/{acme_viewer}/enable", headers=h).json["status"] == "active"
    sent = client.post(f"/api/v1/users/{acme_viewer}/password-link", headers=h)
    assert sent.status_code == 202 and sent.json["purpose"] == "reset"
    assert [a.action for a in audit_rows(rt)] == [
        "user.role_changed",
        "user.disabled",
        "user.enabled",
        "user.password_reset_sent",
    ]
    log = client.get("/api/v1/audit-log", headers=h).json["items"]
    assert [e["action"] for e in log] == [
        "user.password_reset_sent",
        "user.enabled",
        "user.disabled",
        "user.role_changed",
    ]
    assert log[-1]["before"]["role"] == "viewer" and log[-1]["after"]["role"] == "support"
    assert client.get("/api/v1/audit-log", headers=bearer(tokens.other_admin)).json["items"] == []


def test_a_token_secret_is_answered_once(client, rt, world, tokens, platform):
    created = client.post(
        "/api/v1/tokens", json={"name": "erp", "role": "viewer", "brand_id": world.brand.id}, headers=bearer(platform)
    )
    assert created.status_code == 201
    secret, token_id = created.json["secret"], created.json["token"]["id"]
    assert token_rows(rt)[-1].token_hash == hash_token(secret)
    assert client.get("/api/v1/redemptions", headers=bearer(secret)).status_code == 200
    for url in ("/api/v1/tokens", "/api/v1/audit-log", "/api/v1/tokens?limit=500"):
        assert secret not in client.get(url, headers=bearer(platform)).text
    # A brand admin of the same brand sees the token (not its secret); of another brand, not at all.
    assert token_id in [t["id"] for t in client.get("/api/v1/tokens", headers=bearer(tokens.admin)).json["items"]]
    other = client.get("/api/v1/tokens", headers=bearer(tokens.other_admin)).json["items"]
    assert token_id not in [t["id"] for t in other]
    assert client.post(f"/api/v1/tokens/{token_id}/revoke", headers=bearer(tokens.other_admin)).status_code == 404
    revoked = client.post(f"/api/v1/tokens/{token_id}/revoke", headers=bearer(tokens.admin))
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert client.get("/api/v1/redemptions", headers=bearer(secret)).status_code == 401
    assert [a.action for a in audit_rows(rt)] == ["token.created", "token.revoked"]


def test_bad_input_names_the_field_and_changes_nothing(client, rt, tokens):
    before = state(rt)
    bad = client.post("/api/v1/users", json={"email": "nope", "role": "viewer"}, headers=bearer(tokens.admin))
    assert bad.status_code == 422 and "email" in bad.json["error"]["fields"]
    bad = client.post("/api/v1/users", json={"email": NEW, "role": "wizard"}, headers=bearer(tokens.admin))
    assert bad.status_code == 422 and "role" in bad.json["error"]["fields"]
    assert state(rt) == before


def test_invited_users_email_is_unique(client, rt, tokens):
    h = bearer(tokens.admin)
    assert client.post("/api/v1/users", json={"email": NEW, "role": "viewer"}, headers=h).status_code == 201
    assert client.post("/api/v1/users", json={"email": NEW.upper(), "role": "viewer"}, headers=h).status_code == 409
    assert len(mails_to(rt, NEW)) == 1
    assert user_row(rt, NEW).role == "viewer"


def test_the_emailed_link_uses_the_public_url_not_the_requests_host(client, rt, tokens):
    import dataclasses

    rt.settings = dataclasses.replace(rt.settings, public_url="https://connector.example.com")
    response = client.post(
        "/api/v1/users",
        json={"email": NEW, "role": "viewer"},
        headers={**bearer(tokens.admin), "Host": "attacker.example"},
    )
    assert response.status_code == 201
    body = mails_to(rt, NEW)[0].get_body(("plain",)).get_content()
    assert "https://connector.example.com/admin/welcome/" in body and "attacker.example" not in body
