"""What held up in issue 10's attack, kept that way: hostile names never run, hostile searches never widen.

A member and a reward named like script and markup, and searches written like SQL, are walked through
every console page each role can reach by following links (a bounded crawl), and through the API's
search. The pages must escape every name, answer no 500, carry the strict CSP; a search must match
only what it literally says, on its own brand, and change nothing.
"""

from __future__ import annotations

from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import func, select

from connector.core.tables import Member, Redemption
from tests.web.admin.conftest import Console
from tests.web.admin.dom import parse
from tests.web.admin.stories import add_member, add_reward, failed, fulfilled, redeem

SCRIPT = '<script>alert("m")</script>'
IMG = '"><img src=x onerror=alert(1)>'
REWARD = "<svg onload=alert(2)>Tee"
RAW = (SCRIPT, IMG, REWARD, "onerror=alert(1)>", "<svg onload")

#: Links a crawl must not follow: they act (sign out) or stream files, which other tests cover.
_SKIP = ("/admin/logout", ".csv")
_MAX_PAGES = 150


@pytest.fixture
def hostile(rt, shop, world) -> dict[str, int]:
    member = add_member(rt, world, SCRIPT, IMG, "hostile@example.com")
    reward = add_reward(rt, world, REWARD)
    return {
        "member": member,
        "fulfilled": redeem(rt, shop, member_id=member, reward_id=reward),
        "error": failed(rt, shop, world),
        "plain": fulfilled(rt, shop, world),
    }


def _crawl(browser: Console) -> dict[str, int]:
    """GET every console page reachable from /admin by links, breadth first; the status of each."""
    seen: dict[str, int] = {}
    queue = deque(["/admin/fulfilments?tab=all", "/admin"])
    while queue and len(seen) < _MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        response = browser.get(url)
        seen[url] = response.status_code
        assert response.status_code < 500, (url, response.text[:500])
        if response.mimetype != "text/html":
            continue
        for raw in RAW:
            assert raw not in response.text, (url, raw)
        assert "script-src" in response.headers.get("Content-Security-Policy", ""), url
        if response.status_code in (301, 302, 303):
            continue
        for anchor in parse(response.text).find_all("a"):
            href = anchor.get("href")
            if not href:
                continue
            target = urljoin(url, href)
            parts = urlsplit(target)
            if parts.netloc or not parts.path.startswith("/admin") or any(skip in parts.path for skip in _SKIP):
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return seen


@pytest.mark.parametrize("role", ["platform_admin", "support", "brand_admin", "viewer", "other_admin"])
def test_every_reachable_console_page_escapes_hostile_names(signed_in, people, hostile, role):
    seen = _crawl(signed_in(getattr(people, role)))
    assert len(seen) >= 3, seen  # the crawl really walked the console
    if role != "other_admin":
        assert f"/admin/members/{hostile['member']}" in seen or any(
            f"/admin/redemptions/{hostile['fulfilled']}" in url for url in seen
        ), sorted(seen)


INJECTIONS = ["' OR '1'='1", "%", "_", "\\", "'; DROP TABLE members; --", '" OR ""="', "*)(uid=*"]


def _counts(rt) -> tuple[int, int]:
    with rt.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Member)),
            s.scalar(select(func.count()).select_from(Redemption)),
        )


@pytest.mark.parametrize("term", INJECTIONS)
def test_console_search_written_as_sql_matches_nothing_and_changes_nothing(signed_in, people, rt, hostile, term):
    before = _counts(rt)
    browser = signed_in(people.support)
    response = browser.get("/admin/fulfilments", query_string={"tab": "all", "q": term})
    assert response.status_code == 200
    table = parse(response.text).find_all("tr", data_redemption_id=True)
    assert table == [], term
    assert _counts(rt) == before


@pytest.mark.parametrize("term", INJECTIONS)
def test_api_search_written_as_sql_matches_nothing_and_changes_nothing(client, rt, tokens, hostile, term):
    before = _counts(rt)
    response = client.get(
        "/api/v1/redemptions", query_string={"q": term}, headers={"Authorization": f"Bearer {tokens.support}"}
    )
    assert response.status_code == 200, response.text
    assert response.json["items"] == [], term
    assert _counts(rt) == before


def test_a_literal_search_still_finds_its_row(client, tokens, hostile):
    """The injection tests above would pass on a search that finds nothing at all: this one cannot."""
    response = client.get(
        "/api/v1/redemptions",
        query_string={"q": "hostile@example.com"},
        headers={"Authorization": f"Bearer {tokens.support}"},
    )
    assert {item["id"] for item in response.json["items"]} == {hostile["fulfilled"]}
