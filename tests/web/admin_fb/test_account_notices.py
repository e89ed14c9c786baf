"""The account page's notice switches: a user turns their own email notices off and on; others' stay as they are."""

from __future__ import annotations

from sqlalchemy import select

from connector.core.frequent_buyer.notices import notice_preferences
from connector.core.tables import User
from tests.web.admin_fb.conftest import flashes


def _user_id(rt, email: str) -> int:
    with rt.sessions() as s:
        return s.scalar(select(User.id).where(User.email == email))


def test_a_retailer_switches_a_notice_off_and_on_from_the_account_page(signed_in, people, rt, fb_world):
    browser = signed_in(people.retailer)
    page = browser.page("/admin/account")
    assert page.one("a", id="account-link")["href"] == "/admin/account"
    boxes = page.one("form", id="notice-preferences").find_all("input", type="checkbox")
    assert [(b["name"], "checked" in b.attrs) for b in boxes] == [("denials", True), ("credited", True)]
    saved = browser.post("/admin/account/notices", {"denials": "on"})  # credited left unticked
    assert saved.status_code == 303
    again = browser.page("/admin/account")
    assert "off: A batch of your free goods was marked credited" in " ".join(flashes(again, "success"))
    assert "checked" not in again.one("input", id="notice-credited").attrs
    admin = fb_world.actors.platform_admin
    mine = notice_preferences(rt, admin, _user_id(rt, people.retailer.email))
    theirs = notice_preferences(rt, admin, _user_id(rt, people.other_retailer.email))
    assert [p.enabled for p in mine.preferences] == [True, False]
    assert [p.enabled for p in theirs.preferences] == [True, True]  # another retailer's user: untouched
    browser.post("/admin/account/notices", {"denials": "on", "credited": "on"})
    assert all(p.enabled for p in notice_preferences(rt, admin, _user_id(rt, people.retailer.email)).preferences)


def test_a_distributor_sees_the_digest_and_roles_without_notices_see_none(signed_in, people):
    dist = signed_in(people.distributor).page("/admin/account")
    boxes = dist.one("form", id="notice-preferences").find_all("input", type="checkbox")
    assert [b["name"] for b in boxes] == ["new_rewards_digest"]
    assert signed_in(people.support).page("/admin/account").one("p", id="no-notices")
