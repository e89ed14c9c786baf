"""The Distributor Portal reports on PostgreSQL: rows, scope, filters, keyset pages and formula-safe CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connector.core.csv_safe import csv_line, safe_cell
from connector.core.errors import PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import distribution as d
from connector.core.frequent_buyer import distribution_reports as reports
from connector.core.frequent_buyer import paging, programs
from connector.core.frequent_buyer.distribution_reports import ReportName, ReportParams, report_csv, run_report
from tests.frequent_buyer.distribution_fixtures import make_free_good


def _rows(rt, actor, name, **params):
    return run_report(rt, actor, name, ReportParams(**params), limit=500).rows


def _csv(rt, actor, name, **params):
    return list(csv.reader(io.StringIO("".join(report_csv(rt, actor, name, ReportParams(**params))))))


# -- csv_safe ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+15551234", "'+15551234"),
        ("-oops", "'-oops"),
        ("@cmd", "'@cmd"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("plain = fine", "plain = fine"),
        ("", ""),
        (None, ""),
        (-3, "-3"),  # our own numbers cannot carry a formula and stay numbers
        (Decimal("-12.50"), "-12.50"),
        (True, "true"),
        (date(2026, 6, 1), "2026-06-01"),
        (datetime(2026, 6, 1, 12, 30, tzinfo=UTC), "2026-06-01T12:30:00Z"),
    ],
)
def test_safe_cell_neutralises_formula_triggers_in_text(value, cell):
    assert safe_cell(value) == cell


def test_csv_line_quotes_every_cell_and_ends_in_crlf():
    assert csv_line(["a", 'say "hi"', None, 3, "=1+1"]) == '"a","say ""hi""","","3","\'=1+1"\r\n'


# -- participating retailers, enrolled and associated programs ----------------------------------------------------


def test_participating_retailers_are_the_distributors_enrolled_retailers(rt, m):
    north = _rows(rt, m.north_user, "participating-retailers")
    assert [r["retailer"] for r in north] == ["Paws & Claws", "Kibble Corner"]
    paws = north[0]
    assert (paws["account_number"], paws["locations"]) == ("PC-100", 2)
    assert paws["programs"] == "Acme Dog Buy 10 Get 1; Zeta Cat Buy 8 Get 1"  # not the direct program
    assert paws["location_list"] == (
        "Paws Main St (store 001, Burlington VT 05401); Paws East (store 002, Montpelier VT 05602)"
    )
    assert paws["distributors"] == "North Pet Supply" and paws["enrolled_since"] is not None
    assert [r["retailer"] for r in _rows(rt, m.south_user, "participating-retailers")] == ["Southside Pets"]
    assert len(_rows(rt, m.admin, "participating-retailers")) == 3
    assert [r["retailer"] for r in _rows(rt, m.admin, "participating-retailers", distributor_id=m.south)] == [
        "Southside Pets"
    ]
    # A distributor asking for another distributor gets nothing, not the other's retailers.
    assert _rows(rt, m.north_user, "participating-retailers", distributor_id=m.south) == []
    # A brand admin sees the retailers of its brand's programs, with only those programs.
    acme = _rows(rt, m.acme_admin, "participating-retailers")
    assert [r["programs"] for r in acme] == ["Acme Dog Buy 10 Get 1"] * 3


def test_enrolled_and_associated_programs(rt, m):
    enrolled = _rows(rt, m.north_user, "enrolled-programs")
    assert [(r["program"], r["brand"], r["retailers"]) for r in enrolled] == [
        ("Acme Dog Buy 10 Get 1", "Acme Pets", 2),
        ("Zeta Cat Buy 8 Get 1", "Zeta Foods", 1),
    ]
    assert (enrolled[0]["code"], enrolled[0]["buy_quantity"], enrolled[0]["free_quantity"]) == ("ACME-DOG", 10, 1)
    assert [(r["program"], r["retailers"]) for r in _rows(rt, m.south_user, "enrolled-programs")] == [
        ("Acme Dog Buy 10 Get 1", 1)
    ]
    associated = _rows(rt, m.north_user, "associated-programs")
    assert [(r["program"], r["distributors"], r["enrolled_retailers"]) for r in associated] == [
        ("Acme Dog Buy 10 Get 1", "North Pet Supply", 2),
        ("Zeta Cat Buy 8 Get 1", "North Pet Supply", 1),
    ]
    admin = _rows(rt, m.admin, "associated-programs")
    assert admin[0]["distributors"] == "North Pet Supply; South Pet Distribution"
    assert admin[0]["enrolled_retailers"] == 3
    assert [r["program"] for r in _rows(rt, m.admin, "associated-programs", brand_id=m.zeta)] == [
        "Zeta Cat Buy 8 Get 1"
    ]


# -- free goods ---------------------------------------------------------------------------------------------------


def test_free_goods_fulfillment_lists_what_is_still_to_be_credited(rt, m):
    unbatched = make_free_good(rt, m, unit_cost="12.50", quantity=2)
    batched = make_free_good(rt, m)
    held = make_free_good(rt, m)
    credited = make_free_good(rt, m)
    south = make_free_good(rt, m, retailer="southside")
    batch = d.create_batch(rt, m.north_user, [batched], "open week")
    d.hold(rt, m.north_user, [held], "checking")
    done = d.create_batch(rt, m.north_user, [credited], "done")
    d.mark_batch_fulfilled(rt, m.north_user, done.id)

    rows = _rows(rt, m.north_user, "free-goods-fulfillment")
    assert [r["free_good_id"] for r in rows] == [held, batched, unbatched]
    by_id = {r["free_good_id"]: r for r in rows}
    first = by_id[unbatched]
    assert (first["status"], first["retailer"], first["customer"], first["sku"], first["quantity"]) == (
        "unbatched",
        "Paws & Claws",
        "Ada Lovelace",
        "ACME-5LB",
        2,
    )
    assert (first["unit_cost"], first["approximate_cost"]) == (Decimal("12.50"), Decimal("25.00"))
    assert (by_id[batched]["batch_id"], by_id[batched]["batch"]) == (batch.id, "open week")
    assert by_id[held]["reason"] == "checking"
    assert [r["free_good_id"] for r in _rows(rt, m.north_user, "free-goods-fulfillment", status="held")] == [held]
    assert [r["free_good_id"] for r in _rows(rt, m.south_user, "free-goods-fulfillment")] == [south]
    with pytest.raises(ValidationError) as err:
        _rows(rt, m.north_user, "free-goods-fulfillment", status="credited")
    assert "unbatched" in err.value.fields["status"]


def test_free_goods_fulfillment_history_by_brand_and_credit_date(rt, m):
    acme = make_free_good(rt, m, sku="ACME-5LB")
    zeta = make_free_good(rt, m, sku="ZETA-3LB")
    later = make_free_good(rt, m, sku="ACME-15LB")
    make_free_good(rt, m)  # still unbatched: not history
    rt.now = lambda: datetime(2026, 6, 30, 15, 0, tzinfo=UTC)
    june = d.create_batch(rt, m.north_user, [acme, zeta], "June")
    d.mark_batch_fulfilled(rt, m.north_user, june.id)
    group = d.group_for_mfg_credit(rt, m.north_user, [june.id], "Q2")
    rt.now = lambda: datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    july = d.create_batch(rt, m.north_user, [later], "July")
    d.mark_batch_fulfilled(rt, m.north_user, july.id)

    rows = _rows(rt, m.north_user, "free-goods-fulfillment-history")
    assert [(r["free_good_id"], r["status"]) for r in rows] == [
        (later, "credited"),
        (zeta, "grouped"),
        (acme, "grouped"),
    ]
    assert rows[1]["credit_group_id"] == group.id and rows[0]["credit_group_id"] is None
    assert rows[1]["credited_at"] == datetime(2026, 6, 30, 15, 0, tzinfo=UTC)
    june_only = _rows(rt, m.north_user, "free-goods-fulfillment-history", date_to=date(2026, 6, 30))
    assert [r["free_good_id"] for r in june_only] == [zeta, acme]
    july_only = _rows(rt, m.north_user, "free-goods-fulfillment-history", date_from=date(2026, 7, 1))
    assert [r["free_good_id"] for r in july_only] == [later]
    assert [r["free_good_id"] for r in _rows(rt, m.north_user, "free-goods-fulfillment-history", brand_id=m.zeta)] == [
        zeta
    ]
    # The brand admin reads its own brand's history; it cannot act on it (see test_distribution).
    assert [r["free_good_id"] for r in _rows(rt, m.acme_admin, "free-goods-fulfillment-history")] == [later, acme]


def test_search_free_goods_fulfillment(rt, m):
    ada = make_free_good(rt, m, sku="ACME-5LB", redeemed_on=date(2026, 6, 1))
    bob = make_free_good(rt, m, retailer="kibble", sku="ZETA-3LB", redeemed_on=date(2026, 6, 15))
    other = make_free_good(rt, m, sku="ACME-15LB", redeemed_on=date(2026, 6, 20))
    batch = d.create_batch(rt, m.north_user, [other], "batch")

    def search(**kw):
        return sorted(r["free_good_id"] for r in _rows(rt, m.north_user, "search-free-goods-fulfillment", **kw))

    assert search(customer="lovelace") == sorted([ada, other])
    assert search(customer="BOB@example.com") == [bob]
    assert search(customer="(802) 555-0142") == sorted([ada, other])
    assert search(item="acme-5lb") == [ada]
    assert search(item="098765432109") == [bob]
    assert search(item="kibble 15") == [other]
    assert search(batch_id=batch.id) == [other]
    assert search(retailer_id=m.kibble) == [bob]
    assert search(date_from=date(2026, 6, 10), date_to=date(2026, 6, 16)) == [bob]
    assert search(item="100%") == []  # LIKE wildcards are searched for literally
    with pytest.raises(ValidationError) as err:
        search(customer="ada\x00")
    assert err.value.fields == {"customer": "plain text without control characters"}
    assert search(status="batched") == [other]
    assert sorted(r["free_good_id"] for r in _rows(rt, m.south_user, "search-free-goods-fulfillment")) == []


def test_reports_refuse_unknown_names_filters_they_do_not_take_and_retailers(rt, m):
    with pytest.raises(ValidationError) as err:
        run_report(rt, m.north_user, "new-rewards")
    assert "participating-retailers" in err.value.fields["name"]
    with pytest.raises(ValidationError) as err:
        run_report(rt, m.north_user, "participating-retailers", ReportParams(customer="ada"))
    assert "does not filter by customer" in err.value.fields["customer"]
    with pytest.raises(ValidationError):
        run_report(
            rt,
            m.north_user,
            "free-goods-fulfillment",
            ReportParams(date_from=date(2026, 2, 1), date_to=date(2026, 1, 1)),
        )
    with pytest.raises(PermissionDeniedError):
        run_report(rt, m.paws_user, "free-goods-fulfillment")
    with pytest.raises(PermissionDeniedError):
        report_csv(rt, m.paws_user, "free-goods-fulfillment")  # refused before the first line


def test_report_pages_by_keyset(rt, m):
    ids = [make_free_good(rt, m) for _ in range(5)]
    seen, cursor = [], None
    while True:
        page = run_report(rt, m.north_user, ReportName.FREE_GOODS_FULFILLMENT, limit=2, cursor=cursor)
        seen += [r["free_good_id"] for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    with pytest.raises(ValidationError):
        run_report(
            rt, m.north_user, ReportName.ENROLLED_PROGRAMS, cursor=paging.encode_cursor("free-goods-fulfillment", 3)
        )


@pytest.mark.parametrize("name", [ReportName.ENROLLED_PROGRAMS, ReportName.ASSOCIATED_PROGRAMS])
def test_program_reports_page_by_keyset_one_program_at_a_time(rt, m, name):
    everything = [r["program"] for r in _rows(rt, m.north_user, name)]
    seen, cursor = [], None
    while True:
        page = run_report(rt, m.north_user, name, limit=1, cursor=cursor)
        seen += [r["program"] for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == everything == ["Acme Dog Buy 10 Get 1", "Zeta Cat Buy 8 Get 1"]


# -- CSV ----------------------------------------------------------------------------------------------------------


def test_each_report_has_a_csv_with_its_header_and_rows(rt, m):
    make_free_good(rt, m)
    credited = make_free_good(rt, m)
    batch = d.create_batch(rt, m.north_user, [credited], "week")
    d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    (paws_dog,) = programs.list_enrollments(rt, m.paws_user, program_id=m.acme_dog)
    programs.set_account_number(rt, m.paws_user, paws_dog.id, "PC-101")
    for name in ReportName:
        table = _csv(rt, m.north_user, name)
        spec = reports.REPORTS[name]
        assert table[0] == [c.title for c in spec.columns]
        page = run_report(rt, m.north_user, name, limit=500)
        assert len(table) - 1 == len(page.rows), name
        # This market has no dollars-off programs: the rebate reports' rows are tested in test_rebates.py.
        if name not in (ReportName.SEARCH_REBATE_FULFILLMENT, ReportName.REBATE_CREDIT_FULFILLMENT):
            assert page.rows, name
        assert all(len(row) == len(spec.columns) for row in table)
    history = _csv(rt, m.north_user, "free-goods-fulfillment-history")
    header = history[0]
    assert history[1][header.index("Free Good ID")] == str(credited)
    assert history[1][header.index("Batch")] == "week"


def test_csv_cells_that_would_run_as_formulas_are_neutralised(rt, m):
    good = make_free_good(rt, m, description='=HYPERLINK("http://evil.example","click")')
    d.hold(rt, m.north_user, [good], "@SUM(1+1)")
    text = "".join(report_csv(rt, m.north_user, "free-goods-fulfillment"))
    table = list(csv.reader(io.StringIO(text)))
    header, row = table
    assert row[header.index("Description")] == '\'=HYPERLINK("http://evil.example","click")'
    assert row[header.index("Declined/Held Reason")] == "'@SUM(1+1)"
    assert row[header.index("Qty")] == "1"
    assert all(line.startswith('"') for line in text.splitlines())  # every cell quoted


def test_csv_streams_in_keyset_batches_without_losing_or_repeating_rows(rt, m, monkeypatch):
    ids = [make_free_good(rt, m) for _ in range(7)]
    monkeypatch.setattr(reports.runner, "CSV_BATCH", 3)  # the module that streams the CSV
    sessions_opened = []
    real = rt.sessions

    class CountingSessions:
        def __call__(self, *args, **kwargs):
            sessions_opened.append(1)
            return real(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(real, name)

    rt.sessions = CountingSessions()
    lines = report_csv(rt, m.north_user, "free-goods-fulfillment")
    assert sessions_opened == []  # nothing read until the first line is asked for
    table = list(csv.reader(io.StringIO("".join(lines))))
    assert [int(row[0]) for row in table[1:]] == sorted(ids, reverse=True)
    assert len(sessions_opened) == 3  # 3 + 3 + 1 rows: one short session per batch


def test_cli_report_as_text_and_formula_safe_csv(rt, m, tmp_path):
    from click.testing import CliRunner

    from connector.commands.distribution import distribution

    make_free_good(rt, m, description="@SUM(A1)")
    env = {"CONNECTOR_DATABASE_URL": rt.settings.database_url, "CONNECTOR_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    text = runner.invoke(distribution, ["report", "participating-retailers", "--distributor", str(m.north)], env=env)
    assert text.exit_code == 0, text.output
    assert [line.split("\t")[1] for line in text.output.splitlines()] == ["Retailer", "Paws & Claws", "Kibble Corner"]
    exported = runner.invoke(distribution, ["report", "free-goods-fulfillment", "--csv"], env=env)
    table = list(csv.reader(io.StringIO(exported.output)))
    assert table[1][table[0].index("Description")] == "'@SUM(A1)"
    refused = runner.invoke(distribution, ["report", "enrolled-programs", "--customer", "ada"], env=env)
    assert refused.exit_code != 0 and "does not filter by customer" in refused.output
