"""Webhook subscription ``filter`` and ``includeFields``, applied to a payload the way Shopify does.

Shopify's guide ("Filter your events", API 2024-07 on) says a filter is search syntax evaluated
against the topic's payload when the event is delivered, and the delivery is not sent when it is
false; ``includeFields`` keeps only the named fields, nested ones written with dots. What this
module implements, reusing the search parser of :mod:`shopify_sim.search`:

* ``field:value`` with dotted paths into the payload (``variants.price``). A path that crosses an
  array matches when **any** element matches (Shopify's example ``variants.price:>=10.00`` keeps a
  product when one variant costs that much);
* comparisons ``field:>n``, ``:>=``, ``:<``, ``:<=`` on numbers (``"29.99"`` strings count as
  numbers) and ISO times; ``field:value`` compares numbers as numbers and text case-insensitively;
* ``field:*`` (the field is present and not null) and ``field:prefix*``;
* ``AND`` (also implicit), ``OR``, ``NOT`` / ``-field:value``, parentheses, quoted values;
* a text value holding a comma-separated list (``tags`` is ``"a, b"`` in REST payloads) also
  matches when one of its items does, so ``tags:loyalty-reward`` finds that tag among others.
  Shopify's docs do not spell this case out; the connector's own filter does not rely on it alone
  (see docs/shopify-connection.md).

A filter Shopify would refuse (no field name, an empty value, unbalanced parentheses or quotes,
a dangling ``AND``/``OR``/``NOT``) raises :class:`FilterError` when the subscription is created.
The filter sees the whole payload; ``includeFields`` trims what is sent afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from shopify_sim.search import Node, Not, Term, evaluate, parse_query

_FIELD_PATH = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
_KEYWORDS = ("AND", "OR", "NOT")


class FilterError(ValueError):
    """A filter that cannot be evaluated; the message says what is wrong with it."""


# -- parsing ------------------------------------------------------------------------------------
def _balance_problem(text: str) -> str | None:
    """Unbalanced parentheses or an unterminated quote (``search.parse_query`` forgives both)."""
    depth = 0
    quote: str | None = None
    escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return "a closing parenthesis has no opening one"
    if quote:
        return "a quoted value is not closed"
    return "a parenthesis is not closed" if depth else None


def _dangling_keyword(text: str) -> bool:
    words = text.replace("(", " ( ").replace(")", " ) ").split()
    if not words:
        return False
    if words[0] in ("AND", "OR") or words[-1] in _KEYWORDS:
        return True
    return any(a in _KEYWORDS and b in ("AND", "OR", ")") for a, b in zip(words, words[1:], strict=False))


def _node_problem(node: Node) -> str | None:
    if isinstance(node, Term):
        if node.field is None:
            return f"'{node.value}' names no field (write field:value)"
        if not _FIELD_PATH.match(node.field):
            return f"'{node.field}' is not a payload field path"
        if not node.value and not node.prefix:
            return f"'{node.field}' has no value"
        return None
    if isinstance(node, Not):
        return _node_problem(node.node)
    if not node.nodes:
        return "an operator or a group has nothing to apply to"
    for child in node.nodes:
        if problem := _node_problem(child):
            return problem
    return None


@lru_cache(maxsize=256)
def parse_filter(text: str) -> Node:
    """The parsed filter; :class:`FilterError` says why one is refused."""
    if not text.strip():
        raise FilterError("the filter is blank")
    problem = _balance_problem(text)
    if problem is None and _dangling_keyword(text):
        problem = "AND, OR or NOT has nothing on one side"
    if problem is None:
        try:
            node = parse_query(text)
        except (AssertionError, IndexError):  # the lenient search parser gives up on a trailing NOT
            raise FilterError("AND, OR or NOT has nothing on one side") from None
        problem = _node_problem(node)
    if problem is not None:
        raise FilterError(problem)
    return node


# -- matching ------------------------------------------------------------------------------------
def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def values_at(payload: Any, path: str) -> list[Any]:
    """Every value at a dotted path; arrays on the way (and at the end) are crossed element by element."""
    current = [payload]
    for key in path.split("."):
        found: list[Any] = []
        for item in current:
            for leaf in _leaves(item):
                if isinstance(leaf, dict) and key in leaf:
                    found.append(leaf[key])
        current = found
    return [leaf for value in current for leaf in _leaves(value) if leaf is not None]


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _compare(op: str, actual: Any, wanted: Any) -> bool:
    return {">": actual > wanted, ">=": actual >= wanted, "<": actual < wanted, "<=": actual <= wanted}[op]


def _text_matches(term: Term, text: str) -> bool:
    wanted = term.value.lower()
    candidates = [text] + ([part.strip() for part in text.split(",")] if "," in text else [])
    if term.prefix:
        return any(c.lower().startswith(wanted) for c in candidates)
    return any(c.lower() == wanted for c in candidates)


def _value_matches(term: Term, value: Any) -> bool:
    if term.prefix and not term.value:
        return True  # field:* — present and not null
    if isinstance(value, dict):
        return False
    if term.op != ":":
        wanted_number, actual_number = _number(term.value), _number(value)
        if wanted_number is not None and actual_number is not None:
            return _compare(term.op, actual_number, wanted_number)
        wanted_moment, actual_moment = _moment(term.value), _moment(value)
        if wanted_moment is not None and actual_moment is not None:
            return _compare(term.op, actual_moment, wanted_moment)
        return False
    if isinstance(value, bool):
        return term.value.lower() == str(value).lower()
    if not term.prefix:
        wanted_number, actual_number = _number(term.value), _number(value)
        if wanted_number is not None and actual_number is not None:
            return wanted_number == actual_number
    return _text_matches(term, str(value))


def matches(filter_text: str | None, payload: Any) -> bool:
    """Whether a delivery of ``payload`` passes the subscription's filter (no filter: always)."""
    if not filter_text:
        return True
    node = parse_filter(filter_text)

    def term_matches(term: Term) -> bool:
        assert term.field is not None  # parse_filter refuses free text
        return any(_value_matches(term, value) for value in values_at(payload, term.field))

    return evaluate(node, term_matches)


# -- includeFields -------------------------------------------------------------------------------
def include_fields_problem(fields: Sequence[str]) -> str | None:
    """Why an ``includeFields`` list is unusable, or None."""
    for name in fields:
        if not name.strip() or any(not part.strip() for part in name.split(".")):
            return f"'{name}' is not a field name (nested fields are written parent.child)"
    return None


def _tree(fields: Sequence[str]) -> dict[str, Any]:
    """``["a", "b.c", "b.d"]`` → ``{"a": None, "b": {"c": None, "d": None}}``; ``None`` keeps a value whole."""
    root: dict[str, Any] = {}
    for name in fields:
        *parents, last = (part.strip() for part in name.split("."))
        node: dict[str, Any] | None = root
        for part in parents:
            if part in node and node[part] is None:  # a parent is kept whole already
                node = None
                break
            node = node.setdefault(part, {})
        if node is not None:
            node[last] = None
    return root


def _apply(value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_apply(item, tree) for item in value]
    if isinstance(value, dict):
        kept = {key: sub for key, sub in tree.items() if key in value}
        return {key: value[key] if sub is None else _apply(value[key], sub) for key, sub in kept.items()}
    return value


def trim(payload: Any, include_fields: Sequence[str]) -> Any:
    """``payload`` with only ``include_fields`` (dotted paths keep nested fields); all of it when empty."""
    if not include_fields:
        return payload
    return _apply(payload, _tree(include_fields))
