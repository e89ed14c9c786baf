"""/api/v1/pos-reports: multipart upload (and its body limit), 422 problems, dashboard, review, approve, scope."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from connector.app import create_app
from connector.core.frequent_buyer.tables import PosRedemption, PosReport
from tests.frequent_buyer.conftest import CardsCsvFormat, auth, cards_csv, make_card

URL = "/api/v1/pos-reports"


def _upload(client, token, data: bytes, **form):
    fields = {"format": "test-cards", **{k: str(v) for k, v in form.items()}}
    fields["file"] = (io.BytesIO(data), form.pop("filename", "june.csv"))
    return client.post(URL, data=fields, headers=auth(token), content_type="multipart/form-data")


def _count(rt, model) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


MIXED = [
    make_card("P1"),
    make_card("D1", purchases=[("KIB-4", 7)], phone="2065550103"),
    make_card("Q1", purchases=[("TRT-8OZ", 5)], free=[("TRT-8OZ", 1)], phone="2065550104"),
]


def test_api_upload_imports_and_answers_the_summary(fb_client, rt, fb_world, fb_tokens):
    response = _upload(fb_client, fb_tokens.retailer, cards_csv(MIXED))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"{URL}/{body['report_id']}")
    assert (body["retailer_id"], body["filename"], body["format"], body["cards"], body["row_count"]) == (
        fb_world.retailer_id,
        "june.csv",
        "test-cards",
        3,
        7,
    )
    assert (body["imported"], body["processed"], body["denied"], body["quality_check"]) == (3, 1, 1, 1)
    assert body["denied_by_reason"] == {"insufficient_purchase_quantity": 1}
    assert body["denials"] == [
        {
            "redemption_id": body["denials"][0]["redemption_id"],
            "pos_key": "D1",
            "rows": [4, 5],
            "reason": "insufficient_purchase_quantity",
            "label": "Insufficient Purchase Quantity",
            "detail": "purchased 7 of 10 required (program 'Acme Kibble Buy 10 Get 1')",
        }
    ]
    assert body["duplicate_of"] is None and body["dry_run"] is False

    again = _upload(fb_client, fb_tokens.support, cards_csv(MIXED), retailer_id=fb_world.retailer_id)
    assert again.status_code == 200 and again.get_json()["duplicate_of"] == body["report_id"]
    assert _count(rt, PosReport) == 1 and _count(rt, PosRedemption) == 3


def test_api_dry_run_stores_nothing(fb_client, rt, fb_world, fb_tokens):
    response = _upload(fb_client, fb_tokens.retailer, cards_csv(MIXED), dry_run="true")
    assert response.status_code == 200
    body = response.get_json()
    assert body["dry_run"] is True and body["report_id"] is None and body["denied"] == 1
    assert _count(rt, PosReport) == 0 and _count(rt, PosRedemption) == 0


def test_api_parser_rejection_lists_every_problem(fb_client, rt, fb_world, fb_tokens):
    text = cards_csv([make_card("A"), make_card("B")]).decode().splitlines()
    text[1] = text[1].replace(",10,", ",ten,")  # row 2: quantity
    text[4] = text[4].replace("2026-06-15", "15/06/2026")  # row 5: date
    response = _upload(fb_client, fb_tokens.retailer, "\n".join(text).encode())
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "pos_report_rejected"
    assert error["details"]["problems"] == [
        {"row": 2, "column": "quantity", "value": "ten", "expected": "a whole number"},
        {"row": 5, "column": "redeemed_on", "value": "15/06/2026", "expected": "a date like 2026-06-15"},
    ]
    assert error["details"]["problem_count"] == 2
    assert error["fields"]["row 2, column quantity"] == "got 'ten', expected a whole number"
    assert _count(rt, PosReport) == 0


def test_api_import_rejection_names_unknown_store_codes(fb_client, rt, fb_world, fb_tokens):
    response = _upload(fb_client, fb_tokens.retailer, cards_csv([make_card("A"), make_card("B", store="404")]))
    assert response.status_code == 422
    [problem] = response.get_json()["error"]["details"]["problems"]
    assert (problem["row"], problem["column"], problem["value"]) == (4, "store", "404")
    assert problem["expected"] == "a store code of retailer 'Paws Corner': 1, 2"
    assert _count(rt, PosRedemption) == 0


def test_api_upload_scope_and_field_errors(fb_client, rt, fb_world, fb_tokens):
    data = cards_csv([make_card("A", store="B1")])
    # A retailer cannot upload for another retailer: answered as if it did not exist.
    other = _upload(fb_client, fb_tokens.retailer, data, retailer_id=fb_world.other_retailer_id)
    assert other.status_code == 404
    assert _upload(fb_client, fb_tokens.distributor, data, retailer_id=fb_world.retailer_id).status_code == 403
    assert _upload(fb_client, fb_tokens.brand_admin, data, retailer_id=fb_world.retailer_id).status_code == 403
    no_retailer = _upload(fb_client, fb_tokens.support, data)
    assert no_retailer.get_json()["error"]["fields"] == {"retailer_id": "the retailer the report is for"}
    bad_format = _upload(fb_client, fb_tokens.support, data, retailer_id=fb_world.other_retailer_id, format="excel")
    assert bad_format.status_code == 422
    assert bad_format.get_json()["error"]["fields"]["format"].startswith("unknown format 'excel'; available: ")
    bad_field = _upload(fb_client, fb_tokens.support, data, retailer_id="abc", dry_run="maybe")
    assert set(bad_field.get_json()["error"]["fields"]) == {"retailer_id", "dry_run"}
    no_file = fb_client.post(
        URL, data={"retailer_id": str(fb_world.retailer_id)}, headers=auth(fb_tokens.support)
    ).get_json()
    assert no_file["error"]["fields"] == {"file": "attach the report as the multipart/form-data part named 'file'"}
    assert _count(rt, PosReport) == 0
    ok = _upload(fb_client, fb_tokens.support, data, retailer_id=fb_world.other_retailer_id)
    assert ok.status_code == 201 and ok.get_json()["processed"] == 1


def test_api_uploads_may_exceed_64_kib_up_to_their_own_limit(make_runtime, fb_world, fb_tokens):
    cards = [make_card(f"K{n}", phone=f"206555{n:04d}") for n in range(900)]
    data = cards_csv(cards)
    assert len(data) > 64 * 1024
    small = make_runtime(plugins=[CardsCsvFormat()], pos_max_bytes=len(data) - 1)
    client = create_app(settings=small.settings, runtime=small).test_client()
    too_big = _upload(client, fb_tokens.retailer, data)
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "payload_too_large"
    roomy = make_runtime(plugins=[CardsCsvFormat()])
    client = create_app(settings=roomy.settings, runtime=roomy).test_client()
    response = _upload(client, fb_tokens.retailer, data)
    assert response.status_code == 201 and response.get_json()["processed"] == 900
    # Every other route keeps the 64 KiB limit.
    big_json = client.put(
        f"/api/v1/retailers/{fb_world.retailer_id}/price-list",
        json={"entries": [{"sku": f"S{n}", "unit_cost": "1.00"} for n in range(3000)]},
        headers=auth(fb_tokens.retailer),
    )
    assert big_json.status_code == 413


def test_api_dashboard_review_and_approve(fb_client, rt, fb_world, fb_tokens):
    report_id = _upload(fb_client, fb_tokens.retailer, cards_csv(MIXED)).get_json()["report_id"]
    _upload(fb_client, fb_tokens.other_retailer, cards_csv([make_card("B", store="B1")]))

    mine = fb_client.get(URL, headers=auth(fb_tokens.retailer)).get_json()
    assert [r["id"] for r in mine["reports"]] == [report_id]
    assert mine["reports"][0]["counts"] == {
        "new": 0,
        "pending": 0,
        "denied": 1,
        "quality_check": 1,
        "processed": 1,
        "total": 3,
    }
    assert mine["totals"]["total"] == 3 and mine["next_cursor"] is None
    assert fb_client.get(URL, headers=auth(fb_tokens.support)).get_json()["totals"]["total"] == 4
    assert fb_client.get(URL, headers=auth(fb_tokens.distributor)).status_code == 403
    assert fb_client.get(f"{URL}/{report_id}", headers=auth(fb_tokens.other_retailer)).status_code == 404

    review = fb_client.get(f"{URL}/{report_id}/redemptions?status=denied", headers=auth(fb_tokens.retailer))
    assert review.status_code == 200
    [item] = review.get_json()["items"]
    assert item["denial"]["reason"] == "insufficient_purchase_quantity"
    assert item["denial"]["explanation"].startswith("The card did not reach the program's required number")
    assert item["denial"]["fix"] and item["denial"]["detail"].startswith("purchased 7 of 10")
    assert item["customer"]["phone"] == "2065550103"
    assert [(p["sku"], p["quantity"]) for p in item["purchases"]] == [("KIB-4", 7)]
    bad = fb_client.get(f"{URL}/{report_id}/redemptions?status=lost", headers=auth(fb_tokens.retailer))
    assert bad.status_code == 422 and "status" in bad.get_json()["error"]["fields"]

    detail = fb_client.get(f"/api/v1/pos-redemptions/{item['id']}", headers=auth(fb_tokens.retailer)).get_json()
    assert [(e["event"], e["from"], e["to"]) for e in detail["events"]] == [
        ("map_customer", "new", "pending"),
        ("deny", "pending", "denied"),
    ]

    approve = f"{URL}/{report_id}/approve"
    assert fb_client.post(approve, headers=auth(fb_tokens.retailer)).status_code == 403
    wrong = fb_client.post(approve, json={"pos_redemption_ids": [item["id"]]}, headers=auth(fb_tokens.support))
    assert wrong.status_code == 409 and wrong.get_json()["error"]["code"] == "illegal_transition"
    done = fb_client.post(approve, headers=auth(fb_tokens.support))
    assert done.status_code == 200 and done.get_json()["free_goods_created"] == 1
    counts = fb_client.get(f"{URL}/{report_id}", headers=auth(fb_tokens.retailer)).get_json()["counts"]
    assert (counts["processed"], counts["quality_check"]) == (2, 0)


@pytest.fixture
def document(fb_client):
    return fb_client.get("/api/v1/openapi.json").get_json()


def test_api_openapi_describes_the_upload_and_the_csv(document):
    upload = document["paths"]["/api/v1/pos-reports"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["contentMediaType"] == "application/octet-stream"
    assert form["properties"]["format"]["default"] == "darts-bxgy"
    assert {"200", "201", "401", "403", "404", "413", "422"} <= set(upload["responses"])
    csv = document["paths"]["/api/v1/programs/{program_id}/products.csv"]["get"]["responses"]["200"]["content"]
    assert csv == {"text/csv": {"schema": {"type": "string"}}}


def test_api_responses_carry_exactly_their_documented_fields(fb_client, fb_world, fb_tokens, document):
    schemas = document["components"]["schemas"]
    summary = _upload(fb_client, fb_tokens.retailer, cards_csv(MIXED)).get_json()
    assert set(summary) == set(schemas["PosImportSummary"]["properties"])
    assert set(summary["denials"][0]) == set(schemas["PosDenialLine"]["properties"])
    page = fb_client.get(f"{URL}/{summary['report_id']}/redemptions", headers=auth(fb_tokens.retailer)).get_json()
    assert set(page) == set(schemas["PosReviewPage"]["properties"])
    assert set(page["items"][0]) == set(schemas["PosRedemptionSummary"]["properties"])
    assert set(page["items"][0]["purchases"][0]) == set(schemas["PosCardItem"]["properties"])
    program = fb_client.get(f"/api/v1/programs/{fb_world.kibble_id}", headers=auth(fb_tokens.retailer)).get_json()
    assert set(program) == set(schemas["Program"]["properties"])
    enrollment = fb_client.get(
        f"/api/v1/enrollments/{fb_world.kibble_enrollment_id}", headers=auth(fb_tokens.retailer)
    ).get_json()
    assert set(enrollment) == set(schemas["Enrollment"]["properties"])


def test_api_darts_sample_end_to_end_with_the_default_format(fb_client, rt, fb_world, fb_tokens):
    """The DARTS sample export, uploaded without naming a format: every denial reason from a real file."""
    from pathlib import Path

    from tests.frequent_buyer.darts_store import seed_darts_store

    store_id = seed_darts_store(rt)
    sample = Path(__file__).resolve().parents[1] / "data" / "pos" / "darts-bxgy-sample.csv"
    response = fb_client.post(
        URL,
        data={"retailer_id": str(store_id), "file": (io.BytesIO(sample.read_bytes()), "darts-bxgy-sample.csv")},
        headers=auth(fb_tokens.support),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["format"], body["cards"], body["processed"], body["denied"]) == ("darts-bxgy", 8, 2, 6)
    outcomes = {d["pos_key"]: (d["reason"], d["detail"]) for d in body["denials"]}
    assert outcomes == {
        "101:50002": ("insufficient_purchase_quantity", "purchased 9 of 10 required (program 'FROMM GOLD 10+1')"),
        "101:50003": (
            "multiple_brands_on_card",
            "the card mixes 2 brands: 'Fromm' (purchase 'Fromm Gold Adult Dog Food' (SKU FRM-GOLD-15)) and "
            "'Taste of the Wild' (purchase 'Taste of the Wild High Prairie Canine, Bison & Venison' (SKU TOTW-HP-14) "
            "and free good 'Taste of the Wild High Prairie Canine, Bison & Venison' (SKU TOTW-HP-14))",
        ),
        "101:50004": ("ineligible_program", outcomes["101:50004"][1]),
        "102:71002": (
            "item_not_in_program",
            "purchase 'Taste of the Wild Pacific Stream Puppy' (SKU TOTW-PSP-5) is not in program 'TOTW DOG DRY 12+1'",
        ),
        "102:71003": (
            "ineligible_free_good_size",
            "free good 'High Prairie 28 lb' (28 lb) is larger than the smallest purchase 'High Prairie 5 lb' (5 lb)",
        ),
        "102:71004": ("ineligible_program", outcomes["102:71004"][1]),
    }
    assert outcomes["101:50004"][1].startswith("no program has the code 'WERUVA CAT 12+1'")
    customers = fb_client.get(
        f"{URL}/{body['report_id']}/redemptions?status=processed", headers=auth(fb_tokens.support)
    ).get_json()["items"]
    assert [(i["pos_key"], i["customer"]["internal_id"], i["distributor"]["name"]) for i in customers] == [
        ("101:50001", "C-10023", "Rocky Mountain Feed"),
        ("102:50001", customers[1]["customer"]["internal_id"], "Rocky Mountain Feed"),
    ]
