"""Who may work the counter, and for which retailer: one check every Checkout use case starts with.

A cashier and a retailer user work their own retailer's counter (seed 002: "make your staff a
Cashier User login to share, but you can also ring up customers while logged in to your account as
an Admin"); support and platform admins may act for any retailer, naming it. Everyone else (brand
roles, viewers, distributors) is refused: pet owners are the retailer's customers, not theirs.
Another retailer's id answers "not found", so its existence does not leak.
"""

from __future__ import annotations

from connector.core.access import RETAILER_SCOPED_ROLES, Actor
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.programs import is_staff


def check_works_counter(actor: Actor) -> None:
    """Role-level: cashiers, retailer users, support and platform admins; nobody else."""
    if actor.role in RETAILER_SCOPED_ROLES or is_staff(actor):
        return
    raise PermissionDeniedError(
        f"role {actor.role.value} cannot use Checkout; the retailer's cashier or retailer user rings up its customers"
    )


def counter_retailer(actor: Actor, retailer_id: int | None) -> int:
    """The retailer whose counter ``actor`` works: its own, or (staff) the one it names."""
    check_works_counter(actor)
    if actor.role in RETAILER_SCOPED_ROLES:
        if actor.retailer_id is None:  # check_scope forbids it where users and tokens are made; fail closed
            raise PermissionDeniedError(f"this {actor.role.value} user has no retailer")
        if retailer_id is not None and retailer_id != actor.retailer_id:
            raise NotFoundError(f"retailer {retailer_id} not found")
        return actor.retailer_id
    if retailer_id is None:
        raise ValidationError(
            "retailer_id is required", fields={"retailer_id": "support acts for one retailer: give its id"}
        )
    return retailer_id
