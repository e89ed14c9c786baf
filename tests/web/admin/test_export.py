"""CSV export, in the console and the API: streamed, filtered like the list, scoped, formula cells defused."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import event

from connector.core import catalog
from connector.core.access import Actor
from connector.core.csv_safe import safe_cell
from connector.core.database import transaction
from connector.core.export import COLUMNS, csv_line, export_csv
from connector.core.model import Role
from connector.core.queries import RedemptionFilter
from connector.core.tables import Redemption
from tests.web.admin.dom import parse
from tests.web.admin.stories import (
    add_member,
    add_reward,
    day,
    failed,
    fulfilled,
    offsets,
    other_brand_redemption,
    redeem,
)
from tests.web.support import bearer

EXPORT = "/admin/fulfilments/export.csv"
API_EXPORT = "/api/v1/redemptions/export.csv"
#: Each starts with a character a spreadsheet reads as a formula (OWASP CSV Injection). Member names are
#: stripped of leading whitespace when shown, so the tab and carriage-return cases ride on reward names.
FORMULA_NAMES = ['=HYPERLINK("http://x","click")', "+1", "-2", "@x"]
FORMULA_REWARDS = ["\tTabbed Tee", "\rReturned Mug"]


def _table(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _codes(rt, *ids) -> list[str]:
    with rt.sessions() as s:
        return [s.get(Redemption, i).code for i in ids]


def test_console_export_is_a_streamed_dated_attachment_of_the_current_filter(signed_in, people, rt, shop, world):
    rt.now = lambda: day(2026, 7, 9)
    older, newer = fulfilled(rt, shop, world, at=day(2026, 7, 1)), fulfilled(rt, shop, world, at=day(2026, 7, 5))
    error = failed(rt, shop, world)
    response = signed_in(people.support).get(f"{EXPORT}?tab=fulfilled")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="fulfilments-fulfilled-2026-07-09.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    rows = _table(response)
    assert list(rows[0]) == list(COLUMNS)
    assert [r["redemption_code"] for r in rows] == _codes(rt, newer, older)  # newest first, like the list
    first = rows[0]
    assert first["name"] == "Ada Lovelace" and first["offer_name"] == "Ambassador T-Shirt"
    assert first["status"] == "fulfilled" and first["delivery_status"] == "unfulfilled"
    assert first["redemption_id"] == str(newer) and first["member_email"] == "ada@example.com"
    assert first["shop_order_id"].startswith("gid://shopify/Order/") and first["date_claimed"] == "2026-07-05T12:00:00Z"
    assert first["instructions"] == "Ships in 5-7 days."
    err = _table(signed_in(people.support).get(f"{EXPORT}?tab=unfulfilled"))
    assert [(r["redemption_id"], r["error_code"]) for r in err] == [(str(error), "product_not_found")]
    assert err[0]["error_fix"].startswith("Verify the SKU")


def test_console_export_applies_search_status_reward_and_dates(signed_in, people, rt, shop, world):
    grace = add_member(rt, world, "Grace", "Hopper", "grace@example.com")
    a = fulfilled(rt, shop, world, at=day(2026, 7, 1))
    b = redeem(rt, shop, member_id=grace, reward_id=world.reward.id, at=day(2026, 7, 3))
    browser = signed_in(people.brand_admin)

    def exported(query: str) -> list[str]:
        return [r["redemption_id"] for r in _table(browser.get(f"{EXPORT}?{query}"))]

    assert exported("tab=fulfilled&q=hopper") == [str(b)]
    assert exported("tab=all&status=fulfilled") == [str(b), str(a)]
    assert exported(f"tab=fulfilled&reward={world.reward.id}&claimed_to=2026-07-02") == [str(a)]
    assert exported("tab=fulfilled&claimed_from=2026-07-02&claimed_to=2026-07-03") == [str(b)]
    assert exported("tab=reversed") == []


def test_console_export_link_downloads_what_the_page_lists(signed_in, people, rt, shop, world):
    ids = [fulfilled(rt, shop, world) for _ in range(3)]
    browser = signed_in(people.support)
    page = browser.page("/admin/fulfilments?tab=fulfilled&q=lovelace")
    listed = [tr["data-redemption-id"] for tr in page.find_all("tr", data_redemption_id=True)]
    exported = [r["redemption_id"] for r in _table(browser.get(page.one("a", id="export-csv")["href"]))]
    assert exported == listed == [str(i) for i in reversed(ids)]


def test_console_export_is_scoped_to_the_users_brand(signed_in, people, rt, shop, world):
    mine, theirs = fulfilled(rt, shop, world), other_brand_redemption(rt, shop, world)
    assert [r["redemption_id"] for r in _table(signed_in(people.brand_admin).get(f"{EXPORT}?tab=all"))] == [str(mine)]
    assert [r["redemption_id"] for r in _table(signed_in(people.other_admin).get(f"{EXPORT}?tab=all"))] == [str(theirs)]
    assert {r["redemption_id"] for r in _table(signed_in(people.support).get(f"{EXPORT}?tab=all"))} == {
        str(mine),
        str(theirs),
    }
    assert signed_in(people.viewer).get(f"{EXPORT}?tab=all").status_code == 200  # reading is allowed


def test_console_export_refuses_party_roles_and_bad_filters_before_streaming(signed_in, people, rt, shop, world):
    fulfilled(rt, shop, world)
    response = signed_in(people.distributor).get(EXPORT)
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "frequent-buyer credits" in parse(response.text).one("main").text  # a page, not a cut-off CSV
    bad = signed_in(people.support).get(f"{EXPORT}?claimed_from=yesterday")
    assert bad.status_code == 422 and "claimed from" in parse(bad.text).one("main").text


@pytest.fixture
def formula_members(rt, shop, world) -> dict[int, tuple[str, str]]:
    """Redemptions whose member or reward name would run as a formula; {redemption id: (column, text)}."""
    made = {}
    for i, name in enumerate(FORMULA_NAMES):
        member = add_member(rt, world, name, 'O"Brien, Jr', f"f{i}@example.com")
        made[redeem(rt, shop, member_id=member, reward_id=world.reward.id)] = ("name", f'{name} O"Brien, Jr')
    for reward_name in FORMULA_REWARDS:
        reward = add_reward(rt, world, reward_name, instructions="-1 to start; =SUM(A1) after")
        made[redeem(rt, shop, member_id=world.member.id, reward_id=reward)] = ("offer_name", reward_name)
    return made


def _assert_defused(response, formula_members) -> None:
    raw = response.get_data(as_text=True)
    rows = _table(response)
    by_id = {int(r["redemption_id"]): r for r in rows}
    for rid, (column, text) in formula_members.items():
        assert by_id[rid][column] == "'" + text, repr(by_id[rid][column])  # quotes and commas survive intact
        if column == "offer_name":
            assert by_id[rid]["instructions"] == "'-1 to start; =SUM(A1) after"
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), repr(cell)
    records = list(csv.reader(io.StringIO(raw)))
    assert len(records) == len(formula_members) + 1
    for line in raw.split("\r\n"):
        if line:
            assert line.startswith('"') and line.endswith('"'), repr(line)  # every cell quoted


def test_console_export_defuses_formula_cells(signed_in, people, formula_members):
    response = signed_in(people.support).get(f"{EXPORT}?tab=fulfilled")
    assert len(_table(response)) == len(FORMULA_NAMES) + len(FORMULA_REWARDS)
    _assert_defused(response, formula_members)


def test_api_export_defuses_formula_cells(client, tokens, formula_members):
    response = client.get(API_EXPORT, query_string={"tab": "fulfilled"}, headers=bearer(tokens.viewer))
    assert response.status_code == 200
    _assert_defused(response, formula_members)


def test_the_formula_names_are_shown_as_text_in_the_page(signed_in, people, formula_members):
    page = signed_in(people.support).page("/admin/fulfilments?tab=fulfilled")
    names = [tr.find_all("td")[1].text for tr in page.find_all("tr", data_redemption_id=True)]
    assert '=HYPERLINK("http://x","click") O"Brien, Jr' in names


# -- the API export ------------------------------------------------------------------------------------------------


def test_api_export_takes_the_same_filters_as_the_list(client, rt, shop, world, tokens):
    grace = add_member(rt, world, "Grace", "Hopper", "grace@example.com")
    a = fulfilled(rt, shop, world, at=day(2026, 7, 1))
    b = redeem(rt, shop, member_id=grace, reward_id=world.reward.id, at=day(2026, 7, 3))
    e = failed(rt, shop, world)
    headers = bearer(tokens.admin)
    for query in (
        {},
        {"tab": "fulfilled"},
        {"tab": "unfulfilled"},
        {"status": "error"},
        {"q": "hopper"},
        {"reward_id": world.reward.id},
        {"claimed_from": "2026-07-02T00:00:00Z"},
        {"claimed_to": "2026-07-02T00:00:00Z", "tab": "fulfilled"},
    ):
        listed = [i["id"] for i in client.get("/api/v1/redemptions", query_string=query, headers=headers).json["items"]]
        response = client.get(API_EXPORT, query_string=query, headers=headers)
        assert response.status_code == 200 and response.is_streamed, query
        assert [int(r["redemption_id"]) for r in _table(response)] == listed, query
    assert {a, b, e} == {int(r["redemption_id"]) for r in _table(client.get(API_EXPORT, headers=headers))}
    disposition = client.get(API_EXPORT, headers=headers).headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="redemptions-') and disposition.endswith('.csv"')


def test_api_export_is_scoped_like_the_list(client, rt, shop, world, tokens):
    mine, theirs = fulfilled(rt, shop, world), other_brand_redemption(rt, shop, world)
    assert [r["redemption_id"] for r in _table(client.get(API_EXPORT, headers=bearer(tokens.admin)))] == [str(mine)]
    assert [r["redemption_id"] for r in _table(client.get(API_EXPORT, headers=bearer(tokens.other_admin)))] == [
        str(theirs)
    ]
    other = _table(client.get(API_EXPORT, query_string={"q": "ada@example.com"}, headers=bearer(tokens.other_admin)))
    assert other == []


def test_api_export_refuses_bad_input_and_missing_tokens_as_json(client, tokens):
    assert client.get(API_EXPORT).status_code == 401
    for query, field in (({"tab": "done"}, "tab"), ({"limit": "10"}, "limit"), ({"cursor": "x"}, "cursor")):
        response = client.get(API_EXPORT, query_string=query, headers=bearer(tokens.viewer))
        assert response.status_code == 422 and field in response.json["error"]["fields"], query
    response = client.get(
        API_EXPORT,
        query_string={"claimed_from": "2026-02-01T00:00:00Z", "claimed_to": "2026-01-01T00:00:00Z"},
        headers=bearer(tokens.viewer),
    )
    assert response.status_code == 422 and "claimed_to" in response.json["error"]["fields"]


def test_api_export_is_in_the_openapi_document_with_the_lists_filters(client):
    document = client.get("/api/v1/openapi.json").json
    export = document["paths"]["/api/v1/redemptions/export.csv"]["get"]
    listing = document["paths"]["/api/v1/redemptions"]["get"]
    export_params = {p["name"] for p in export["parameters"]}
    assert export_params == {"tab", "status", "q", "reward_id", "claimed_from", "claimed_to"}
    assert export_params | {"limit", "cursor"} == {p["name"] for p in listing["parameters"]}
    assert "401" in export["responses"] and "422" in export["responses"]


def test_api_export_refuses_a_party_token_with_403_before_streaming(client, rt, world):
    with transaction(rt.sessions) as s:
        _, token = catalog.create_api_token(s, "dist", Role.DISTRIBUTOR, distributor_id=3)
    response = client.get(API_EXPORT, headers=bearer(token))
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


# -- the core generator --------------------------------------------------------------------------------------------


def test_core_export_reads_in_keyset_batches_without_offset(rt, shop, world):
    ids = [fulfilled(rt, shop, world) for _ in range(5)]
    statements: list[str] = []
    skipped: list[int] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM redemptions" in statement:
            statements.append(statement.upper())
            skipped.extend(offsets(statement, parameters))

    lines = export_csv(rt, Actor("support", Role.SUPPORT), RedemptionFilter(), batch_size=2)
    event.listen(rt.engine, "before_cursor_execute", capture)
    try:
        header = next(lines)
        assert statements == []  # nothing is read before the first row is asked for
        first_batch = [next(lines), next(lines)]
        assert len(statements) == 1  # one batch read, not everything
        rest = list(lines)
    finally:
        event.remove(rt.engine, "before_cursor_execute", capture)
    assert header == csv_line(COLUMNS)
    assert len(statements) == 3 and all("LIMIT" in s for s in statements)
    assert not any(skipped)  # keyset, never a row-skipping OFFSET
    rows = list(csv.DictReader(io.StringIO(header + "".join(first_batch + rest))))
    assert [int(r["redemption_id"]) for r in rows] == list(reversed(ids))


def test_core_export_checks_the_role_when_called_not_when_read(rt):
    with pytest.raises(Exception, match="frequent-buyer credits"):
        export_csv(rt, Actor("dist", Role.DISTRIBUTOR, distributor_id=1), RedemptionFilter())


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Ada", "Ada"),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_neutralise_prefixes_only_formula_starts(value, cell):
    assert safe_cell(value) == cell


def test_csv_line_quotes_every_cell_and_escapes_quotes():
    assert csv_line(['a"b', "c,d", "=x", 1]) == '"a""b","c,d","\'=x","1"\r\n'
