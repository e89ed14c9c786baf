"""Every POST under /admin needs the session's CSRF token; without it: 400, a clear page, nothing changed."""

from __future__ import annotations

import pytest

from tests.web.admin.dom import parse
from tests.web.admin.stories import failed, fulfilled, snapshot

ACTIONS = ["resend", "retry", "reverse", "bulk"]


def _action(name: str, rid: int) -> tuple[str, dict[str, object]]:
    if name == "bulk":
        return "/admin/fulfilments/bulk", {"action": "retry", "ids": [str(rid)]}
    return f"/admin/redemptions/{rid}/{name}", {"cancel_order": "on"} if name == "reverse" else {}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_an_action_without_the_right_token_is_400_and_changes_nothing(
    signed_in, people, rt, shop, world, action, token
):
    # In error, retry, reverse and bulk retry would all succeed; a resend needs a row that is not in error.
    rid = fulfilled(rt, shop, world) if action == "resend" else failed(rt, shop, world)
    browser = signed_in(people.support)
    before = snapshot(rt)
    url, data = _action(action, rid)
    response = browser.post(url, data, csrf=token)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = parse(response.text)
    assert "did not come from this console, so nothing was changed" in page.one("main").text
    assert snapshot(rt) == before
    assert shop.cancelled == []
    # With the token, the same request works: it was the token that was missing.
    assert browser.post(url, data).status_code in (200, 302)
    assert snapshot(rt) != before


def test_a_token_from_another_browsers_session_is_refused(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    mine, theirs = signed_in(people.support), signed_in(people.support)
    before = snapshot(rt)
    response = mine.post(f"/admin/redemptions/{rid}/reverse", {}, csrf=theirs.csrf())
    assert response.status_code == 400 and snapshot(rt) == before


def test_logout_without_the_token_is_refused_and_the_session_stays(signed_in, people):
    browser = signed_in(people.support)
    assert browser.post("/admin/logout", csrf=None).status_code == 400
    assert browser.get("/admin/fulfilments").status_code == 200


def test_login_without_the_token_is_refused_and_signs_nobody_in(console, people):
    response = console.client.post(
        "/admin/login", data={"email": people.support.email, "password": people.support.password}
    )
    assert response.status_code == 400
    assert console.get("/admin/fulfilments").status_code == 302


def test_signing_in_replaces_the_token_seen_before(console, people):
    before = console.csrf()
    console.login(people.support)
    assert console.csrf() != before


def test_every_post_form_on_every_page_carries_the_token(signed_in, people, rt, shop, world):
    error_id = failed(rt, shop, world)
    browser = signed_in(people.support)
    token = browser.csrf()
    pages = ["/admin/fulfilments", f"/admin/redemptions/{error_id}", f"/admin/redemptions/{error_id}/reverse"]
    seen = 0
    for url in pages:
        for form in browser.page(url).find_all("form", method="post"):
            field = form.find("input", name="csrf_token", type="hidden")
            assert field is not None and field["value"] == token, (url, form)
            seen += 1
    assert seen >= 7  # logout x3, bulk, row retry, details retry, reverse (no resend while in error)
