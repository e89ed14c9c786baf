"""Account numbers per enrollment: set by the retailer, every change recorded (old, new, who, when), kept with
the distributor they belong to, and the Account Number Changes report scoped to each distributor."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connector.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.account_number_tables import AccountNumberChange
from connector.core.frequent_buyer.distribution_reports import REPORTS, ReportName, ReportParams, run_report
from connector.core.frequent_buyer.tables import Enrollment


def _changes(rt) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(AccountNumberChange)) or 0)


def _number(rt, enrollment_id: int) -> str | None:
    with rt.sessions() as s:
        e = s.get(Enrollment, enrollment_id)
        assert e is not None
        return e.account_number


def _columbia_serves_washington(rt, fb_world) -> None:
    programs.set_service_area(rt, fb_world.actors.other_distributor, fb_world.other_distributor_id,
                              service_states=["OR", "WA"], service_zip_prefixes=["986"])  # fmt: skip


def test_the_retailer_sets_its_account_number_and_each_change_is_recorded(rt, fb_world, actors):
    e = programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "  NW-4410 ")
    assert e.account_number == "NW-4410"
    again = programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "NW-4410")
    assert again.account_number == "NW-4410" and _changes(rt) == 1  # the same number again records nothing
    programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "NW-4411")
    programs.set_account_number(rt, actors.support, fb_world.kibble_enrollment_id, "")
    history = programs.list_account_number_changes(rt, actors.retailer, enrollment_id=fb_world.kibble_enrollment_id)
    assert [(c.old_account_number, c.new_account_number, c.changed_by) for c in history] == [
        (None, "NW-4410", "test:paws"),
        ("NW-4410", "NW-4411", "test:paws"),
        ("NW-4411", None, "test:support"),
    ]
    assert {c.distributor_name for c in history} == {"Northwest Pet Supply"}
    assert all(c.changed_at is not None for c in history)


@pytest.mark.parametrize(
    ("value", "field_says"),
    [("X" * 51, "at most 50 characters"), ("NW\t1", "control characters")],
)
def test_a_bad_account_number_is_refused_with_the_reason_and_nothing_changes(rt, fb_world, actors, value, field_says):
    programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "NW-1")
    with pytest.raises(ValidationError) as err:
        programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, value)
    assert field_says in err.value.fields["account_number"]
    assert _number(rt, fb_world.kibble_enrollment_id) == "NW-1" and _changes(rt) == 1


def test_a_direct_fulfilled_enrollment_has_no_account_number(rt, fb_world, actors):
    with pytest.raises(ValidationError) as err:
        programs.set_account_number(rt, actors.retailer, fb_world.treats_enrollment_id, "X-1")
    assert "direct-fulfilled" in err.value.fields["account_number"]
    assert _number(rt, fb_world.treats_enrollment_id) is None and _changes(rt) == 0


def test_an_ended_enrollment_takes_no_account_number(rt, fb_world, actors):
    programs.end_enrollment(rt, actors.retailer, fb_world.kibble_enrollment_id)
    with pytest.raises(ConflictError, match="has ended"):
        programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "NW-1")
    assert _changes(rt) == 0


def test_nobody_else_changes_a_retailers_account_number(rt, fb_world, actors):
    programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "NW-1")
    with pytest.raises(NotFoundError):  # another retailer: its enrollment does not exist for it
        programs.set_account_number(rt, actors.other_retailer, fb_world.kibble_enrollment_id, "BARK-1")
    with pytest.raises(PermissionDeniedError):  # the distributor reads it but the store gives it
        programs.set_account_number(rt, actors.distributor, fb_world.kibble_enrollment_id, "NW-2")
    with pytest.raises(NotFoundError):
        programs.set_account_number(rt, actors.other_distributor, fb_world.kibble_enrollment_id, "C-1")
    with pytest.raises(PermissionDeniedError):
        programs.set_account_number(rt, actors.brand_admin, fb_world.kibble_enrollment_id, "A-1")
    assert _number(rt, fb_world.kibble_enrollment_id) == "NW-1" and _changes(rt) == 1
    with pytest.raises(NotFoundError):
        programs.list_account_number_changes(rt, actors.other_retailer, enrollment_id=fb_world.kibble_enrollment_id)
    assert programs.list_account_number_changes(rt, actors.other_retailer) == []


def test_enrolling_takes_an_account_number_or_reuses_the_one_the_store_has_with_that_distributor(rt, fb_world, actors):
    programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "NW-77")
    wild = programs.enroll(
        rt, actors.retailer, retailer_id=fb_world.retailer_id, program_id=fb_world.wild_id,
        distributor_id=fb_world.distributor_id,
    )  # fmt: skip
    assert wild.account_number == "NW-77"
    with pytest.raises(ValidationError) as err:
        programs.enroll(rt, actors.support, retailer_id=fb_world.retailer_id, program_id=fb_world.treats_id,
                        account_number="X")  # fmt: skip
    assert "choose one too" in err.value.fields["account_number"]


def test_changing_the_distributor_moves_the_account_number_with_it(rt, fb_world, actors):
    programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "NW-1")
    _columbia_serves_washington(rt, fb_world)
    moved = programs.change_distributor(rt, actors.retailer, fb_world.kibble_enrollment_id,
                                        fb_world.other_distributor_id, "COL-9")  # fmt: skip
    assert (moved.distributor_name, moved.account_number) == ("Columbia Distributing", "COL-9")
    back = programs.change_distributor(rt, actors.retailer, fb_world.kibble_enrollment_id, fb_world.distributor_id)
    assert back.account_number is None  # the store's NW number was on this enrollment only, now moved away
    north = programs.list_account_number_changes(rt, actors.distributor)
    columbia = programs.list_account_number_changes(rt, actors.other_distributor)
    assert [(c.old_account_number, c.new_account_number) for c in north] == [(None, "NW-1")]
    assert [(c.old_account_number, c.new_account_number) for c in columbia] == [(None, "COL-9")]


def test_the_account_number_changes_report_shows_each_distributor_only_its_own(rt, fb_world, actors):
    programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "NW-1")
    programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "NW-2")
    programs.set_account_number(rt, actors.other_retailer, fb_world.other_kibble_enrollment_id, "COL-5")
    assert list(REPORTS)[1] == ReportName.ACCOUNT_NUMBER_CHANGES
    assert REPORTS[ReportName.ACCOUNT_NUMBER_CHANGES].title == "Account Number Changes"
    north = run_report(rt, actors.distributor, "account-number-changes")
    assert [(r["retailer"], r["old_account_number"], r["new_account_number"]) for r in north.rows] == [
        ("Paws Corner", "NW-1", "NW-2"),
        ("Paws Corner", None, "NW-1"),
    ]
    assert north.rows[0]["changed_by"] == "test:paws" and north.rows[0]["program"] == "Acme Kibble Buy 10 Get 1"
    columbia = run_report(rt, actors.other_distributor, "account-number-changes")
    assert [r["new_account_number"] for r in columbia.rows] == ["COL-5"]
    # A distributor naming another distributor gets nothing of it.
    sneaky = run_report(
        rt, actors.distributor, "account-number-changes", ReportParams(distributor_id=fb_world.other_distributor_id)
    )
    assert sneaky.rows == []
    assert len(run_report(rt, actors.platform_admin, "account-number-changes").rows) == 3
    with pytest.raises(PermissionDeniedError):
        run_report(rt, actors.retailer, "account-number-changes")


def test_the_participating_retailers_report_shows_the_account_number_with_that_distributor(rt, fb_world, actors):
    programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "NW-1")
    programs.set_account_number(rt, actors.other_retailer, fb_world.other_kibble_enrollment_id, "COL-5")
    rows = run_report(rt, actors.distributor, "participating-retailers").rows
    assert [(r["retailer"], r["account_number"]) for r in rows] == [("Paws Corner", "NW-1")]


def test_enrolling_again_with_the_same_distributor_keeps_the_account_number(rt, fb_world, actors):
    programs.set_account_number(rt, actors.retailer, fb_world.kibble_enrollment_id, "NW-3")
    programs.end_enrollment(rt, actors.retailer, fb_world.kibble_enrollment_id)
    again = programs.enroll(
        rt, actors.retailer, retailer_id=fb_world.retailer_id, program_id=fb_world.kibble_id,
        distributor_id=fb_world.distributor_id,
    )  # fmt: skip
    assert (again.id, again.account_number) == (fb_world.kibble_enrollment_id, "NW-3") and _changes(rt) == 1
