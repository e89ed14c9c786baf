"""Reference models for the stateful tests: plain Python, no database, no product code.

Each model says, for one operation, what the product must do: the new state, or the
error class it must raise (and then nothing may change). The stateful machines in
``test_redemption_stateful.py`` and ``test_batch_stateful.py`` run the real use cases
against PostgreSQL and compare every step with these models.

The rules are written from docs/architecture.md, docs/distributor-fulfilment.md and the
lifecycle tables' documented meaning, deliberately not by importing the product's tables,
so that a change to a table the model disagrees with shows up as a failing step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# -- redemptions ---------------------------------------------------------------------------------------------

PENDING, FULFILLED, ERROR, REVERSED = "pending", "fulfilled", "error", "reversed"

#: Delivery statuses in the order a webhook may move them (the product's forward-only rule).
DELIVERY_RANK = {"unfulfilled": 0, "in_progress": 1, "shipped": 2, "failure": 3, "delivered": 4, "cancelled": 5}
NOT_CANCELLABLE = {"shipped", "delivered"}


class Refused(Exception):  # noqa: N818 - a model outcome, not an error of the model
    """The model's answer "this call must be refused with ``expected`` and change nothing"."""

    def __init__(self, expected: str, state: str | None = None) -> None:
        super().__init__(expected)
        self.expected = expected  # the error class name the product must raise
        self.state = state  # words the message must contain: the state it was refused in, or why


@dataclass
class RedemptionM:
    status: str = PENDING
    has_order: bool = False
    order_number: int | None = None
    delivery: str | None = None
    delivery_timestamped: bool = False
    attempts_since_retry: int = 0
    events: list[str] = field(default_factory=lambda: ["claimed"])
    messages: int = 0


@dataclass
class RedemptionModel:
    cost: int
    balance: int
    max_attempts: int
    redemptions: list[RedemptionM] = field(default_factory=list)
    orders: int = 0

    def claim(self) -> RedemptionM:
        if self.balance < self.cost:
            raise Refused("ValidationError")
        self.balance -= self.cost
        r = RedemptionM()
        self.redemptions.append(r)
        return r

    def fulfil(self, r: RedemptionM, outcome: str) -> str:
        """One fulfilment job. ``outcome`` is what the shop does: ``ok``, ``permanent`` or ``transient``."""
        if r.status != PENDING:
            return "skipped"  # the job finds nothing to do: not an error, no change
        r.attempts_since_retry += 1
        r.events.append("attempt_started")
        if outcome == "ok":
            r.status = FULFILLED
            r.has_order = True
            self.orders += 1
            r.order_number = self.orders
            r.delivery = "unfulfilled"
            r.events += ["fulfilled", "confirmation_sent"]
            r.messages += 1
            return "fulfilled"
        if outcome == "transient" and r.attempts_since_retry < self.max_attempts:
            r.events.append("attempt_failed")
            return "retry"
        r.status = ERROR
        r.events.append("failed")
        return "error"

    def retry(self, r: RedemptionM) -> None:
        if r.status != ERROR:
            raise Refused("IllegalTransitionError", r.status)
        r.status = PENDING
        r.attempts_since_retry = 0
        r.events.append("retried")

    def reverse(self, r: RedemptionM, cancel: bool) -> None:
        if r.status == REVERSED:
            raise Refused("IllegalTransitionError", r.status)
        if cancel and r.delivery in NOT_CANCELLABLE:
            raise Refused("ValidationError", r.delivery)
        r.status = REVERSED
        self.balance += self.cost
        r.events.append("reversed")
        if cancel and r.has_order:
            r.delivery = "cancelled"
            r.events.append("order_cancelled")

    def resend(self, r: RedemptionM) -> None:
        if r.status in (REVERSED, ERROR):  # in error: the email would promise an order that is blocked
            raise Refused("ConflictError", r.status)
        r.events += ["confirmation_queued", "confirmation_sent"]
        r.messages += 1

    def delivery_update(self, r: RedemptionM, new: str) -> None:
        """A signed fulfillments/update for the redemption's order, newer than every earlier one."""
        if not r.has_order:
            return  # an order this connector did not create: ignored
        current = r.delivery or "unfulfilled"
        if not r.delivery_timestamped and DELIVERY_RANK[new] < DELIVERY_RANK[current]:
            return  # nothing to order by yet: only forward moves
        if current == "cancelled" and new != "cancelled":
            return
        r.delivery = new
        r.delivery_timestamped = True
        if current != new:
            r.events.append("delivery_updated")


# -- distributor free goods and batches ----------------------------------------------------------------------

UNBATCHED, BATCHED, CREDITED, GROUPED, DECLINED, HELD = (
    "unbatched",
    "batched",
    "credited",
    "grouped",
    "declined",
    "held",
)
B_UNFULFILLED, B_FULFILLED, B_GROUPED = "unfulfilled", "fulfilled", "grouped"

#: (status, event) → status, the way docs/distributor-fulfilment.md describes a free good's moves.
CREDIT_MOVES = {
    (UNBATCHED, "batch"): BATCHED,
    (BATCHED, "unbatch"): UNBATCHED,
    (CREDITED, "unbatch"): UNBATCHED,
    (UNBATCHED, "decline"): DECLINED,
    (BATCHED, "decline"): DECLINED,
    (CREDITED, "decline"): DECLINED,
    (UNBATCHED, "hold"): HELD,
    (BATCHED, "hold"): HELD,
    (HELD, "release"): UNBATCHED,
    (DECLINED, "release"): UNBATCHED,
}


@dataclass
class GoodM:
    retailer: str
    quantity: int
    unit_cost: Decimal
    status: str = UNBATCHED
    batch: int | None = None  # index into BatchModel.batches


@dataclass
class BatchM:
    retailer: str
    status: str = B_UNFULFILLED
    reconciled: bool = False
    group: int | None = None


@dataclass
class BatchModel:
    goods: list[GoodM] = field(default_factory=list)
    batches: list[BatchM] = field(default_factory=list)
    groups: int = 0

    def members(self, b: int) -> list[int]:
        return [i for i, g in enumerate(self.goods) if g.batch == b]

    def totals(self, b: int) -> tuple[int, int, Decimal | None]:
        """(free goods, quantity, approximate cost) of batch ``b``."""
        ids = self.members(b)
        if not ids:
            return 0, 0, None
        return (
            len(ids),
            sum(self.goods[i].quantity for i in ids),
            sum((self.goods[i].unit_cost * self.goods[i].quantity for i in ids), Decimal("0.00")),
        )

    def _closed(self, b: int) -> bool:
        batch = self.batches[b]
        return batch.reconciled or batch.status == B_GROUPED or batch.group is not None

    def _check_moves(self, ids: list[int], event: str) -> None:
        bad = [i for i in ids if (self.goods[i].status, event) not in CREDIT_MOVES]
        if bad:
            raise Refused("IllegalTransitionError", self.goods[bad[0]].status)

    def create_batch(self, ids: list[int]) -> int:
        self._check_moves(ids, "batch")
        if len({self.goods[i].retailer for i in ids}) > 1:
            raise Refused("ValidationError")
        self.batches.append(BatchM(retailer=self.goods[ids[0]].retailer))
        b = len(self.batches) - 1
        for i in ids:
            self.goods[i].status, self.goods[i].batch = BATCHED, b
        return b

    def add_to_batch(self, b: int, ids: list[int]) -> None:
        batch = self.batches[b]
        if batch.status != B_UNFULFILLED:
            raise Refused("IllegalTransitionError", batch.status)
        self._check_moves(ids, "batch")
        if any(self.goods[i].retailer != batch.retailer for i in ids):
            raise Refused("ValidationError")
        for i in ids:
            self.goods[i].status, self.goods[i].batch = BATCHED, b

    def move(self, ids: list[int], event: str) -> None:
        """unbatch, decline, hold or release: all or nothing."""
        if event in ("unbatch", "decline"):
            closed = [self.goods[i].batch for i in ids if self.goods[i].batch is not None]
            closed = [b for b in closed if b is not None and self._closed(b)]
            if closed:
                why = "reconciled" if self.batches[closed[0]].reconciled else "grouped"
                raise Refused("IllegalTransitionError", why)
        self._check_moves(ids, event)
        for i in ids:
            g = self.goods[i]
            g.status, g.batch = CREDIT_MOVES[(g.status, event)], None

    def fulfil(self, b: int) -> None:
        batch = self.batches[b]
        if batch.status != B_UNFULFILLED:
            raise Refused("IllegalTransitionError", batch.status)
        ids = self.members(b)
        if not ids:
            raise Refused("IllegalTransitionError", "no free goods")
        batch.status = B_FULFILLED
        for i in ids:
            self.goods[i].status = CREDITED

    def group(self, bs: list[int]) -> None:
        not_fulfilled = [b for b in bs if self.batches[b].status != B_FULFILLED]
        if not_fulfilled:
            raise Refused("IllegalTransitionError", self.batches[not_fulfilled[0]].status)
        if any(not self.members(b) for b in bs):
            raise Refused("IllegalTransitionError", "no free goods")
        self.groups += 1
        for b in bs:
            self.batches[b].status, self.batches[b].group = B_GROUPED, self.groups
            for i in self.members(b):
                self.goods[i].status = GROUPED

    def reconcile(self, b: int) -> None:
        batch = self.batches[b]
        if batch.status == B_UNFULFILLED:
            raise Refused("IllegalTransitionError", batch.status)
        if batch.reconciled:
            raise Refused("ConflictError", "already reconciled")
        if not self.members(b):
            raise Refused("IllegalTransitionError", "every free good")
        batch.reconciled = True
