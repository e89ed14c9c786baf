"""A distributor's own setup from its portal (seed 001): the programs it is a distributor option for, and
the area it serves (states, ZIP prefixes). Staff may do the same for any distributor.

Why changes that would strand an enrollment are refused: a retailer enrolled with the distributor would
keep sending it free goods for a program it no longer carries, or from a store it no longer serves, and
nobody would credit them. The refusal names every such enrollment (retailer, program, store) so the
distributor can ask those retailers to choose another distributor first; seed 001 asks distributors to
contact support to be removed from a program, and that stays the way out for enrollments nobody moves.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.events import record_event
from connector.core.frequent_buyer.model import FulfilmentType
from connector.core.frequent_buyer.programs.distributors import _service_area, area_text, serves
from connector.core.frequent_buyer.programs.permissions import is_staff
from connector.core.frequent_buyer.programs.views import DistributorView, _distributor_view
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

#: How many stranded enrollments a refusal names before it says "and N more".
NAMED = 10

CONTACT = "ask those retailers to choose another distributor first, or contact support to be removed"


def check_distributor_write(actor: Actor, distributor_id: int, doing: str) -> None:
    """Staff change any distributor; a distributor user only its own; another distributor's is "not found"."""
    if is_staff(actor):
        return
    if actor.role == Role.DISTRIBUTOR:
        if actor.distributor_id != distributor_id:
            raise NotFoundError(f"distributor {distributor_id} not found")
        return
    raise PermissionDeniedError(f"role {actor.role.value} cannot {doing}; the distributor's users or support can")


def _load(s: Session, actor: Actor, distributor_id: int, doing: str) -> Distributor:
    check_distributor_write(actor, distributor_id, doing)
    d = s.scalars(select(Distributor).where(Distributor.id == distributor_id).with_for_update()).one_or_none()
    if d is None:
        raise NotFoundError(f"distributor {distributor_id} not found")
    return d


def _named(items: list[str]) -> str:
    shown = "; ".join(items[:NAMED])
    return shown + (f"; and {len(items) - NAMED} more" if len(items) > NAMED else "")


def set_associated_programs(
    rt: Runtime, actor: Actor, distributor_id: int, program_ids: Iterable[int]
) -> DistributorView:
    """Make the distributor an option for exactly these programs (distributor-fulfilled ones only).

    Dropping a program that retailers are enrolled in with this distributor is refused, naming them;
    nothing changes. Choosing the programs it already has changes nothing.
    """
    wanted = sorted(set(program_ids))
    now = rt.now()
    with transaction(rt.sessions) as s:
        d = _load(s, actor, distributor_id, "choose a distributor's programs")
        problems: dict[str, str] = {}
        found = {p.id: p for p in s.scalars(select(Program).where(Program.id.in_(wanted)))} if wanted else {}
        missing = [i for i in wanted if i not in found]
        if missing:
            problems["program_ids"] = f"no program(s) {', '.join(map(str, missing))}; choose from the list"
        not_distributed = [p for p in found.values() if FulfilmentType(p.fulfilment_type) != FulfilmentType.DISTRIBUTOR]
        if not_distributed and "program_ids" not in problems:
            names = ", ".join(f"{p.name!r} ({p.fulfilment_type}-fulfilled)" for p in not_distributed)
            problems["program_ids"] = f"{names} take no distributor; leave them out"
        current = set(s.scalars(select(DistributorProgram.program_id).where(DistributorProgram.distributor_id == d.id)))
        dropped = current - set(wanted)
        if dropped and not problems:
            stranded = s.execute(
                select(Retailer.name, Program.name, Enrollment.id)
                .join(Retailer, Retailer.id == Enrollment.retailer_id)
                .join(Program, Program.id == Enrollment.program_id)
                .where(
                    Enrollment.distributor_id == d.id,
                    Enrollment.ended_at.is_(None),
                    Enrollment.program_id.in_(dropped),
                )
                .order_by(Program.name, Retailer.name)
            ).all()
            if stranded:
                named = _named([f"{r} in {p!r} (enrollment {e})" for r, p, e in stranded])
                problems["program_ids"] = (
                    f"{len(stranded)} retailer enrollment(s) still use {d.name} for the programs you removed: "
                    f"{named}; {CONTACT}"
                )
        if problems:
            raise ValidationError(
                "programs not changed: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems
            )
        added = set(wanted) - current
        if not added and not dropped:
            return _distributor_view(s, d)
        if dropped:
            s.execute(
                delete(DistributorProgram).where(
                    DistributorProgram.distributor_id == d.id, DistributorProgram.program_id.in_(dropped)
                )
            )
        s.add_all(DistributorProgram(distributor_id=d.id, program_id=pid, associated_at=now) for pid in added)
        s.flush()
        record_event(
            s,
            "distributor",
            d.id,
            "programs",
            actor,
            now,
            f"added {sorted(added) or 'none'}, removed {sorted(dropped) or 'none'}",
        )
        return _distributor_view(s, d)


def set_service_area(
    rt: Runtime,
    actor: Actor,
    distributor_id: int,
    *,
    service_states: Iterable[str] = (),
    service_zip_prefixes: Iterable[str] = (),
) -> DistributorView:
    """Replace the distributor's service area (states and/or ZIP prefixes, at least one).

    A new area that leaves out a store already enrolled with the distributor is refused, naming the
    store and its enrollment; nothing changes. The same area again changes nothing.
    """
    problems: dict[str, str] = {}
    states, prefixes = _service_area(service_states, service_zip_prefixes, problems)
    now = rt.now()
    with transaction(rt.sessions) as s:
        d = _load(s, actor, distributor_id, "change a distributor's service area")
        if problems:
            raise ValidationError(
                "service area not changed: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems
            )
        if list(d.service_states or []) == states and list(d.service_zip_prefixes or []) == prefixes:
            return _distributor_view(s, d)
        proposed = DistributorView(d.id, d.name, d.slug, tuple(states), tuple(prefixes), (), d.created_at)
        enrolled = s.execute(
            select(Retailer.name, Program.name, Enrollment.id, RetailerLocation)
            .join(Retailer, Retailer.id == Enrollment.retailer_id)
            .join(Program, Program.id == Enrollment.program_id)
            .join(RetailerLocation, RetailerLocation.retailer_id == Enrollment.retailer_id)
            .where(Enrollment.distributor_id == d.id, Enrollment.ended_at.is_(None))
            .order_by(Retailer.name, Program.name, RetailerLocation.store_code)
        ).all()
        outside = [
            f"{r}'s store {loc.name!r} ({loc.state} {loc.zip}) in {p!r} (enrollment {e})"
            for r, p, e, loc in enrolled
            if not serves(proposed, loc.state, loc.zip)
        ]
        if outside:
            field = "service_states" if states else "service_zip_prefixes"
            message = (
                f"the new area would leave out {len(outside)} enrolled store(s) {d.name} serves today: "
                f"{_named(outside)}; keep them inside the area or {CONTACT}"
            )
            raise ValidationError(f"service area not changed: {message}", {field: message})
        before = area_text(d)
        d.service_states, d.service_zip_prefixes = states, prefixes
        s.flush()
        record_event(s, "distributor", d.id, "service_area", actor, now, f"{before} -> {area_text(d)}")
        return _distributor_view(s, d)
