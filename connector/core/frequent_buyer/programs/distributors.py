"""Distributors, the areas they serve (states and ZIP prefixes) and the programs they carry."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import NotFoundError, ValidationError
from connector.core.frequent_buyer.programs.input_checks import _STATE, _ZIP_PREFIX, _text, normalise_zip
from connector.core.frequent_buyer.programs.permissions import (
    _check_manages_program,
    _load_program,
    check_staff,
    is_staff,
)
from connector.core.frequent_buyer.programs.retailers import _unique_slug
from connector.core.frequent_buyer.programs.views import DistributorView, _distributor_view
from connector.core.frequent_buyer.tables import Distributor, DistributorProgram, Program
from connector.core.runtime import Runtime
from connector.core.tables import Brand


def _service_area(
    states: Iterable[str], prefixes: Iterable[str], problems: dict[str, str]
) -> tuple[list[str], list[str]]:
    clean_states = sorted({s.strip().upper() for s in states if s and s.strip()})
    clean_prefixes = sorted({normalise_zip(p) for p in prefixes if p and p.strip()})
    bad_states = [s for s in clean_states if not _STATE.match(s)]
    bad_prefixes = [p for p in clean_prefixes if not _ZIP_PREFIX.match(p)]
    if bad_states:
        problems["service_states"] = f"not two-letter state codes: {', '.join(bad_states)}"
    if bad_prefixes:
        problems["service_zip_prefixes"] = f"not ZIP prefixes (1 to 10 letters or digits): {', '.join(bad_prefixes)}"
    if not clean_states and not clean_prefixes and "service_states" not in problems:
        problems["service_states"] = (
            "a distributor serves only retailers inside its service area: give states and/or ZIP prefixes"
        )
    return clean_states, clean_prefixes


def serves(distributor: Distributor | DistributorView, state: str, zip_code: str) -> bool:
    """Inside the service area: the location's state is listed, or its ZIP starts with a listed prefix."""
    if state.strip().upper() in (distributor.service_states or ()):
        return True
    z = normalise_zip(zip_code)
    return any(z.startswith(p) for p in distributor.service_zip_prefixes or ())


def area_text(d: Distributor) -> str:
    parts = []
    if d.service_states:
        parts.append("states " + ", ".join(d.service_states))
    if d.service_zip_prefixes:
        parts.append("ZIP prefixes " + ", ".join(d.service_zip_prefixes))
    return "; ".join(parts) or "nowhere"


def create_distributor(
    rt: Runtime,
    actor: Actor,
    *,
    name: str,
    slug: str | None = None,
    service_states: Iterable[str] = (),
    service_zip_prefixes: Iterable[str] = (),
    program_ids: Iterable[int] = (),
) -> DistributorView:
    """A distribution company, its service area and the programs it is a distributor option for. Staff only."""
    check_staff(actor, "create distributors")
    problems: dict[str, str] = {}
    name = _text(name, "name", problems, max_len=200)
    states, prefixes = _service_area(service_states, service_zip_prefixes, problems)
    wanted = sorted(set(program_ids))
    with transaction(rt.sessions) as s:
        chosen = _unique_slug(s, Distributor, slug, name, problems)
        known = set(s.scalars(select(Program.id).where(Program.id.in_(wanted)))) if wanted else set()
        if set(wanted) - known:
            problems["program_ids"] = f"no program(s) {', '.join(str(i) for i in wanted if i not in known)}"
        if problems:
            raise ValidationError(
                "invalid distributor: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems
            )
        d = Distributor(
            name=name, slug=chosen, service_states=states, service_zip_prefixes=prefixes, created_at=rt.now()
        )
        s.add(d)
        s.flush()
        s.add_all(DistributorProgram(distributor_id=d.id, program_id=p, associated_at=rt.now()) for p in wanted)
        s.flush()
        return _distributor_view(s, d)


def associate_program(rt: Runtime, actor: Actor, distributor_id: int, program_id: int) -> DistributorView:
    """Make a distributor an option for a program's retailers (staff, or the program's brand admin)."""
    with transaction(rt.sessions) as s:
        program = _load_program(s, actor, program_id)
        if not is_staff(actor):
            _check_manages_program(actor, program)
        d = s.get(Distributor, distributor_id)
        if d is None:
            raise NotFoundError(f"distributor {distributor_id} not found")
        if s.get(DistributorProgram, (distributor_id, program_id)) is None:
            s.add(DistributorProgram(distributor_id=distributor_id, program_id=program_id, associated_at=rt.now()))
            s.flush()
        return _distributor_view(s, d)


def get_distributor(rt: Runtime, actor: Actor, distributor_id: int) -> DistributorView:
    """Distributors are public options (retailers pick from them), so any signed-in actor may read one."""
    with rt.sessions() as s:
        d = s.get(Distributor, distributor_id)
        if d is None:
            raise NotFoundError(f"distributor {distributor_id} not found")
        return _distributor_view(s, d)


def list_distributors(rt: Runtime, actor: Actor, *, program_id: int | None = None) -> list[DistributorView]:
    with rt.sessions() as s:
        q = select(Distributor).order_by(Distributor.id)
        if program_id is not None:
            q = q.where(
                exists().where(
                    DistributorProgram.distributor_id == Distributor.id, DistributorProgram.program_id == program_id
                )
            )
        return [_distributor_view(s, d) for d in s.scalars(q)]


def find_distributor(s: Session, ref: str | int) -> Distributor:
    ref = str(ref).strip()
    d = (
        s.get(Distributor, int(ref))
        if ref.isdigit()
        else s.scalars(select(Distributor).where(Distributor.slug == ref)).first()
    )
    if d is None:
        raise NotFoundError(f"distributor {ref!r} not found")
    return d


def find_program(s: Session, ref: str | int, *, brand: str | None = None) -> Program:
    """A program by id, or by code (case-insensitive; ``brand`` slug when two brands share the code)."""
    ref = str(ref).strip()
    if ref.isdigit():
        program = s.get(Program, int(ref))
        if program is None:
            raise NotFoundError(f"program {ref} not found")
        return program
    q = select(Program).where(func.lower(Program.code) == ref.lower())
    if brand:
        q = q.join(Brand, Brand.id == Program.brand_id).where(Brand.slug == brand)
    found = list(s.scalars(q.order_by(Program.id)))
    if not found:
        raise NotFoundError(f"no program with code {ref!r}" + (f" in brand {brand!r}" if brand else ""))
    if len(found) > 1:
        raise ValidationError(
            f"{len(found)} brands have a program with code {ref!r}", fields={"brand": "give the brand's slug"}
        )
    return found[0]
