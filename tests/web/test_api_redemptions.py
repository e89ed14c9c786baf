"""/api/v1/redemptions: claim (idempotently), list, inspect, reverse, retry and resend, within the token's scope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from connector.core import catalog
from connector.core.database import transaction
from connector.core.errors import ProviderError
from connector.core.redemptions import points_balance
from connector.core.tables import Brand, LedgerEntry, Redemption
from tests.web.support import bearer

URL = "/api/v1/redemptions"


def _create(client, token, world, *, key=None, reward_id=None, member_id=None):
    headers = bearer(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(
        URL,
        json={"member_id": member_id or world.member.id, "reward_id": reward_id or world.reward.id},
        headers=headers,
    )


def _created_id(client, token, world, **kw) -> int:
    response = _create(client, token, world, **kw)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _count(rt, model) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def _balance(rt, member_id) -> int:
    with rt.sessions() as s:
        return points_balance(s, member_id)


def _second_reward(rt, world) -> int:
    with transaction(rt.sessions) as s:
        brand = s.get(Brand, world.brand.id)
        return catalog.add_reward(s, brand, name="Dog Bowl", sku="BOWL-1", points_cost=300, shop=world.shop).id


def _is_utc_iso(value: str) -> bool:
    return value.endswith("Z") and datetime.fromisoformat(value).utcoffset().total_seconds() == 0


# -- create ------------------------------------------------------------------------------------------------------


def test_api_create_redemption_fulfils_and_answers_the_detail(client, rt, world, shop, tokens):
    response = _create(client, tokens.support, world)
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/redemptions/{body['id']}")
    assert body["status"] == "fulfilled" and body["code"].startswith("R-")
    assert body["points_cost"] == 500
    assert body["member"] == {"id": world.member.id, "name": "Ada Lovelace", "email": "ada@example.com"}
    assert body["reward"] == {
        "id": world.reward.id,
        "name": "Ambassador T-Shirt",
        "sku": "TSHIRT-M",
        "instructions": "Ships in 5-7 days.",
    }
    assert body["shop_order"] == {
        "id": "gid://shopify/Order/1",
        "name": "#1001",
        "admin_url": "https://acme-pets.myshopify.com/admin/orders/1",
    }
    assert body["delivery"]["status"] == "unfulfilled"
    assert body["error"] is None and body["attempts"] == 1 and body["next_attempt_at"] is None
    assert [e["kind"] for e in body["events"]][:3] == ["claimed", "attempt_started", "fulfilled"]
    claimed = body["events"][0]
    assert claimed["actor"] == "token:support-desk" and claimed["to"] == "pending" and claimed["from"] is None
    assert _is_utc_iso(body["claimed_at"]) and _is_utc_iso(body["fulfilled_at"])
    assert all(_is_utc_iso(e["at"]) for e in body["events"])
    assert len(shop.orders) == 1
    assert _balance(rt, world.member.id) == 4500


def test_api_create_with_same_idempotency_key_replays_one_redemption(client, rt, world, shop, tokens):
    first = _create(client, tokens.support, world, key="3f0c2a8e-key-1")
    again = _create(client, tokens.support, world, key="3f0c2a8e-key-1")
    assert first.status_code == 201 and "Idempotency-Replayed" not in first.headers
    assert again.status_code == 200 and again.headers["Idempotency-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json() == first.get_json()
    assert len(shop.orders) == 1
    assert _count(rt, Redemption) == 1
    assert _balance(rt, world.member.id) == 4500  # points spent once


def test_api_create_reusing_a_key_with_another_body_is_a_conflict(client, rt, world, shop, tokens):
    bowl = _second_reward(rt, world)
    assert _create(client, tokens.support, world, key="k-42").status_code == 201
    response = _create(client, tokens.support, world, key="k-42", reward_id=bowl)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert (
        error["code"] == "conflict"
        and "Idempotency-Key was already used with a different request" in (error["message"])
    )
    assert _count(rt, Redemption) == 1 and len(shop.orders) == 1
    assert _balance(rt, world.member.id) == 4500


def test_api_create_with_a_bad_idempotency_key_is_422_and_creates_nothing(client, rt, world, tokens):
    for key in ("x" * 256, "   ", "caf\u00e9"):
        response = _create(client, tokens.support, world, key=key)
        assert response.status_code == 422, key
        assert "Idempotency-Key" in response.get_json()["error"]["fields"]
    assert _count(rt, Redemption) == 0
    assert _create(client, tokens.support, world, key="k" * 255).status_code == 201


CREATE_ERRORS = [
    ({"reward_id": 1}, "member_id", "Missing data for required field."),
    ({"member_id": "one", "reward_id": 1}, "member_id", "Not a valid integer."),
    ({"member_id": True, "reward_id": 1}, "member_id", "Not a valid integer."),
    ({"member_id": 0, "reward_id": 1}, "member_id", "must be an id between 1 and"),
    ({"member_id": 1, "reward_id": 1, "memberid": 1}, "memberid", "Unknown field."),
]


def test_api_create_validation_names_the_field(client, rt, tokens, world):
    for payload, field, text in CREATE_ERRORS:
        response = client.post(URL, json=payload, headers=bearer(tokens.support))
        assert response.status_code == 422, payload
        error = response.get_json()["error"]
        assert error["code"] == "validation_error", payload
        assert text in error["fields"][field] and field in error["message"], error
    assert _count(rt, Redemption) == 0


def test_api_create_with_invalid_json_is_400_and_non_object_is_422(client, tokens, world):
    headers = {**bearer(tokens.support), "Content-Type": "application/json"}
    response = client.post(URL, data=b"{member_id: 1", headers=headers)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_json"
    response = client.post(URL, data=b"[1, 2]", headers=headers)
    assert response.status_code == 422 and "_body" in response.get_json()["error"]["fields"]


def test_api_create_refuses_a_member_without_enough_points_and_changes_nothing(client, rt, world, tokens):
    with transaction(rt.sessions) as s:
        brand = s.get(Brand, world.brand.id)
        pricey = catalog.add_reward(s, brand, name="Bike", sku="BIKE", points_cost=9000, shop=world.shop).id
    response = _create(client, tokens.support, world, reward_id=pricey)
    assert response.status_code == 422
    assert "has 5000, the reward costs 9000" in response.get_json()["error"]["message"]
    assert _count(rt, Redemption) == 0 and _balance(rt, world.member.id) == 5000


def test_api_create_for_another_brands_member_is_refused(client, rt, world, tokens):
    response = _create(client, tokens.other_admin, world)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"member_id": f"no member with id {world.member.id}"}
    assert _count(rt, Redemption) == 0


def test_api_create_over_the_body_limit_is_413(client, tokens):
    response = client.post(URL, data=b"{" + b" " * 70_000 + b"}", headers=bearer(tokens.support))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "payload_too_large"


# -- list ----------------------------------------------------------------------------------------------------------


def test_api_list_paginates_with_a_cursor_without_gaps_or_duplicates(client, world, tokens):
    ids = [_created_id(client, tokens.support, world) for _ in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = client.get(URL, query_string=query, headers=bearer(tokens.admin))
        assert response.status_code == 200
        page = response.get_json()
        pages += 1
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(ids))  # newest first, each exactly once


def test_api_list_by_tab_status_and_search(client, rt, world, shop, tokens):
    fulfilled = _created_id(client, tokens.support, world)
    shop.script.append(ProviderError("product_not_found", retryable=False, field="sku"))
    failed = _created_id(client, tokens.support, world)
    reversed_ = _created_id(client, tokens.support, world)
    assert client.post(f"{URL}/{reversed_}/reverse", json={}, headers=bearer(tokens.support)).status_code == 200

    def ids(**query) -> list[int]:
        response = client.get(URL, query_string=query, headers=bearer(tokens.viewer))
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids(tab="fulfilled") == [fulfilled]
    assert ids(tab="unfulfilled") == [failed]
    assert ids(tab="reversed") == [reversed_]
    assert ids(status="error") == [failed]
    assert ids() == [reversed_, failed, fulfilled]
    with rt.sessions() as s:
        code = s.get(Redemption, failed).code
    assert ids(q=code) == [failed]
    assert ids(q=code.lower()) == [failed]
    assert ids(q="ada@example.com") == [reversed_, failed, fulfilled]
    assert ids(q="lovelace") == [reversed_, failed, fulfilled]
    assert ids(q="t-shirt", tab="unfulfilled") == [failed]
    assert ids(q="nobody-by-that-name") == []
    assert ids(q="") == ids(q="  ") == [reversed_, failed, fulfilled]
    assert ids(reward_id=world.reward.id, status="fulfilled") == [fulfilled]
    assert ids(claimed_from="2999-01-01T00:00:00Z") == []
    assert ids(claimed_to="2999-01-01") == [reversed_, failed, fulfilled]
    item = client.get(URL, query_string={"status": "error"}, headers=bearer(tokens.viewer)).get_json()["items"][0]
    assert item["error"]["code"] == "product_not_found" and item["error"]["field"] == "sku"
    assert "events" not in item


LIST_ERRORS = [
    ({"tab": "done"}, "tab", "must be one of: unfulfilled, fulfilled, reversed"),
    ({"status": "shipped"}, "status", "must be one of: pending, fulfilled, error, reversed"),
    ({"limit": "0"}, "limit", "between 1 and 500"),
    ({"limit": "501"}, "limit", "between 1 and 500"),
    ({"limit": "many"}, "limit", "Not a valid integer."),
    ({"reward_id": "x"}, "reward_id", "Not a valid integer."),
    ({"claimed_from": "yesterday"}, "claimed_from", "Not a valid datetime."),
    ({"cursor": "not-a-cursor"}, "cursor", "pass back next_cursor unchanged"),
    ({"q": "x" * 201}, "q", "Longer than maximum length 200."),
    ({"sort": "name"}, "sort", "Unknown field."),
    ({"claimed_from": "2026-02-01", "claimed_to": "2026-01-01"}, "claimed_to", "after claimed_from"),
]


def test_api_list_invalid_parameters_are_422_naming_them(client, tokens):
    for query, param, text in LIST_ERRORS:
        response = client.get(URL, query_string=query, headers=bearer(tokens.viewer))
        assert response.status_code == 422, query
        error = response.get_json()["error"]
        assert error["code"] == "validation_error" and param in error["message"], error
        assert text in error["fields"][param], error
    response = client.get(f"{URL}?tab=fulfilled&tab=reversed", headers=bearer(tokens.viewer))
    assert response.status_code == 422 and "tab" in response.get_json()["error"]["fields"]


# -- detail --------------------------------------------------------------------------------------------------------


def test_api_get_shows_a_permanent_error_with_its_fix(client, world, shop, tokens):
    shop.script.append(ProviderError("crm_id_not_found", retryable=False, field="date_of_birth"))
    rid = _created_id(client, tokens.support, world)
    body = client.get(f"{URL}/{rid}", headers=bearer(tokens.viewer)).get_json()
    assert body["status"] == "error" and body["shop_order"] is None and body["delivery"] is None
    assert body["error"]["code"] == "crm_id_not_found"
    assert body["error"]["title"] == "CRM ID Not Found"
    assert "State, City, Date of Birth" in body["error"]["fix"]
    assert body["error"]["field"] == "date_of_birth"
    assert body["next_attempt_at"] is None
    failed = [e for e in body["events"] if e["kind"] == "failed"]
    assert failed and failed[0]["from"] == "pending" and failed[0]["to"] == "error"


def test_api_get_shows_a_transient_error_with_the_next_attempt(client, world, shop, tokens):
    shop.script.append(ProviderError("shop_unavailable", "Shopify answered 503", retryable=True))
    rid = _created_id(client, tokens.support, world)
    body = client.get(f"{URL}/{rid}", headers=bearer(tokens.viewer)).get_json()
    assert body["status"] == "pending"
    assert body["error"]["code"] == "shop_unavailable" and body["error"]["message"] == "Shopify answered 503"
    assert _is_utc_iso(body["next_attempt_at"])


def test_api_get_unknown_redemption_is_404(client, tokens):
    response = client.get(f"{URL}/999999", headers=bearer(tokens.support))
    assert response.status_code == 404
    assert response.get_json()["error"] == {"code": "not_found", "message": "redemption 999999 not found"}


# -- reverse, retry, resend ----------------------------------------------------------------------------------------


def test_api_reverse_returns_points_once_and_a_second_reverse_is_409(client, rt, world, tokens):
    rid = _created_id(client, tokens.support, world)
    response = client.post(f"{URL}/{rid}/reverse", json={"reason": "wrong size"}, headers=bearer(tokens.admin))
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "reversed" and _is_utc_iso(body["reversed_at"])
    reversed_event = [e for e in body["events"] if e["kind"] == "reversed"][0]
    assert reversed_event["actor"] == "token:acme-admin" and "wrong size" in reversed_event["message"]
    assert _balance(rt, world.member.id) == 5000

    again = client.post(f"{URL}/{rid}/reverse", json={}, headers=bearer(tokens.admin))
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "illegal_transition" and "already reversed" in error["message"]
    assert error["details"] == {"current": "reversed", "event": "reverse"}
    assert _balance(rt, world.member.id) == 5000
    with rt.sessions() as s:
        returned = s.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.redemption_id == rid, LedgerEntry.kind == "returned")
        )
    assert returned == 1


def test_api_reverse_with_cancel_order_cancels_the_shop_order(client, world, shop, tokens):
    rid = _created_id(client, tokens.support, world)
    response = client.post(f"{URL}/{rid}/reverse", json={"cancel_order": True}, headers=bearer(tokens.support))
    assert response.status_code == 200
    body = response.get_json()
    assert shop.cancelled == ["gid://shopify/Order/1"]
    assert body["delivery"]["status"] == "cancelled" and _is_utc_iso(body["order_cancelled_at"])


@pytest.mark.parametrize(
    ("restock", "said"), [(None, "put back in stock"), (True, "put back in stock"), (False, "not restocked")]
)
def test_api_reverse_cancels_restocking_as_asked(client, world, shop, tokens, restock, said):
    """``restock`` left out follows ``cancel_order`` (as the API did before it existed); false keeps the stock."""
    rid = _created_id(client, tokens.support, world)
    payload = {"cancel_order": True} | ({} if restock is None else {"restock": restock})
    response = client.post(f"{URL}/{rid}/reverse", json=payload, headers=bearer(tokens.support))
    assert response.status_code == 200 and shop.cancelled == ["gid://shopify/Order/1"]
    events = {e["kind"]: e["message"] for e in response.get_json()["events"]}
    assert said in events["order_cancelled"]


def test_api_reverse_validation_names_the_field_and_changes_nothing(client, rt, world, tokens):
    rid = _created_id(client, tokens.support, world)
    for payload, field in [
        ({"cancel_order": "perhaps"}, "cancel_order"),
        ({"restock": True}, "restock"),  # stock goes back only by cancelling the order
        ({"cancel_order": False, "restock": True}, "restock"),
        ({"cancel_order": True, "restock": "no"}, "restock"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": None}, "reason"),
        ({"why": "x"}, "why"),
    ]:
        response = client.post(f"{URL}/{rid}/reverse", json=payload, headers=bearer(tokens.support))
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"], payload
    with rt.sessions() as s:
        assert s.get(Redemption, rid).status == "fulfilled"
    assert _balance(rt, world.member.id) == 4500


def test_api_retry_of_a_redemption_not_in_error_is_409_with_the_reason(client, world, tokens):
    rid = _created_id(client, tokens.support, world)
    response = client.post(f"{URL}/{rid}/retry", json={}, headers=bearer(tokens.support))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "illegal_transition"
    assert error["message"] == (
        "cannot retry a redemption that is fulfilled: only a redemption in error can be retried; "
        "fix the cause shown on it first"
    )


def test_api_retry_of_a_redemption_in_error_fulfils_it(client, world, shop, tokens):
    shop.script.append(ProviderError("product_not_found", retryable=False))
    rid = _created_id(client, tokens.support, world)
    response = client.post(f"{URL}/{rid}/retry", json={"note": "SKU fixed in Shopify"}, headers=bearer(tokens.admin))
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "fulfilled" and body["error"] is None and body["attempts"] == 2
    retried = [e for e in body["events"] if e["kind"] == "retried"][0]
    assert retried["from"] == "error" and retried["to"] == "pending" and "SKU fixed in Shopify" in retried["message"]
    assert len(shop.orders) == 1


def test_api_resend_confirmation_sends_and_logs_it(client, rt, world, tokens):
    rid = _created_id(client, tokens.support, world)
    response = client.post(f"{URL}/{rid}/resend-confirmation", headers=bearer(tokens.support))
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "sent" and isinstance(body["message_id"], int) and body["error"] is None
    assert _is_utc_iso(body["sent_at"])
    outbox = list((rt.settings.outbox_dir).glob("*.eml"))
    assert outbox, "the confirmation was written to the outbox"
    events = client.get(f"{URL}/{rid}", headers=bearer(tokens.support)).get_json()["events"]
    assert "confirmation_sent" in [e["kind"] for e in events]


def test_api_resend_confirmation_of_a_reversed_redemption_is_409(client, world, tokens):
    rid = _created_id(client, tokens.support, world)
    client.post(f"{URL}/{rid}/reverse", json={}, headers=bearer(tokens.support))
    response = client.post(f"{URL}/{rid}/resend-confirmation", headers=bearer(tokens.support))
    assert response.status_code == 409 and "reversed" in response.get_json()["error"]["message"]


def test_api_resend_confirmation_of_a_redemption_in_error_is_409_and_sends_nothing(client, rt, world, shop, tokens):
    shop.script.append(ProviderError("product_not_found", field="sku"))
    rid = _created_id(client, tokens.support, world)
    response = client.post(f"{URL}/{rid}/resend-confirmation", headers=bearer(tokens.support))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["message"].startswith("not sent: this redemption is in error (")
    assert error["details"]["fix"].startswith("Fix the error and retry")
    assert list(rt.settings.outbox_dir.glob("*.eml")) == []


# -- roles and brand scope -----------------------------------------------------------------------------------------


def test_api_viewer_can_read_but_not_act(client, rt, world, tokens):
    rid = _created_id(client, tokens.support, world)
    headers = bearer(tokens.viewer)
    assert client.get(f"{URL}/{rid}", headers=headers).status_code == 200
    for action in ("reverse", "retry", "resend-confirmation"):
        response = client.post(f"{URL}/{rid}/{action}", json={}, headers=headers)
        assert response.status_code == 403, action
        error = response.get_json()["error"]
        assert error["code"] == "forbidden" and "read-only" in error["message"]
    assert _create(client, tokens.viewer, world).status_code == 403
    with rt.sessions() as s:
        assert s.get(Redemption, rid).status == "fulfilled"
    assert _count(rt, Redemption) == 1 and _balance(rt, world.member.id) == 4500


def test_api_other_brand_sees_nothing_and_can_do_nothing(client, rt, world, tokens):
    rid = _created_id(client, tokens.support, world)
    headers = bearer(tokens.other_admin)
    missing = client.get(f"{URL}/987654", headers=headers).get_json()["error"]["message"]
    response = client.get(f"{URL}/{rid}", headers=headers)
    assert response.status_code == 404
    # Same answer as for an id that does not exist, so the id's existence does not leak.
    assert response.get_json()["error"]["message"] == missing.replace("987654", str(rid))
    for action in ("reverse", "retry", "resend-confirmation"):
        response = client.post(f"{URL}/{rid}/{action}", json={}, headers=headers)
        assert response.status_code == 404, action
        assert response.get_json()["error"]["message"] == f"redemption {rid} not found"
    page = client.get(URL, headers=headers).get_json()
    assert page == {"items": [], "next_cursor": None}
    assert client.get(URL, query_string={"q": "ada@example.com"}, headers=headers).get_json()["items"] == []
    with rt.sessions() as s:
        assert s.get(Redemption, rid).status == "fulfilled"
    assert _balance(rt, world.member.id) == 4500
    # ... while its own brand's admin sees it.
    assert [i["id"] for i in client.get(URL, headers=bearer(tokens.admin)).get_json()["items"]] == [rid]


def test_api_datetimes_are_utc_iso8601(client, rt, world, tokens):
    rt.now = lambda: datetime(2026, 7, 1, 12, 30, 15, 250000, tzinfo=UTC)
    rid = _created_id(client, tokens.support, world)
    body = client.get(f"{URL}/{rid}", headers=bearer(tokens.support)).get_json()
    assert body["claimed_at"] == "2026-07-01T12:30:15.250000Z"
