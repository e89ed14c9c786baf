"""What a report is: its name, its parameters, its columns, one page of rows and the spec that ties a
fetch function to its columns and the parameters it accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.frequent_buyer.model import CreditStatus


class ReportName(StrEnum):
    PARTICIPATING_RETAILERS = "participating-retailers"
    ACCOUNT_NUMBER_CHANGES = "account-number-changes"
    ENROLLED_PROGRAMS = "enrolled-programs"
    ASSOCIATED_PROGRAMS = "associated-programs"
    FREE_GOODS_FULFILLMENT = "free-goods-fulfillment"
    FREE_GOODS_FULFILLMENT_HISTORY = "free-goods-fulfillment-history"
    SEARCH_FREE_GOODS_FULFILLMENT = "search-free-goods-fulfillment"
    SEARCH_REBATE_FULFILLMENT = "search-rebate-fulfillment"
    REBATE_CREDIT_FULFILLMENT = "rebate-credit-fulfillment"


@dataclass(frozen=True)
class ReportParams:
    """Every filter a report may take; each report accepts only the ones it lists (others are refused)."""

    distributor_id: int | None = None
    retailer_id: int | None = None
    brand_id: int | None = None
    program_id: int | None = None
    #: Inclusive days: the redemption date, or for the history the day the batch was credited.
    date_from: date | None = None
    date_to: date | None = None
    #: Customer name (contains), email (exact) or phone (its digits, exact).
    customer: str | None = None
    #: SKU or UPC (exact, case-insensitive) or description (contains).
    item: str | None = None
    batch_id: int | None = None
    status: str | None = None

    def given(self) -> set[str]:
        return {f.name for f in fields(self) if getattr(self, f.name) not in (None, "")}


@dataclass(frozen=True)
class Column:
    key: str
    title: str


@dataclass(frozen=True)
class ReportPage:
    name: ReportName
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    next_cursor: str | None


Fetch = Callable[[Session, Actor, ReportParams, "int | None", int], list[tuple[int, dict[str, Any]]]]


@dataclass(frozen=True)
class ReportSpec:
    name: ReportName
    title: str
    description: str
    columns: tuple[Column, ...]
    filters: frozenset[str]
    statuses: tuple[CreditStatus, ...]
    fetch: Fetch


def _cols(*pairs: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(k, t) for k, t in pairs)
