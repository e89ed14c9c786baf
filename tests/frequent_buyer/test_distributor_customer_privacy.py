"""Reports sent to distributors carry the customer's name only: never the phone, email or POS customer id
the retailer holds (the retailer is the caretaker of that data; manufacturers and distributors ask it)."""

from __future__ import annotations

import pytest

from connector.core.frequent_buyer import distribution as dist
from connector.core.frequent_buyer.distribution_reports import ReportName, report_csv
from tests.frequent_buyer.conftest import auth, import_cards, make_card

PRIVATE = ("2065550177", "pat.private@example.com", "POS-CUST-77")


@pytest.fixture
def redeemed(rt, fb_world, actors):
    card = make_card("001-P1", name="Pat Private", phone=PRIVATE[0], email=PRIVATE[1], internal_id=PRIVATE[2])
    import_cards(rt, actors.platform_admin, fb_world.retailer_id, [card])
    section = dist.section(rt, actors.distributor, dist.Section.UNBATCHED_FREE_GOODS)
    good = section.free_goods[0].id
    batch = dist.create_batch(rt, actors.distributor, [good], "Week 24")
    return good, batch.id


def _leaks(text: str) -> list[str]:
    return [p for p in PRIVATE if p in text]


@pytest.mark.parametrize("name", list(ReportName))
def test_every_distributor_report_csv_names_the_customer_only(rt, redeemed, actors, name):
    text = "".join(report_csv(rt, actors.distributor, name))
    assert _leaks(text) == []
    if name in (ReportName.FREE_GOODS_FULFILLMENT, ReportName.SEARCH_FREE_GOODS_FULFILLMENT):
        assert "Pat Private" in text


def test_the_distribution_api_and_pages_name_the_customer_only(fb_client, rt, redeemed, fb_tokens):
    good, batch = redeemed
    headers = auth(fb_tokens.distributor)
    bodies = [
        fb_client.get(f"/api/v1/distribution/free-goods/{good}", headers=headers),
        fb_client.get(f"/api/v1/distribution/batches/{batch}", headers=headers),
        fb_client.get("/api/v1/distribution/sections/unfulfilled-batches", headers=headers),
    ] + [fb_client.get(f"/api/v1/distribution/reports/{n.value}", headers=headers) for n in ReportName]
    for response in bodies:
        assert response.status_code == 200, (response.request.path, response.get_json())
        assert _leaks(response.get_data(as_text=True)) == [], response.request.path
    assert "Pat Private" in bodies[0].get_data(as_text=True)
