"""Webhook ``filter`` (Shopify search syntax on the payload) and ``includeFields`` trimming."""

from __future__ import annotations

import pytest

from shopify_sim.webhook_filter import FilterError, matches, parse_filter, trim

PRODUCT = {
    "id": 9554194432293,
    "title": "T-Shirt",
    "status": "active",
    "product_type": "Music",
    "tags": "cotton, Loyalty-Reward",
    "published_at": "2026-11-20T10:00:00-05:00",
    "deleted_at": None,
    "variants": [
        {"id": 1, "title": "Album Red", "price": "29.99", "taxable": True, "weight": 0.2},
        {"id": 2, "title": "Single", "price": "5.00", "taxable": False, "weight": 7},
    ],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id:*", True),
        ("deleted_at:*", False),  # null counts as absent
        ("missing:*", False),
        ("status:active", True),
        ("status:ACTIVE", True),  # case-insensitive text
        ("status:draft", False),
        ("variants.price:>=10.00", True),  # any variant
        ("variants.price:>=30", False),
        ("variants.price:<5.01", True),
        ("variants.price:29.99", True),
        ("variants.price:29.990", True),  # numbers compare as numbers
        ("variants.taxable:true", True),
        ("variants.weight:<5", True),
        ("variants.title:Album*", True),
        ("variants.title:album", False),  # a whole value, not a word inside it
        ("tags:loyalty-reward", True),  # one item of a comma-separated list
        ("tags:cotton", True),
        ("tags:loyalty", False),
        ("tags:loyalty*", True),
        ("published_at:>2026-11-20T14:00:00Z", True),  # times compare as times, offsets honoured
        ("published_at:>2026-11-20T16:00:00Z", False),
        ("NOT status:active", False),
        ("-status:active", False),
        ("status:active variants.price:>=100", False),  # implicit AND
        ("status:active AND variants.price:>=10", True),
        ("status:draft OR variants.weight:>5", True),
        ("(product_type:Movies OR product_type:Music) AND status:active", True),
        ('title:"T-Shirt"', True),
        (
            "id:* AND status:active AND (product_type:Music OR product_type:Movies) AND variants.taxable:true AND "
            "variants.weight:<5 AND variants.price:>=10 AND variants.title:Album*",
            True,
        ),
    ],
)
def test_filter_matches_like_shopify_documents(text: str, expected: bool) -> None:
    assert matches(text, PRODUCT) is expected


def test_no_filter_passes_everything() -> None:
    assert matches(None, PRODUCT) and matches("", PRODUCT)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("   ", "blank"),
        ("reward", "names no field"),
        ("status:", "has no value"),
        ("(status:active", "not closed"),
        ("status:active)", "no opening"),
        ('title:"T-Shirt', "quoted value is not closed"),
        ("status:active OR", "nothing on one side"),
        ("AND status:active", "nothing on one side"),
        ("status:active AND OR id:1", "nothing on one side"),
        ("NOT", "nothing on one side"),
        ("()", "nothing to apply to"),
        ("variants..price:1", "not a payload field path"),
    ],
)
def test_a_filter_that_cannot_be_evaluated_is_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(FilterError, match=why):
        parse_filter(text)


def test_include_fields_keep_named_and_nested_fields_only() -> None:
    trimmed = trim(PRODUCT, ["id", "variants.price", "variants.id", "missing", "tags.nothing"])
    assert trimmed == {
        "id": 9554194432293,
        "variants": [{"id": 1, "price": "29.99"}, {"id": 2, "price": "5.00"}],
        "tags": "cotton, Loyalty-Reward",  # a scalar under a nested path is kept as it is
    }
    assert PRODUCT["variants"][0]["title"] == "Album Red"  # the original is not changed


def test_a_whole_field_wins_over_a_nested_path_of_it() -> None:
    assert trim(PRODUCT, ["variants", "variants.id"]) == {"variants": PRODUCT["variants"]}
    assert trim(PRODUCT, ["variants.id", "variants"]) == {"variants": PRODUCT["variants"]}


def test_no_include_fields_keeps_the_whole_payload() -> None:
    assert trim(PRODUCT, []) is PRODUCT
