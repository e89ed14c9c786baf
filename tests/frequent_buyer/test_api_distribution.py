"""/api/v1/distribution and /api/v1/retailer through the real app and real tokens, on PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest

from connector.app import create_app
from connector.core import catalog
from connector.core.database import transaction
from connector.core.frequent_buyer.tables import CreditMemo
from connector.core.model import Role
from tests.frequent_buyer.distribution_fixtures import (
    batch_row,
    count,
    events,
    make_free_good,
    snapshot,
)


@pytest.fixture
def client(rt, m):
    return create_app(settings=rt.settings, runtime=rt).test_client()


def _token(rt, name, role, *, distributor_id=None, retailer_id=None):
    with transaction(rt.sessions) as s:
        _, plain = catalog.create_api_token(s, name, role, distributor_id=distributor_id, retailer_id=retailer_id)
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def auth(rt, m):
    class Tokens:
        north = _token(rt, "north", Role.DISTRIBUTOR, distributor_id=m.north)
        south = _token(rt, "south", Role.DISTRIBUTOR, distributor_id=m.south)
        paws = _token(rt, "paws", Role.RETAILER, retailer_id=m.paws)
        kibble = _token(rt, "kibble", Role.RETAILER, retailer_id=m.kibble)
        support = _token(rt, "support", Role.SUPPORT)

    return Tokens


@pytest.fixture
def schemas(client):
    return client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]


def test_the_distributor_flow_through_the_api(client, rt, m, auth, schemas):
    a = make_free_good(rt, m, unit_cost="12.50", quantity=2)
    b = make_free_good(rt, m)
    c = make_free_good(rt, m)

    sections = client.get("/api/v1/distribution/sections", headers=auth.north)
    assert sections.status_code == 200
    assert sections.get_json()["sections"][0] == {
        "section": "unbatched-free-goods",
        "title": "Unbatched Free Goods",
        "count": 3,
    }
    page = client.get("/api/v1/distribution/sections/unbatched-free-goods?limit=2", headers=auth.north).get_json()
    assert page["kind"] == "free_goods" and page["count"] == 3 and page["next_cursor"]
    assert [g["id"] for g in page["free_goods"]] == [c, b] and page["batches"] == []
    assert set(page) == set(schemas["DistributionSectionPage"]["properties"])
    assert set(page["free_goods"][0]) == set(schemas["DistributionFreeGood"]["properties"])

    created = client.post(
        "/api/v1/distribution/batches", json={"free_good_ids": [a, b], "description": "Week 23"}, headers=auth.north
    )
    assert created.status_code == 201, created.get_json()
    batch = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/distribution/batches/{batch['id']}")
    assert (batch["status"], batch["free_goods"], batch["quantity"], batch["approximate_cost"]) == (
        "unfulfilled",
        2,
        3,
        "25.00",
    )
    assert set(batch) == set(schemas["DistributionBatch"]["properties"])

    added = client.post(
        f"/api/v1/distribution/batches/{batch['id']}/free-goods", json={"free_good_ids": [c]}, headers=auth.north
    )
    assert added.status_code == 200 and added.get_json()["free_goods"] == 3
    unbatched = client.post(
        "/api/v1/distribution/free-goods/unbatch", json={"free_good_ids": [c], "note": "next week"}, headers=auth.north
    ).get_json()
    assert unbatched == {"event": "unbatch", "to_status": "unbatched", "free_good_ids": [c], "batch_ids": [batch["id"]]}
    held = client.post(
        "/api/v1/distribution/free-goods/hold", json={"free_good_ids": [c], "reason": "receipt?"}, headers=auth.north
    )
    assert held.status_code == 200 and held.get_json()["to_status"] == "held"
    released = client.post("/api/v1/distribution/free-goods/release", json={"free_good_ids": [c]}, headers=auth.north)
    assert released.get_json()["to_status"] == "unbatched"
    declined = client.post(
        "/api/v1/distribution/free-goods/decline",
        json={"free_good_ids": [c], "reason": "duplicate"},
        headers=auth.north,
    )
    assert declined.get_json()["to_status"] == "declined"

    fulfilled = client.post(
        f"/api/v1/distribution/batches/{batch['id']}/fulfil", json={"note": "CM-7"}, headers=auth.north
    )
    assert fulfilled.status_code == 200 and fulfilled.get_json()["status"] == "fulfilled"
    detail = client.get(f"/api/v1/distribution/batches/{batch['id']}", headers=auth.north).get_json()
    assert [e["event"] for e in detail["events"]] == ["create", "add", "remove", "fulfil"]
    assert detail["events"][-1]["from"] == "unfulfilled" and detail["events"][-1]["actor"] == "token:north"
    assert {g["status"] for g in detail["free_goods"]} == {"credited"}
    assert set(detail["events"][0]) == set(schemas["DistributionEvent"]["properties"])

    group = client.post(
        "/api/v1/distribution/credit-groups", json={"batch_ids": [batch["id"]], "description": "Q2"}, headers=auth.north
    )
    assert group.status_code == 201
    assert (group.get_json()["batch_ids"], group.get_json()["approximate_cost"]) == ([batch["id"]], "25.00")
    assert (
        client.get(f"/api/v1/distribution/credit-groups/{group.get_json()['id']}", headers=auth.north).status_code
        == 200
    )
    good = client.get(f"/api/v1/distribution/free-goods/{c}", headers=auth.north).get_json()
    assert [e["event"] for e in good["events"]] == ["batch", "unbatch", "hold", "release", "decline"]
    assert good["free_good"]["reason"] == "duplicate"


def test_illegal_moves_answer_409_with_the_current_state_and_change_nothing(client, rt, m, auth):
    good = make_free_good(rt, m)
    client.post(
        "/api/v1/distribution/free-goods/decline", json={"free_good_ids": [good], "reason": "x"}, headers=auth.north
    )
    before = snapshot(rt)
    response = client.post(
        "/api/v1/distribution/batches", json={"free_good_ids": [good], "description": "w"}, headers=auth.north
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "illegal_transition" and f"{good} is declined" in error["message"]
    assert error["details"] == {"event": "batch", "current": {str(good): "declined"}}
    assert snapshot(rt) == before

    other = make_free_good(rt, m)
    batch = client.post(
        "/api/v1/distribution/batches", json={"free_good_ids": [other], "description": "w"}, headers=auth.north
    ).get_json()
    client.post(f"/api/v1/distribution/batches/{batch['id']}/fulfil", headers=auth.north)
    before = snapshot(rt)
    again = client.post(f"/api/v1/distribution/batches/{batch['id']}/fulfil", headers=auth.north)
    assert again.status_code == 409 and again.get_json()["error"]["details"] == {
        "current": "fulfilled",
        "event": "fulfil",
    }
    assert snapshot(rt) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/distribution/batches", {"free_good_ids": [1]}, "description"),
        ("/api/v1/distribution/batches", {"free_good_ids": [], "description": "x"}, "free_good_ids"),
        ("/api/v1/distribution/batches", {"free_good_ids": ["1"], "description": "x"}, "free_good_ids.0"),
        ("/api/v1/distribution/batches", {"free_good_ids": [1], "description": "x", "retailer": 1}, "retailer"),
        ("/api/v1/distribution/free-goods/decline", {"free_good_ids": [1]}, "reason"),
        ("/api/v1/distribution/free-goods/hold", {"free_good_ids": [1], "reason": ""}, "reason"),
        ("/api/v1/distribution/credit-groups", {"batch_ids": [1]}, "description"),
    ],
)
def test_bad_input_answers_422_naming_the_field(client, rt, m, auth, path, body, field):
    response = client.post(path, json=body, headers=auth.north)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_scoping_through_the_api(client, rt, m, auth):
    south_good = make_free_good(rt, m, retailer="southside")
    south_batch = client.post(
        "/api/v1/distribution/batches", json={"free_good_ids": [south_good], "description": "s"}, headers=auth.south
    ).get_json()
    before = snapshot(rt)
    for method, path, body in (
        ("get", f"/api/v1/distribution/batches/{south_batch['id']}", None),
        ("post", f"/api/v1/distribution/batches/{south_batch['id']}/fulfil", {}),
        ("post", "/api/v1/distribution/free-goods/decline", {"free_good_ids": [south_good], "reason": "x"}),
        ("get", f"/api/v1/distribution/free-goods/{south_good}", None),
    ):
        response = getattr(client, method)(path, json=body, headers=auth.north)
        assert response.status_code == 404, path
    missing = client.get("/api/v1/distribution/batches/999999", headers=auth.north).get_json()["error"]["message"]
    foreign = client.get(f"/api/v1/distribution/batches/{south_batch['id']}", headers=auth.north).get_json()
    assert missing == "batch 999999 not found" and foreign["error"]["message"] == f"batch {south_batch['id']} not found"
    assert client.get("/api/v1/distribution/sections/unfulfilled-batches", headers=auth.north).get_json()["count"] == 0
    forbidden = client.post(
        "/api/v1/distribution/batches", json={"free_good_ids": [south_good], "description": "x"}, headers=auth.support
    )
    assert forbidden.status_code == 403
    assert client.get("/api/v1/distribution/sections/unbatched-free-goods", headers=auth.paws).status_code == 403
    assert client.get("/api/v1/distribution/reports/free-goods-fulfillment", headers=auth.paws).status_code == 403
    assert client.get("/api/v1/distribution/sections", headers=auth.support).status_code == 200
    assert snapshot(rt) == before
    assert client.get("/api/v1/distribution/sections/unbatched-free-goods").status_code == 401


def test_reports_as_json_and_csv(client, rt, m, auth, schemas):
    good = make_free_good(rt, m, description="=cmd|' /C calc'!A0", unit_cost="3.10")
    page = client.get("/api/v1/distribution/reports/free-goods-fulfillment", headers=auth.north)
    assert page.status_code == 200
    body = page.get_json()
    assert set(body) == set(schemas["DistributionReportPage"]["properties"])
    row = body["rows"][0]
    assert (row["free_good_id"], row["unit_cost"], row["redeemed_on"]) == (good, "3.10", "2026-06-01")
    assert row["description"] == "=cmd|' /C calc'!A0"  # JSON is data, not a spreadsheet: unchanged

    exported = client.get("/api/v1/distribution/reports/free-goods-fulfillment.csv", headers=auth.north)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert exported.headers["Content-Disposition"].startswith('attachment; filename="free-goods-fulfillment-')
    table = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert table[1][table[0].index("Description")] == "'=cmd|' /C calc'!A0"

    retailers = client.get("/api/v1/distribution/reports/participating-retailers.csv", headers=auth.north)
    assert [r[1] for r in csv.reader(io.StringIO(retailers.get_data(as_text=True)))][1:] == [
        "Paws & Claws",
        "Kibble Corner",
    ]
    refused = client.get("/api/v1/distribution/reports/participating-retailers?customer=ada", headers=auth.north)
    assert refused.status_code == 422 and "customer" in refused.get_json()["error"]["fields"]
    unknown = client.get("/api/v1/distribution/reports/nope.csv", headers=auth.north)
    assert unknown.status_code == 422 and "name" in unknown.get_json()["error"]["fields"]


# -- retailer side ------------------------------------------------------------------------------------------------


def _credited_batch(client, rt, m, auth, **kw):
    good = make_free_good(rt, m, **kw)
    batch = client.post(
        "/api/v1/distribution/batches", json={"free_good_ids": [good], "description": "week"}, headers=auth.north
    ).get_json()
    client.post(f"/api/v1/distribution/batches/{batch['id']}/fulfil", headers=auth.north)
    return batch["id"], good


def test_retailer_credit_status_and_reconcile(client, rt, m, auth, schemas):
    batch_id, good = _credited_batch(client, rt, m, auth, unit_cost="12.50", quantity=2)
    uncredited = make_free_good(rt, m)
    status = client.get("/api/v1/retailer/credit-status", headers=auth.paws)
    assert status.status_code == 200
    body = status.get_json()
    assert set(body) == set(schemas["CreditStatus"]["properties"])
    assert [g["id"] for g in body["credited"]] == [good] and [g["id"] for g in body["uncredited"]] == [uncredited]
    assert body["totals"][1] == {
        "view": "credited",
        "distributor_id": None,
        "distributor_name": None,
        "brand_id": None,
        "brand_name": None,
        "free_goods": 1,
        "quantity": 2,
        "approximate_cost": "25.00",
        "uncosted": 0,
    }
    assert [b["id"] for b in client.get("/api/v1/retailer/batches", headers=auth.paws).get_json()["batches"]] == [
        batch_id
    ]
    assert client.get(f"/api/v1/retailer/batches/{batch_id}", headers=auth.paws).status_code == 200

    crossing = client.post(f"/api/v1/retailer/batches/{batch_id}/reconcile", headers=auth.kibble)
    assert crossing.status_code == 404
    assert client.get(f"/api/v1/retailer/batches/{batch_id}", headers=auth.kibble).status_code == 404
    assert client.get(f"/api/v1/retailer/credit-status?retailer_id={m.paws}", headers=auth.kibble).status_code == 404
    assert client.post(f"/api/v1/retailer/batches/{batch_id}/reconcile", headers=auth.north).status_code == 403

    done = client.post(f"/api/v1/retailer/batches/{batch_id}/reconcile", json={"note": "CM-7"}, headers=auth.paws)
    assert done.status_code == 200 and done.get_json()["reconciled_by"] == "token:paws"
    again = client.post(f"/api/v1/retailer/batches/{batch_id}/reconcile", headers=auth.paws)
    assert again.status_code == 409 and "already reconciled" in again.get_json()["error"]["message"]
    assert [e.event for e in events(rt, "batch", batch_id)].count("reconcile") == 1
    open_batch = client.post(
        "/api/v1/distribution/batches", json={"free_good_ids": [uncredited], "description": "o"}, headers=auth.north
    ).get_json()
    refused = client.post(f"/api/v1/retailer/batches/{open_batch['id']}/reconcile", headers=auth.paws)
    assert refused.status_code == 409 and refused.get_json()["error"]["details"]["current"] == "unfulfilled"


MEMO = b"SKU,Description,Qty,Amount\r\nACME-5LB,Acme Dog Kibble 5 lb,2,25.00\r\n"


def _upload(client, batch_id, headers, data=MEMO, filename="cm-7.csv", **form):
    return client.post(
        f"/api/v1/retailer/batches/{batch_id}/credit-memos",
        data={"file": (io.BytesIO(data), filename), **form},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_credit_memo_upload(client, rt, m, auth, schemas):
    batch_id, _ = _credited_batch(client, rt, m, auth, unit_cost="12.50", quantity=2)
    first = _upload(client, batch_id, auth.paws, reconcile_if_matched="true")
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert set(body) == set(schemas["CreditMemoComparison"]["properties"])
    assert body["matches"] and body["reconciled"] and not body["duplicate"]
    assert body["lines"] == [
        {
            "row": 2,
            "sku": "ACME-5LB",
            "quantity": 2,
            "amount": "25.00",
            "expected_quantity": 2,
            "expected_amount": "25.00",
            "outcome": "matched",
            "detail": "",
        }
    ]
    assert client.get(first.headers["Location"], headers=auth.paws).get_json()["memo_id"] == body["memo_id"]
    again = _upload(client, batch_id, auth.paws, reconcile_if_matched="true")
    assert again.status_code == 200 and again.get_json()["duplicate"] and again.get_json()["memo_id"] == body["memo_id"]
    memos = client.get(f"/api/v1/retailer/batches/{batch_id}/credit-memos", headers=auth.paws).get_json()["memos"]
    assert [x["memo_id"] for x in memos] == [body["memo_id"]]
    assert batch_row(rt, batch_id).reconciled_by == "token:paws"
    assert _upload(client, batch_id, auth.kibble).status_code == 404
    assert client.get(first.headers["Location"], headers=auth.kibble).status_code == 404


def test_a_memo_larger_than_the_apis_usual_64_kib_is_accepted(client, rt, m, auth):
    batch_id, _ = _credited_batch(client, rt, m, auth, unit_cost="12.50", quantity=2)
    lines = b"".join(b"ACME-5LB,Acme Dog Kibble 5 lb - credited line,1,12.50\r\n" for _ in range(2_000))
    big = b"SKU,Description,Qty,Amount\r\n" + lines
    assert len(big) > 64 * 1024
    response = _upload(client, batch_id, auth.paws, data=big)
    assert response.status_code == 201, response.get_json()
    (line,) = response.get_json()["lines"]  # 2,000 rows of one SKU are added up
    assert (line["quantity"], line["expected_quantity"], line["outcome"]) == (2000, 2, "quantity_differs")
    assert (
        line["detail"]
        == "the memo credits 2000, the batch has 2 (rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 1990 more added up)"
    )


def test_credit_memo_upload_refusals_store_nothing(client, rt, m, auth):
    batch_id, _ = _credited_batch(client, rt, m, auth)
    before = snapshot(rt)
    bad = _upload(client, batch_id, auth.paws, data=b"SKU,Qty\nACME-5LB,two\n")
    assert bad.status_code == 422
    error = bad.get_json()["error"]
    assert error["code"] == "credit_memo_rejected"
    assert error["fields"] == {"row 2, column Qty": "got 'two', expected a whole number of at least 1"}
    assert error["details"]["problems"] == [
        {"row": 2, "column": "Qty", "value": "two", "expected": "a whole number of at least 1"}
    ]
    flag = _upload(client, batch_id, auth.paws, reconcile_if_matched="maybe")
    assert flag.status_code == 422 and "reconcile_if_matched" in flag.get_json()["error"]["fields"]
    extra = _upload(client, batch_id, auth.paws, reconcile="true")
    assert extra.status_code == 422 and "reconcile" in extra.get_json()["error"]["fields"]
    forbidden = _upload(client, batch_id, auth.north)
    assert forbidden.status_code == 403
    no_file = client.post(
        f"/api/v1/retailer/batches/{batch_id}/credit-memos",
        data={"reconcile_if_matched": "true"},
        headers=auth.paws,
        content_type="multipart/form-data",
    )
    assert no_file.status_code == 422 and "file" in no_file.get_json()["error"]["fields"]
    as_json = client.post(f"/api/v1/retailer/batches/{batch_id}/credit-memos", json={}, headers=auth.paws)
    assert as_json.status_code == 422
    # The upload's own limit (a 1 MiB memo plus framing) is refused before parsing with 413.
    huge = MEMO + b"".join(b"ACME-5LB,filler line for size,1,12.50\r\n" for _ in range(30_000))
    assert len(huge) > 1024 * 1024 + 16 * 1024
    too_big = _upload(client, batch_id, auth.paws, data=huge)
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "payload_too_large"
    assert snapshot(rt) == before and count(rt, CreditMemo) == 0
