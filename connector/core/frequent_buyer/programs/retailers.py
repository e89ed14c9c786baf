"""Retailers and their locations (store codes unique per retailer), and finding one by id or slug."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.catalog import slugify
from connector.core.database import transaction
from connector.core.errors import NotFoundError, ValidationError
from connector.core.frequent_buyer.programs.input_checks import _STATE, _text
from connector.core.frequent_buyer.programs.permissions import (
    check_retailer_read,
    check_retailer_write,
    check_staff,
    is_staff,
)
from connector.core.frequent_buyer.programs.views import (
    LocationSpec,
    LocationView,
    RetailerView,
    _location_view,
    _retailer_view,
)
from connector.core.frequent_buyer.tables import Distributor, Enrollment, Program, Retailer, RetailerLocation
from connector.core.model import Role
from connector.core.runtime import Runtime


def store_code_key(code: str) -> str:
    """Store numbers compare trimmed, case-insensitively, and without leading zeros ("001" is store 1)."""
    key = code.strip().upper()
    return (key.lstrip("0") or "0") if key.isdigit() else key


def _validate_location(spec: LocationSpec, at: str, problems: dict[str, str]) -> dict[str, str]:
    state = (spec.state or "").strip().upper()
    zip_code = (spec.zip or "").strip().upper()
    if not _STATE.match(state):
        problems[f"{at}state"] = f"{spec.state!r} is not a two-letter state or province code (like WA, OR, ON)"
    if not zip_code or len(zip_code) > 20:
        problems[f"{at}zip"] = "the location's ZIP or postal code (distributors serve by ZIP prefix)"
    return {
        "name": _text(spec.name, f"{at}name", problems, max_len=200),
        "store_code": _text(spec.store_code, f"{at}store_code", problems, max_len=50),
        "address1": _text(spec.address1, f"{at}address1", problems, max_len=200, required=False),
        "city": _text(spec.city, f"{at}city", problems, max_len=100, required=False),
        "state": state,
        "zip": zip_code,
    }


def _check_store_codes(rows: Sequence[dict[str, str]], taken: dict[str, str], problems: dict[str, str]) -> None:
    seen = dict(taken)
    for n, row in enumerate(rows):
        if not row["store_code"]:
            continue
        key = store_code_key(row["store_code"])
        if key in seen:
            problems[f"locations.{n}.store_code"] = (
                f"store code {row['store_code']!r} is already used by {seen[key]}; each location needs its own"
            )
        seen.setdefault(key, f"location {row['name']!r}")


def _unique_slug(
    s: Session, model: type[Retailer] | type[Distributor], slug: str | None, name: str, problems: dict[str, str]
) -> str:
    # A slug made from a long name is cut to the column's 100 characters (it was a 500 from the database).
    chosen = slugify(slug) if slug else (slugify(name)[:100].strip("-") or "brand")
    if slug is not None and chosen != slug:
        problems["slug"] = f"use lower-case letters, digits and dashes (like {chosen!r})"
    elif s.scalar(select(model.id).where(model.slug == chosen)) is not None:
        problems["slug"] = f"{chosen!r} is taken; choose another slug"
    return chosen


def create_retailer(
    rt: Runtime,
    actor: Actor,
    *,
    name: str,
    slug: str | None = None,
    locations: Sequence[LocationSpec] = (),
) -> RetailerView:
    """A store account with its locations (each with the store code its POS prints). Staff only.

    Account numbers are per distributor, so they are given when enrolling, not here."""
    check_staff(actor, "create retailers")
    problems: dict[str, str] = {}
    name = _text(name, "name", problems, max_len=200)
    rows = [_validate_location(spec, f"locations.{n}.", problems) for n, spec in enumerate(locations)]
    _check_store_codes(rows, {}, problems)
    with transaction(rt.sessions) as s:
        chosen = _unique_slug(s, Retailer, slug, name, problems)
        if problems:
            raise ValidationError("invalid retailer: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems)
        retailer = Retailer(name=name, slug=chosen, created_at=rt.now())
        s.add(retailer)
        s.flush()
        s.add_all(RetailerLocation(retailer_id=retailer.id, **row) for row in rows)
        s.flush()
        return _retailer_view(s, retailer)


def add_location(rt: Runtime, actor: Actor, retailer_id: int, spec: LocationSpec) -> LocationView:
    """Another store of a retailer. A distributor already chosen keeps serving the retailer's other stores;
    enrollments chosen later are checked against every location."""
    check_retailer_write(actor, retailer_id, "add store locations")
    problems: dict[str, str] = {}
    row = _validate_location(spec, "", problems)
    with transaction(rt.sessions) as s:
        retailer = s.scalars(select(Retailer).where(Retailer.id == retailer_id).with_for_update()).one_or_none()
        if retailer is None:
            raise NotFoundError(f"retailer {retailer_id} not found")
        taken = {
            store_code_key(code): f"location {name!r}"
            for code, name in s.execute(
                select(RetailerLocation.store_code, RetailerLocation.name).where(
                    RetailerLocation.retailer_id == retailer_id
                )
            )
        }
        if row["store_code"] and store_code_key(row["store_code"]) in taken:
            problems["store_code"] = (
                f"store code {row['store_code']!r} is already used by {taken[store_code_key(row['store_code'])]}"
            )
        if problems:
            raise ValidationError("invalid location: " + "; ".join(f"{k}: {v}" for k, v in problems.items()), problems)
        location = RetailerLocation(retailer_id=retailer_id, **row)
        s.add(location)
        s.flush()
        return _location_view(location)


def get_retailer(rt: Runtime, actor: Actor, retailer_id: int) -> RetailerView:
    with rt.sessions() as s:
        return _retailer_view(s, check_retailer_read(s, actor, retailer_id))


def list_retailers(rt: Runtime, actor: Actor) -> list[RetailerView]:
    """The retailers the actor may see (a distributor: those enrolled with it — its Participating Retailers)."""
    with rt.sessions() as s:
        q = select(Retailer).order_by(Retailer.id)
        if actor.role == Role.RETAILER:
            q = q.where(Retailer.id == actor.retailer_id)
        elif actor.role == Role.DISTRIBUTOR:
            q = q.where(
                exists().where(Enrollment.retailer_id == Retailer.id, Enrollment.distributor_id == actor.distributor_id)
            )
        elif not is_staff(actor) and actor.brand_id is not None:
            q = q.where(
                exists()
                .where(Enrollment.retailer_id == Retailer.id, Enrollment.program_id == Program.id)
                .where(Program.brand_id == actor.brand_id)
            )
        return [_retailer_view(s, r) for r in s.scalars(q)]


def find_retailer(s: Session, ref: str | int) -> Retailer:
    """A retailer by id or slug (for the CLI)."""
    ref = str(ref).strip()
    retailer = (
        s.get(Retailer, int(ref)) if ref.isdigit() else s.scalars(select(Retailer).where(Retailer.slug == ref)).first()
    )
    if retailer is None:
        raise NotFoundError(f"retailer {ref!r} not found")
    return retailer
