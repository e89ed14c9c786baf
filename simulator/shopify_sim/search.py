"""Shopify search syntax for the ``query:`` argument, and what each filter matches.

Grammar (a practical subset of https://shopify.dev/docs/api/usage/search-syntax)::

    query  := or ( "OR" or )*          implicit AND between terms, explicit "AND" allowed
    term   := [ "-" | "NOT " ] ( "(" query ")" | [field ":"] [">" | ">=" | "<" | "<="] value )
    value  := bare text, "double quoted", 'single quoted'; "\\" escapes the next character;
              a trailing unquoted "*" is a prefix match

Matching deliberately copies Shopify's looseness where clients get bitten by it:

* text filters such as ``sku:`` and unquoted ``email:`` are *tokenised* (split on
  punctuation), so ``sku:ABC-1`` also returns ``ABC-1-XL``; clients must check the exact
  value in the results, as the Shopify docs advise. Quoting asks for the tokens as one
  phrase but still matches longer values containing that phrase;
* filters on unknown fields are ignored (Shopify answers with a warning, not an error).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from shopify_sim.store import Customer, Order, Product, Store, Variant

_TOKEN = re.compile(r"[0-9A-Za-z]+")


@dataclass(frozen=True)
class Term:
    """One ``field:value`` (``field`` is ``None`` for free text)."""

    field: str | None
    value: str
    op: str = ":"
    quoted: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class Not:
    """Negated sub-query."""

    node: Node


@dataclass(frozen=True)
class And:
    """All sub-queries must match."""

    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any sub-query must match."""

    nodes: tuple[Node, ...]


Node = Term | Not | And | Or


@dataclass(frozen=True)
class _Word:
    text: str
    quoted: bool
    field: str | None
    paren: str | None = None  # "(" or ")" for parenthesis tokens
    raw_text: str = ""  # unescaped, unquoted source form (to recognise AND/OR/NOT, "-", "*")


def _words(query: str) -> list[_Word]:
    """Split into words, honouring quotes, escapes and parentheses."""
    words: list[_Word] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            words.append(_Word(ch, False, None, paren=ch, raw_text=ch))
            i += 1
            continue
        value: list[str] = []
        raw: list[str] = []
        field: str | None = None
        quoted = False
        while i < n and not query[i].isspace() and query[i] not in "()":
            ch = query[i]
            if ch == "\\" and i + 1 < n:
                value.append(query[i + 1])
                raw.append("\x00")  # escaped characters never act as syntax
                i += 2
            elif ch in "\"'":
                end = i + 1
                chunk: list[str] = []
                while end < n and query[end] != ch:
                    if query[end] == "\\" and end + 1 < n:
                        end += 1
                    chunk.append(query[end])
                    end += 1
                value.extend(chunk)
                raw.append("\x00" * len(chunk))
                quoted = True
                i = end + 1
            elif ch == ":" and field is None and not quoted and value:
                field = "".join(value)
                value, raw = [], []
                i += 1
            else:
                value.append(ch)
                raw.append(ch)
                i += 1
        words.append(_Word("".join(value), quoted, field, raw_text="".join(raw)))
    return words


class _Parser:
    def __init__(self, words: list[_Word]) -> None:
        self.words = words
        self.pos = 0

    def peek(self) -> _Word | None:
        return self.words[self.pos] if self.pos < len(self.words) else None

    def keyword(self, word: _Word | None, name: str) -> bool:
        return word is not None and word.field is None and not word.quoted and word.raw_text == name

    def parse_or(self) -> Node:
        nodes = [self.parse_and()]
        while self.keyword(self.peek(), "OR"):
            self.pos += 1
            nodes.append(self.parse_and())
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def parse_and(self) -> Node:
        nodes: list[Node] = []
        while (word := self.peek()) is not None and word.paren != ")" and not self.keyword(word, "OR"):
            if self.keyword(word, "AND"):
                self.pos += 1
                continue
            nodes.append(self.parse_unary())
        if not nodes:
            return And(())
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def parse_unary(self) -> Node:
        word = self.peek()
        assert word is not None
        if self.keyword(word, "NOT"):
            self.pos += 1
            return Not(self.parse_unary())
        if word.paren == "(":
            self.pos += 1
            node = self.parse_or()
            if (closing := self.peek()) is not None and closing.paren == ")":
                self.pos += 1
            return node
        self.pos += 1
        negate = False
        field, text, raw = word.field, word.text, word.raw_text
        if field is not None and field.startswith("-"):
            negate, field = True, field[1:]
        elif field is None and raw.startswith("-") and len(raw) > 1:
            negate, text, raw = True, text[1:], raw[1:]
        op = ":"
        for candidate in (">=", "<=", ">", "<"):
            if field is not None and raw.startswith(candidate):
                op, text, raw = candidate, text[len(candidate) :], raw[len(candidate) :]
                break
        prefix = raw.endswith("*")
        if prefix:
            text = text[:-1]
        term = Term(field=field.lower() if field else None, value=text, op=op, quoted=word.quoted, prefix=prefix)
        return Not(term) if negate else term


def parse_query(query: str | None) -> Node:
    """Parse a Shopify search string; an empty/absent query matches everything."""
    if not query or not query.strip():
        return And(())
    parser = _Parser(_words(query))
    node = parser.parse_or()
    # Stray closing parentheses are skipped rather than rejected (Shopify is lenient too).
    rest: list[Node] = [node]
    while parser.peek() is not None:
        parser.pos += 1
        if parser.peek() is not None:
            rest.append(parser.parse_or())
    return rest[0] if len(rest) == 1 else And(tuple(rest))


def evaluate(node: Node, match_term: Callable[[Term], bool]) -> bool:
    """Evaluate a parsed query against one record, given a per-term matcher."""
    if isinstance(node, Term):
        return match_term(node)
    if isinstance(node, Not):
        return not evaluate(node.node, match_term)
    if isinstance(node, And):
        return all(evaluate(child, match_term) for child in node.nodes)
    return any(evaluate(child, match_term) for child in node.nodes)


# -- value matchers -----------------------------------------------------------------------
def tokens(text: str | None) -> list[str]:
    """Lower-case alphanumeric tokens, as a search index would store them."""
    return [t.lower() for t in _TOKEN.findall(text or "")]


def text_matches(term: Term, value: str | None) -> bool:
    """Tokenised text match (see module docstring)."""
    if value is None:
        return False
    wanted = term.value.strip()
    if not wanted:
        return True
    if term.prefix:
        return value.lower().startswith(wanted.lower()) or any(t.startswith(wanted.lower()) for t in tokens(value))
    if value.lower() == wanted.lower():
        return True
    want, have = tokens(wanted), tokens(value)
    if not want:
        return False
    if term.quoted:
        return any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))
    return all(w in have for w in want)


def exact_matches(term: Term, value: str | None) -> bool:
    """Whole-value, case-insensitive match (tags, identifiers); ``*`` still means prefix."""
    if value is None:
        return False
    if term.prefix:
        return value.lower().startswith(term.value.lower())
    return value.lower() == term.value.lower()


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _as_epoch(text: str) -> float | None:
    text = text.strip()
    if text.lower() == "now":
        return datetime.now(UTC).timestamp()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def compare(term: Term, actual: float | None, parse: Callable[[str], float | None] = _as_number) -> bool:
    """Numeric/date comparison for ``field:>value`` style terms (``:`` means equality)."""
    if actual is None:
        return False
    wanted = parse(term.value)
    if wanted is None:
        return False
    return {
        ":": actual == wanted,
        ">": actual > wanted,
        ">=": actual >= wanted,
        "<": actual < wanted,
        "<=": actual <= wanted,
    }[term.op]


def _id_matches(term: Term, number: int, kind: str) -> bool:
    value = term.value
    prefix = f"gid://shopify/{kind}/"
    if value.startswith(prefix):
        value = value[len(prefix) :]
    return compare(Term(term.field, value, term.op), float(number))


# -- resource matchers --------------------------------------------------------------------
def variant_matcher(variant: Variant, product: Product) -> Callable[[Term], bool]:
    """Filters of ``productVariants(query:)``: sku, product_status, product_id, title, ..."""

    def match(term: Term) -> bool:
        f = term.field
        if f is None:
            return any(text_matches(term, v) for v in (variant.sku, variant.title, product.title))
        if f == "sku":
            return text_matches(term, variant.sku)
        if f == "product_status":
            return product.status.lower() in {s.strip().lower() for s in term.value.split(",")}
        if f == "product_id":
            return _id_matches(term, product.id, "Product")
        if f == "id":
            return _id_matches(term, variant.id, "ProductVariant")
        if f == "title":
            return text_matches(term, variant.title) or text_matches(term, product.title)
        if f == "inventory_quantity":
            return compare(term, float(variant.inventory_quantity))
        if f in ("updated_at", "created_at"):
            return compare(term, getattr(variant, f), _as_epoch)
        return True  # unknown filter: ignored, as Shopify does

    return match


def customer_matcher(customer: Customer, normalize_phone: Callable[[str], str | None]) -> Callable[[Term], bool]:
    """Filters of ``customers(query:)``: email (quote for exact), phone, tag, names, id, ..."""

    def match(term: Term) -> bool:
        f = term.field
        if f is None:
            return any(
                text_matches(term, v) for v in (customer.first_name, customer.last_name, customer.email, customer.phone)
            )
        if f == "email":
            if term.quoted:
                return exact_matches(term, customer.email)
            return text_matches(term, customer.email)
        if f == "phone":
            wanted = normalize_phone(term.value) or term.value
            return customer.phone is not None and customer.phone == wanted
        if f == "tag":
            return any(exact_matches(term, t) for t in customer.tags)
        if f == "tag_not":
            return not any(exact_matches(term, t) for t in customer.tags)
        if f == "first_name":
            return text_matches(term, customer.first_name)
        if f == "last_name":
            return text_matches(term, customer.last_name)
        if f == "id":
            return _id_matches(term, customer.id, "Customer")
        if f in ("updated_at", "created_at"):
            return compare(term, getattr(customer, f), _as_epoch)
        if f == "country":
            address = customer.default_address
            return address is not None and (
                exact_matches(term, address.country_code) or exact_matches(term, address.country)
            )
        return True

    return match


def order_matcher(order: Order, store: Store) -> Callable[[Term], bool]:
    """Filters of ``orders(query:)``: tag, source_identifier, name, email, status, sku, ..."""

    def match(term: Term) -> bool:
        f = term.field
        if f is None:
            return any(text_matches(term, v) for v in (order.name, order.email, order.source_identifier)) or any(
                exact_matches(term, t) for t in order.tags
            )
        if f == "tag":
            return any(exact_matches(term, t) for t in order.tags)
        if f == "tag_not":
            return not any(exact_matches(term, t) for t in order.tags)
        if f == "source_identifier":
            return exact_matches(term, order.source_identifier)
        if f == "name":
            return order.name.lstrip("#") == term.value.strip().lstrip("#")
        if f == "email":
            return exact_matches(term, order.email)
        if f == "id":
            return _id_matches(term, order.id, "Order")
        if f == "customer_id":
            return order.customer_id is not None and _id_matches(term, order.customer_id, "Customer")
        if f == "sku":
            return any(text_matches(term, li.sku) for li in order.line_items)
        if f == "status":
            wanted = term.value.lower()
            cancelled = order.cancelled_at is not None
            closed = order.closed_at is not None
            return {
                "any": True,
                "open": not closed and not cancelled,
                "closed": closed,
                "cancelled": cancelled,
                "not_closed": not closed,
            }.get(wanted, False)
        if f == "fulfillment_status":
            fulfilled = store.display_fulfillment_status(order) == "FULFILLED"
            wanted = term.value.lower()
            if wanted in ("shipped", "fulfilled"):
                return fulfilled
            if wanted in ("unshipped", "unfulfilled"):
                return not fulfilled
            return wanted == "any"
        if f == "financial_status":
            return order.financial_status.lower() == term.value.lower()
        if f == "test":
            return str(order.test).lower() == term.value.lower()
        if f in ("created_at", "updated_at", "processed_at"):
            return compare(term, getattr(order, f), _as_epoch)
        return True

    return match
