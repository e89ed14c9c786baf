"""Enrollments of a retailer in a program with a distributor: enroll, change distributor, end, read, list."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ConflictError, NotFoundError, ValidationError
from connector.core.frequent_buyer.events import record_event
from connector.core.frequent_buyer.model import FulfilmentType
from connector.core.frequent_buyer.programs.account_number_history import (
    clean_account_number,
    known_account_number,
    record_change,
)
from connector.core.frequent_buyer.programs.distributors import area_text, serves
from connector.core.frequent_buyer.programs.permissions import (
    _load_program,
    check_retailer_read,
    check_retailer_write,
    is_staff,
)
from connector.core.frequent_buyer.programs.views import DistributorView, EnrollmentView, _distributor_view
from connector.core.frequent_buyer.tables import (
    Distributor,
    DistributorProgram,
    Enrollment,
    Program,
    Retailer,
    RetailerLocation,
)
from connector.core.model import Role
from connector.core.runtime import Runtime


def _associated(s: Session, program_id: int) -> list[Distributor]:
    return list(
        s.scalars(
            select(Distributor)
            .join(DistributorProgram, DistributorProgram.distributor_id == Distributor.id)
            .where(DistributorProgram.program_id == program_id)
            .order_by(Distributor.id)
        )
    )


def _serving(distributors: list[Distributor], locations: list[RetailerLocation]) -> list[Distributor]:
    return [d for d in distributors if all(serves(d, loc.state, loc.zip) for loc in locations)]


def distributor_options(rt: Runtime, actor: Actor, *, retailer_id: int, program_id: int) -> list[DistributorView]:
    """The distributors a retailer may choose for a program: associated with it and serving every location.

    What the console's Enroll and Change distributor forms offer; ``enroll`` checks the same rule.
    """
    with rt.sessions() as s:
        check_retailer_read(s, actor, retailer_id)
        program = _load_program(s, actor, program_id)
        if FulfilmentType(program.fulfilment_type) != FulfilmentType.DISTRIBUTOR:
            return []
        locations = list(s.scalars(select(RetailerLocation).where(RetailerLocation.retailer_id == retailer_id)))
        if not locations:
            return []
        return [_distributor_view(s, d) for d in _serving(_associated(s, program.id), locations)]


def _distributor_problem(
    s: Session, program: Program, retailer: Retailer, distributor_id: int | None
) -> tuple[str, str] | None:
    """(field, what is wrong and how to fix it) when ``distributor_id`` cannot fulfil ``program`` for ``retailer``."""
    kind = FulfilmentType(program.fulfilment_type)
    if kind != FulfilmentType.DISTRIBUTOR:
        if distributor_id is not None:
            who = "the manufacturer credits the store" if kind == FulfilmentType.DIRECT else "the store secures it"
            return (
                "distributor_id",
                f"program {program.name!r} is {kind.value}-fulfilled ({who}); leave the distributor out",
            )
        return None
    locations = list(
        s.scalars(
            select(RetailerLocation).where(RetailerLocation.retailer_id == retailer.id).order_by(RetailerLocation.id)
        )
    )
    if not locations:
        return "retailer_id", (
            f"retailer {retailer.name!r} has no store location yet; add one first "
            "(a distributor is chosen by the area it serves)"
        )
    associated = _associated(s, program.id)
    options = _serving(associated, locations)
    choose = (
        "choose one of: " + ", ".join(f"{d.name} (id {d.id})" for d in options)
        if options
        else "no associated distributor serves every location yet; ask support to add one to the program"
    )
    if distributor_id is None:
        return "distributor_id", f"program {program.name!r} is fulfilled by a distributor; {choose}"
    # Locked: a distributor narrowing its programs or area (distributor_setup) waits for this enrollment, and
    # then sees it, so it cannot strand a store that enrolled while it was checking.
    d = s.get(Distributor, distributor_id, with_for_update=True)
    if d is None:
        return "distributor_id", f"no distributor {distributor_id}; {choose}"
    if d.id not in {a.id for a in associated}:
        return "distributor_id", f"distributor {d.name!r} is not associated with program {program.name!r}; {choose}"
    outside = [loc for loc in locations if not serves(d, loc.state, loc.zip)]
    if outside:
        where = ", ".join(f"{loc.name!r} ({loc.state} {loc.zip})" for loc in outside)
        return "distributor_id", (
            f"distributor {d.name!r} does not serve {where}: its service area is {area_text(d)}; {choose}"
        )
    return None


def _enrollment_view(s: Session, e: Enrollment) -> EnrollmentView:
    retailer = s.get(Retailer, e.retailer_id)
    program = s.get(Program, e.program_id)
    d = s.get(Distributor, e.distributor_id) if e.distributor_id else None
    assert retailer is not None and program is not None
    return EnrollmentView(
        id=e.id,
        retailer_id=e.retailer_id,
        retailer_name=retailer.name,
        program_id=e.program_id,
        program_name=program.name,
        fulfilment_type=program.fulfilment_type,
        distributor_id=e.distributor_id,
        distributor_name=d.name if d else None,
        enrolled_at=e.enrolled_at,
        ended_at=e.ended_at,
        account_number=e.account_number,
    )


def enroll(
    rt: Runtime,
    actor: Actor,
    *,
    retailer_id: int,
    program_id: int,
    distributor_id: int | None = None,
    account_number: str | None = None,
) -> EnrollmentView:
    """The retailer runs the program and names who fulfils it.

    For a distributor-fulfilled program the distributor must be associated with the program and
    serve every location of the retailer; direct and retailer-fulfilled programs take none. An
    ended enrollment is re-opened rather than duplicated. ``account_number`` is the store's account
    with that distributor; left out, the one the store already has with it (another enrollment) is kept.
    """
    check_retailer_write(actor, retailer_id, "enroll retailers in programs")
    problems: dict[str, str] = {}
    number = clean_account_number(account_number, problems)
    if number is not None and distributor_id is None and "account_number" not in problems:
        problems["account_number"] = "an account number is the store's account with a distributor: choose one too"
    if problems:
        raise ValidationError("cannot enroll: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems)
    now = rt.now()
    with transaction(rt.sessions) as s:
        retailer = s.scalars(select(Retailer).where(Retailer.id == retailer_id).with_for_update()).one_or_none()
        if retailer is None:
            raise NotFoundError(f"retailer {retailer_id} not found")
        program = s.get(Program, program_id)
        if program is None:
            raise ValidationError("program not found", fields={"program_id": f"no program {program_id}"})
        problem = _distributor_problem(s, program, retailer, distributor_id)
        if problem:
            raise ValidationError(f"cannot enroll: {problem[1]}", fields={problem[0]: problem[1]})
        e = s.scalars(
            select(Enrollment).where(Enrollment.retailer_id == retailer_id, Enrollment.program_id == program_id)
        ).one_or_none()
        if e is not None and e.ended_at is None:
            raise ConflictError(
                f"retailer {retailer.name!r} is already enrolled in program {program.name!r} (enrollment {e.id}); "
                "change its distributor instead"
            )
        if number is None and e is not None and e.distributor_id == distributor_id:
            number = e.account_number  # re-opened with the same distributor: the store's account is unchanged
        if number is None:
            number = known_account_number(s, retailer_id, distributor_id)
        if e is None:
            e = Enrollment(
                retailer_id=retailer_id, program_id=program_id, distributor_id=distributor_id, enrolled_at=now
            )
            s.add(e)
            before = None
        else:
            before = e.account_number if e.distributor_id == distributor_id else None
            e.distributor_id, e.enrolled_at, e.ended_at = distributor_id, now, None
        e.account_number = number
        s.flush()
        record_event(s, "enrollment", e.id, "enroll", actor, now, f"program {program.id}, distributor {distributor_id}")
        record_change(s, e, before, number, actor, now)
        s.flush()
        return _enrollment_view(s, e)


def _load_enrollment(s: Session, actor: Actor, enrollment_id: int, *, lock: bool = False) -> Enrollment:
    q = select(Enrollment).where(Enrollment.id == enrollment_id)
    e = s.scalars(q.with_for_update() if lock else q).one_or_none()
    if e is None or not _enrollment_visible(s, actor, e):
        raise NotFoundError(f"enrollment {enrollment_id} not found")
    return e


def _enrollment_visible(s: Session, actor: Actor, e: Enrollment) -> bool:
    if actor.role == Role.DISTRIBUTOR:
        return e.distributor_id == actor.distributor_id
    if actor.role == Role.RETAILER:
        return e.retailer_id == actor.retailer_id
    if is_staff(actor) or actor.brand_id is None:
        return True
    return s.scalar(select(Program.brand_id).where(Program.id == e.program_id)) == actor.brand_id


def change_distributor(
    rt: Runtime,
    actor: Actor,
    enrollment_id: int,
    distributor_id: int | None,
    account_number: str | None = None,
) -> EnrollmentView:
    """Pick another distributor for an enrollment, checked like ``enroll``.

    Free goods already processed stay with the distributor they were sent to; cards imported
    from now on go to the new one. The account number follows the distributor: the one given, else
    the one the store already has with the new distributor, else none (the old one was with the old).
    """
    problems: dict[str, str] = {}
    number = clean_account_number(account_number, problems)
    if problems:
        raise ValidationError(
            "cannot change the distributor: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems
        )
    now = rt.now()
    with transaction(rt.sessions) as s:
        e = _load_enrollment(s, actor, enrollment_id, lock=True)
        check_retailer_write(actor, e.retailer_id, "change an enrollment's distributor")
        if e.ended_at is not None:
            raise ConflictError(f"enrollment {e.id} has ended; enroll again to choose a distributor")
        retailer, program = s.get(Retailer, e.retailer_id), s.get(Program, e.program_id)
        assert retailer is not None and program is not None
        problem = _distributor_problem(s, program, retailer, distributor_id)
        if problem:
            raise ValidationError(f"cannot change the distributor: {problem[1]}", fields={problem[0]: problem[1]})
        if distributor_id == e.distributor_id and (number is None or number == e.account_number):
            return _enrollment_view(s, e)  # nothing to change: a resubmitted form records nothing twice
        if number is None and distributor_id != e.distributor_id:
            number = known_account_number(s, e.retailer_id, distributor_id)
        elif number is None:
            number = e.account_number
        moved = distributor_id != e.distributor_id
        before, old_number = e.distributor_id, e.account_number
        e.distributor_id, e.account_number = distributor_id, number
        s.flush()
        if moved:
            record_event(
                s, "enrollment", e.id, "change_distributor", actor, now, f"distributor {before} -> {distributor_id}"
            )
        record_change(s, e, None if moved else old_number, number, actor, now)
        s.flush()
        return _enrollment_view(s, e)


def end_enrollment(rt: Runtime, actor: Actor, enrollment_id: int) -> EnrollmentView:
    """The retailer stops running the program: cards redeemed from today on are ``ineligible_program``."""
    now = rt.now()
    with transaction(rt.sessions) as s:
        e = _load_enrollment(s, actor, enrollment_id, lock=True)
        check_retailer_write(actor, e.retailer_id, "end an enrollment")
        if e.ended_at is not None:
            raise ConflictError(f"enrollment {e.id} already ended on {e.ended_at:%Y-%m-%d}")
        e.ended_at = now
        s.flush()
        record_event(s, "enrollment", e.id, "end", actor, now, "")
        return _enrollment_view(s, e)


def get_enrollment(rt: Runtime, actor: Actor, enrollment_id: int) -> EnrollmentView:
    with rt.sessions() as s:
        return _enrollment_view(s, _load_enrollment(s, actor, enrollment_id))


def list_enrollments(
    rt: Runtime,
    actor: Actor,
    *,
    retailer_id: int | None = None,
    program_id: int | None = None,
    distributor_id: int | None = None,
    active_only: bool = False,
) -> list[EnrollmentView]:
    """Enrollments in the actor's scope (a distributor's Enrolled Programs, a retailer's Enrolled list)."""
    with rt.sessions() as s:
        q = select(Enrollment).order_by(Enrollment.id)
        if actor.role == Role.RETAILER:
            q = q.where(Enrollment.retailer_id == actor.retailer_id)
        elif actor.role == Role.DISTRIBUTOR:
            q = q.where(Enrollment.distributor_id == actor.distributor_id)
        elif not is_staff(actor) and actor.brand_id is not None:
            q = q.where(Enrollment.program_id.in_(select(Program.id).where(Program.brand_id == actor.brand_id)))
        if retailer_id is not None:
            q = q.where(Enrollment.retailer_id == retailer_id)
        if program_id is not None:
            q = q.where(Enrollment.program_id == program_id)
        if distributor_id is not None:
            q = q.where(Enrollment.distributor_id == distributor_id)
        if active_only:
            q = q.where(Enrollment.ended_at.is_(None))
        return [_enrollment_view(s, e) for e in s.scalars(q)]
