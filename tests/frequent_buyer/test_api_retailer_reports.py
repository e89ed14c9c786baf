"""/api/v1/retailer/reports through the real app and real tokens: the retailer's own stores only."""

from __future__ import annotations

import csv
import io

from tests.frequent_buyer.conftest import auth
from tests.frequent_buyer.test_retailer_reports import reported  # noqa: F401  (the fixture)


def test_participation_and_its_details_through_the_api(fb_client, reported, fb_tokens):  # noqa: F811
    got = fb_client.get("/api/v1/retailer/reports/participation", headers=auth(fb_tokens.retailer))
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body["retailer_id"] == reported.retailer_id
    assert body["total"]["cards_punched"] == 3 and body["total"]["rewards_redeemed"] == 2
    kibble = next(r for r in body["rows"] if r["program_id"] == reported.kibble_id)
    detail = fb_client.get(
        f"/api/v1/retailer/reports/participation/detail?metric=customers&program_id={kibble['program_id']}",
        headers=auth(fb_tokens.retailer),
    ).get_json()
    assert detail["title"] == "Unique Customers"
    assert detail["rows"] == [{"customer": "Dana Smith", "cards": "2", "items": "20"}]
    bad = fb_client.get("/api/v1/retailer/reports/participation/detail?metric=all", headers=auth(fb_tokens.retailer))
    assert bad.status_code == 422 and "metric" in bad.get_json()["error"]["fields"]


def test_redemption_by_date_and_the_export_through_the_api(fb_client, reported, fb_tokens):  # noqa: F811
    lines = fb_client.get(
        "/api/v1/retailer/reports/redemptions?date_from=2026-06-15&date_to=2026-06-15", headers=auth(fb_tokens.retailer)
    ).get_json()["lines"]
    assert {(line["card"], line["denial"]) for line in lines} == {
        ("001-C1", ""),
        ("001-M1", "Multiple Brands on the Card"),
    }
    export = fb_client.get("/api/v1/retailer/reports/transactions.csv", headers=auth(fb_tokens.retailer))
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert {r["Customer Name"] for r in rows} == {"Dana Smith", "Lee Park"}


def test_another_retailer_and_other_roles_reach_nothing(fb_client, reported, fb_tokens):  # noqa: F811
    for path in ("participation", "redemptions", "transactions.csv"):
        url = f"/api/v1/retailer/reports/{path}"
        other = fb_client.get(f"{url}?retailer_id={reported.retailer_id}", headers=auth(fb_tokens.other_retailer))
        assert other.status_code == 404, path
        loc = fb_client.get(f"{url}?location_id={reported.store_001_id}", headers=auth(fb_tokens.other_retailer))
        assert loc.status_code == 404, path
        for token in (fb_tokens.distributor, fb_tokens.brand_admin, fb_tokens.viewer):
            assert fb_client.get(f"{url}?retailer_id={reported.retailer_id}", headers=auth(token)).status_code == 403
    own = fb_client.get("/api/v1/retailer/reports/transactions.csv", headers=auth(fb_tokens.other_retailer))
    assert "Dana Smith" not in own.get_data(as_text=True)
    support = fb_client.get(
        f"/api/v1/retailer/reports/participation?retailer_id={reported.retailer_id}", headers=auth(fb_tokens.support)
    )
    assert support.get_json()["total"]["unique_customers"] == 2
