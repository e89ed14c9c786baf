"""Fuzz ``POST /webhooks/<provider>`` end to end: never a 5xx, always a clear error, nothing stored when refused.

Each example posts one delivery through the Flask test client to the real app on PostgreSQL (the
real Shopify plugin verifies it; ``FakeShopPlugin`` is the shop). Hypothesis picks the body
(a Shopify-shaped payload whose fields have fuzzed JSON values of any type, arbitrary JSON, raw
bytes, invalid UTF-8, empty, or bigger than ``CONNECTOR_WEBHOOK_MAX_BYTES``), the signature (valid,
missing, empty, over another body, with another secret, not base64, non-ASCII, truncated), the shop
domain (the shop, in upper case, unknown, malformed, missing), the topic (every topic the plugin
handles, unknown but well-formed ones, malformed ones, fuzzed text, missing), fuzzed optional
headers, and the provider in the URL.

The oracle is the documented behaviour (docs/architecture.md "Webhooks", the route's OpenAPI text):

* the status is exactly what the delivery deserves: 413 over the size limit, 404 for an unknown
  provider, 401 (``webhook_rejected``) for anything that fails verification (signature, shop, topic),
  400 (``webhook_payload_invalid``) for a validly signed body that is not a JSON object or does not
  have the shape of the handled topic it was sent under (``payload_shapes``), 200 for a validly
  signed JSON object otherwise, including an unknown but well-formed topic (stored, then applied
  with no effect);
* never a 5xx; every refusal is JSON ``{"error": {"code", "message"}}`` with a non-empty message;
* a refused delivery stores no ``webhook_deliveries`` row and enqueues nothing;
* an accepted one stores exactly one row and wakes the drain job (``process_received_webhooks``) once, and that
  job then applies it without raising, whatever the payload's types.

Found by this fuzz, and fixed: a delivery that passes verification but carries a value
``webhook_deliveries`` cannot hold (a NUL, a lone surrogate, an id or topic over the column's
length, a timestamp out of range in UTC) answered 500. It is now refused with 401 and the reason;
``unstorable`` recognises those cases so the fuzz expects exactly that, and
``test_webhook_unstorable_signed_delivery_is_refused_not_a_500`` pins each one.

A second fuzz sends only genuine deliveries (valid signature, the shop, a body of the handled topic's
shape with fuzzed values where the shape check does not look), so the drain's apply path sees fuzzed
values too; it found an ``orders/cancelled`` time that overflows in UTC failing the drain forever.

Bounds: 150 examples each, ``derandomize=True`` (the same examples every run), ``deadline=None``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from connector.app import create_app
from connector.core.runtime import Runtime
from connector.core.tables import Shop, WebhookDelivery
from connector.core.webhook_intake import DRAIN_JOB
from connector.jobs import run_job
from connector.plugins.shopify.payload_shapes import shape_problem
from tests.conftest import seed_world
from tests.fakes import FakeShopPlugin
from tests.reliability.fuzzing import fuzz_settings
from tests.web.support import SHOP_DOMAIN, SHOP_SECRET, shopify_signature

LIMIT = 4096
EXAMPLES = 150
TOPICS = [
    "orders/fulfilled", "orders/cancelled", "orders/updated", "fulfillments/create", "fulfillments/update",
    "products/update", "customers/update", "customers/create", "customers/redact", "customers/data_request",
    "shop/redact", "app/uninstalled",
]  # fmt: skip
UNKNOWN_TOPICS = ["foo/bar", "orders/exploded", "a/b/c", "ORDERS/FULFILLED"]  # well-formed: accepted, no effect
BAD_TOPICS = ["", "orders", "/orders", "orders/", "orders fulfilled", "ördërs/fulfilled", "orders//paid"]
LONG_TOPIC = "orders/" + "x" * 120  # well-formed, longer than the topic column

# Header text as a WSGI server hands it over: latin-1, no control characters.
header_text = st.text(st.characters(max_codepoint=255, blacklist_categories=("Cc",)), max_size=60)
long_ascii = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=101, max_size=255)
#: Valid ISO timestamps that do not fit a UTC datetime once their offset is applied.
OUT_OF_RANGE = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59"]
json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.sampled_from(["1", "gid://shopify/Order/1", "gid://shopify/Customer/1", "in_transit", "delivered",
                     "2026-07-01T12:00:00Z", "not a date", "\x00", "\ud800", "ada@example.com",
                     "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59", "9" * 150]),
)  # fmt: skip
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
#: The keys Shopify's payloads (and the plugin's handlers) look at, each with any JSON value.
SHOPIFY_KEYS = [
    "id", "order_id", "admin_graphql_api_id", "status", "shipment_status", "updated_at", "tracking_number",
    "tracking_numbers", "tracking_url", "fulfillments", "cancelled_at", "customer", "email", "phone",
    "variants", "sku", "shop_id", "orders_requested", "data_request", "line_items",
]  # fmt: skip
shopify_like = st.dictionaries(st.sampled_from(SHOPIFY_KEYS), json_value, max_size=8)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True, allow_nan=False).encode()


bodies = st.one_of(
    shopify_like.map(_dumps),
    shopify_like.map(_dumps),
    shopify_like.map(_dumps),
    json_value.map(_dumps),  # any JSON: arrays, scalars, objects
    st.binary(max_size=200),
    st.sampled_from([b"", b"{", b"null", b"[]", b'{"id": 1}\xff', b"\xef\xbb\xbf{}", b'{"a": NaN}']),
    st.integers(LIMIT + 1, LIMIT * 3).map(lambda n: b'{"note": "' + b"x" * n + b'"}'),
)

#: Values the shape checks never look at, fuzzed: what a genuine delivery of a handled topic may carry.
UNCHECKED_KEYS = [
    "status", "shipment_status", "updated_at", "tracking_number", "tracking_numbers", "tracking_url",
    "tracking_urls", "email", "phone", "sku", "note", "tags",
]  # fmt: skip
_ids = st.one_of(st.just(1), st.integers(1, 2**40), st.integers(1, 2**40).map(str))
_fulfilment_like = st.dictionaries(st.sampled_from(UNCHECKED_KEYS), json_value, max_size=4)
_customer = st.fixed_dictionaries(
    {"id": _ids}, optional={"email": st.sampled_from(["ada@example.com", "x@example.com"]), "phone": json_scalar}
)
_privacy = {"shop_domain": st.just(SHOP_DOMAIN), "shop_id": _ids}
#: For each handled topic, a payload that has its shape (``payload_shapes``), so that most fuzzed
#: deliveries of handled topics get past the shape check and exercise the drain's apply path.
SHAPED: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "fulfillments/create": st.fixed_dictionaries({"order_id": _ids}),
    "fulfillments/update": st.fixed_dictionaries({"order_id": _ids}),
    "orders/fulfilled": st.fixed_dictionaries({"id": _ids, "fulfillments": st.lists(_fulfilment_like, max_size=3)}),
    "orders/cancelled": st.fixed_dictionaries(
        {"id": _ids, "cancelled_at": st.sampled_from(["2026-07-01T12:00:00Z", "yesterday", *OUT_OF_RANGE])}
    ),
    "products/update": st.fixed_dictionaries(
        {"id": _ids, "variants": st.lists(st.dictionaries(st.sampled_from(["id", "sku"]), json_value), max_size=3)}
    ),
    "customers/update": st.fixed_dictionaries({"id": _ids}),
    "customers/redact": st.fixed_dictionaries(
        {**_privacy, "customer": _customer, "orders_to_redact": st.lists(_ids, max_size=3)}
    ),
    "customers/data_request": st.fixed_dictionaries(
        {**_privacy, "customer": _customer, "data_request": st.fixed_dictionaries({"id": _ids})}
    ),
    "shop/redact": st.fixed_dictionaries(_privacy),
}


def shaped_body(topic: str) -> st.SearchStrategy[bytes]:
    """A body of ``topic``'s shape with fuzzed values where the shape check does not look."""
    extras = st.dictionaries(st.sampled_from(UNCHECKED_KEYS), json_value, max_size=4)
    return st.tuples(extras, SHAPED[topic]).map(lambda pair: _dumps({**pair[0], **pair[1]}))


SIGNATURES = ["valid", "missing", "empty", "other_body", "other_secret", "not_base64", "non_ascii", "truncated"]
DOMAINS = ["shop", "shop_upper", "unknown", "malformed", "missing"]


@st.composite
def deliveries(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(bodies)
    kind = draw(st.sampled_from(["known", "known", "known", "unknown", "bad", "fuzz", "missing"]))
    topic = {
        "known": lambda: draw(st.sampled_from(TOPICS)),
        "unknown": lambda: draw(st.sampled_from([*UNKNOWN_TOPICS, LONG_TOPIC])),
        "bad": lambda: draw(st.sampled_from(BAD_TOPICS)),
        "fuzz": lambda: draw(header_text),
        "missing": lambda: None,
    }[kind]()
    if kind == "known" and topic in SHAPED and draw(st.booleans()):
        body = draw(shaped_body(topic))
    return {
        "body": body,
        "topic_kind": kind,
        "topic": topic,
        "signature": draw(st.sampled_from(["valid"] * 4 + SIGNATURES)),  # valid ones reach the store
        "domain": draw(st.sampled_from(["shop"] * 3 + DOMAINS)),
        "provider": draw(st.sampled_from(["shopify"] * 6 + ["Shopify", "nosuch"])),
        "webhook_id": draw(st.one_of(st.none(), header_text, long_ascii)),
        "event_id": draw(st.one_of(st.none(), header_text, long_ascii)),
        "triggered_at": draw(
            st.one_of(st.none(), header_text, st.sampled_from(["2026-07-01T16:00:00.000Z", *OUT_OF_RANGE]))
        ),
        "content_type": draw(st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"])),
    }


def _headers(d: dict[str, Any]) -> dict[str, str]:
    body = d["body"]
    sig = {
        "valid": shopify_signature(body),
        "missing": None,
        "empty": "",
        "other_body": shopify_signature(body + b" "),
        "other_secret": shopify_signature(body, secret="not-the-shop-secret"),
        "not_base64": "not base64 at all!",
        "non_ascii": "\u00e9" + shopify_signature(body)[1:],
        "truncated": shopify_signature(body)[:-4],
    }[d["signature"]]
    domain = {
        "shop": SHOP_DOMAIN,
        "shop_upper": SHOP_DOMAIN.upper(),
        "unknown": "someone-else.myshopify.com",
        "malformed": "acme pets!.myshopify.com",
        "missing": None,
    }[d["domain"]]
    headers = {
        "Content-Type": d["content_type"],
        "X-Shopify-Hmac-Sha256": sig,
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-Topic": d["topic"],
        "X-Shopify-Webhook-Id": d["webhook_id"],
        "X-Shopify-Event-Id": d["event_id"],
        "X-Shopify-Triggered-At": d["triggered_at"],
    }
    return {k: v for k, v in headers.items() if v is not None}


def _is_json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body.decode("utf-8")), dict)
    except ValueError:  # UnicodeDecodeError is a ValueError
        return False


def unstorable(d: dict[str, Any]) -> str | None:
    """Why a delivery that passes the signature check still cannot be stored (refused with 401), else None.

    The plugin lets through values the ``webhook_deliveries`` columns cannot hold: NUL characters and
    lone surrogates in the resource id or customer reference (from the signed payload), ids, topics
    and webhook/event ids longer than their ``String(100)`` columns (topic and ids come from headers,
    which Shopify does not sign), and timestamps that overflow once converted to UTC (``updated_at``,
    and the unsigned ``X-Shopify-Triggered-At``). The insert then raises and the route answers 500.
    """
    from connector.core.errors import WebhookPayloadError, WebhookRejectedError
    from connector.core.hooktypes import InboundWebhook
    from connector.plugins.shopify.webhooks import verify_delivery

    headers = {k.lower(): v for k, v in _headers(d).items()}
    try:
        v = verify_delivery(InboundWebhook("shopify", headers, d["body"]), lambda _domain: [SHOP_SECRET])
    except (WebhookRejectedError, WebhookPayloadError):
        return None
    columns = WebhookDelivery.__table__.c
    for name in ("topic", "webhook_id", "event_id", "resource_id", "customer_ref"):
        value = getattr(v, name)
        if value is None:
            continue
        if "\x00" in value:
            return f"NUL in {name}"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"lone surrogate in {name}"
        if len(value) > columns[name].type.length:
            return f"{name} longer than {columns[name].type.length}"
    for name in ("triggered_at", "resource_updated_at"):
        value = getattr(v, name)
        try:
            value is not None and value.astimezone(UTC)
        except OverflowError:
            return f"{name} out of range in UTC"
    return None


def expected_status(d: dict[str, Any]) -> set[int]:
    if len(d["body"]) > LIMIT:
        return {413}
    if d["provider"] != "shopify":
        return {404}
    verified = d["signature"] == "valid" and d["domain"] in ("shop", "shop_upper")
    if not verified or d["topic_kind"] in ("bad", "missing"):
        return {401}
    if d["topic_kind"] == "fuzz":
        return {200, 400, 401}  # fuzzed text may or may not be a well-formed (even a handled) topic
    if not _is_json_object(d["body"]):
        return {400}
    if shape_problem(d["topic"].strip().lower(), json.loads(d["body"]), SHOP_DOMAIN):
        return {400}  # a handled topic's payload (topics are read in lower case) must have that topic's shape
    return {200}


class RecordingDispatcher:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, int]] = []

    def enqueue(self, job: str, arg: int, *, key: str, at: datetime | None = None) -> bool:
        self.jobs.append((job, arg))
        return True

    def wake(self, job: str, *, key: str) -> bool:
        return self.enqueue(job, 0, key=key)

    def woken(self, key: str) -> None:
        pass


def _deliveries(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)


@pytest.fixture
def webhook_env(make_runtime):
    from connector.core.access import Actor
    from connector.core.model import Role
    from connector.core.redemptions import create_redemption
    from connector.dispatch import SyncDispatcher

    shop = FakeShopPlugin()
    rt = make_runtime(plugins=[shop], webhook_max_bytes=LIMIT)
    world = seed_world(rt, points=5000)
    # One fulfilled redemption (order gid://shopify/Order/1) so fulfilment and order topics find something.
    create_redemption(rt, Actor("support@acme", Role.SUPPORT), member_id=world.member.id, reward_id=world.reward.id)
    recorder = RecordingDispatcher()
    rt.dispatcher = recorder
    client = create_app(settings=rt.settings, runtime=rt).test_client()
    yield rt, client, recorder
    rt.dispatcher = SyncDispatcher(rt)


def _reconnect_shop(rt: Runtime) -> None:
    """shop/redact (and app/uninstalled) may switch the shop off: switch it back on for the next example."""
    with rt.sessions() as s, s.begin():
        s.execute(update(Shop).where(Shop.domain == SHOP_DOMAIN).values(active=True, webhook_secret=SHOP_SECRET))
    rt.secret_cache.forget(SHOP_DOMAIN)


stats = {"examples": 0, "by_status": {}}


@fuzz_settings(EXAMPLES)
@given(d=deliveries())
def test_webhook_fuzz_never_5xx_and_refusals_store_nothing(webhook_env, d):
    rt, client, recorder = webhook_env
    stats["examples"] += 1
    rows, jobs = _deliveries(rt), len(recorder.jobs)
    response = client.post(f"/webhooks/{d['provider']}", data=d["body"], headers=_headers(d))
    status = response.status_code
    stats["by_status"][status] = stats["by_status"].get(status, 0) + 1
    assert status < 500, response.get_data(as_text=True)
    expected = expected_status(d)
    if expected == {200} and unstorable(d):
        stats["unstorable_refused"] = stats.get("unstorable_refused", 0) + 1
        expected = {401}
    assert status in expected, (status, expected, response.get_json())
    answer = response.get_json()
    assert isinstance(answer, dict), response.get_data(as_text=True)
    if status != 200:
        error = answer["error"]
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"].strip()
        if status == 401:
            assert error["code"] == "webhook_rejected"
        assert _deliveries(rt) == rows, "a refused delivery was stored"
        assert len(recorder.jobs) == jobs, "a refused delivery was enqueued"
        return
    if answer["status"] == "duplicate":
        assert _deliveries(rt) == rows and len(recorder.jobs) == jobs
        return
    assert answer["status"] == "accepted"
    assert _deliveries(rt) == rows + 1
    assert recorder.jobs[jobs:] == [(DRAIN_JOB, 0)]
    # Applying it must not crash on any payload shape.
    assert run_job(DRAIN_JOB, 0, rt) == "applied 1"
    _reconnect_shop(rt)


@st.composite
def signed_shaped_deliveries(draw: st.DrawFn) -> dict[str, Any]:
    """A genuine delivery of a handled topic: valid signature, the shop, a body of the topic's shape."""
    topic = draw(st.sampled_from(sorted(SHAPED)))
    return {
        "body": draw(shaped_body(topic)),
        "topic_kind": "known",
        "topic": topic,
        "signature": "valid",
        "domain": "shop",
        "provider": "shopify",
        "webhook_id": draw(st.one_of(st.none(), st.uuids().map(str))),
        "event_id": None,
        "triggered_at": draw(st.one_of(st.none(), st.sampled_from(["2026-07-01T16:00:00.000Z", "not a date"]))),
        "content_type": "application/json",
    }


applied = {"examples": 0, "by_topic": {}}


@fuzz_settings(EXAMPLES)
@given(d=signed_shaped_deliveries())
def test_webhook_fuzz_genuine_deliveries_of_every_handled_topic_are_accepted_and_applied(webhook_env, d):
    """The fuzz above mostly exercises refusals; this one feeds the apply path (the drain) fuzzed values
    inside genuine shapes, so a handler that trips over a value type is found here."""
    rt, client, recorder = webhook_env
    applied["examples"] += 1
    rows, jobs = _deliveries(rt), len(recorder.jobs)
    response = client.post("/webhooks/shopify", data=d["body"], headers=_headers(d))
    expected = {401} if unstorable(d) else {200}
    assert response.status_code in expected, (response.status_code, response.get_json())
    if response.status_code != 200 or response.get_json()["status"] == "duplicate":
        assert _deliveries(rt) == rows and len(recorder.jobs) == jobs
        return
    applied["by_topic"][d["topic"]] = applied["by_topic"].get(d["topic"], 0) + 1
    assert _deliveries(rt) == rows + 1
    assert run_job(DRAIN_JOB, 0, rt) == "applied 1"
    _reconnect_shop(rt)


def _signed(payload: dict[str, Any], topic: str = "orders/updated", **extra: str) -> tuple[bytes, dict[str, str]]:
    body = _dumps(payload)
    headers = {
        "X-Shopify-Hmac-Sha256": shopify_signature(body),
        "X-Shopify-Shop-Domain": SHOP_DOMAIN,
        "X-Shopify-Topic": topic,
        **extra,
    }
    return body, headers


UNSTORABLE = {
    "nul_in_payload_id": _signed({"id": "12\x0034"}),
    "surrogate_in_payload_id": _signed({"id": "\ud800"}),
    "surrogate_in_customer_gid": _signed(
        {"id": 2, "customer": {"admin_graphql_api_id": "gid://shopify/Customer/\udc00"}}
    ),
    "payload_id_over_100_chars": _signed({"id": "9" * 150}),
    "updated_at_out_of_range": _signed({"id": 3, "updated_at": "0001-01-01T00:00:00+14:00"}),
    "triggered_at_header_out_of_range": _signed({"id": 4}, **{"X-Shopify-Triggered-At": "9999-12-31T23:59:59-23:59"}),
    "webhook_id_header_over_100_chars": _signed({"id": 5}, **{"X-Shopify-Webhook-Id": "w" * 200}),
    "event_id_header_over_100_chars": _signed({"id": 6}, **{"X-Shopify-Event-Id": "e" * 200}),
    "topic_header_over_100_chars": _signed({"id": 7}, topic=LONG_TOPIC),
}


@pytest.mark.parametrize("case", sorted(UNSTORABLE))
def test_webhook_unstorable_signed_delivery_is_refused_not_a_500(webhook_env, case):
    rt, client, recorder = webhook_env
    body, headers = UNSTORABLE[case]
    response = client.post("/webhooks/shopify", data=body, headers=headers)
    assert _deliveries(rt) == 0 and recorder.jobs == []
    assert response.status_code == 401, (case, response.get_json())
    error = response.get_json()["error"]
    assert error["code"] == "webhook_rejected" and error["message"].startswith("the delivery's "), error


def test_webhook_fuzz_report():
    """Prints what the fuzz above saw (for docs/reliability.md); runs after it in file order."""
    print(f"webhook fuzz: {stats}")
    print(f"genuine deliveries applied: {applied}")
