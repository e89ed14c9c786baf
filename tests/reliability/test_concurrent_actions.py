"""Issue 5 (b): ten concurrent reversals, retries and resends of one redemption.

Each scenario puts one redemption in a starting state (fulfilled, or in error with its cause
fixed), then releases ten JSON API calls against it at the same instant (``threading.Barrier``,
one thread and one HTTP connection each, a real threaded server on 127.0.0.1, PostgreSQL).
Jobs run inline (sync dispatcher), so a winning retry creates its shop order in the simulator
while the other calls are still in flight; the simulator adds latency to widen that window.

Whatever interleaving the database picks, the product's rules must hold:

* the points come back at most once: one ``returned`` ledger row of the reward's cost when a
  reversal won, none otherwise, and the member's balance agrees;
* one reversal wins, the other reversals get 409 ``illegal_transition``; a retry gets 200 only
  from ``error`` and 409 otherwise; a resend gets 200 (every resend sends, and is logged: the
  API and console document it) unless the redemption is already reversed (409 ``conflict``);
  nobody gets a 5xx;
* one terminal state: ``reversed`` when a reversal was in the mix, ``fulfilled`` otherwise;
* the timeline is consistent: each status change starts where the previous one ended, exactly
  one ``reversed`` row, nothing after it but the order's cancellation or a late order's note,
  and no confirmation is queued after the reversal;
* at most one shop order per redemption; when the winning reversal asked for it, that order
  ends cancelled;
* one outbound email per successful resend.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, text

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.redemptions import create_redemption, points_balance
from connector.core.runtime import Runtime
from connector.core.tables import LedgerEntry, OutboundMessage, Redemption, RedemptionEventRow
from tests.conftest import World, backend, seed_world
from tests.integration import conftest as integration
from tests.reliability.concurrency import Answer, live_app, post, release_together
from tests.web.support import bearer, make_token

sim = integration.sim  # the Shopify simulator fixture (tests/integration's conftest is not seen from here)

SUPPORT = Actor("support@acme", Role.SUPPORT)
POINTS = 10_000
SIM_LATENCY_MS = 40

pytestmark = pytest.mark.skipif(
    backend() != "postgres", reason="concurrent writers on one row: the guarantees are PostgreSQL's row locks"
)


@dataclass
class Stage:
    rt: Runtime
    world: World
    sim: Any
    token: str
    mug_id: int


@pytest.fixture
def stage(make_runtime, sim) -> Stage:
    rt = make_runtime()
    w = seed_world(rt, api_base_url=sim.base_url, points=POINTS)
    sim.control("products", {"title": "Ambassador Mug", "variants": [{"sku": "MUG-1", "inventory": 1000}]})
    with transaction(rt.sessions) as s:
        mug = catalog.add_reward(
            s, s.merge(w.brand), name="Ambassador Mug", sku="MUG-1", points_cost=300, shop=s.merge(w.shop)
        ).id
    return Stage(rt, w, sim, make_token(rt, Role.SUPPORT, name="support-desk"), mug)


def fulfilled_redemption(st: Stage) -> Redemption:
    rid = create_redemption(st.rt, SUPPORT, member_id=st.world.member.id, reward_id=st.world.reward.id).redemption.id
    r = _redemption(st.rt, rid)
    assert r.status == "fulfilled" and r.external_order_id
    return r


def error_redemption(st: Stage) -> Redemption:
    """In error (``product_not_found``), its cause since fixed: the next attempt will succeed.

    The shop tells the connector that the product went to draft (``products/update``), as Shopify does,
    so the variant the connector cached for the SKU is forgotten and the draft product is refused. The
    product's return to active is not delivered: that webhook would retry the redemption by itself, and
    the scenarios start from a redemption still in error.
    """
    with live_app(st.rt) as base:
        st.sim.control("config", {"webhook_target_url": f"{base}/webhooks/shopify"})
        try:
            st.sim.control("variants/MUG-1", {"status": "DRAFT"}, method="PATCH")
        finally:
            st.sim.control("config", {"webhook_target_url": None})
    rid = create_redemption(st.rt, SUPPORT, member_id=st.world.member.id, reward_id=st.mug_id).redemption.id
    st.sim.control("variants/MUG-1", {"status": "ACTIVE"}, method="PATCH")
    r = _redemption(st.rt, rid)
    assert (r.status, r.error_code) == ("error", "product_not_found")
    return r


def _redemption(rt: Runtime, rid: int) -> Redemption:
    with rt.sessions() as s:
        return s.get(Redemption, rid)


# -- firing ----------------------------------------------------------------------------------------------

ACTIONS = {
    "reverse": ("reverse", {"reason": "member asked"}),
    "reverse+cancel": ("reverse", {"reason": "member asked", "cancel_order": True}),
    "retry": ("retry", {"note": "product fixed"}),
    "resend": ("resend-confirmation", None),
}


@dataclass
class Fired:
    actions: list[str]
    answers: list[Answer]
    seconds: float

    def by(self, action: str) -> list[Answer]:
        return [a for name, a in zip(self.actions, self.answers, strict=True) if name.startswith(action)]

    def won(self, action: str) -> list[str]:
        return [n for n, a in zip(self.actions, self.answers, strict=True) if n.startswith(action) and a.status == 200]


def fire(st: Stage, rid: int, mix: dict[str, int], seed: int) -> Fired:
    actions = [name for name, n in mix.items() for _ in range(n)]
    random.Random(seed).shuffle(actions)  # which thread gets which action; the barrier releases them together
    base_headers = bearer(st.token)

    def call(name: str):  # noqa: ANN202
        path, body = ACTIONS[name]
        return lambda: post(f"{base}/api/v1/redemptions/{rid}/{path}", json=body or {}, headers=base_headers)

    st.sim.control("config", {"latency_ms": SIM_LATENCY_MS})
    with live_app(st.rt) as base:
        started = time.monotonic()
        outcomes = release_together([call(name) for name in actions])
        seconds = time.monotonic() - started
    st.sim.control("config", {"latency_ms": 0})
    for name, outcome in zip(actions, outcomes, strict=True):
        assert outcome.error is None, f"{name}: {outcome.error!r}"
    return Fired(actions, [o.value for o in outcomes], seconds)


# -- what must hold ----------------------------------------------------------------------------------------

#: What may follow the ``reversed`` row: the shop order's fate, an email decided before, a webhook.
AFTER_REVERSAL = {
    "order_created_after_reversal",
    "order_cancelled",
    "order_cancel_failed",
    "confirmation_sent",
    "delivery_updated",
}


def check(st: Stage, r0: Redemption, fired: Fired) -> dict[str, Any]:
    rt, rid = st.rt, r0.id
    answers = list(zip(fired.actions, fired.answers, strict=True))
    assert not [(n, a.status, a.body) for n, a in answers if a.status >= 500], "a concurrent action answered 5xx"
    for name, a in answers:
        assert a.status in (200, 409), (name, a.status, a.body)
        if a.status == 409:
            assert a.error_code in {"illegal_transition", "conflict"} and a.body["error"]["message"], a.body

    r = _redemption(rt, rid)
    with rt.sessions() as s:
        events = list(
            s.scalars(
                select(RedemptionEventRow)
                .where(RedemptionEventRow.redemption_id == rid)
                .order_by(RedemptionEventRow.id)
            )
        )
        returned = list(
            s.scalars(select(LedgerEntry).where(LedgerEntry.redemption_id == rid, LedgerEntry.kind == "returned"))
        )
        balance = points_balance(s, r.member_id)
        messages = list(
            s.scalars(select(OutboundMessage).where(OutboundMessage.redemption_id == rid).order_by(OutboundMessage.id))
        )
    kinds = [e.kind for e in events]

    # One terminal state, consistent with who won.
    reversals = fired.won("reverse")
    if fired.by("reverse"):
        assert len(reversals) == 1, f"{len(reversals)} reversals won"
        assert r.status == "reversed" and r.reversed_at is not None
        assert [a.error_code for a in fired.by("reverse") if a.status != 200] == ["illegal_transition"] * (
            len(fired.by("reverse")) - 1
        )
    else:
        assert r.status == "fulfilled"

    # Points back exactly once.
    if reversals:
        assert [(e.delta, e.kind) for e in returned] == [(r.points_cost, "returned")]
        assert balance == POINTS
        [reversed_row] = [e for e in events if e.kind == "reversed"]
        assert reversed_row.detail["points_returned"] == r.points_cost
    else:
        assert returned == [] and balance == POINTS - r.points_cost
        assert "reversed" not in kinds

    # The timeline: every status change starts where the last one ended.
    changes = [(e.kind, e.from_status, e.to_status) for e in events if e.to_status]
    for (_, _, was), (kind, start, _) in zip(changes, changes[1:], strict=False):
        assert start == was, f"{kind} recorded from {start} but the redemption was {was}: {changes}"
    assert changes[-1][2] == r.status, changes
    if "reversed" in kinds:
        after = kinds[kinds.index("reversed") + 1 :]
        assert set(after) <= AFTER_REVERSAL, f"after the reversal: {after}"

    # Retries: only from error, one at a time, each leading to one attempt.
    retries = fired.won("retry")
    assert kinds.count("retried") == len(retries) <= 1, (kinds, retries)
    if retries:
        start = kinds.index("retried")
        assert kinds[start:].count("attempt_started") <= 1, kinds
    if fired.by("retry") and not reversals:
        assert len(retries) == 1  # from error, with its cause fixed, one retry must go through

    # At most one shop order; cancelled when the winning reversal asked for it.
    orders = st.sim.control(f"orders?tag=redemption-{r.code}")["orders"]
    assert len(orders) <= 1, f"{len(orders)} shop orders for {r.code}"
    if orders:
        assert r.external_order_id and orders[0]["admin_graphql_api_id"] == r.external_order_id
    if reversals == ["reverse+cancel"] and orders:
        assert orders[0]["cancelled_at"], "the reversal asked for the order to be cancelled"
        assert r.order_cancelled_at is not None and r.delivery_status == "cancelled"
        assert kinds.count("order_cancelled") == 1
    elif reversals and orders:
        assert not orders[0]["cancelled_at"] and r.order_cancelled_at is None

    # Resends: one email per successful resend, none decided after the reversal.
    resends = fired.won("resend")
    refused = [a for a in fired.by("resend") if a.status != 200]
    assert all(a.error_code == "conflict" for a in refused), [a.body for a in refused]
    if refused:
        # Refused once reversed, or while in error (the email would promise a blocked order).
        assert reversals or r0.status == "error" or any("error" in (was, now) for _, was, now in changes)
    by_support = [m for m in messages if m.actor != "system"]
    assert len(by_support) == len(resends), (len(by_support), len(resends))
    assert kinds.count("confirmation_queued") == len(resends)
    assert all(m.status == "sent" for m in messages)
    if "reversed" in kinds and resends:
        assert kinds.index("reversed") > max(i for i, k in enumerate(kinds) if k == "confirmation_queued")
    with rt.sessions() as s:  # every email written to the outbox is one logged message (all redemptions)
        logged = s.scalar(select(func.count()).select_from(OutboundMessage).where(OutboundMessage.status == "sent"))
    assert len(list(rt.settings.outbox_dir.glob("*.eml"))) == logged

    counts = Counter(a.status for a in fired.answers)
    return {
        "fired": len(fired.actions),
        "won": dict(Counter(n for n, a in answers if a.status == 200)),
        "refused": counts.get(409, 0),
        "final": r.status,
        "orders": len(orders),
        "emails": len(resends),
        "seconds": round(fired.seconds, 2),
    }


# -- the scenarios -----------------------------------------------------------------------------------------

SCENARIOS = {
    "ten reversals of a fulfilled redemption": ("fulfilled", {"reverse": 5, "reverse+cancel": 5}),
    "reversals against retries of an error": ("error", {"reverse+cancel": 3, "retry": 7}),
    "ten retries of an error": ("error", {"retry": 10}),
    "ten resends of a fulfilled redemption": ("fulfilled", {"resend": 10}),
    "resends against reversals": ("fulfilled", {"resend": 6, "reverse": 2, "reverse+cancel": 2}),
    "everything on an error": ("error", {"reverse": 2, "reverse+cancel": 2, "retry": 3, "resend": 3}),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_ten_concurrent_actions_on_one_redemption(stage, scenario):
    start, mix = SCENARIOS[scenario]
    seed = 20261123 + list(SCENARIOS).index(scenario)
    r0 = fulfilled_redemption(stage) if start == "fulfilled" else error_redemption(stage)
    fired = fire(stage, r0.id, mix, seed)
    summary = check(stage, r0, fired)
    print(f"concurrent actions [{scenario}] seed={seed}: {summary}")


def test_three_rounds_on_one_member_return_each_redemptions_points_once(stage):
    """The full mix three times over, each on a fresh error redemption of the same member: balances add up."""
    ids = []
    for round_ in range(3):
        r0 = error_redemption(stage)
        fired = fire(stage, r0.id, {"reverse+cancel": 4, "retry": 4, "resend": 2}, seed=round_)
        print(f"concurrent actions [round {round_}]: {check(stage, r0, fired)}")
        ids.append(r0.id)
    with stage.rt.sessions() as s:
        returned = s.scalar(
            select(func.count()).where(LedgerEntry.redemption_id.in_(ids), LedgerEntry.kind == "returned")
        )
        assert returned == 3
        assert points_balance(s, stage.world.member.id) == POINTS


# -- the same races, made deterministic ------------------------------------------------------------------
#
# A second transaction plays the concurrent writer and holds the redemption's row lock while the
# reversal arrives; once PostgreSQL shows the reversal waiting on a lock, the writer commits. Before
# the reversal locked the row when reading it, it read the old row, waited only at its UPDATE, and
# then acted on what it had read: the wrong from-status, and no cancellation of an order recorded
# meanwhile.


def _wait_until_blocked(rt: Runtime, done: Any, timeout: float = 20.0) -> None:
    """Until another backend of this database waits on a lock (or the call already finished)."""
    deadline = time.monotonic() + timeout
    with rt.engine.connect() as c:
        while time.monotonic() < deadline and not done():
            waiting = c.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            if waiting:
                return
            c.rollback()
            time.sleep(0.02)
    assert done(), "the reversal neither finished nor waited on the row lock"


def _reverse_while_locked(st: Stage, rid: int, writer_sql: str, params: dict, cancel: bool) -> Answer:
    """Run ``writer_sql`` in a transaction holding the row, reverse meanwhile, commit, return the answer."""
    result: list[Answer] = []
    with st.rt.engine.connect() as writer, live_app(st.rt) as base:
        writer.execute(text("SELECT id FROM redemptions WHERE id = :id FOR UPDATE"), {"id": rid})
        writer.execute(text(writer_sql), {"id": rid, **params})
        thread = threading.Thread(
            target=lambda: result.append(
                post(
                    f"{base}/api/v1/redemptions/{rid}/reverse",
                    json={"reason": "race", "cancel_order": cancel},
                    headers=bearer(st.token),
                )
            ),
            daemon=True,
        )
        thread.start()
        _wait_until_blocked(st.rt, lambda: bool(result))
        writer.commit()
        thread.join(timeout=60)
    assert result, "the reversal did not answer"
    return result[0]


def test_reversal_racing_a_retry_records_the_state_it_reversed(stage):
    r0 = error_redemption(stage)
    # The retry's transaction: error -> pending, committed while the reversal waits.
    answer = _reverse_while_locked(
        stage, r0.id, "UPDATE redemptions SET status = 'pending', error_code = NULL WHERE id = :id", {}, cancel=False
    )
    assert answer.status == 200, answer.body
    with stage.rt.sessions() as s:
        row = s.scalars(
            select(RedemptionEventRow).where(
                RedemptionEventRow.redemption_id == r0.id, RedemptionEventRow.kind == "reversed"
            )
        ).one()
    assert (row.from_status, row.to_status) == ("pending", "reversed")


def test_reversal_with_cancel_racing_the_order_being_recorded_cancels_that_order(stage):
    r0 = fulfilled_redemption(stage)
    order_id = r0.external_order_id
    # Back to the moment the shop order exists but is not recorded yet (fulfilment in flight).
    with transaction(stage.rt.sessions) as s:
        r = s.get(Redemption, r0.id)
        r.status, r.external_order_id, r.external_order_name, r.delivery_status = "pending", None, None, None
    # The fulfilment's transaction records the order (pending -> fulfilled) while the reversal waits.
    answer = _reverse_while_locked(
        stage,
        r0.id,
        "UPDATE redemptions SET status = 'fulfilled', external_order_id = :order, delivery_status = 'unfulfilled' "
        "WHERE id = :id",
        {"order": order_id},
        cancel=True,
    )
    assert answer.status == 200, answer.body
    r = _redemption(stage.rt, r0.id)
    assert r.status == "reversed" and r.order_cancelled_at is not None, "the reversal asked to cancel the order"
    [order] = stage.sim.control(f"orders?tag=redemption-{r.code}")["orders"]
    assert order["cancelled_at"]
