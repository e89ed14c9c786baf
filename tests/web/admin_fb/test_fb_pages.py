"""Every frequent-buyer page answers each role as the core's scope rules say: 200, 403 (the role never may) or
404 (another party's record, exactly like a missing one). And each role's header shows its own pages only."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from connector.core.frequent_buyer import distribution as dist
from connector.core.frequent_buyer.tables import PosRedemption, PosReport
from tests.web.admin.dom import parse
from tests.web.admin_fb.conftest import bark_free_good, credited_batch, free_goods_for

ROLES = (
    "platform_admin",
    "support",
    "brand_admin",
    "viewer",
    "retailer",
    "other_retailer",
    "distributor",
    "other_distributor",
)


@dataclass(frozen=True)
class Stage:
    paws_report: int
    paws_redemption: int
    paws_batch: int  # Northwest's, credited
    paws_good: int
    bark_batch: int  # Columbia's, unfulfilled
    kibble: int
    wild: int


@pytest.fixture
def stage(rt, fb_world, people) -> Stage:
    goods = free_goods_for(rt, fb_world, 3)
    batch = credited_batch(rt, fb_world, goods[:2])
    bark = bark_free_good(rt, fb_world)
    bark_batch = dist.create_batch(rt, fb_world.actors.other_distributor, [bark], "Bark week 1").id
    with rt.sessions() as s:
        report = s.scalar(select(PosReport.id).where(PosReport.retailer_id == fb_world.retailer_id))
        redemption = s.scalar(select(PosRedemption.id).where(PosRedemption.report_id == report))
    return Stage(report, redemption, batch, goods[2], bark_batch, fb_world.kibble_id, fb_world.wild_id)


#: (url template, expected status per role in ROLES order).
MATRIX = [
    ("/admin/pos-reports", (200, 200, 403, 200, 200, 200, 403, 403)),
    ("/admin/pos-reports/{paws_report}", (200, 200, 403, 200, 200, 404, 403, 403)),
    ("/admin/pos-reports/{paws_report}?status=denied", (200, 200, 403, 200, 200, 404, 403, 403)),
    ("/admin/pos-redemptions/{paws_redemption}", (200, 200, 403, 200, 200, 404, 403, 403)),
    ("/admin/distributor", (200, 200, 200, 200, 403, 403, 200, 200)),
    ("/admin/rebates", (200, 200, 200, 200, 403, 403, 200, 200)),
    ("/admin/rebate-credit-batches", (200, 200, 200, 200, 200, 200, 200, 200)),
    ("/admin/distribution", (200, 200, 200, 200, 403, 403, 200, 200)),
    ("/admin/distribution?section=fulfilled", (200, 200, 200, 200, 403, 403, 200, 200)),
    ("/admin/distribution/batches/{paws_batch}", (200, 200, 200, 200, 403, 403, 200, 404)),
    ("/admin/distribution/batches/{bark_batch}", (200, 200, 200, 200, 403, 403, 404, 200)),
    ("/admin/distribution/free-goods/{paws_good}", (200, 200, 200, 200, 403, 403, 200, 404)),
    ("/admin/distribution/reports", (200, 200, 200, 200, 403, 403, 200, 200)),
    ("/admin/distribution/reports/free-goods-fulfillment", (200, 200, 200, 200, 403, 403, 200, 200)),
    ("/admin/distribution/reports/participating-retailers.csv", (200, 200, 200, 200, 403, 403, 200, 200)),
    ("/admin/credit-status", (200, 200, 200, 200, 200, 200, 200, 200)),
    ("/admin/credit-status/batches/{paws_batch}", (200, 200, 200, 200, 200, 404, 200, 404)),
    ("/admin/programs", (200, 200, 200, 200, 200, 200, 200, 200)),
    ("/admin/programs/{kibble}", (200, 200, 200, 200, 200, 200, 200, 200)),
    ("/admin/programs/{wild}", (200, 200, 404, 200, 200, 200, 200, 200)),
    ("/admin/programs/{wild}/products.csv", (200, 200, 404, 200, 200, 200, 200, 200)),
]


@pytest.mark.parametrize(("url", "expected"), MATRIX, ids=[m[0] for m in MATRIX])
def test_each_page_answers_each_role_by_the_cores_scope(signed_in, people, stage, url, expected):
    target = url.format(**vars(stage))
    got = {}
    for role in ROLES:
        browser = signed_in(getattr(people, role))
        response = browser.get(target)
        response.close()
        got[role] = response.status_code
        if response.status_code in (403, 404):
            assert response.mimetype == "text/html"
            page = parse(response.text)
            assert page.one("section", class_="error-page")["data-status-code"] == str(response.status_code)
    assert got == dict(zip(ROLES, expected, strict=True))


def test_a_retailer_cannot_see_another_retailers_report_or_batch_even_by_guessing(signed_in, people, stage):
    bark = signed_in(people.other_retailer)
    assert bark.get(f"/admin/pos-reports/{stage.paws_report}").status_code == 404
    assert bark.get(f"/admin/credit-status/batches/{stage.paws_batch}").status_code == 404
    # The dashboard lists only its own report, never Paws Corner's.
    page = bark.page("/admin/pos-reports")
    listed = [
        int(tr["data-report-id"]) for tr in page.one("table", id="pos-reports").find_all("tr", data_report_id=True)
    ]
    assert len(listed) == 1 and stage.paws_report not in listed


@pytest.mark.parametrize(
    ("role", "labels", "landing"),
    [
        (
            "retailer",
            ["POS Reports", "Credit Status", "Programs", "Retailer Reports", "Checkout"],
            "/admin/pos-reports",
        ),
        # A cashier's login has Checkout only, and lands there.
        ("cashier", ["Checkout"], "/admin/checkout"),
        # Each role sees every page that opens for it (one check decides both; credit status is read by all,
        # each within its scope, as in the API).
        ("distributor", ["Distributor Portal", "Credit Status", "Programs"], "/admin/distributor"),
        (
            "support",
            [
                "Fulfillments",
                "Rewards",
                "POS Reports",
                "Distributor Portal",
                "Credit Status",
                "Programs",
                "Retailer Reports",
                "Brand Fulfillment",
                "Checkout",
            ],
            None,
        ),
        (
            "brand_admin",
            [
                "Fulfillments",
                "Rewards",
                "Distributor Portal",
                "Credit Status",
                "Programs",
                "Brand Fulfillment",
                "Shops",
                "Users",
                "API tokens",
                "Audit log",
                "Webhooks",
            ],
            None,
        ),
        # A viewer without a brand (this one) also reads POS reports; a brand viewer does not (tests/web/admin).
        (
            "viewer",
            [
                "Fulfillments",
                "Rewards",
                "POS Reports",
                "Distributor Portal",
                "Credit Status",
                "Programs",
                "Brand Fulfillment",
            ],
            None,
        ),
    ],
)
def test_the_header_shows_each_role_its_own_pages_and_parties_land_on_theirs(
    signed_in, people, fb_world, role, labels, landing
):
    browser = signed_in(getattr(people, role))
    home = browser.get("/admin/")
    assert home.status_code == 302
    if landing is not None:
        assert home.headers["Location"] == landing
    page = browser.follow(home)
    assert [a.text for a in page.one("header").one("nav").find_all("a")] == labels


def test_every_fb_page_links_its_own_stylesheet_from_the_same_origin(signed_in, people, stage):
    browser = signed_in(people.platform_admin)
    for url in ("/admin/pos-reports", "/admin/distribution", f"/admin/credit-status/batches/{stage.paws_batch}"):
        page = browser.page(url)
        hrefs = [link["href"] for link in page.find_all("link", rel="stylesheet")]
        assert "/admin/static/frequent_buyer.css" in hrefs
    css = browser.get("/admin/static/frequent_buyer.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    css.close()
