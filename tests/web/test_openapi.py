"""The OpenAPI document is generated from the routes and schemas, so it covers every route."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields, validate

from connector.api import schemas as sm
from connector.api.openapi import JsonSchemaConverter, openapi_path
from connector.app import create_app
from tests.web.support import bearer


@pytest.fixture
def bare_app(settings):
    """An app on an empty database: the document needs no data."""
    from connector.bootstrap import build_runtime

    rt = build_runtime(settings)
    yield create_app(settings=settings, runtime=rt)


@pytest.fixture
def document(bare_app):
    response = bare_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_openapi_covers_every_api_route_and_method(bare_app, document):
    assert document["openapi"] == "3.1.0"
    api_rules = [r for r in bare_app.url_map.iter_rules() if r.rule.startswith("/api/v1")]
    assert len(api_rules) >= 8
    for rule in [*api_rules, *(r for r in bare_app.url_map.iter_rules() if r.rule.startswith("/webhooks"))]:
        path, params = openapi_path(rule)
        assert path in document["paths"], rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = document["paths"][path].get(method.lower())
            assert op is not None, f"{method} {rule.rule} is not in the OpenAPI document"
            assert op["summary"] and op["responses"]
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == {p["name"] for p in params}, rule.rule
            if op.get("security") != []:
                assert "401" in op["responses"], f"{method} {rule.rule} does not document 401"


def test_openapi_every_reference_resolves_and_errors_share_one_shape(document):
    schemas = document["components"]["schemas"]
    for ref in set(_refs(document)):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    assert schemas["Error"]["required"] == ["error"]
    assert set(schemas["ErrorDetail"]["properties"]) == {"code", "message", "fields", "details"}
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if int(status) >= 400 and path != "/healthz":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_openapi_describes_auth_bodies_parameters_and_headers(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert document["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []
    assert document["paths"]["/webhooks/{provider}"]["post"]["security"] == []
    create = document["paths"]["/api/v1/redemptions"]["post"]
    body = document["components"]["schemas"]["RedemptionCreate"]
    assert body["required"] == ["member_id", "reward_id"] and body["additionalProperties"] is False
    assert body["properties"]["member_id"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 2**63 - 1,
        "format": "int64",
        "description": "The member's id.",
    }
    key = [p for p in create["parameters"] if p["name"] == "Idempotency-Key"][0]
    assert key["in"] == "header" and key["schema"]["maxLength"] == 255
    assert set(create["responses"]) >= {"200", "201", "400", "401", "403", "409", "413", "422"}
    assert create["responses"]["200"]["headers"]["Idempotency-Replayed"]
    listing = {p["name"]: p for p in document["paths"]["/api/v1/redemptions"]["get"]["parameters"]}
    assert set(listing) == {"tab", "status", "q", "reward_id", "claimed_from", "claimed_to", "limit", "cursor"}
    assert listing["tab"]["schema"]["enum"] == ["unfulfilled", "fulfilled", "reversed"]
    assert listing["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
    assert listing["claimed_from"]["schema"]["format"] == "date-time"
    detail = document["components"]["schemas"]["Redemption"]["properties"]
    assert detail["events"]["items"] == {"$ref": "#/components/schemas/RedemptionEvent"}
    assert set(document["components"]["schemas"]["RedemptionEvent"]["properties"]) == {
        "at",
        "actor",
        "kind",
        "from",
        "to",
        "message",
    }
    assert detail["shop_order"] == {"anyOf": [{"$ref": "#/components/schemas/ShopOrder"}, {"type": "null"}]}
    assert detail["next_attempt_at"] == {"type": ["string", "null"], "format": "date-time"}


def test_openapi_response_schemas_match_what_the_api_answers(client, world, tokens, document):
    """Every key a response has is declared, and every declared (required) key is there."""
    schemas = document["components"]["schemas"]
    created = client.post(
        "/api/v1/redemptions",
        json={"member_id": world.member.id, "reward_id": world.reward.id},
        headers=bearer(tokens.support),
    ).get_json()
    assert set(created) == set(schemas["Redemption"]["required"]) == set(schemas["Redemption"]["properties"])
    assert set(created["events"][0]) == set(schemas["RedemptionEvent"]["properties"])
    page = client.get("/api/v1/redemptions", headers=bearer(tokens.support)).get_json()
    assert set(page["items"][0]) == set(schemas["RedemptionSummary"]["properties"])
    member = client.get(f"/api/v1/members/{world.member.id}", headers=bearer(tokens.support)).get_json()
    assert set(member) == set(schemas["Member"]["properties"])
    assert set(member["ledger"][0]) == set(schemas["LedgerEntry"]["properties"])
    sent = client.post(
        f"/api/v1/redemptions/{created['id']}/resend-confirmation", headers=bearer(tokens.support)
    ).get_json()
    assert set(sent) == set(schemas["Confirmation"]["properties"])


def test_converter_maps_field_types_validators_and_nullability():
    class Inner(Schema):
        n = fields.Float()

    class ThingSchema(Schema):
        name = fields.String(required=True, validate=validate.Length(min=2, max=5))
        kind = fields.String(allow_none=True, validate=validate.OneOf(["a", "b"]))
        count = fields.Integer(validate=validate.Range(min=0, max=9, max_inclusive=False))
        flag = fields.Boolean(load_default=False)
        tags = fields.List(fields.String(), validate=validate.Length(max=3))
        extra = fields.Dict(keys=fields.String(), values=fields.Integer())
        inner = fields.Nested(Inner, many=True)
        email = fields.Email()
        day = fields.Date()
        renamed = fields.String(data_key="from")

    conv = JsonSchemaConverter()
    assert conv.ref(ThingSchema, response=False) == {"$ref": "#/components/schemas/Thing"}
    thing = conv.components["Thing"]
    props = thing["properties"]
    assert thing["required"] == ["name"] and thing["additionalProperties"] is False
    assert props["name"] == {"type": "string", "minLength": 2, "maxLength": 5, "pattern": sm.NOT_BLANK_PATTERN}
    assert props["from"] == {"type": "string", "pattern": sm.PLAIN_TEXT_PATTERN}
    assert props["kind"] == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert props["count"] == {"type": "integer", "minimum": 0, "exclusiveMaximum": 9}
    assert props["flag"] == {"type": "boolean", "default": False}
    plain = {"type": "string", "pattern": sm.PLAIN_TEXT_PATTERN}
    assert props["tags"] == {"type": "array", "items": plain, "maxItems": 3}
    assert props["extra"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["inner"] == {"type": "array", "items": {"$ref": "#/components/schemas/Inner"}}
    assert conv.components["Inner"]["properties"] == {"n": {"type": "number"}}
    assert props["email"] == {"type": "string", "format": "email"}
    assert props["day"] == {"type": "string", "format": "date"}
    assert "renamed" not in props
    response = JsonSchemaConverter()
    response.ref(ThingSchema, response=True)
    assert len(response.components["Thing"]["required"]) == len(props)
    assert "additionalProperties" not in response.components["Thing"]


INT64 = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}


def _operations(document):
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def test_openapi_declares_int64_bounds_for_every_path_query_and_body_id(document):
    schemas = document["components"]["schemas"]
    path_ids = query_ids = 0
    for path, method, op in _operations(document):
        for p in op.get("parameters", []):
            if p["name"].endswith("_id") or (p["in"] == "path" and p["schema"].get("type") == "integer"):
                assert {k: p["schema"][k] for k in INT64} == INT64, (method, path, p["name"])
                path_ids += p["in"] == "path"
                query_ids += p["in"] == "query"
    assert path_ids >= 25 and query_ids >= 15
    body_ids = 0
    for name, schema in schemas.items():
        if schema.get("additionalProperties") is not False:  # a response schema
            continue
        for key, prop in schema["properties"].items():
            if key.endswith("_id") or key.endswith("_ids"):
                item = prop["items"] if prop.get("type") in ("array", ["array", "null"]) else prop
                item = {k: v for k, v in item.items() if k != "description"}
                kind = item.pop("type")
                assert kind in ("integer", ["integer", "null"]), (name, key)
                assert {k: item[k] for k in INT64 if k != "type"} == {k: v for k, v in INT64.items() if k != "type"}
                body_ids += 1
    assert body_ids >= 10
    for path, method in (("/api/v1/programs", "get"), ("/api/v1/redemptions", "post"), ("/api/v1/enrollments", "get")):
        assert "404" in document["paths"][path][method]["responses"], (method, path)  # an id may name no record
    member = document["paths"]["/api/v1/members/{member_id}"]["get"]["parameters"][0]
    assert member == {"name": "member_id", "in": "path", "required": True, "schema": INT64}


def test_openapi_describes_the_csv_exports_as_text_csv(document):
    for path in (
        "/api/v1/redemptions/export.csv",
        "/api/v1/programs/{program_id}/products.csv",
        "/api/v1/distribution/reports/{name}.csv",
    ):
        ok = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert list(ok) == ["text/csv"], path
        assert ok["text/csv"]["schema"] == {"type": "string"}


def test_openapi_lists_the_report_and_section_names(document):
    from connector.core.frequent_buyer.distribution import Section
    from connector.core.frequent_buyer.distribution_reports import ReportName

    for path, names in (
        ("/api/v1/distribution/sections/{name}", [s.value for s in Section]),
        ("/api/v1/distribution/reports/{name}", [r.value for r in ReportName]),
        ("/api/v1/distribution/reports/{name}.csv", [r.value for r in ReportName]),
    ):
        (param,) = [p for p in document["paths"][path]["get"]["parameters"] if p["in"] == "path"]
        assert param["schema"] == {"type": "string", "enum": names}, path


def test_openapi_declares_booleans_as_booleans_the_server_takes_strictly(document):
    reverse = document["components"]["schemas"]["Reverse"]["properties"]["cancel_order"]
    assert reverse["type"] == "boolean"
    active = [p for p in document["paths"]["/api/v1/enrollments"]["get"]["parameters"] if p["name"] == "active"][0]
    assert active["schema"]["type"] == "boolean"


def test_openapi_declares_the_text_limits_the_server_enforces(document):
    import re

    schemas = document["components"]["schemas"]
    location = schemas["RetailerLocationIn"]["properties"]
    assert location["state"]["pattern"] == "^[A-Za-z]{2}$"
    assert location["name"]["pattern"] == sm.NOT_BLANK_PATTERN and location["name"]["maxLength"] == 200
    assert location["address1"]["pattern"] == sm.PLAIN_TEXT_PATTERN
    assert schemas["DistributorCreate"]["properties"]["service_states"]["items"]["pattern"] == "^[A-Za-z]{2}$"
    assert schemas["ProgramCreate"]["properties"]["buy_quantity"]["maximum"] == 10_000
    assert schemas["ProgramCreate"]["properties"]["free_quantity"]["maximum"] == 1_000
    assert schemas["PriceListEntryIn"]["properties"]["unit_cost"]["minimum"] == 0
    key = [p for p in document["paths"]["/api/v1/redemptions"]["post"]["parameters"] if p["in"] == "header"][0]
    assert re.search(key["schema"]["pattern"], "0b9a-key") and not re.search(key["schema"]["pattern"], "   ")
    blank, plain = re.compile(sm.NOT_BLANK_PATTERN), re.compile(sm.PLAIN_TEXT_PATTERN)
    assert blank.search("Paws & Claws") and not blank.search("  \t ") and not blank.search("Paws\x00")
    assert plain.search("") and plain.search("line one\nline two") and not plain.search("bell\x07")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Paws\x00 Claws", "store_code": "9", "state": "WA", "zip": "98101"}, "name"),
        ({"name": "Paws", "store_code": "9", "state": "W1", "zip": "98101"}, "state"),
        ({"name": "Paws", "store_code": "9", "state": "WA", "zip": "98101", "city": "Sea\x1bttle"}, "city"),
    ],
)
def test_text_with_control_characters_or_a_bad_state_is_422_naming_the_field(client, tokens, world, body, field):
    payload = {"name": "Paws", "locations": [body]}
    response = client.post("/api/v1/retailers", json=payload, headers=bearer(tokens.support))
    assert response.status_code == 422, response.get_json()
    assert f"locations.0.{field}" in response.get_json()["error"]["fields"]


def test_a_reversal_reason_with_nul_is_422_not_500(client, world, tokens):
    created = client.post(
        "/api/v1/redemptions",
        json={"member_id": world.member.id, "reward_id": world.reward.id},
        headers=bearer(tokens.support),
    ).get_json()
    response = client.post(
        f"/api/v1/redemptions/{created['id']}/reverse", json={"reason": "oops\x00"}, headers=bearer(tokens.support)
    )
    assert response.status_code == 422
    assert "control characters" in response.get_json()["error"]["fields"]["reason"]
    assert (
        client.get(f"/api/v1/redemptions/{created['id']}", headers=bearer(tokens.support)).get_json()["reversed_at"]
        is None
    )
