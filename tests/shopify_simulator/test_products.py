"""productVariants search, eligibility fields and pagination; control-API product changes."""

from __future__ import annotations

from shopify_sim import SimServer

from .conftest import add_variant, data
from .documents import FIND_VARIANT, VARIANT_PAGE


def _find(sim: SimServer, query: str, first: int = 5) -> list[dict]:
    return data(sim, FIND_VARIANT, {"query": query, "first": first})["productVariants"]["nodes"]


def test_sku_search_returns_the_exact_match_among_tokenised_hits(sim: SimServer) -> None:
    add_variant(sim, "REWARD-TSHIRT-M", price="12.50", inventory=4)
    add_variant(sim, "REWARD-TSHIRT-M-XL", inventory=1)
    add_variant(sim, "OTHER-1", inventory=1)

    hits = _find(sim, 'sku:"REWARD-TSHIRT-M"')
    skus = [h["sku"] for h in hits]
    # Like Shopify's tokenised search, a longer SKU containing the phrase also matches...
    assert sorted(skus) == ["REWARD-TSHIRT-M", "REWARD-TSHIRT-M-XL"]
    # ...so the client must pick the exact one, which is always among the results.
    exact = [h for h in hits if h["sku"] == "REWARD-TSHIRT-M"]
    assert len(exact) == 1
    variant = exact[0]
    assert variant["id"].startswith("gid://shopify/ProductVariant/")
    assert variant["legacyResourceId"] == variant["id"].rsplit("/", 1)[1]
    assert variant["price"] == "12.50"
    assert variant["inventoryQuantity"] == 4
    assert variant["inventoryPolicy"] == "DENY"
    assert variant["availableForSale"] is True
    assert variant["inventoryItem"]["tracked"] is True
    assert variant["inventoryItem"]["id"].startswith("gid://shopify/InventoryItem/")
    assert variant["product"]["status"] == "ACTIVE"
    assert variant["product"]["tracksInventory"] is True
    assert variant["product"]["totalInventory"] == 4

    assert [h["sku"] for h in _find(sim, "sku:OTHER-1")] == ["OTHER-1"]
    assert _find(sim, "sku:NOPE-404") == []


def test_unquoted_and_escaped_sku_values(sim: SimServer) -> None:
    add_variant(sim, "ABC-1:2")
    add_variant(sim, "ABC-12")
    assert [h["sku"] for h in _find(sim, r"sku:ABC-1\:2")] == ["ABC-1:2"]
    assert [h["sku"] for h in _find(sim, "sku:'ABC-1:2'")] == ["ABC-1:2"]
    assert {h["sku"] for h in _find(sim, "sku:ABC*")} == {"ABC-1:2", "ABC-12"}


def test_product_status_filter_and_availability(sim: SimServer) -> None:
    add_variant(sim, "ACTIVE-1", inventory=0)
    add_variant(sim, "DRAFT-1", status="DRAFT", inventory=5)
    add_variant(sim, "UNTRACKED-1", tracked=False, inventory=0)
    add_variant(sim, "BACKORDER-1", policy="CONTINUE", inventory=0)

    assert [h["sku"] for h in _find(sim, "sku:DRAFT-1 product_status:ACTIVE")] == []
    assert [h["sku"] for h in _find(sim, "sku:DRAFT-1 product_status:ACTIVE,DRAFT")] == ["DRAFT-1"]
    by_sku = {h["sku"]: h for h in _find(sim, "product_status:ACTIVE,DRAFT", first=10)}
    assert by_sku["ACTIVE-1"]["availableForSale"] is False  # tracked, DENY, 0 in stock
    assert by_sku["DRAFT-1"]["availableForSale"] is False  # not active
    assert by_sku["UNTRACKED-1"]["availableForSale"] is True
    assert by_sku["BACKORDER-1"]["availableForSale"] is True


def test_variant_patch_changes_status_inventory_and_sku(sim: SimServer) -> None:
    add_variant(sim, "PATCH-ME", inventory=1)
    result = sim.control("variants/PATCH-ME", {"inventory": 9, "status": "ARCHIVED", "sku": "PATCHED"}, method="PATCH")
    assert result["products"][0]["status"] == "archived"
    assert _find(sim, "sku:PATCH-ME") == []
    hit = _find(sim, "sku:PATCHED")[0]
    assert hit["inventoryQuantity"] == 9
    assert hit["product"]["status"] == "ARCHIVED"
    missing = sim.control("variants/NOPE", {"inventory": 1}, method="PATCH", check=False)
    assert "no variant" in missing["error"]


def test_pagination_with_cursors_sort_and_reverse(sim: SimServer) -> None:
    for sku in ("P-C", "P-A", "P-B"):
        add_variant(sim, sku)
    first = data(sim, VARIANT_PAGE, {"first": 2, "sortKey": "SKU"})["productVariants"]
    assert [e["node"]["sku"] for e in first["edges"]] == ["P-A", "P-B"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = data(sim, VARIANT_PAGE, {"first": 2, "sortKey": "SKU", "after": first["pageInfo"]["endCursor"]})
    page = second["productVariants"]
    assert [e["node"]["sku"] for e in page["edges"]] == ["P-C"]
    assert page["pageInfo"]["hasNextPage"] is False
    backwards = data(sim, VARIANT_PAGE, {"first": 3, "sortKey": "SKU", "reverse": True})["productVariants"]
    assert [e["node"]["sku"] for e in backwards["edges"]] == ["P-C", "P-B", "P-A"]


def test_products_control_api_validates_input(sim: SimServer) -> None:
    bad = sim.control("products", {"sku": "X", "policy": "SOMETIMES"}, check=False)
    assert "policy" in bad["error"]
    multi = sim.control("products", {"title": "Mug", "variants": [{"sku": "MUG-S"}, {"sku": "MUG-L"}]})
    assert [v["sku"] for v in multi["product"]["variants"]] == ["MUG-S", "MUG-L"]
    assert sim.control("products")["count"] == 1
