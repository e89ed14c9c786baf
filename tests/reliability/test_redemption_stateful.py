"""A Hypothesis state machine over the redemption lifecycle, against ``models.RedemptionModel``.

The machine drives the real use cases (``create_redemption``, the ``fulfil_redemption`` job,
``retry_redemption``, ``reverse_redemption`` with and without cancelling the order,
``resend_confirmation``, and signed ``fulfillments/update`` webhooks through ``receive_webhook``
and its ``process_webhook`` job) on PostgreSQL, with ``FakeShopPlugin`` as the shop. Fulfilment
jobs are recorded instead of run, so a redemption can sit pending; the ``fulfil`` rule runs one
attempt with the outcome Hypothesis picks (the shop succeeds, refuses for good, or fails
transiently). The clock is the machine's own and moves two hours before every attempt, so a
scheduled retry is always due (backoff itself is tested in tests/core/test_fulfilment.py).

After every step: each redemption's status, order, delivery status and exact event kinds match
the model; the member's balance (the ledger sum) matches; no redemption has more than one order,
one ``spent`` or one ``returned`` ledger row. A refused call raises the model's error class, its
message names the state it was refused in, and the database is unchanged.

Bounds: 12 examples of up to 25 steps, ``derandomize=True`` (the same examples every run).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select

from connector.core.access import Actor
from connector.core.errors import ProviderError
from connector.core.fulfilment import FULFIL_JOB, fulfil_redemption
from connector.core.model import Role
from connector.core.redemptions import create_redemption, points_balance, resend_confirmation, retry_redemption
from connector.core.reversal import reverse_redemption
from connector.core.runtime import Runtime
from connector.core.tables import LedgerEntry, OutboundMessage, Redemption, RedemptionEventRow
from connector.core.webhook_intake import receive_webhook
from connector.jobs import run_job
from tests.conftest import seed_world
from tests.fakes import FakeShopPlugin
from tests.reliability.models import RedemptionModel, Refused
from tests.reliability.stateful import EXAMPLES, SETTINGS, check_refused, reset_database
from tests.web.support import shopify_headers

SUPPORT = Actor("support@acme", Role.SUPPORT)
COST, POINTS, MAX_ATTEMPTS = 500, 1500, 3
SHIPMENT = {"in_progress": "label_printed", "shipped": "in_transit", "delivered": "delivered", "failure": "failure"}


class RecordingDispatcher:
    """Runs cancel and webhook jobs inline (like ``SyncDispatcher``); only records fulfilment jobs."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.fulfil_jobs: list[int] = []

    def enqueue(self, job: str, arg: int, *, key: str, at: datetime | None = None) -> bool:
        if job == FULFIL_JOB:
            self.fulfil_jobs.append(arg)
        else:
            run_job(job, arg, self.rt)
        return True

    def wake(self, job: str, *, key: str) -> bool:
        return self.enqueue(job, 0, key=key)

    def woken(self, key: str) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def db_state(rt: Runtime) -> tuple:
    """Everything a refused call must leave as it was."""
    with rt.sessions() as s:
        rows = s.execute(
            select(
                Redemption.id, Redemption.status, Redemption.updated_at, Redemption.external_order_id,
                Redemption.delivery_status, Redemption.cancel_requested_at, Redemption.attempts,
            ).order_by(Redemption.id)
        ).all()  # fmt: skip
        counts = tuple(
            int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (LedgerEntry, RedemptionEventRow, OutboundMessage)
        )
    return tuple(map(tuple, rows)), counts


def make_machine(build: Callable[[], tuple[Runtime, FakeShopPlugin, Clock]]) -> type[RuleBasedStateMachine]:
    stats: dict = {"examples": 0, "steps": 0, "refused": 0, "done": {}}

    class RedemptionMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.rt, self.shop, self.clock = build()
            reset_database(self.rt)
            self.rt.secret_cache.forget("acme-pets.myshopify.com")
            self.world = seed_world(self.rt, points=POINTS)
            self.model = RedemptionModel(cost=COST, balance=POINTS, max_attempts=MAX_ATTEMPTS)
            self.ids: list[int] = []
            self.stamp = itertools.count(1)
            stats["examples"] += 1

        # -- helpers ------------------------------------------------------------------------------------

        def pick(self, i: int) -> tuple[int, object]:
            k = i % len(self.ids)
            return self.ids[k], self.model.redemptions[k]

        def refused(self, call: Callable[[], object], why: Refused) -> None:
            """``call`` must raise the model's error class, name the state, and change nothing."""
            exc = check_refused(call, why, lambda: db_state(self.rt))
            if why.expected == "IllegalTransitionError":
                assert exc.details.get("current") == why.state, exc.details
            stats["refused"] += 1

        def step(self) -> None:
            stats["steps"] += 1

        def done(self, what: str) -> None:
            stats["done"][what] = stats["done"].get(what, 0) + 1

        # -- rules ------------------------------------------------------------------------------------------

        @rule()
        def claim(self) -> None:
            self.step()
            try:
                expected = None
                self.model.claim()
            except Refused as why:
                expected = why
            if expected is not None:
                self.refused(
                    lambda: create_redemption(self.rt, SUPPORT, member_id=self.world.member.id,
                                              reward_id=self.world.reward.id),
                    expected,
                )  # fmt: skip
                return
            jobs = len(self.rt.dispatcher.fulfil_jobs)
            created = create_redemption(
                self.rt, SUPPORT, member_id=self.world.member.id, reward_id=self.world.reward.id
            )
            assert not created.replayed
            self.ids.append(created.redemption.id)
            assert self.rt.dispatcher.fulfil_jobs[jobs:] == [created.redemption.id], "claiming queues one attempt"
            self.done("claim")

        @precondition(lambda self: self.ids)
        @rule(i=st.integers(0, 7), outcome=st.sampled_from(["ok", "permanent", "transient"]))
        def fulfil(self, i: int, outcome: str) -> None:
            self.step()
            rid, r = self.pick(i)
            self.clock.now += timedelta(hours=2)
            if outcome == "permanent":
                self.shop.script[:] = [ProviderError("product_not_found", retryable=False)]
            elif outcome == "transient":
                self.shop.script[:] = [ProviderError("shop_unavailable", "503 from the shop", retryable=True)]
            else:
                self.shop.script[:] = []
            expected = self.model.fulfil(r, outcome)
            assert fulfil_redemption(self.rt, rid) == expected
            self.done(f"fulfil:{expected}")
            self.shop.script[:] = []

        @precondition(lambda self: self.ids)
        @rule(i=st.integers(0, 7))
        def retry(self, i: int) -> None:
            self.step()
            rid, r = self.pick(i)
            try:
                self.model.retry(r)
            except Refused as why:
                self.refused(lambda: retry_redemption(self.rt, rid, SUPPORT), why)
                return
            jobs = len(self.rt.dispatcher.fulfil_jobs)
            assert retry_redemption(self.rt, rid, SUPPORT).status == "pending"
            assert self.rt.dispatcher.fulfil_jobs[jobs:] == [rid]
            self.done("retry")

        @precondition(lambda self: self.ids)
        @rule(i=st.integers(0, 7), cancel=st.booleans())
        def reverse(self, i: int, cancel: bool) -> None:
            self.step()
            rid, r = self.pick(i)
            try:
                self.model.reverse(r, cancel)
            except Refused as why:
                self.refused(lambda: reverse_redemption(self.rt, rid, SUPPORT, cancel_order=cancel), why)
                return
            cancelled = len(self.shop.cancelled)
            assert (
                reverse_redemption(self.rt, rid, SUPPORT, reason="stateful", cancel_order=cancel).status == "reversed"
            )
            assert len(self.shop.cancelled) == cancelled + (1 if cancel and r.has_order else 0)
            self.done("reverse+cancel" if cancel else "reverse")

        @precondition(lambda self: self.ids)
        @rule(i=st.integers(0, 7))
        def resend(self, i: int) -> None:
            self.step()
            rid, r = self.pick(i)
            try:
                self.model.resend(r)
            except Refused as why:
                self.refused(lambda: resend_confirmation(self.rt, rid, SUPPORT), why)
                return
            assert resend_confirmation(self.rt, rid, SUPPORT).status == "sent"
            self.done("resend")

        @precondition(lambda self: self.ids)
        @rule(i=st.integers(0, 7), status=st.sampled_from(sorted(SHIPMENT)))
        def delivery_webhook(self, i: int, status: str) -> None:
            self.step()
            rid, r = self.pick(i)
            with self.rt.sessions() as s:
                order = s.get(Redemption, rid).external_order_id
            number = int(order.rsplit("/", 1)[1]) if order else 900_000 + rid
            n = next(self.stamp)
            updated = (datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=n)).isoformat()
            body = json.dumps(
                {"id": 7_000_000 + rid, "order_id": number, "status": "success", "shipment_status": SHIPMENT[status],
                 "tracking_number": f"TRK{n}", "updated_at": updated,
                 "admin_graphql_api_id": f"gid://shopify/Fulfillment/{7_000_000 + rid}"}
            ).encode()  # fmt: skip
            received = receive_webhook(self.rt, "shopify", shopify_headers(body, "fulfillments/update"), body)
            assert not received.duplicate
            before = r.delivery
            self.model.delivery_update(r, status)
            self.done("webhook:moved" if r.delivery != before else "webhook:ignored")

        # -- rules aimed at the redemptions the move is meant for (so deep states are reached) ---------------

        def in_status(self, *statuses: str) -> list[int]:
            return [k for k, m in enumerate(self.model.redemptions) if m.status in statuses]

        @precondition(lambda self: self.in_status("pending"))
        @rule(data=st.data(), outcome=st.sampled_from(["ok", "ok", "permanent", "transient"]))
        def fulfil_pending(self, data: st.DataObject, outcome: str) -> None:
            self.fulfil(data.draw(st.sampled_from(self.in_status("pending"))), outcome)

        @precondition(lambda self: self.in_status("error"))
        @rule(data=st.data())
        def retry_error(self, data: st.DataObject) -> None:
            self.retry(data.draw(st.sampled_from(self.in_status("error"))))

        @precondition(lambda self: any(m.has_order for m in self.model.redemptions))
        @rule(data=st.data(), status=st.sampled_from(sorted(SHIPMENT)))
        def delivery_webhook_for_an_order(self, data: st.DataObject, status: str) -> None:
            with_order = [k for k, m in enumerate(self.model.redemptions) if m.has_order]
            self.delivery_webhook(data.draw(st.sampled_from(with_order)), status)

        # -- invariants -----------------------------------------------------------------------------------

        @invariant()
        def matches_the_model(self) -> None:
            with self.rt.sessions() as s:
                assert points_balance(s, self.world.member.id) == self.model.balance
                rows = {r.id: r for r in s.scalars(select(Redemption))}
                kinds: dict[int, list[str]] = {}
                for rid, kind in s.execute(
                    select(RedemptionEventRow.redemption_id, RedemptionEventRow.kind).order_by(RedemptionEventRow.id)
                ):
                    kinds.setdefault(rid, []).append(kind)
                ledger = {
                    (rid, kind): n
                    for rid, kind, n in s.execute(
                        select(LedgerEntry.redemption_id, LedgerEntry.kind, func.count())
                        .where(LedgerEntry.redemption_id.is_not(None))
                        .group_by(LedgerEntry.redemption_id, LedgerEntry.kind)
                    )
                }
                sent = dict(
                    s.execute(
                        select(OutboundMessage.redemption_id, func.count()).group_by(OutboundMessage.redemption_id)
                    ).all()
                )
            assert set(rows) == set(self.ids)
            for rid, m in zip(self.ids, self.model.redemptions, strict=True):
                row = rows[rid]
                assert row.status == m.status, (rid, row.status, m.status)
                assert (row.external_order_id is not None) == m.has_order
                if m.order_number is not None:
                    assert row.external_order_id == f"gid://shopify/Order/{m.order_number}"
                assert row.delivery_status == m.delivery, (rid, row.delivery_status, m.delivery)
                assert kinds.get(rid, []) == m.events, (rid, kinds.get(rid), m.events)
                assert ledger.get((rid, "spent")) == 1
                assert ledger.get((rid, "returned")) == (1 if m.status == "reversed" else None)
                assert sent.get(rid, 0) == m.messages
            # At most one order per redemption, and one order per model "ok".
            assert len(self.shop.orders) == self.model.orders
            assert len(set(self.shop.orders.values())) == len(self.shop.orders)

    RedemptionMachine.stats = stats  # type: ignore[attr-defined]
    return RedemptionMachine


def test_redemption_lifecycle_matches_the_model(make_runtime):
    shop = FakeShopPlugin()
    clock = Clock()
    rt = make_runtime(plugins=[shop], max_attempts=MAX_ATTEMPTS, retry_base_seconds=60.0)
    rt.now = clock
    rt.dispatcher = RecordingDispatcher(rt)

    def build() -> tuple[Runtime, FakeShopPlugin, Clock]:
        shop.orders.clear()
        shop.requests.clear()
        shop.cancelled.clear()
        shop.script.clear()
        rt.dispatcher.fulfil_jobs.clear()
        clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
        return rt, shop, clock

    machine = make_machine(build)
    run_state_machine_as_test(machine, settings=SETTINGS)
    stats = machine.stats  # type: ignore[attr-defined]
    print(f"redemption machine: {stats}")
    assert stats["examples"] >= EXAMPLES // 2 and stats["refused"] > 0
