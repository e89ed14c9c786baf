"""The search box: a whole code or email is an index lookup, anything else a substring of name, email, offer or code."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql

from connector.core.access import Actor
from connector.core.model import Role
from connector.core.queries import CODE_SHAPE, EMAIL_SHAPE, RedemptionFilter, filtered, search_condition
from connector.core.redemptions import new_code
from connector.core.tables import Redemption
from tests.web.admin.conftest import row_ids
from tests.web.admin.stories import add_member, add_reward, fulfilled, redeem


@pytest.fixture
def three(rt, shop, world):
    """Ada's tee, Grace's mug and Grace's tee, with Grace's codes."""
    grace = add_member(rt, world, "Grace", "Hopper", "Grace.Hopper@Example.com")
    mug = add_reward(rt, world, "Enamel Mug")
    ids = {
        "ada_tee": fulfilled(rt, shop, world),
        "grace_mug": redeem(rt, shop, member_id=grace, reward_id=mug),
        "grace_tee": redeem(rt, shop, member_id=grace, reward_id=world.reward.id),
    }
    with rt.sessions() as s:
        codes = {story: s.get(Redemption, rid).code for story, rid in ids.items()}  # type: ignore[union-attr]
    return ids, codes


def _search(browser, q: str, tab: str = "all") -> list[int]:
    return row_ids(browser.page(f"/admin/fulfilments?tab={tab}&q={q}"))


def _statements(rt, browser, url: str) -> list[str]:
    """The SQL of the list query (the one that orders by claimed_at) that a page ran."""
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM redemptions" in statement and "ORDER BY redemptions.claimed_at DESC" in statement:
            seen.append(statement)

    event.listen(rt.engine, "before_cursor_execute", capture)
    try:
        browser.page(url)
    finally:
        event.remove(rt.engine, "before_cursor_execute", capture)
    return seen


def test_an_exact_code_finds_that_one_redemption_in_any_case(signed_in, people, three):
    ids, codes = three
    browser = signed_in(people.support)
    code = codes["grace_mug"]
    assert _search(browser, code) == [ids["grace_mug"]]
    assert _search(browser, code.lower()) == [ids["grace_mug"]]
    assert _search(browser, f"%20{code}%20") == [ids["grace_mug"]]  # spaces around a pasted code
    assert _search(browser, code, tab="unfulfilled") == []  # the tab still applies


def test_an_exact_code_is_one_equality_on_the_code_not_a_pattern(signed_in, people, rt, three):
    _, codes = three
    [sql] = _statements(rt, signed_in(people.support), f"/admin/fulfilments?tab=all&q={codes['grace_mug'].lower()}")
    assert "redemptions.code =" in sql and "LIKE" not in sql.upper()


def test_a_partial_code_still_finds_its_redemption(signed_in, people, three):
    ids, codes = three
    browser = signed_in(people.support)
    code = codes["grace_tee"]
    assert ids["grace_tee"] in _search(browser, code[:8])
    assert _search(browser, code[2:].lower()) == [ids["grace_tee"]]  # without the R- prefix, lower case


def test_an_exact_email_finds_the_members_redemptions_in_any_case(signed_in, people, rt, three):
    ids, _ = three
    browser = signed_in(people.support)
    expected = [ids["grace_tee"], ids["grace_mug"]]
    assert _search(browser, "grace.hopper@example.com") == expected
    assert _search(browser, "GRACE.HOPPER@EXAMPLE.COM") == expected
    [sql] = _statements(rt, browser, "/admin/fulfilments?tab=all&q=grace.hopper@example.com")
    assert "lower(members.email) =" in sql and "LIKE" not in sql.upper()


def test_part_of_an_email_a_name_or_an_offer_is_a_substring_search(signed_in, people, three):
    ids, _ = three
    browser = signed_in(people.support)
    assert _search(browser, "grace.hop") == [ids["grace_tee"], ids["grace_mug"]]
    assert _search(browser, "@example.com") == [ids["grace_tee"], ids["grace_mug"], ids["ada_tee"]]
    assert _search(browser, "hopper") == [ids["grace_tee"], ids["grace_mug"]]
    assert _search(browser, "Grace Hopper") == [ids["grace_tee"], ids["grace_mug"]]
    assert _search(browser, "enamel") == [ids["grace_mug"]]
    assert _search(browser, "nobody-by-that-name") == []


def test_a_name_no_code_can_contain_does_not_test_the_codes(signed_in, people, rt, three):
    """A space or an O is in no code, so testing every row's code would only cost a scan of the list."""
    ids, _ = three
    browser = signed_in(people.support)
    [sql] = _statements(rt, browser, "/admin/fulfilments?tab=all&q=Grace%20Hopper")
    assert "redemptions.code" not in sql.split("WHERE", 1)[1]
    assert _search(browser, "Grace Hopper") == [ids["grace_tee"], ids["grace_mug"]]


def test_a_term_that_matches_no_member_reward_or_code_reads_no_redemption(signed_in, people, rt, three):
    browser = signed_in(people.support)
    [sql] = _statements(rt, browser, "/admin/fulfilments?tab=all&q=nobody%20by%20that%20name")
    assert "false" in sql.lower() or "1 != 1" in sql or "0 = 1" in sql, sql
    assert _search(browser, "nobody by that name") == []


def test_like_wildcards_in_a_search_are_matched_literally(signed_in, people, rt, shop, world, three):
    ids, _ = three
    member = add_member(rt, world, "Percy", "100%_Sure", "percy@example.com")
    percy = redeem(rt, shop, member_id=member, reward_id=world.reward.id)
    browser = signed_in(people.support)
    assert _search(browser, "%25") == [percy]  # "%" itself, URL-encoded
    assert _search(browser, "0%25_s") == [percy]
    assert _search(browser, "_") == [percy]
    assert ids["ada_tee"] not in _search(browser, "%25")


def test_the_code_shape_is_the_shape_new_codes_have():
    assert all(CODE_SHAPE.fullmatch(new_code()) for _ in range(200))
    for not_a_code in ("R-ABC", "R-ABCDEFGHJK2", "X-ABCDEFGHJK", "R-ABCDEFGHIO", "ABCDEFGHJK"):
        assert not CODE_SHAPE.fullmatch(not_a_code), not_a_code
    assert EMAIL_SHAPE.fullmatch("ada@example.com")
    for not_an_email in ("ada@", "@example.com", "ada@example", "ada lovelace@example.com"):
        assert not EMAIL_SHAPE.fullmatch(not_an_email), not_an_email


def _plan(rt, term: str) -> str:
    """PostgreSQL's plan for the list query, with sequential scans priced out (the test tables are tiny)."""
    q = filtered(Actor("support", Role.SUPPORT), RedemptionFilter(search=term)).order_by(Redemption.claimed_at.desc())
    sql = str(q.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})).replace("%%", "%")
    with rt.engine.connect() as c:
        c.execute(text("SET LOCAL enable_seqscan = off"))
        return "\n".join(row[0] for row in c.execute(text("EXPLAIN " + sql.replace(":", r"\:"))))


def test_postgresql_serves_each_search_path_from_its_index(rt, three):
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("expression and trigram indexes are PostgreSQL's; SQLite searches the same way without them")
    _, codes = three
    with rt.engine.connect() as c:
        trigram = c.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_members_name_trgm'"))
    assert "redemptions_code_key" in _plan(rt, codes["grace_mug"].lower())
    assert "ix_members_email_lower" in _plan(rt, "Grace.Hopper@example.com")
    if not trigram:
        pytest.skip("this PostgreSQL has no pg_trgm, so migration 0004 left out the trigram indexes")
    # The model's index expression and queries.MEMBER_NAME_SEARCH must stay the same expression.
    assert "ix_members_name_trgm" in _plan(rt, "hopp")
    assert "ix_members_email_trgm" in _plan(rt, "hopp")


def test_the_search_ignores_surrounding_space_and_an_empty_term():
    support = Actor("support", Role.SUPPORT)
    assert "redemptions.code =" in str(filtered(support, RedemptionFilter(search="  r-abcdefghjk ")))
    assert str(search_condition("R-ABCDEFGHJK")) == str(search_condition("r-abcdefghjk"))
    assert "LIKE" not in str(filtered(support, RedemptionFilter(search="   "))).upper()
