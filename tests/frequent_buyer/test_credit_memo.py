"""Importing a distributor's credit memo CSV and comparing it with the credited batch, on PostgreSQL."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from connector.core.errors import IllegalTransitionError, NotFoundError, PermissionDeniedError
from connector.core.frequent_buyer import distribution as d
from connector.core.frequent_buyer.credit_memo import (
    CreditMemoRejected,
    get_credit_memo,
    import_credit_memo,
    list_credit_memos,
    parse_credit_memo,
)
from connector.core.frequent_buyer.credit_status import reconcile_batch
from connector.core.frequent_buyer.tables import CreditMemo, CreditMemoLine
from tests.frequent_buyer.distribution_fixtures import (
    batch_row,
    count,
    events,
    make_free_good,
    snapshot,
)
from tests.reliability.concurrency import release_together


@pytest.fixture
def batch(rt, m):
    """A credited Paws batch: ACME-5LB 2+1 at 12.50, ZETA-3LB 3 at the price list's 7.25, ACME-15LB 1 (no cost)."""
    ids = [
        make_free_good(rt, m, sku="ACME-5LB", quantity=2, unit_cost="12.50"),
        make_free_good(rt, m, sku="ACME-5LB", quantity=1, unit_cost="12.50"),
        make_free_good(rt, m, sku="ZETA-3LB", quantity=3),
        make_free_good(rt, m, sku="ACME-15LB", quantity=1),
    ]
    view = d.create_batch(rt, m.north_user, ids, "Paws June")
    return d.mark_batch_fulfilled(rt, m.north_user, view.id)


MATCHING = (
    "SKU,Description,Qty,Amount\r\n"
    "ACME-5LB,Acme Dog Kibble 5 lb,3,37.50\r\n"
    "zeta-3lb ,Zeta Cat Chow 3 lb,3,$21.75\r\n"
    "ACME-15LB,Acme Dog Kibble 15 lb,1,\r\n"
)


def _memo(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


def _outcomes(result):
    return [(line.sku, line.outcome) for line in result.lines]


def test_a_matching_memo_is_stored_and_may_reconcile_the_batch(rt, m, batch):
    result = import_credit_memo(rt, m.paws_user, batch.id, _memo(MATCHING), "cm-1001.csv", reconcile_if_matched=True)
    assert result.matches and result.reconciled and not result.duplicate
    assert _outcomes(result) == [("ACME-5LB", "matched"), ("ZETA-3LB", "matched"), ("ACME-15LB", "matched")]
    five = result.lines[0]
    assert (five.row, five.quantity, five.amount, five.expected_quantity, five.expected_amount) == (
        2,
        3,
        Decimal("37.50"),
        3,
        Decimal("37.50"),
    )
    assert result.outcomes == {
        "matched": 3,
        "quantity_differs": 0,
        "amount_differs": 0,
        "not_in_batch": 0,
        "missing_from_memo": 0,
    }
    row = batch_row(rt, batch.id)
    assert row.reconciled_by == "paws-manager" and result.batch_reconciled_at == row.reconciled_at
    reconcile = [e for e in events(rt, "batch", batch.id) if e.event == "reconcile"]
    assert [e.detail for e in reconcile] == [f"credit memo cm-1001.csv (memo {result.memo_id}) matched the batch"]
    assert count(rt, CreditMemo) == 1 and count(rt, CreditMemoLine) == 3


def test_a_matching_memo_does_not_reconcile_unless_asked(rt, m, batch):
    result = import_credit_memo(rt, m.paws_user, batch.id, _memo(MATCHING), "cm.csv")
    assert result.matches and not result.reconciled and batch_row(rt, batch.id).reconciled_at is None


def test_every_outcome_of_a_memo_that_does_not_match(rt, m, batch):
    memo = (
        "sku,qty,amount\n"
        "ACME-5LB,2,25.00\n"  # rows 2 and 5 are added up: 3 at 37.50, matched
        "ZETA-3LB,3,20.00\n"  # quantities agree, amount differs from 3 x 7.25
        "TREAT-1LB,1,4.00\n"  # not in the batch
        "ACME-5LB,1,12.50\n"
    )  # ACME-15LB is in the batch but not on the memo
    result = import_credit_memo(rt, m.paws_user, batch.id, _memo(memo), "cm.csv", reconcile_if_matched=True)
    assert not result.matches and not result.reconciled
    assert _outcomes(result) == [
        ("ACME-5LB", "matched"),
        ("ZETA-3LB", "amount_differs"),
        ("TREAT-1LB", "not_in_batch"),
        ("ACME-15LB", "missing_from_memo"),
    ]
    by_sku = {line.sku: line for line in result.lines}
    assert by_sku["ACME-5LB"].detail == "rows 2, 5 added up"
    assert by_sku["ZETA-3LB"].detail == "the memo credits 20.00, expected 21.75 (3 at 7.25)"
    assert (by_sku["TREAT-1LB"].row, by_sku["TREAT-1LB"].expected_quantity) == (4, None)
    missing = by_sku["ACME-15LB"]
    assert (missing.row, missing.quantity, missing.expected_quantity, missing.expected_amount) == (None, None, 1, None)
    assert batch_row(rt, batch.id).reconciled_at is None

    qty_memo = "SKU,Qty\nACME-5LB,4\nZETA-3LB,3\nACME-15LB,1\n"
    qty = import_credit_memo(rt, m.paws_user, batch.id, _memo(qty_memo), "cm2.csv")
    assert _outcomes(qty)[0] == ("ACME-5LB", "quantity_differs")
    assert qty.lines[0].detail == "the memo credits 4, the batch has 3"
    stored = get_credit_memo(rt, m.paws_user, result.memo_id)
    assert _outcomes(stored) == _outcomes(result) and stored.lines == result.lines
    assert [c.memo_id for c in list_credit_memos(rt, m.paws_user, batch.id)] == [result.memo_id, qty.memo_id]


def test_amounts_in_accounting_formats_and_amounts_that_cannot_be_checked(rt, m, batch):
    memo = (
        "Item Number,Item Description,Quantity,Credit Amount\n"
        'ACME-5LB,"Kibble, 5 lb",3,(37.50)\n'
        "ZETA-3LB,Chow,3,-$21.75\n"
        "ACME-15LB,Kibble 15,1,$1.00\n"  # no cost known for ACME-15LB: the amount is not checked
    )
    result = import_credit_memo(rt, m.paws_user, batch.id, _memo(memo), "cm.csv")
    assert result.matches
    assert result.lines[2].detail == "amount not checked: no cost is known for every free good of this SKU"
    assert parse_credit_memo(_memo('SKU,Qty,Amount\nX,1,"$1,012.50"\n'), "f").lines[0].amount == Decimal("1012.50")


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        ("", "row 1, column (header)", "a header row like"),
        ("SKU,Qty,Ammount\nACME-5LB,3,37.50\n", "row 1, column Ammount", "one of the columns"),
        ("SKU,Description\nACME-5LB,x\n", "row 1, column Qty", "SKU and Qty are required"),
        ("SKU,Qty,qty\nACME-5LB,3,3\n", "row 1, column qty", "the Qty column once"),
        ("SKU,Qty\n", "row 2, column (row)", "at least one credited item"),
        ("SKU,Qty\nACME-5LB,two\n", "row 2, column Qty", "a whole number of at least 1"),
        ("SKU,Qty\nACME-5LB,0\n", "row 2, column Qty", "a whole number of at least 1"),
        ("SKU,Qty\nACME-5LB,1.5\n", "row 2, column Qty", "a whole number of at least 1"),
        ("SKU,Qty\n,3\n", "row 2, column SKU", "the item's SKU"),
        ("SKU,Qty,Amount\nACME-5LB,3,12.345\n", "row 2, column Amount", "an amount like 12.50"),
        ("SKU,Qty,Amount\nACME-5LB,3,12 dollars\n", "row 2, column Amount", "an amount like 12.50"),
        ("SKU,Qty\nACME-5LB\n", "row 2, column (row)", "2 cells, one per header column"),
        ("SKU,Qty\nACME-5LB,3,extra\n", "row 2, column (row)", "2 cells, one per header column"),
    ],
)
def test_a_malformed_memo_is_rejected_precisely_and_stores_nothing(rt, m, batch, text, where, expected):
    before = snapshot(rt)
    with pytest.raises(CreditMemoRejected) as err:
        import_credit_memo(rt, m.paws_user, batch.id, _memo(text), "bad.csv", reconcile_if_matched=True)
    assert err.value.code == "credit_memo_rejected" and err.value.status_code == 422
    assert where in err.value.fields, err.value.fields
    assert expected in err.value.fields[where]
    assert "nothing was stored" in err.value.message
    assert snapshot(rt) == before


def test_every_problem_of_a_file_is_reported_at_once_and_non_utf8_is_located(rt, m, batch):
    text = "SKU,Qty,Amount\nACME-5LB,x,1.00\n,3,abc\n\nZETA-3LB,3,2.00\n"
    with pytest.raises(CreditMemoRejected) as err:
        parse_credit_memo(_memo(text), "f.csv")
    assert [(p.row, p.column) for p in err.value.problems] == [(2, "Qty"), (3, "SKU"), (3, "Amount")]
    latin1 = "SKU,Qty\nCAFÉ-1,1\n".encode("latin-1")
    with pytest.raises(CreditMemoRejected) as err:
        import_credit_memo(rt, m.paws_user, batch.id, io.BytesIO(latin1), "latin1.csv")
    (problem,) = err.value.problems
    assert (problem.row, problem.column, problem.expected) == (2, "(file)", "UTF-8 text (save as CSV UTF-8)")
    with pytest.raises(CreditMemoRejected) as err:
        parse_credit_memo(_memo("SKU,Qty\nACME-5LB,3\nZETA\x00,1\n"), "nul.csv")
    assert [(p.row, p.column, p.expected) for p in err.value.problems] == [
        (3, "SKU", "text without control characters (such as NUL)")
    ]
    bom = "\ufeffSKU,Qty\nACME-5LB,3\n".encode()
    assert parse_credit_memo(io.BytesIO(bom), "bom.csv").lines[0].sku == "ACME-5LB"
    assert count(rt, CreditMemo) == 0


def test_the_same_memo_twice_for_the_same_batch_imports_once(rt, m, batch):
    first = import_credit_memo(rt, m.paws_user, batch.id, _memo(MATCHING), "cm.csv", reconcile_if_matched=True)
    again = import_credit_memo(rt, m.paws_user, batch.id, _memo(MATCHING), "cm (1).csv", reconcile_if_matched=True)
    assert again.duplicate and again.memo_id == first.memo_id and again.filename == "cm.csv"
    assert not again.reconciled and again.batch_reconciled_at == first.batch_reconciled_at
    assert count(rt, CreditMemo) == 1 and count(rt, CreditMemoLine) == 3
    assert [e.event for e in events(rt, "batch", batch.id)].count("reconcile") == 1
    # A different file (another memo for the same batch) is a new import; the batch stays reconciled once.
    other = import_credit_memo(rt, m.paws_user, batch.id, _memo(MATCHING + "\n"), "cm2.csv", reconcile_if_matched=True)
    assert not other.duplicate and other.matches and not other.reconciled
    assert count(rt, CreditMemo) == 2
    assert [e.event for e in events(rt, "batch", batch.id)].count("reconcile") == 1


def test_concurrent_uploads_of_the_same_memo_store_one(rt, m, batch):
    upload = lambda: import_credit_memo(rt, m.paws_user, batch.id, _memo(MATCHING), "cm.csv")  # noqa: E731
    results = [o.error or o.value for o in release_together([upload] * 3)]
    assert sorted(r.duplicate for r in results) == [False, True, True], results
    assert len({r.memo_id for r in results}) == 1 and count(rt, CreditMemo) == 1


def test_a_memo_for_an_unfulfilled_batch_is_refused_and_stores_nothing(rt, m):
    open_batch = d.create_batch(rt, m.north_user, [make_free_good(rt, m)], "open")
    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError) as err:
        import_credit_memo(rt, m.paws_user, open_batch.id, _memo("SKU,Qty\nACME-5LB,1\n"), "cm.csv")
    assert err.value.details == {"current": "unfulfilled", "event": "import_credit_memo"}
    assert snapshot(rt) == before


def test_memo_scoping(rt, m, batch):
    before = snapshot(rt)
    with pytest.raises(NotFoundError):
        import_credit_memo(rt, m.kibble_user, batch.id, _memo(MATCHING), "cm.csv")
    for actor in (m.north_user, m.support, m.acme_admin):
        with pytest.raises(PermissionDeniedError):
            import_credit_memo(rt, actor, batch.id, _memo(MATCHING), "cm.csv")
    assert snapshot(rt) == before
    memo = import_credit_memo(rt, m.paws_user, batch.id, _memo(MATCHING), "cm.csv")
    assert get_credit_memo(rt, m.north_user, memo.memo_id).matches  # the distributor sees its batch's memos
    assert get_credit_memo(rt, m.support, memo.memo_id).memo_id == memo.memo_id
    for actor in (m.kibble_user, m.south_user):
        with pytest.raises(NotFoundError):
            get_credit_memo(rt, actor, memo.memo_id)
        with pytest.raises(NotFoundError):
            list_credit_memos(rt, actor, batch.id)
    with pytest.raises(PermissionDeniedError):
        get_credit_memo(rt, m.acme_admin, memo.memo_id)


def test_reconcile_if_matched_on_an_already_reconciled_batch_adds_no_event(rt, m, batch):
    reconcile_batch(rt, m.paws_user, batch.id)
    result = import_credit_memo(rt, m.paws_user, batch.id, _memo(MATCHING), "cm.csv", reconcile_if_matched=True)
    assert result.matches and not result.reconciled and result.batch_reconciled_at is not None
    assert [e.event for e in events(rt, "batch", batch.id)].count("reconcile") == 1
