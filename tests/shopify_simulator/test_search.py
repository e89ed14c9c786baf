"""The search-syntax parser and matchers (pure functions, no server)."""

from __future__ import annotations

import pytest

from shopify_sim.search import And, Not, Or, Term, evaluate, parse_query, text_matches


def test_parse_terms_quotes_escapes_and_operators() -> None:
    assert parse_query('sku:"ABC 1"') == Term("sku", "ABC 1", quoted=True)
    assert parse_query(r"sku:ABC\:1") == Term("sku", "ABC:1")
    assert parse_query("tag:a tag:b") == And((Term("tag", "a"), Term("tag", "b")))
    assert parse_query("tag:a AND tag:b") == And((Term("tag", "a"), Term("tag", "b")))
    assert parse_query("tag:a OR tag:b") == Or((Term("tag", "a"), Term("tag", "b")))
    assert parse_query("-tag:a") == Not(Term("tag", "a"))
    assert parse_query("NOT tag:a") == Not(Term("tag", "a"))
    assert parse_query("created_at:>=2026-01-01") == Term("created_at", "2026-01-01", op=">=")
    assert parse_query("sku:AB*") == Term("sku", "AB", prefix=True)
    assert parse_query('sku:"AB*"') == Term("sku", "AB*", quoted=True)
    assert parse_query("(tag:a OR tag:b) status:open") == And(
        (Or((Term("tag", "a"), Term("tag", "b"))), Term("status", "open"))
    )
    assert parse_query("") == And(())
    assert parse_query(None) == And(())
    assert parse_query("name:#1001") == Term("name", "#1001")


@pytest.mark.parametrize(
    ("query", "value", "expected"),
    [
        ("sku:ABC-1", "ABC-1", True),
        ("sku:abc-1", "ABC-1", True),
        ("sku:ABC-1", "ABC-1-XL", True),  # tokenised: a longer SKU matches too
        ('sku:"ABC-1"', "XL-ABC-1", True),
        ('sku:"ABC-1"', "ABC-2-1", False),  # phrase: tokens must be adjacent
        ("sku:ABC-1", "ABC-2-1", True),  # bare: tokens anywhere
        ("sku:ABC-1", "ABC-12", False),
        ("sku:ABC*", "ABCD", True),
    ],
)
def test_text_matching(query: str, value: str, expected: bool) -> None:
    term = parse_query(query)
    assert isinstance(term, Term)
    assert text_matches(term, value) is expected


def test_evaluate_combines_terms() -> None:
    tags = {"a", "b"}

    def match(term: Term) -> bool:
        return term.value in tags

    assert evaluate(parse_query("tag:a tag:b"), match)
    assert not evaluate(parse_query("tag:a tag:c"), match)
    assert evaluate(parse_query("tag:c OR tag:a"), match)
    assert evaluate(parse_query("tag:a -tag:c"), match)
    assert evaluate(parse_query(""), match)
