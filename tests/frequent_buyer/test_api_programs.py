"""/api/v1 programs, retailers, distributors, enrollments, price lists: validation names fields, scope holds."""

from __future__ import annotations

from tests.frequent_buyer.conftest import auth

PROGRAM = {
    "name": "Acme Cat Buy 8 Get 1",
    "code": "ACME-CAT",
    "buy_quantity": 8,
    "starts_on": "2026-02-01",
    "items": [
        {"sku": "CAT-7", "upc": "012345000071", "description": "Acme Cat 7 lb", "size_value": 7, "size_unit": "lbs"},
        {"sku": "CAT-3", "description": "Acme Cat 3.5 lb", "size_value": "3.5", "size_unit": "lb", "category": "Cat"},
    ],
}


def test_api_create_program_and_read_it(fb_client, fb_world, fb_tokens):
    created = fb_client.post(
        "/api/v1/programs", json={**PROGRAM, "brand_id": fb_world.brand_id}, headers=auth(fb_tokens.brand_admin)
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/programs/{body['id']}")
    assert (body["code"], body["buy_quantity"], body["free_quantity"], body["fulfilment_type"]) == (
        "ACME-CAT",
        8,
        1,
        "distributor",
    )
    assert body["starts_on"] == "2026-02-01" and body["ends_on"] is None and body["item_count"] == 2
    assert body["items"][0] == {
        "id": body["items"][0]["id"],
        "sku": "CAT-7",
        "upc": "012345000071",
        "description": "Acme Cat 7 lb",
        "size_value": "7",
        "size_unit": "lb",
        "category": "",
    }
    assert body["items"][1]["size_value"] == "3.5"
    got = fb_client.get(f"/api/v1/programs/{body['id']}", headers=auth(fb_tokens.retailer))
    assert got.status_code == 200 and got.get_json() == body
    listing = fb_client.get("/api/v1/programs", headers=auth(fb_tokens.brand_admin)).get_json()["items"]
    assert [p["code"] for p in listing] == ["ACME-KIBBLE", "ACME-TREATS", "ACME-CAT"]
    assert "items" not in listing[0] and listing[0]["distributor_ids"] == [
        fb_world.distributor_id,
        fb_world.other_distributor_id,
    ]
    everything = fb_client.get(
        "/api/v1/programs", query_string={"brand_id": fb_world.other_brand_id}, headers=auth(fb_tokens.distributor)
    )
    assert [p["code"] for p in everything.get_json()["items"]] == ["WILD-8"]


def test_api_program_validation_names_the_field(fb_client, fb_world, fb_tokens):
    bad_unit = {**PROGRAM, "brand_id": fb_world.brand_id, "items": [{**PROGRAM["items"][0], "size_unit": "bags"}]}
    response = fb_client.post("/api/v1/programs", json=bad_unit, headers=auth(fb_tokens.brand_admin))
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert list(fields) == ["items.0.size_unit"] and fields["items.0.size_unit"].startswith("unknown size unit 'bags'")

    missing = {**PROGRAM, "brand_id": fb_world.brand_id, "items": [{"sku": "X"}], "colour": "red"}
    fields = fb_client.post("/api/v1/programs", json=missing, headers=auth(fb_tokens.brand_admin)).get_json()["error"][
        "fields"
    ]
    assert set(fields) == {"items.0.description", "items.0.size_value", "items.0.size_unit", "colour"}

    duplicate = {**PROGRAM, "brand_id": fb_world.brand_id, "code": "acme-kibble"}
    response = fb_client.post("/api/v1/programs", json=duplicate, headers=auth(fb_tokens.platform_admin))
    assert response.status_code == 422 and "code" in response.get_json()["error"]["fields"]

    other_brand = fb_client.post(
        "/api/v1/programs", json={**PROGRAM, "brand_id": fb_world.other_brand_id}, headers=auth(fb_tokens.brand_admin)
    )
    assert other_brand.status_code == 422 and other_brand.get_json()["error"]["fields"] == {
        "brand_id": f"no brand {fb_world.other_brand_id}"
    }
    assert (
        fb_client.post(
            "/api/v1/programs", json={**PROGRAM, "brand_id": fb_world.brand_id}, headers=auth(fb_tokens.retailer)
        ).status_code
        == 403
    )


def test_api_product_list_csv(fb_client, fb_world, fb_tokens):
    fb_client.post(
        f"/api/v1/programs/{fb_world.kibble_id}/items",
        json={"items": [{"sku": "=CMD()", "description": "@SUM(1)", "size_value": 1, "size_unit": "kg"}]},
        headers=auth(fb_tokens.brand_admin),
    )
    response = fb_client.get(f"/api/v1/programs/{fb_world.kibble_id}/products.csv", headers=auth(fb_tokens.retailer))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="acme-kibble-products.csv"'
    lines = response.get_data(as_text=True).split("\r\n")
    assert lines[0] == '"SKU","UPC","Description","Size","Unit","Category"'
    assert lines[1] == '"KIB-4","012345000041","Acme Kibble 4 lb","4","lb","Dry Food"'
    assert lines[6] == '"\'=CMD()","","\'@SUM(1)","1","kg",""' and lines[7] == ""
    assert fb_client.get("/api/v1/programs/999999/products.csv", headers=auth(fb_tokens.retailer)).status_code == 404


def test_api_retailers_and_locations(fb_client, fb_world, fb_tokens):
    created = fb_client.post(
        "/api/v1/retailers",
        json={
            "name": "Fetch & Co",
            "locations": [{"name": "Fetch Boise", "store_code": "1", "state": "ID", "zip": "83702"}],
        },
        headers=auth(fb_tokens.support),
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["slug"] == "fetch-co" and body["locations"][0]["state"] == "ID"
    bad = fb_client.post(
        "/api/v1/retailers",
        json={"name": "X", "locations": [{"name": "A", "store_code": "1", "state": "Idaho", "zip": "1"}]},
        headers=auth(fb_tokens.support),
    )
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"locations.0.state"}
    assert (
        fb_client.post("/api/v1/retailers", json={"name": "Mine"}, headers=auth(fb_tokens.retailer)).status_code == 403
    )

    mine = fb_client.get("/api/v1/retailers", headers=auth(fb_tokens.retailer)).get_json()["items"]
    assert [r["id"] for r in mine] == [fb_world.retailer_id] and len(mine[0]["locations"]) == 2
    other = f"/api/v1/retailers/{fb_world.other_retailer_id}"
    assert fb_client.get(other, headers=auth(fb_tokens.retailer)).status_code == 404
    assert fb_client.get(other, headers=auth(fb_tokens.other_retailer)).status_code == 200
    added = fb_client.post(
        f"{other}/locations",
        json={"name": "Salem", "store_code": "B9", "state": "OR", "zip": "97301"},
        headers=auth(fb_tokens.other_retailer),
    )
    assert added.status_code == 201 and added.get_json()["store_code"] == "B9"
    assert (
        fb_client.post(
            f"{other}/locations",
            json={"name": "Salem", "store_code": "B8", "state": "OR", "zip": "97301"},
            headers=auth(fb_tokens.retailer),
        ).status_code
        == 404
    )
    participating = fb_client.get("/api/v1/retailers", headers=auth(fb_tokens.distributor)).get_json()["items"]
    assert [r["name"] for r in participating] == ["Paws Corner"]


def test_api_distributors(fb_client, fb_world, fb_tokens):
    created = fb_client.post(
        "/api/v1/distributors",
        json={"name": "Rocky Mountain Feed", "service_states": ["co", "UT"], "program_ids": [fb_world.kibble_id]},
        headers=auth(fb_tokens.support),
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["slug"], body["service_states"], body["program_ids"]) == (
        "rocky-mountain-feed",
        ["CO", "UT"],
        [fb_world.kibble_id],
    )
    nowhere = fb_client.post("/api/v1/distributors", json={"name": "Nowhere"}, headers=auth(fb_tokens.support))
    assert nowhere.status_code == 422 and "service_states" in nowhere.get_json()["error"]["fields"]
    assert (
        fb_client.post(
            "/api/v1/distributors", json={"name": "Me", "service_states": ["WA"]}, headers=auth(fb_tokens.distributor)
        ).status_code
        == 403
    )
    associated = fb_client.post(
        f"/api/v1/distributors/{body['id']}/programs",
        json={"program_id": fb_world.treats_id},
        headers=auth(fb_tokens.brand_admin),
    )
    assert associated.status_code == 200 and associated.get_json()["program_ids"] == [
        fb_world.kibble_id,
        fb_world.treats_id,
    ]
    options = fb_client.get(
        "/api/v1/distributors", query_string={"program_id": fb_world.wild_id}, headers=auth(fb_tokens.retailer)
    )
    assert [d["name"] for d in options.get_json()["items"]] == ["Northwest Pet Supply"]


def test_api_enrollment_checks_association_and_service_area(fb_client, fb_world, fb_tokens):
    not_associated = fb_client.post(
        "/api/v1/enrollments",
        json={"program_id": fb_world.wild_id, "distributor_id": fb_world.other_distributor_id},
        headers=auth(fb_tokens.retailer),
    )
    assert not_associated.status_code == 422
    error = not_associated.get_json()["error"]
    assert list(error["fields"]) == ["distributor_id"]
    assert "is not associated with program 'Wild Taste Buy 8 Get 1'" in error["fields"]["distributor_id"]
    assert "choose one of: Northwest Pet Supply" in error["fields"]["distributor_id"]

    outside = fb_client.post(
        "/api/v1/enrollments",
        json={"program_id": fb_world.wild_id, "distributor_id": fb_world.distributor_id},
        headers=auth(fb_tokens.other_retailer),
    )
    assert outside.status_code == 422
    assert "does not serve 'Bark Avenue Portland' (OR 97201)" in outside.get_json()["error"]["fields"]["distributor_id"]

    enrolled = fb_client.post(
        "/api/v1/enrollments",
        json={"program_id": fb_world.wild_id, "distributor_id": fb_world.distributor_id},
        headers=auth(fb_tokens.retailer),
    )
    assert enrolled.status_code == 201, enrolled.get_json()
    body = enrolled.get_json()
    assert (body["retailer_id"], body["distributor_name"], body["active"]) == (
        fb_world.retailer_id,
        "Northwest Pet Supply",
        True,
    )
    again = fb_client.post(
        "/api/v1/enrollments",
        json={"program_id": fb_world.wild_id, "distributor_id": fb_world.distributor_id},
        headers=auth(fb_tokens.retailer),
    )
    assert again.status_code == 409

    support_without_retailer = fb_client.post(
        "/api/v1/enrollments", json={"program_id": fb_world.wild_id}, headers=auth(fb_tokens.support)
    )
    assert support_without_retailer.get_json()["error"]["fields"] == {"retailer_id": "the retailer to enroll"}
    for_other = fb_client.post(
        "/api/v1/enrollments",
        json={"retailer_id": fb_world.other_retailer_id, "program_id": fb_world.treats_id},
        headers=auth(fb_tokens.retailer),
    )
    assert for_other.status_code == 404
    assert (
        fb_client.post(
            "/api/v1/enrollments",
            json={"retailer_id": fb_world.retailer_id, "program_id": fb_world.treats_id},
            headers=auth(fb_tokens.distributor),
        ).status_code
        == 403
    )


def test_api_change_distributor_and_end(fb_client, fb_world, fb_tokens):
    url = f"/api/v1/enrollments/{fb_world.kibble_enrollment_id}"
    refused = fb_client.patch(
        url, json={"distributor_id": fb_world.other_distributor_id}, headers=auth(fb_tokens.retailer)
    )
    assert refused.status_code == 422
    assert "does not serve 'Paws Corner Seattle' (WA 98101)" in refused.get_json()["error"]["fields"]["distributor_id"]
    same = fb_client.patch(url, json={"distributor_id": fb_world.distributor_id}, headers=auth(fb_tokens.retailer))
    assert same.status_code == 200
    assert fb_client.patch(url, json={}, headers=auth(fb_tokens.retailer)).get_json()["error"]["fields"] == {
        "distributor_id": "Missing data for required field."
    }
    assert fb_client.get(url, headers=auth(fb_tokens.other_retailer)).status_code == 404
    assert fb_client.get(url, headers=auth(fb_tokens.distributor)).status_code == 200
    ended = fb_client.post(f"{url}/end", headers=auth(fb_tokens.retailer))
    assert ended.status_code == 200 and ended.get_json()["active"] is False
    assert fb_client.post(f"{url}/end", headers=auth(fb_tokens.retailer)).status_code == 409
    active = fb_client.get("/api/v1/enrollments", query_string={"active": "true"}, headers=auth(fb_tokens.retailer))
    assert [e["program_name"] for e in active.get_json()["items"]] == ["Acme Treats Buy 5 Get 1"]


def test_api_price_list(fb_client, fb_world, fb_tokens):
    url = f"/api/v1/retailers/{fb_world.retailer_id}/price-list"
    put = fb_client.put(
        url,
        json={"entries": [{"sku": "KIB-4", "unit_cost": "13.10"}, {"sku": "KIB-15", "unit_cost": 40, "srp": 59.99}]},
        headers=auth(fb_tokens.retailer),
    )
    assert put.status_code == 200, put.get_json()
    assert (put.get_json()["created"], put.get_json()["updated"]) == (1, 1)
    listed = fb_client.get(url, headers=auth(fb_tokens.retailer)).get_json()["items"]
    assert listed == [
        {"sku": "KIB-15", "unit_cost": "40.00", "srp": "59.99"},
        {"sku": "KIB-4", "unit_cost": "13.10", "srp": None},
    ]
    bad = fb_client.put(url, json={"entries": [{"sku": "A", "unit_cost": "1.999"}]}, headers=auth(fb_tokens.retailer))
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"] == {
        "entries.0.unit_cost": "'1.999' has more than 2 decimal places; the cost is dollars and cents"
    }
    assert fb_client.get(url, headers=auth(fb_tokens.distributor)).status_code == 403
    assert fb_client.get(url, headers=auth(fb_tokens.other_retailer)).status_code == 404
