"""Who sees which rebates and rebate credit batches: the same roles and scopes as free goods.

Distributor users see (and, through ``distribution.check_acts``, move) their own distributor's rebates only;
retailer users their own store's; a brand-scoped reader its brand's; platform admins and support all.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists

from connector.core.access import Actor
from connector.core.frequent_buyer.rebate_tables import Rebate, RebateBatch
from connector.core.model import Role


def rebate_scope(actor: Actor) -> list[ColumnElement[bool]]:
    """WHERE clauses limiting rebates to what ``actor`` may see."""
    if actor.role == Role.DISTRIBUTOR:
        return [Rebate.distributor_id == actor.distributor_id]
    if actor.role == Role.RETAILER:
        return [Rebate.retailer_id == actor.retailer_id]
    if actor.brand_id is not None:
        return [Rebate.brand_id == actor.brand_id]
    return []


def rebate_batch_scope(actor: Actor) -> list[ColumnElement[bool]]:
    """WHERE clauses limiting rebate credit batches to what ``actor`` may see (a brand: batches holding its rebates)."""
    if actor.role == Role.DISTRIBUTOR:
        return [RebateBatch.distributor_id == actor.distributor_id]
    if actor.role == Role.RETAILER:
        return [RebateBatch.retailer_id == actor.retailer_id]
    if actor.brand_id is not None:
        return [exists().where(Rebate.batch_id == RebateBatch.id, Rebate.brand_id == actor.brand_id)]
    return []
