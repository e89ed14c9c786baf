"""Who may see and who may move free goods and batches: the acting roles and the query scopes.

Every read and every move in the distribution package filters through ``free_good_scope``/``batch_scope``,
so another distributor's rows are never found (their existence does not leak).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false

from connector.core.access import Actor
from connector.core.errors import PermissionDeniedError
from connector.core.frequent_buyer.tables import Batch, FreeGood
from connector.core.model import Role

#: Roles that move free goods and batches. Support reads everything but does not act: marking a batch
#: credited, declining a credit or claiming from a manufacturer is the distributor's statement about money,
#: and a platform admin (recorded by name on every event) is the one who corrects on its behalf.
_ACTING_ROLES = {Role.DISTRIBUTOR, Role.PLATFORM_ADMIN}


def check_acts(actor: Actor) -> None:
    """Refuse roles that may not move free goods or batches."""
    if actor.role not in _ACTING_ROLES:
        raise PermissionDeniedError(
            f"role {actor.role.value} cannot move free goods or batches; a distributor user (or a platform admin "
            "on its behalf) does that"
        )


def check_reads_distribution(actor: Actor) -> None:
    """The distributor portal (sections, reports) is not the retailer's: retailers have their credit status."""
    if actor.role == Role.RETAILER:
        raise PermissionDeniedError(
            "retailer users see their credits on Distributor Free Goods Credit Status (/retailer/credit-status), "
            "not in the distributor portal"
        )


def free_good_scope(actor: Actor) -> list[ColumnElement[bool]]:
    """WHERE clauses limiting free goods to what ``actor`` may see."""
    if actor.is_cashier:  # Checkout only; the console and the API refuse it first, this is the backstop
        return [false()]
    if actor.role == Role.DISTRIBUTOR:
        return [FreeGood.distributor_id == actor.distributor_id]
    if actor.role == Role.RETAILER:
        return [FreeGood.retailer_id == actor.retailer_id]
    if actor.brand_id is not None:  # a brand admin or brand viewer: its own brand's free goods
        return [FreeGood.brand_id == actor.brand_id]
    return []


def batch_scope(actor: Actor) -> list[ColumnElement[bool]]:
    """WHERE clauses limiting batches to what ``actor`` may see.

    A batch is per retailer and mixes brands, so a brand-scoped reader sees the batches that hold at least
    one of its brand's free goods (and, in the batch rows, totals over its own free goods only).
    """
    if actor.is_cashier:
        return [false()]
    if actor.role == Role.DISTRIBUTOR:
        return [Batch.distributor_id == actor.distributor_id]
    if actor.role == Role.RETAILER:
        return [Batch.retailer_id == actor.retailer_id]
    if actor.brand_id is not None:
        return [exists().where(FreeGood.batch_id == Batch.id, FreeGood.brand_id == actor.brand_id)]
    return []
