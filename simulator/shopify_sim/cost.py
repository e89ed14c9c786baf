"""Calculated query cost and the per-token leaky bucket (shopify-api.md §2).

Cost model — an approximation of Shopify's published rules, good enough that a client
which paces itself by ``extensions.cost`` behaves the same against the simulator:

* scalar and enum fields (and ``__typename``) cost 0;
* an object field costs 1 plus the cost of its selection;
* a connection (a field whose type name ends in ``Connection``) costs
  ``2 + first * (cost of one item)``, where one item costs 1 plus the selection under
  ``nodes`` or ``edges { node }`` (whichever is dearer); ``pageInfo`` is free;
* any other list field costs ``first`` (default 1) times the cost of one element;
* each root mutation field costs a flat 10, whatever it selects.

The actual cost equals the requested cost (Shopify refunds unused connection slots; the
simulator does not, which only makes it stricter).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)

MUTATION_COST = 10
CONNECTION_BASE = 2


def _first(field: FieldNode, variables: dict[str, Any]) -> int:
    for arg in field.arguments or ():
        if arg.name.value in ("first", "last"):
            value = arg.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                resolved = variables.get(value.name.value)
                if isinstance(resolved, int):
                    return resolved
    return 1


def _is_list(type_: Any) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class _CostWalker:
    def __init__(
        self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any]
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def fields(
        self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType, seen: frozenset[str] = frozenset()
    ) -> list[tuple[FieldNode, GraphQLObjectType]]:
        """Flatten fragments: (field node, type it is selected on)."""
        out: list[tuple[FieldNode, GraphQLObjectType]] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                out.append((selection, parent))
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    named = self.schema.get_type(selection.type_condition.name.value)
                    if isinstance(named, GraphQLObjectType):
                        target = named
                out.extend(self.fields(selection.selection_set, target, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                named = self.schema.get_type(fragment.type_condition.name.value)
                target = named if isinstance(named, GraphQLObjectType) else parent
                out.extend(self.fields(fragment.selection_set, target, seen | {name}))
        return out

    def selection(self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType) -> int:
        return sum(self.field(node, owner) for node, owner in self.fields(selection_set, parent))

    def field(self, node: FieldNode, parent: GraphQLObjectType) -> int:
        definition = parent.fields.get(node.name.value) if hasattr(parent, "fields") else None
        if definition is None:  # __typename and introspection
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named) or not isinstance(named, GraphQLObjectType):
            return 0
        if named.name.endswith("Connection"):
            per_item = 0
            for child, owner in self.fields(node.selection_set, named):
                child_def = owner.fields.get(child.name.value)
                if child_def is None:
                    continue
                child_type = get_named_type(child_def.type)
                # nodes and edges { node } list the same items: count the dearer selection once.
                if child.name.value in ("nodes", "edges") and isinstance(child_type, GraphQLObjectType):
                    per_item = max(per_item, 1 + self.selection(child.selection_set, child_type))
            return CONNECTION_BASE + _first(node, self.variables) * per_item
        one = 1 + self.selection(node.selection_set, named)
        if _is_list(definition.type):
            return _first(node, self.variables) * one
        return one


def requested_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> int:
    """Cost of executing ``operation`` (see the module docstring for the rules)."""
    walker = _CostWalker(schema, fragments, variables)
    if operation.operation == OperationType.MUTATION:
        root = schema.mutation_type
        assert root is not None
        return sum(
            MUTATION_COST for node, _ in walker.fields(operation.selection_set, root) if node.name.value != "__typename"
        )
    root = schema.query_type
    assert root is not None
    return walker.selection(operation.selection_set, root)


@dataclass(frozen=True)
class ThrottleStatus:
    """The ``throttleStatus`` object of ``extensions.cost``."""

    maximum_available: float
    currently_available: float
    restore_rate: float

    def as_dict(self) -> dict[str, float | int]:
        """Shopify's camelCase shape; whole numbers are sent as integers."""
        return {
            "maximumAvailable": _num(self.maximum_available),
            "currentlyAvailable": _num(self.currently_available),
            "restoreRate": _num(self.restore_rate),
        }


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


class LeakyBucket:
    """Points refill at ``restore_rate``/s up to ``maximum``; a request spends its cost.

    A request whose cost exceeds what is available is refused *before* anything runs,
    so the level can never go below zero. ``lowest`` records the lowest level ever left
    after a spend, which ``/_sim/stats`` reports as proof of that.
    """

    def __init__(self, maximum: float, restore_rate: float, clock: Any = time.monotonic) -> None:
        self.maximum = maximum
        self.restore_rate = restore_rate
        self.available = maximum
        self.lowest = maximum
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self.available = min(self.maximum, self.available + (now - self._updated) * self.restore_rate)
        self._updated = now

    def status(self) -> ThrottleStatus:
        """Current level after refilling."""
        with self._lock:
            self._refill()
            return ThrottleStatus(self.maximum, self.available, self.restore_rate)

    def try_spend(self, cost: float) -> tuple[bool, ThrottleStatus]:
        """Spend ``cost`` if available; returns (spent, status after the attempt)."""
        with self._lock:
            self._refill()
            if cost > self.available:
                return False, ThrottleStatus(self.maximum, self.available, self.restore_rate)
            self.available -= cost
            self.lowest = min(self.lowest, self.available)
            return True, ThrottleStatus(self.maximum, self.available, self.restore_rate)

    def drain(self, amount: float | None = None) -> None:
        """Remove points without a request (tests: start from an empty bucket)."""
        with self._lock:
            self._refill()
            self.available = max(0.0, self.available - (self.maximum if amount is None else amount))


class Buckets:
    """One :class:`LeakyBucket` per access token (Shopify limits per app and store)."""

    def __init__(self, maximum: float, restore_rate: float) -> None:
        self._lock = threading.Lock()
        self._maximum = maximum
        self._restore_rate = restore_rate
        self._buckets: dict[str, LeakyBucket] = {}

    def get(self, token: str) -> LeakyBucket:
        """The token's bucket, created full on first use."""
        with self._lock:
            bucket = self._buckets.get(token)
            if bucket is None:
                bucket = self._buckets[token] = LeakyBucket(self._maximum, self._restore_rate)
            return bucket

    def configure(self, maximum: float, restore_rate: float) -> None:
        """Change size/rate; existing buckets start over full so tests begin from a known level."""
        with self._lock:
            self._maximum, self._restore_rate = maximum, restore_rate
            self._buckets.clear()

    def reset(self) -> None:
        """Forget all buckets (they come back full)."""
        with self._lock:
            self._buckets.clear()

    def lowest(self) -> float | None:
        """Lowest level any bucket has been left at, or ``None`` before any spend."""
        with self._lock:
            levels = [b.lowest for b in self._buckets.values()]
        return min(levels) if levels else None
