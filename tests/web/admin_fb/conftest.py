"""Fixtures for the frequent-buyer console pages: the ``fb_world`` market, users of every role, signed-in browsers.

Builds on the frequent-buyer fixtures (``seed_fb_world``: Paws Corner and Bark Avenue, Northwest
Pet Supply and Columbia Distributing, the Acme and Wild Taste programs; ``make_card`` and the
``test-cards`` POS format) and on the console test helpers (``Console``: a browser with its own
cookies that posts forms with the session's CSRF token, ``flashes``). Users sign in through the
real login form, so every test runs the real session, CSRF and scope code.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from connector.app import create_app
from connector.core.database import transaction
from connector.core.frequent_buyer import distribution as dist
from connector.core.frequent_buyer.pos_types import PosCard
from connector.core.frequent_buyer.tables import (
    Batch,
    CreditGroup,
    CreditMemo,
    CreditMemoLine,
    Customer,
    FbEvent,
    FreeGood,
    PosRedemption,
    PosReport,
)
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.users import create_user
from tests.frequent_buyer.conftest import CardsCsvFormat, FbWorld, cards_csv, import_cards, make_card, seed_fb_world
from tests.web.admin.conftest import PASSWORD, Console, Person, flashes
from tests.web.admin.conftest import signed_in as signed_in  # noqa: F401  (with this folder's app and people)

__all__ = ["Console", "Person", "flashes", "cards_csv", "make_card"]


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime]) -> Runtime:
    """The runtime with the darts plugin (entry points) and the tests' own ``test-cards`` POS format."""
    return make_runtime(plugins=[CardsCsvFormat()])


@pytest.fixture
def fb_world(rt: Runtime) -> FbWorld:
    return seed_fb_world(rt)


@pytest.fixture
def app(rt: Runtime, fb_world: FbWorld) -> Flask:
    return create_app(settings=rt.settings, runtime=rt)


@dataclass(frozen=True)
class FbPeople:
    platform_admin: Person
    support: Person
    brand_admin: Person
    viewer: Person
    retailer: Person
    other_retailer: Person
    distributor: Person
    other_distributor: Person
    cashier: Person
    other_cashier: Person


@pytest.fixture
def people(rt: Runtime, fb_world: FbWorld) -> FbPeople:
    """A console user of every role, scoped to ``fb_world`` (retailer = Paws Corner, distributor = Northwest)."""
    made = FbPeople(
        platform_admin=Person("pat@platform.example", Role.PLATFORM_ADMIN),
        support=Person("sam@support.example", Role.SUPPORT),
        brand_admin=Person("bea@acme.example", Role.BRAND_ADMIN),
        viewer=Person("gil@viewer.example", Role.VIEWER),
        retailer=Person("rita@paws.example", Role.RETAILER),
        other_retailer=Person("bart@bark.example", Role.RETAILER),
        distributor=Person("dora@northwest.example", Role.DISTRIBUTOR),
        other_distributor=Person("colin@columbia.example", Role.DISTRIBUTOR),
        cashier=Person("cleo@paws.example", Role.CASHIER),
        other_cashier=Person("carl@bark.example", Role.CASHIER),
    )
    scopes = {
        made.brand_admin: {"brand_id": fb_world.brand_id},
        made.retailer: {"retailer_id": fb_world.retailer_id},
        made.other_retailer: {"retailer_id": fb_world.other_retailer_id},
        made.distributor: {"distributor_id": fb_world.distributor_id},
        made.other_distributor: {"distributor_id": fb_world.other_distributor_id},
        made.cashier: {"retailer_id": fb_world.retailer_id},
        made.other_cashier: {"retailer_id": fb_world.other_retailer_id},
    }
    with transaction(rt.sessions) as s:
        for person in vars(made).values():
            create_user(
                s,
                email=person.email,
                name=person.email.split("@")[0].title(),
                password=PASSWORD,
                role=person.role,
                scrypt_n=rt.settings.password_scrypt_n,
                **scopes.get(person, {}),
            )
    return made


# -- data ------------------------------------------------------------------------------------------------------


def paws_cards(n: int, *, start: int = 1, name: str = "Dana Smith", sku: str = "KIB-4") -> list[PosCard]:
    """``n`` good Acme Kibble cards at Paws Corner store 001 (each becomes a free good for Northwest)."""
    return [
        make_card(f"001-C{i}", name=name, phone=f"20655501{i:02d}", free=((sku, 1),)) for i in range(start, start + n)
    ]


def free_goods_for(rt: Runtime, fb_world: FbWorld, n: int, *, start: int = 1, name: str = "Dana Smith") -> list[int]:
    """Import ``n`` passing cards for Paws Corner (Northwest's retailer); the ids of their new free goods."""
    summary = import_cards(
        rt, fb_world.actors.retailer, fb_world.retailer_id, paws_cards(n, start=start, name=name), filename=f"r{start}"
    )
    assert summary.processed == n, summary
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(FreeGood.id)
                .join(PosRedemption, PosRedemption.id == FreeGood.pos_redemption_id)
                .where(PosRedemption.report_id == summary.report_id)
                .order_by(FreeGood.id)
            )
        )


def bark_free_good(rt: Runtime, fb_world: FbWorld) -> int:
    """A free good of Bark Avenue, so Columbia Distributing's (the *other* distributor's)."""
    card = make_card("B1-X1", store="B1", phone="5035550100")
    summary = import_cards(rt, fb_world.actors.other_retailer, fb_world.other_retailer_id, [card], filename="bark")
    assert summary.processed == 1, summary
    with rt.sessions() as s:
        return int(s.scalar(select(FreeGood.id).where(FreeGood.retailer_id == fb_world.other_retailer_id)) or 0)


def credited_batch(rt: Runtime, fb_world: FbWorld, goods: Sequence[int], description: str = "Week 24") -> int:
    """A Northwest batch of ``goods``, marked fulfilled (credited), ready for the retailer to reconcile."""
    actor = fb_world.actors.distributor
    batch = dist.create_batch(rt, actor, goods, description)
    dist.mark_batch_fulfilled(rt, actor, batch.id)
    return batch.id


def counts(rt: Runtime) -> dict[str, int]:
    """How many rows each frequent-buyer table holds: what a refused or dry-run request must leave as it was."""
    tables = {
        "reports": PosReport,
        "redemptions": PosRedemption,
        "customers": Customer,
        "free_goods": FreeGood,
        "events": FbEvent,
        "batches": Batch,
        "groups": CreditGroup,
        "memos": CreditMemo,
        "memo_lines": CreditMemoLine,
    }
    with rt.sessions() as s:
        return {name: int(s.scalar(select(func.count()).select_from(t)) or 0) for name, t in tables.items()}


def upload(
    browser: Console, data: bytes, *, mode: str, filename: str = "report.csv", fmt: str = "test-cards", **form: object
) -> TestResponse:
    """Submit ``form#pos-upload`` as the page does (multipart, with the session's CSRF token)."""
    fields: dict[str, object] = {
        "csrf_token": browser.csrf(),
        "mode": mode,
        "format": fmt,
        "file": (io.BytesIO(data), filename),
        **form,
    }
    return browser.client.post("/admin/pos-reports/upload", data=fields, content_type="multipart/form-data")
