"""A Hypothesis state machine over the distributor free-good and batch lifecycle, against ``models.BatchModel``.

The machine drives the real use cases of ``connector.core.frequent_buyer.distribution``
(``create_batch``, ``add_to_batch``, ``unbatch``, ``decline``, ``hold``, ``release``,
``mark_batch_fulfilled``, ``group_for_mfg_credit``) and the retailer's ``reconcile_batch`` on
PostgreSQL, over free goods of two retailers of one distributor (built by
``tests/frequent_buyer/distribution_fixtures.py`` exactly as POS ingestion leaves them).

After every step: every free good's status and batch, every batch's status, reconciliation and
credit group, each batch's totals (free goods, quantity, approximate cost) and the retailer's
Credit Status totals per view (uncredited, credited, reconciled, declined) match the model. A
refused call raises the model's error class with a message naming the state (for illegal moves,
the offending status), and the free goods, batches, groups, memos and events are unchanged.

Bounds: 12 examples of up to 25 steps, ``derandomize=True`` (the same examples every run).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from connector.core.frequent_buyer import distribution as d
from connector.core.frequent_buyer.credit_status import credit_status, reconcile_batch
from connector.core.frequent_buyer.tables import Batch, CreditGroup, CreditMemo, FbEvent, FreeGood
from connector.core.runtime import Runtime
from tests.frequent_buyer.distribution_fixtures import build_market, make_free_good
from tests.reliability.models import (
    B_FULFILLED,
    B_GROUPED,
    B_UNFULFILLED,
    BATCHED,
    CREDITED,
    DECLINED,
    GROUPED,
    HELD,
    UNBATCHED,
    BatchModel,
    GoodM,
    Refused,
)
from tests.reliability.stateful import SETTINGS, check_refused, reset_database

MAX_GOODS = 7
RETAILERS = ("paws", "kibble")  # both buy from North, so any two batches may be grouped together

picks = st.lists(st.integers(0, MAX_GOODS - 1), min_size=1, max_size=3, unique=True)


def retailer_view(model: BatchModel, g: GoodM) -> str:
    if g.status in (UNBATCHED, BATCHED, HELD):
        return "uncredited"
    if g.status == DECLINED:
        return "declined"
    assert g.status in (CREDITED, GROUPED)
    return "reconciled" if g.batch is not None and model.batches[g.batch].reconciled else "credited"


def snapshot(rt: Runtime) -> tuple:
    """In one round trip, what a refused call could change that the model does not see: events, groups,
    memos, and every free good's and batch's timestamps and reasons (statuses are checked against the model)."""

    def n(model: type) -> object:
        return select(func.count()).select_from(model).scalar_subquery()

    with rt.sessions() as s:
        return tuple(
            s.execute(
                select(
                    n(FbEvent), n(CreditGroup), n(CreditMemo),
                    select(func.max(FreeGood.updated_at)).scalar_subquery(),
                    select(func.count(FreeGood.reason)).scalar_subquery(),
                    select(func.count(Batch.fulfilled_at)).scalar_subquery(),
                    select(func.count(Batch.reconciled_at)).scalar_subquery(),
                )
            ).one()
        )  # fmt: skip


def make_machine(rt: Runtime) -> type[RuleBasedStateMachine]:
    stats: dict = {"examples": 0, "steps": 0, "refused": 0, "moves": 0, "done": {}, "refused_by": {}}

    class BatchMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.rt = rt
            reset_database(rt)
            self.m = build_market(rt)
            self.model = BatchModel()
            self.good_ids: list[int] = []
            self.batch_ids: list[int] = []
            self.actor = self.m.north_user
            stats["examples"] += 1

        # -- helpers ------------------------------------------------------------------------------------

        def goods(self, picked: list[int]) -> tuple[list[int], list[int]]:
            """Model indexes and database ids of the picked free goods (indexes wrap around)."""
            idx = sorted({p % len(self.good_ids) for p in picked})
            return idx, [self.good_ids[i] for i in idx]

        def attempt(self, model_call: Callable[[], object], call: Callable[[], object]) -> object | None:
            """Ask the model; a refusal must be the product's refusal too, with nothing changed."""
            stats["steps"] += 1
            try:
                result = model_call()
            except Refused as why:
                check_refused(call, why, lambda: snapshot(self.rt))
                stats["refused"] += 1
                op = model_call.__code__.co_names[-1]
                stats["refused_by"][op] = stats["refused_by"].get(op, 0) + 1
                return None
            call_result = call()
            stats["moves"] += 1
            op = model_call.__code__.co_names[-1]  # the model method the lambda calls
            stats["done"][op] = stats["done"].get(op, 0) + 1
            return (result, call_result)

        # -- rules ------------------------------------------------------------------------------------------

        @initialize(specs=st.lists(st.tuples(st.sampled_from(RETAILERS), st.integers(1, 4), st.integers(100, 2500)),
                                   min_size=2, max_size=4))  # fmt: skip
        def start_with_free_goods(self, specs: list[tuple[str, int, int]]) -> None:
            for spec in specs:
                self.new_free_good(*spec)

        # -- the use cases, on model indexes ----------------------------------------------------------------

        def ids_of(self, idx: list[int]) -> list[int]:
            return [self.good_ids[i] for i in idx]

        def do_create(self, idx: list[int]) -> None:
            done = self.attempt(
                lambda: self.model.create_batch(idx),
                lambda: d.create_batch(self.rt, self.actor, self.ids_of(idx), "stateful"),
            )
            if done is not None:
                b, view = done
                assert b == len(self.batch_ids)
                self.batch_ids.append(view.id)

        def do_add(self, b: int, idx: list[int]) -> None:
            self.attempt(
                lambda: self.model.add_to_batch(b, idx),
                lambda: d.add_to_batch(self.rt, self.actor, self.batch_ids[b], self.ids_of(idx)),
            )

        def do_move(self, event: str, idx: list[int]) -> None:
            ids = self.ids_of(idx)
            calls = {
                "unbatch": lambda: d.unbatch(self.rt, self.actor, ids, note="stateful"),
                "decline": lambda: d.decline(self.rt, self.actor, ids, reason="damaged"),
                "hold": lambda: d.hold(self.rt, self.actor, ids, reason="checking"),
                "release": lambda: d.release(self.rt, self.actor, ids),
            }
            self.attempt(lambda: self.model.move(idx, event), calls[event])

        def do_fulfil(self, b: int) -> None:
            self.attempt(
                lambda: self.model.fulfil(b), lambda: d.mark_batch_fulfilled(self.rt, self.actor, self.batch_ids[b])
            )

        def do_group(self, bs: list[int]) -> None:
            ids = [self.batch_ids[b] for b in bs]
            self.attempt(
                lambda: self.model.group(bs), lambda: d.group_for_mfg_credit(self.rt, self.actor, ids, "MFG claim")
            )

        def do_reconcile(self, b: int) -> None:
            retailer = self.m.paws_user if self.model.batches[b].retailer == "paws" else self.m.kibble_user
            self.attempt(lambda: self.model.reconcile(b), lambda: reconcile_batch(self.rt, retailer, self.batch_ids[b]))

        def goods_in(self, *statuses: str) -> list[int]:
            return [i for i, g in enumerate(self.model.goods) if g.status in statuses]

        def batches_in(self, *statuses: str) -> list[int]:
            return [b for b, batch in enumerate(self.model.batches) if batch.status in statuses]

        # -- rules: any target (mostly refusals) --------------------------------------------------------------

        @precondition(lambda self: len(self.good_ids) < MAX_GOODS)
        @rule(retailer=st.sampled_from(RETAILERS), quantity=st.integers(1, 4), cents=st.integers(100, 2500))
        def new_free_good(self, retailer: str, quantity: int, cents: int) -> None:
            cost = Decimal(cents) / 100
            self.good_ids.append(make_free_good(self.rt, self.m, retailer=retailer, quantity=quantity, unit_cost=cost))
            self.model.goods.append(GoodM(retailer=retailer, quantity=quantity, unit_cost=cost))

        @rule(
            op=st.sampled_from(
                ["create", "add", "unbatch", "decline", "hold", "release", "fulfil", "group", "reconcile"]
            ),
            picked=picks,
            bs=st.lists(st.integers(0, 5), min_size=1, max_size=2, unique=True),
        )
        def anything_on_anything(self, op: str, picked: list[int], bs: list[int]) -> None:
            """Any move on any free goods or batches: mostly refusals, each checked to change nothing."""
            idx = self.goods(picked)[0]
            batches = sorted({b % len(self.batch_ids) for b in bs}) if self.batch_ids else []
            if op == "create":
                self.do_create(idx)
            elif op in ("unbatch", "decline", "hold", "release"):
                self.do_move(op, idx)
            elif not batches:
                return
            elif op == "add":
                self.do_add(batches[0], idx)
            elif op == "fulfil":
                self.do_fulfil(batches[0])
            elif op == "group":
                self.do_group(batches)
            else:
                self.do_reconcile(batches[0])

        # -- rules: targets the move is meant for (so deep states are reached) ---------------------------------

        @precondition(lambda self: self.goods_in(UNBATCHED))
        @rule(data=st.data())
        def create_batch_of_unbatched(self, data: st.DataObject) -> None:
            idx = data.draw(st.lists(st.sampled_from(self.goods_in(UNBATCHED)), min_size=1, max_size=3, unique=True))
            self.do_create(sorted(idx))

        def addable(self) -> list[tuple[int, list[int]]]:
            """(unfulfilled batch, unbatched free goods of its retailer) pairs."""
            pairs = []
            for b in self.batches_in(B_UNFULFILLED):
                goods = [
                    i
                    for i in self.goods_in(UNBATCHED)
                    if self.model.goods[i].retailer == self.model.batches[b].retailer
                ]
                if goods:
                    pairs.append((b, goods))
            return pairs

        @precondition(lambda self: self.addable())
        @rule(data=st.data())
        def add_unbatched_to_unfulfilled_batch(self, data: st.DataObject) -> None:
            b, goods = data.draw(st.sampled_from(self.addable()))
            self.do_add(b, sorted(data.draw(st.lists(st.sampled_from(goods), min_size=1, max_size=2, unique=True))))

        @precondition(lambda self: self.goods_in(BATCHED, CREDITED, UNBATCHED, HELD, DECLINED))
        @rule(data=st.data())
        def move_movable(self, data: st.DataObject) -> None:
            event = data.draw(st.sampled_from(["unbatch", "decline", "hold", "release"]))
            sources = {"unbatch": (BATCHED, CREDITED), "decline": (UNBATCHED, BATCHED, CREDITED),
                       "hold": (UNBATCHED, BATCHED), "release": (HELD, DECLINED)}[event]  # fmt: skip
            if self.goods_in(*sources):
                idx = data.draw(st.lists(st.sampled_from(self.goods_in(*sources)), min_size=1, max_size=2, unique=True))
                self.do_move(event, sorted(idx))

        def credits_open(self) -> list[int]:
            """Credited free goods whose fulfilled batch is neither reconciled nor grouped: they may be taken back."""
            return [
                i for i in self.goods_in(CREDITED)
                if not self.model.batches[self.model.goods[i].batch].reconciled
                and self.model.batches[self.model.goods[i].batch].status == B_FULFILLED
            ]  # fmt: skip

        @precondition(lambda self: self.credits_open())
        @rule(data=st.data(), event=st.sampled_from(["unbatch", "decline"]))
        def take_back_a_credit(self, data: st.DataObject, event: str) -> None:
            self.do_move(event, [data.draw(st.sampled_from(self.credits_open()))])

        @precondition(lambda self: self.batches_in(B_UNFULFILLED))
        @rule(data=st.data())
        def fulfil_unfulfilled(self, data: st.DataObject) -> None:
            self.do_fulfil(data.draw(st.sampled_from(self.batches_in(B_UNFULFILLED))))

        def claimable(self) -> list[int]:
            """Fulfilled batches that still hold free goods: they can be grouped for MFG credit."""
            return [b for b in self.batches_in(B_FULFILLED) if self.model.members(b)]

        def reconcilable(self) -> list[int]:
            return [
                b for b in self.batches_in(B_FULFILLED, B_GROUPED)
                if self.model.members(b) and not self.model.batches[b].reconciled
            ]  # fmt: skip

        @precondition(lambda self: self.claimable())
        @rule(data=st.data())
        def group_fulfilled(self, data: st.DataObject) -> None:
            claimable = self.claimable()
            self.do_group(sorted(data.draw(st.lists(st.sampled_from(claimable), min_size=1, max_size=2, unique=True))))

        @precondition(lambda self: self.reconcilable())
        @rule(data=st.data())
        def reconcile_credited(self, data: st.DataObject) -> None:
            self.do_reconcile(data.draw(st.sampled_from(self.reconcilable())))

        # -- invariants -----------------------------------------------------------------------------------

        @invariant()
        def matches_the_model(self) -> None:
            batch_index = {bid: i for i, bid in enumerate(self.batch_ids)}
            with self.rt.sessions() as s:
                goods = {g.id: g for g in s.scalars(select(FreeGood))}
                batches = {b.id: b for b in s.scalars(select(Batch))}
            assert set(goods) == set(self.good_ids)
            assert set(batches) == set(self.batch_ids)
            for gid, g in zip(self.good_ids, self.model.goods, strict=True):
                row = goods[gid]
                assert row.status == g.status, (gid, row.status, g.status)
                assert batch_index.get(row.batch_id) == g.batch, (gid, row.batch_id, g.batch)
            groups: dict[int, int] = {}
            with self.rt.sessions() as s:
                views = {v.id: v for v in map(d.batch_view, s.execute(d.batch_select(self.m.admin)).all())}
            for bid, b in zip(self.batch_ids, self.model.batches, strict=True):
                row = batches[bid]
                assert row.status == b.status, (bid, row.status, b.status)
                assert (row.reconciled_at is not None) == b.reconciled
                if b.group is None:
                    assert row.credit_group_id is None
                else:  # the model numbers groups 1, 2, …; the database has its own ids, one per model group
                    assert groups.setdefault(b.group, row.credit_group_id) == row.credit_group_id
                view = views[bid]
                count, quantity, cost = self.model.totals(batch_index[bid])
                assert (view.free_goods, view.quantity) == (count, quantity), (bid, view, count, quantity)
                assert view.approximate_cost == cost, (bid, view.approximate_cost, cost)
            assert len(set(groups.values())) == len(groups) == self.model.groups

        def teardown(self) -> None:
            """The retailer's Credit Status report agrees with the model (once per example: it is the slow read)."""
            for retailer, user in (("paws", self.m.paws_user), ("kibble", self.m.kibble_user)):
                report = credit_status(self.rt, user)
                got = {t.view.value: (t.free_goods, t.quantity) for t in report.totals}
                want = {v: (0, 0) for v in got}
                for g in self.model.goods:
                    if g.retailer == retailer:
                        n, q = want[retailer_view(self.model, g)]
                        want[retailer_view(self.model, g)] = (n + 1, q + g.quantity)
                assert got == want, (retailer, got, want)

    BatchMachine.stats = stats  # type: ignore[attr-defined]
    return BatchMachine


def test_distributor_batch_lifecycle_matches_the_model(make_runtime):
    rt = make_runtime()
    machine = make_machine(rt)
    run_state_machine_as_test(machine, settings=SETTINGS)
    stats = machine.stats  # type: ignore[attr-defined]
    print(f"batch machine: {stats}")
    assert stats["moves"] > 0 and stats["refused"] > 0
