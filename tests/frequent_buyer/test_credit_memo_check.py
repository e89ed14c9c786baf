"""The credit memo a distributor records on mark fulfilled/credited, and the retailer's reconcile comparing it:
a memo that DOES NOT MATCH needs confirmation (core, API 409, CLI flag); other tenants act on nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from click.testing import CliRunner

from connector.commands.distribution import distribution
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import credit_memo
from connector.core.frequent_buyer import distribution as d
from connector.core.frequent_buyer.credit_status import memo_check, reconcile_batch
from connector.core.frequent_buyer.memo_check import (
    CANNOT_COMPARE,
    DOES_NOT_MATCH,
    MATCHES,
    NOT_RECORDED,
    MemoMismatchError,
)
from tests.frequent_buyer.distribution_fixtures import batch_row, events, make_free_good, snapshot


def _batch(rt, m, *costs, retailer="paws", user=None):
    goods = [make_free_good(rt, m, unit_cost=c, retailer=retailer) for c in costs]
    return d.create_batch(rt, user or m.north_user, goods, "Week 24").id


# -- recording the memo on mark fulfilled/credited --------------------------------------------------------------


def test_the_distributor_records_the_memo_number_and_amount_as_money(rt, m):
    batch_id = _batch(rt, m, "10.00", "2.50")
    view = d.mark_batch_fulfilled(
        rt, m.north_user, batch_id, credit_memo_number=" CM-1042 ", credit_memo_amount="$12.5"
    )
    assert (view.status, view.credit_memo_number, view.credit_memo_amount) == ("fulfilled", "CM-1042", Decimal("12.50"))
    row = batch_row(rt, batch_id)
    assert isinstance(row.credit_memo_amount, Decimal) and row.credit_memo_amount == Decimal("12.50")
    [fulfil] = [e for e in events(rt, "batch", batch_id) if e.event == "fulfil"]
    assert fulfil.detail == "credit memo CM-1042 for $12.50"


def test_a_batch_can_still_be_credited_without_a_memo(rt, m):
    view = d.mark_batch_fulfilled(rt, m.north_user, _batch(rt, m, "1.00"))
    assert (view.status, view.credit_memo_number, view.credit_memo_amount) == ("fulfilled", None, None)


@pytest.mark.parametrize(
    ("number", "amount", "fields"),
    [
        ("CM-1", None, {"credit_memo_amount": "give the total of credit memo CM-1 in dollars, like 125.00 (or leave "
                        "both memo fields blank)"}),
        (None, "12.00", {"credit_memo_number": "give the credit memo's number as printed on it (or leave both memo "
                         "fields blank)"}),
        ("CM-1", "12.345", {"credit_memo_amount": "'12.345' has more than 2 decimal places; the credit memo's total "
                            "is dollars and cents"}),
        ("CM-1", "twelve", {"credit_memo_amount": "'twelve' is not an amount; give the credit memo's total in "
                            "dollars, like 25.00"}),
        ("CM-1", "-5", {"credit_memo_amount": "'-5' must be zero or more (and under 10 billion): the credit memo's "
                        "total in dollars"}),
        ("X" * 51, "5", {"credit_memo_number": "at most 50 characters; got 51"}),
    ],
)  # fmt: skip
def test_a_bad_memo_is_refused_naming_the_field_and_the_batch_stays_unfulfilled(rt, m, number, amount, fields):
    batch_id = _batch(rt, m, "1.00")
    before = snapshot(rt)
    with pytest.raises(ValidationError) as refused:
        d.mark_batch_fulfilled(rt, m.north_user, batch_id, credit_memo_number=number, credit_memo_amount=amount)
    assert refused.value.fields == fields
    assert snapshot(rt) == before and batch_row(rt, batch_id).status == "unfulfilled"


def test_only_the_batchs_distributor_or_a_platform_admin_records_it(rt, m):
    batch_id = _batch(rt, m, "1.00")
    before = snapshot(rt)
    with pytest.raises(NotFoundError):
        d.mark_batch_fulfilled(rt, m.south_user, batch_id, credit_memo_number="CM-9", credit_memo_amount="1.00")
    for actor in (m.paws_user, m.acme_admin, m.support):
        with pytest.raises(PermissionDeniedError):
            d.mark_batch_fulfilled(rt, actor, batch_id, credit_memo_number="CM-9", credit_memo_amount="1.00")
    assert snapshot(rt) == before
    view = d.mark_batch_fulfilled(rt, m.admin, batch_id, credit_memo_number="CM-9", credit_memo_amount="1.00")
    assert view.credit_memo_number == "CM-9"


# -- the retailer's reconcile compares it ----------------------------------------------------------------------


def test_a_matching_memo_reconciles_at_once(rt, m):
    batch_id = _batch(rt, m, "10.00", "2.50")
    d.mark_batch_fulfilled(rt, m.north_user, batch_id, credit_memo_number="CM-1", credit_memo_amount="12.50")
    check = memo_check(rt, m.paws_user, batch_id)
    assert (check.status, check.expected_amount, check.mismatches) == (MATCHES, Decimal("12.50"), ())
    assert reconcile_batch(rt, m.paws_user, batch_id).reconciled_at is not None


def test_a_memo_that_does_not_match_needs_confirmation_and_says_why(rt, m):
    batch_id = _batch(rt, m, "10.00", "2.50")
    d.mark_batch_fulfilled(rt, m.north_user, batch_id, credit_memo_number="CM-2", credit_memo_amount="10.00")
    check = memo_check(rt, m.paws_user, batch_id)
    why = "credit memo CM-2 is for $10.00 but the batch's free goods come to $12.50 at your price list (short by $2.50)"
    assert (check.status, check.mismatches) == (DOES_NOT_MATCH, (why,))
    before = snapshot(rt)
    with pytest.raises(MemoMismatchError) as refused:
        reconcile_batch(rt, m.paws_user, batch_id)
    assert refused.value.status_code == 409 and "DOES NOT MATCH" in refused.value.message
    assert refused.value.details["mismatches"] == [why]
    assert snapshot(rt) == before and batch_row(rt, batch_id).reconciled_at is None
    view = reconcile_batch(rt, m.paws_user, batch_id, "spoke to North", confirm=True)
    assert view.reconciled_by == "paws-manager"
    [event] = [e for e in events(rt, "batch", batch_id) if e.event == "reconcile"]
    assert event.detail == f"spoke to North; confirmed although the credit memo DOES NOT MATCH: {why}"


def test_an_imported_memo_file_that_does_not_match_also_needs_confirmation(rt, m):
    batch_id = _batch(rt, m, "10.00")
    d.mark_batch_fulfilled(rt, m.north_user, batch_id)
    assert memo_check(rt, m.paws_user, batch_id).status == NOT_RECORDED
    credit_memo.import_credit_memo(rt, m.paws_user, batch_id, io.BytesIO(b"SKU,Qty\nACME-5LB,3\n"), "memo.csv")
    check = memo_check(rt, m.paws_user, batch_id)
    assert check.status == DOES_NOT_MATCH
    assert check.mismatches == ("the credit memo file memo.csv you imported does not match the batch line by line",)
    with pytest.raises(MemoMismatchError):
        reconcile_batch(rt, m.paws_user, batch_id)


def test_a_matching_file_does_not_auto_reconcile_when_the_recorded_amount_differs(rt, m):
    batch_id = _batch(rt, m, "10.00")
    d.mark_batch_fulfilled(rt, m.north_user, batch_id, credit_memo_number="CM-3", credit_memo_amount="9.00")
    memo = io.BytesIO(b"SKU,Qty,Amount\nACME-5LB,1,10.00\n")
    result = credit_memo.import_credit_memo(rt, m.paws_user, batch_id, memo, "memo.csv", reconcile_if_matched=True)
    assert result.matches and not result.reconciled
    assert batch_row(rt, batch_id).reconciled_at is None


def test_a_memo_cannot_be_compared_when_a_free_good_has_no_cost(rt, m):
    batch_id = _batch(rt, m, "10.00", None)
    d.mark_batch_fulfilled(rt, m.north_user, batch_id, credit_memo_number="CM-4", credit_memo_amount="1.00")
    assert memo_check(rt, m.paws_user, batch_id).status == CANNOT_COMPARE
    assert reconcile_batch(rt, m.paws_user, batch_id).reconciled_at is not None  # nothing shown to differ


def test_another_retailer_neither_sees_the_check_nor_reconciles_and_brand_users_see_no_memo(rt, m):
    batch_id = _batch(rt, m, "10.00")
    d.mark_batch_fulfilled(rt, m.north_user, batch_id, credit_memo_number="CM-5", credit_memo_amount="1.00")
    before = snapshot(rt)
    with pytest.raises(NotFoundError):
        memo_check(rt, m.kibble_user, batch_id)
    with pytest.raises(NotFoundError):
        reconcile_batch(rt, m.kibble_user, batch_id, confirm=True)
    with pytest.raises(PermissionDeniedError):
        memo_check(rt, m.acme_admin, batch_id)
    with pytest.raises(PermissionDeniedError):
        reconcile_batch(rt, m.north_user, batch_id, confirm=True)
    assert snapshot(rt) == before


# -- CLI ---------------------------------------------------------------------------------------------------------


def test_cli_records_the_memo_and_reconciles_a_mismatch_only_with_the_flag(rt, m, monkeypatch):
    monkeypatch.setattr("connector.commands.distribution._runtime", lambda: rt)
    runner = CliRunner()
    batch_id = _batch(rt, m, "10.00")
    north = ["--distributor", str(m.north)]
    bad = runner.invoke(distribution, ["fulfil", str(batch_id), "--memo-number", "CM-6", *north])
    assert bad.exit_code == 1 and "give the total of credit memo CM-6" in bad.output
    done = runner.invoke(
        distribution, ["fulfil", str(batch_id), "--memo-number", "CM-6", "--memo-amount", "8.00", *north]
    )
    assert done.exit_code == 0 and done.output.strip().endswith("credit memo CM-6 for $8.00")
    paws = ["--retailer", str(m.paws)]
    checked = runner.invoke(distribution, ["memo-check", str(batch_id), *paws])
    assert checked.output.splitlines()[0] == f"batch {batch_id}: credit memo DOES NOT MATCH"
    other = runner.invoke(distribution, ["reconcile", str(batch_id), "--confirm-mismatch", "--retailer", str(m.kibble)])
    assert other.exit_code == 1 and "not found" in other.output
    refused = runner.invoke(distribution, ["reconcile", str(batch_id), *paws])
    assert refused.exit_code == 1 and "DOES NOT MATCH" in refused.output and "short by $2.00" in refused.output
    assert batch_row(rt, batch_id).reconciled_at is None
    ok = runner.invoke(distribution, ["reconcile", str(batch_id), "--confirm-mismatch", *paws])
    assert ok.exit_code == 0 and batch_row(rt, batch_id).reconciled_at is not None


# -- API ---------------------------------------------------------------------------------------------------------


def _token(rt, name, role, **scope):
    from connector.core import catalog
    from connector.core.database import transaction

    with transaction(rt.sessions) as s:
        _, plain = catalog.create_api_token(s, name, role, **scope)
    return {"Authorization": f"Bearer {plain}"}


def test_api_fulfil_with_a_memo_then_reconcile_answers_409_until_confirmed(rt, m):
    from connector.app import create_app
    from connector.core.model import Role

    client = create_app(settings=rt.settings, runtime=rt).test_client()
    north = _token(rt, "north", Role.DISTRIBUTOR, distributor_id=m.north)
    south = _token(rt, "south", Role.DISTRIBUTOR, distributor_id=m.south)
    paws = _token(rt, "paws", Role.RETAILER, retailer_id=m.paws)
    kibble = _token(rt, "kibble", Role.RETAILER, retailer_id=m.kibble)
    batch_id = _batch(rt, m, "10.00", "2.50")
    fulfil = f"/api/v1/distribution/batches/{batch_id}/fulfil"

    as_float = client.post(fulfil, json={"credit_memo_number": "CM-7", "credit_memo_amount": 12.5}, headers=north)
    assert as_float.status_code == 422 and "credit_memo_amount" in as_float.get_json()["error"]["fields"]
    half = client.post(fulfil, json={"credit_memo_number": "CM-7"}, headers=north)
    assert half.status_code == 422 and list(half.get_json()["error"]["fields"]) == ["credit_memo_amount"]
    crossing = client.post(fulfil, json={"credit_memo_number": "CM-7", "credit_memo_amount": "1.00"}, headers=south)
    assert crossing.status_code == 404 and batch_row(rt, batch_id).status == "unfulfilled"
    done = client.post(fulfil, json={"credit_memo_number": "CM-7", "credit_memo_amount": "12.00"}, headers=north)
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["credit_memo_number"], done.get_json()["credit_memo_amount"]) == ("CM-7", "12.00")

    check = client.get(f"/api/v1/retailer/batches/{batch_id}/memo-check", headers=paws)
    assert check.status_code == 200 and check.get_json() == {
        "status": "DOES NOT MATCH",
        "credit_memo_number": "CM-7",
        "credit_memo_amount": "12.00",
        "expected_amount": "12.50",
        "mismatches": [
            "credit memo CM-7 is for $12.00 but the batch's free goods come to $12.50 at your price list "
            "(short by $0.50)"
        ],
    }
    assert client.get(f"/api/v1/retailer/batches/{batch_id}/memo-check", headers=kibble).status_code == 404

    reconcile = f"/api/v1/retailer/batches/{batch_id}/reconcile"
    refused = client.post(reconcile, json={}, headers=paws)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "credit_memo_mismatch" and "DOES NOT MATCH" in error["message"]
    assert error["details"]["mismatches"] == check.get_json()["mismatches"]
    assert client.post(reconcile, json={"confirm": True}, headers=kibble).status_code == 404
    assert batch_row(rt, batch_id).reconciled_at is None
    confirmed = client.post(reconcile, json={"confirm": True}, headers=paws)
    assert confirmed.status_code == 200 and confirmed.get_json()["reconciled_at"] is not None
