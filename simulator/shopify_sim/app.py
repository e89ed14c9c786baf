"""Flask app: the Admin GraphQL endpoint plus the JSON control API under ``/_sim/``.

Request pipeline of ``POST /admin/api/<version>/graphql.json`` (each step may answer):

1. access token check → HTTP 401 (Shopify's exact body): the static ``access_token`` setting
   or any valid token the OAuth side issued (:mod:`shopify_sim.oauth`);
2. configured latency;
3. parse / validate / coerce variables → HTTP 200 ``errors`` (nothing runs, nothing spent);
4. fault injection (see :mod:`shopify_sim.faults`);
5. leaky bucket: cost above what is available → ``THROTTLED`` (nothing runs);
6. execution under the store lock; ``ACCESS_DENIED`` for root fields needing a missing
   scope; webhooks queued for after the response is built;
7. after-effect faults (the work is done, the answer is lost or late).

The control API has no authentication: the simulator only listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from shopify_sim.config import SimConfig
from shopify_sim.cost import Buckets, ThrottleStatus
from shopify_sim.faults import Fault, FaultInjector
from shopify_sim.graphql_api import Prepared, format_execution_errors, prepare, run
from shopify_sim.mutations import (
    ControlError,
    apply_customer_input,
    camelize,
    create_product,
    fulfil_order,
    update_fulfillment,
    update_variants,
)
from shopify_sim.oauth import OAuthState
from shopify_sim.oauth_routes import oauth_bp, oauth_control_bp
from shopify_sim.resolvers import RequestContext, executable_schema
from shopify_sim.store import Store, next_id
from shopify_sim.subscriptions import routes
from shopify_sim.webhooks import (
    Delivery,
    WebhookDispatcher,
    customer_payload,
    customers_data_request_payload,
    customers_redact_payload,
    fulfillment_payload,
    make_event,
    order_payload,
    product_payload,
    shop_redact_payload,
)

EXTENSION_KEY = "shopify_sim"
VERSION_PATTERN = re.compile(r"^(\d{4}-\d{2}|unstable)$")
UNAUTHORIZED_BODY = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
REQUEST_LOG_SIZE = 1000


class Stats:
    """Counters behind ``GET /_sim/stats``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.counts: Counter[str] = Counter()
            self.statuses: Counter[int] = Counter()
            self.lowest_available: float | None = None

    def count(self, key: str, amount: int = 1) -> None:
        """Increment one named counter."""
        with self._lock:
            self.counts[key] += amount

    def status(self, code: int) -> None:
        """Record an HTTP status answered on the GraphQL endpoint."""
        with self._lock:
            self.statuses[code] += 1

    def spent(self, status: ThrottleStatus) -> None:
        """Record the bucket level left after a request spent its cost."""
        with self._lock:
            level = status.currently_available
            if self.lowest_available is None or level < self.lowest_available:
                self.lowest_available = level

    def snapshot(self) -> dict[str, Any]:
        """JSON view."""
        with self._lock:
            lowest = self.lowest_available
            return {
                "requests": self.counts["requests"],
                "executed": self.counts["executed"],
                "mutations_executed": self.counts["mutations_executed"],
                "throttled": self.counts["throttled"],
                "unauthorized": self.counts["unauthorized"],
                "invalid": self.counts["invalid"],
                "faults_fired": self.counts["faults_fired"],
                "http_statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "min_currently_available": lowest,
                # Throttled requests never run, so the bucket can never be overdrawn: stays 0.
                "max_bucket_overdraft": max(0.0, -lowest) if lowest is not None else 0.0,
            }


class SimState:
    """Everything one simulator instance owns (kept in ``app.extensions``)."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.initial_config = config.as_dict()
        self.store = Store()
        self.buckets = Buckets(config.bucket_size, config.restore_rate)
        self.faults = FaultInjector()
        self.webhooks = WebhookDispatcher(config, router=lambda topic, payload: routes(self.store, topic, payload))
        self.stats = Stats()
        self.oauth = OAuthState()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self._log_lock = threading.Lock()

    def configure(self, changes: dict[str, Any]) -> None:
        """Apply settings; a bucket size/rate change starts every bucket over, full."""
        before = (self.config.bucket_size, self.config.restore_rate)
        self.config.update(changes)
        if (self.config.bucket_size, self.config.restore_rate) != before:
            self.buckets.configure(self.config.bucket_size, self.config.restore_rate)

    def reset(self, config: bool = False) -> None:
        """Empty shop, no faults, full buckets, zero stats; ``config=True`` also restores settings."""
        if config:
            self.config.update(self.initial_config)
        self.store.reset()
        self.faults.reset()
        self.buckets.configure(self.config.bucket_size, self.config.restore_rate)
        self.stats.reset()
        self.webhooks.reset()
        self.oauth.reset()
        with self._log_lock:
            self.request_log.clear()

    def log_request(self, entry: dict[str, Any]) -> None:
        """Remember one GraphQL request (``GET /_sim/requests``)."""
        with self._log_lock:
            self.request_log.append(entry)

    def logged_requests(self) -> list[dict[str, Any]]:
        """The remembered requests, oldest first."""
        with self._log_lock:
            return list(self.request_log)


def sim_state(app: Flask | None = None) -> SimState:
    """The :class:`SimState` of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION_KEY]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(data), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


# -- GraphQL endpoint ---------------------------------------------------------------------
graphql_bp = Blueprint("shopify_sim_graphql", __name__)


def _cost_extension(requested: int, actual: int | None, status: ThrottleStatus) -> dict[str, Any]:
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status.as_dict()}}


def _throttled_body(requested: int, status: ThrottleStatus) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": _cost_extension(requested, None, status),
    }


def _internal_error_body(request_id: str) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": f"Internal error. Looks like something went wrong on our end.\nRequest ID: {request_id} "
                "(include this in support requests).",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            }
        ]
    }


def _fault_response(
    state: SimState, fault: Fault, request_id: str, prepared: Prepared, bucket_status: Callable[[], ThrottleStatus]
) -> Response | None:
    """Answer for a fault that pre-empts execution (``None`` for kinds that execute first)."""
    kind = fault.kind
    if kind == "429":
        return _json(
            {
                "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
                "uninterrupted service."
            },
            429,
            {"Retry-After": fault.retry_after or state.config.retry_after},
        )
    if kind == "500":
        return _json(_internal_error_body(request_id), 500)
    if kind == "502":
        return Response(
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
            status=502,
            mimetype="text/html",
        )
    if kind == "503":
        return _json({"errors": "Service Unavailable"}, 503)
    if kind == "timeout":
        time.sleep(fault.seconds if fault.seconds is not None else state.config.timeout_seconds)
        return _json({"errors": "Gateway Timeout"}, 504)
    if kind == "throttled":
        state.stats.count("throttled")
        return _json(_throttled_body(prepared.cost, bucket_status()))
    return None


def _request_query() -> tuple[str | None, dict[str, Any] | None, str | None]:
    """(query, variables, operationName) from a JSON or ``application/graphql`` body."""
    if request.mimetype == "application/graphql":
        return request.get_data(as_text=True), None, None
    body = request.get_json(silent=True, force=True)  # lenient about Content-Type, like Shopify
    if not isinstance(body, dict):
        return None, None, None
    variables = body.get("variables")
    if isinstance(variables, str):  # some clients send the variables JSON-encoded
        try:
            variables = json.loads(variables) if variables else None
        except ValueError:
            variables = None
    query = body.get("query")
    return (
        query if isinstance(query, str) else None,
        variables if isinstance(variables, dict) else None,
        body.get("operationName") or None,
    )


@graphql_bp.post("/admin/api/<version>/graphql.json")
def graphql_endpoint(version: str) -> Response:
    """Shopify Admin GraphQL API."""
    state = sim_state()
    config = state.config
    request_id = str(uuid.uuid4())
    headers = {"X-Request-Id": request_id, "X-Shopify-API-Version": config.api_version}
    state.stats.count("requests")
    entry: dict[str, Any] = {"at": datetime.now(UTC).isoformat(), "request_id": request_id}

    def answer(body: Any, status: int = 200, outcome: str = "ok", response: Response | None = None) -> Response:
        entry.update(status=status, outcome=outcome)
        state.log_request(entry)
        state.stats.status(status)
        result = response if response is not None else _json(body, status)
        for key, value in headers.items():
            result.headers.setdefault(key, value)
        return result

    if not VERSION_PATTERN.match(version):
        return answer({"errors": "Not Found"}, 404, "bad_version")
    token = request.headers.get("X-Shopify-Access-Token")
    granted_scopes = state.oauth.authenticate(config, token)
    if granted_scopes is None:
        state.stats.count("unauthorized")
        return answer(UNAUTHORIZED_BODY, 401, "unauthorized")
    if config.latency_ms:
        time.sleep(config.latency_ms / 1000)
    query, variables, operation_name = _request_query()
    if not query:
        return answer({"errors": {"query": "Required parameter missing or invalid"}}, 400, "bad_request")

    schema = executable_schema()
    prepared = prepare(schema, query, variables, operation_name)
    if isinstance(prepared, list):
        state.stats.count("invalid")
        return answer({"errors": prepared}, 200, "invalid")
    entry.update(operation=prepared.operation_name, root_fields=list(prepared.root_fields), cost=prepared.cost)

    # One app on one shop: every token it holds draws on the same bucket, as on Shopify.
    bucket = state.buckets.get(config.access_token)
    if prepared.cost > config.max_query_cost:
        status = bucket.status()
        return answer(
            {
                "errors": [
                    {
                        "message": f"Query cost is {prepared.cost}, which exceeds the single query max cost limit "
                        f"({config.max_query_cost}).",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": prepared.cost,
                            "maxCost": config.max_query_cost,
                        },
                    }
                ],
                "extensions": _cost_extension(prepared.cost, None, status),
            },
            200,
            "max_cost_exceeded",
        )

    fault = state.faults.take(prepared.names, prepared.is_mutation)
    if fault is not None:
        state.stats.count("faults_fired")
        entry["fault"] = fault.kind
        pre_empted = _fault_response(state, fault, request_id, prepared, bucket.status)
        if pre_empted is not None:
            return answer(None, pre_empted.status_code, f"fault:{fault.kind}", pre_empted)

    spent, status = bucket.try_spend(prepared.cost)
    if not spent:
        state.stats.count("throttled")
        return answer(_throttled_body(prepared.cost, status), 200, "throttled")
    state.stats.spent(status)

    context = RequestContext(store=state.store, config=config, granted_scopes=granted_scopes)
    if fault is not None and fault.kind == "user_error":
        fields = prepared.root_fields  # a mutation operation: every root field is a mutation
        target = fault.operation if fault.operation in fields else fields[0]
        context.forced_user_errors[target] = fault.user_error or {"field": None, "message": "Simulated user error"}
    with state.store.lock:
        result = run(schema, prepared, context)
    state.stats.count("executed")
    if context.wrote:
        state.stats.count("mutations_executed")
    for topic, payload in context.events:
        state.webhooks.emit(topic, payload, sync=False)

    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = format_execution_errors(result.errors)
    body["data"] = result.data
    body["extensions"] = _cost_extension(prepared.cost, prepared.cost, status)

    if fault is not None and fault.kind == "after_effect_500":
        return answer(_internal_error_body(request_id), 500, "fault:after_effect_500")
    if fault is not None and fault.kind == "after_effect_timeout":
        time.sleep(fault.seconds if fault.seconds is not None else config.timeout_seconds)
        return answer(body, 200, "fault:after_effect_timeout")
    return answer(body)


# -- control API --------------------------------------------------------------------------
control_bp = Blueprint("shopify_sim_control", __name__, url_prefix="/_sim")


@control_bp.errorhandler(ControlError)
def _control_error(exc: ControlError) -> Response:
    return _json({"error": str(exc)}, exc.status)


@control_bp.errorhandler(ValueError)
def _value_error(exc: ValueError) -> Response:
    return _json({"error": str(exc)}, 400)


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ControlError("request body must be a JSON object")
    return data


def _deliveries(deliveries: list[Delivery | None]) -> list[dict[str, Any]]:
    return [d.as_dict() for d in deliveries if d is not None]


@control_bp.post("/reset")
def reset() -> Response:
    """Empty the shop; body ``{"config": true}`` also restores the start-up settings."""
    state = sim_state()
    state.reset(config=bool(_body().get("config")))
    return _json({"ok": True, "config": state.config.as_dict()})


@control_bp.get("/config")
def get_config() -> Response:
    """Current settings."""
    return _json(sim_state().config.as_dict())


@control_bp.post("/config")
def set_config() -> Response:
    """Change settings (see :class:`~shopify_sim.config.SimConfig`)."""
    state = sim_state()
    state.configure(_body())
    return _json(state.config.as_dict())


@control_bp.get("/faults")
def get_faults() -> Response:
    """Queued faults and rates still in force, plus how many fired per kind."""
    return _json(sim_state().faults.snapshot())


@control_bp.post("/faults")
def set_faults() -> Response:
    """Queue faults and/or set rates (see :meth:`FaultInjector.configure`)."""
    state = sim_state()
    state.faults.configure(_body())
    return _json(state.faults.snapshot())


@control_bp.delete("/faults")
def clear_faults() -> Response:
    """Remove every queued fault and rate."""
    state = sim_state()
    state.faults.clear()
    return _json(state.faults.snapshot())


@control_bp.get("/bucket")
def get_bucket() -> Response:
    """Throttle status of a token's bucket (``?token=``, default: the configured token)."""
    state = sim_state()
    token = request.args.get("token") or state.config.access_token
    return _json(state.buckets.get(token).status().as_dict())


@control_bp.post("/bucket")
def drain_bucket() -> Response:
    """``{"drain": points | null, "token": ...}``: remove points (null = empty the bucket)."""
    state = sim_state()
    data = _body()
    bucket = state.buckets.get(data.get("token") or state.config.access_token)
    amount = data.get("drain")
    bucket.drain(None if amount is None else float(amount))
    return _json(bucket.status().as_dict())


@control_bp.get("/products")
def list_products() -> Response:
    """Every product, REST-shaped."""
    state = sim_state()
    with state.store.lock:
        products = [product_payload(state.store, p) for p in state.store.products.values()]
    return _json({"products": products, "count": len(products)})


@control_bp.post("/products")
def add_product() -> Response:
    """Create a product (sends ``products/create`` when subscribed)."""
    state = sim_state()
    with state.store.lock:
        product = create_product(state.store, _body())
        payload = product_payload(state.store, product)
    delivery = state.webhooks.emit("products/create", payload, sync=True)
    return _json({"product": payload, "webhooks": _deliveries([delivery])}, 201)


@control_bp.patch("/variants/<path:sku>")
def patch_variants(sku: str) -> Response:
    """Change variants with this SKU (sends ``products/update`` per product)."""
    state = sim_state()
    with state.store.lock:
        products = update_variants(state.store, sku, _body())
        payloads = [product_payload(state.store, p) for p in products]
    deliveries = [state.webhooks.emit("products/update", p, sync=True) for p in payloads]
    return _json({"products": payloads, "webhooks": _deliveries(deliveries)})


@control_bp.get("/customers")
def list_customers() -> Response:
    """Every customer, REST-shaped (``?email=`` filters, case-insensitive)."""
    state = sim_state()
    email = (request.args.get("email") or "").lower()
    with state.store.lock:
        customers = [
            customer_payload(c) for c in state.store.customers.values() if not email or (c.email or "").lower() == email
        ]
    return _json({"customers": customers, "count": len(customers)})


def _customer_errors(errors: list[Any]) -> ControlError:
    return ControlError("; ".join(f"{e.field}: {e.message}" for e in errors), status=422)


@control_bp.post("/customers")
def add_customer() -> Response:
    """Create a customer from ``CustomerInput`` fields (snake or camel case); sends ``customers/create``."""
    state = sim_state()
    with state.store.lock:
        customer, errors = apply_customer_input(state.store, camelize(_body()), None)
        if customer is None:
            raise _customer_errors(errors)
        payload = customer_payload(customer)
    delivery = state.webhooks.emit("customers/create", payload, sync=True)
    return _json({"customer": payload, "webhooks": _deliveries([delivery])}, 201)


@control_bp.patch("/customers/<int:customer_id>")
def patch_customer(customer_id: int) -> Response:
    """Update a customer; sends ``customers/update``."""
    state = sim_state()
    with state.store.lock:
        existing = state.store.customers.get(customer_id)
        if existing is None:
            raise ControlError(f"no customer {customer_id}", 404)
        customer, errors = apply_customer_input(state.store, camelize(_body()), existing)
        if customer is None:
            raise _customer_errors(errors)
        payload = customer_payload(customer)
    delivery = state.webhooks.emit("customers/update", payload, sync=True)
    return _json({"customer": payload, "webhooks": _deliveries([delivery])})


@control_bp.get("/orders")
def list_orders() -> Response:
    """Every order incl. cancelled, REST-shaped; filters ``source_identifier``, ``tag``, ``name``, ``email``."""
    state = sim_state()
    args = request.args
    with state.store.lock:
        orders = []
        for order in sorted(state.store.orders.values(), key=lambda o: o.id):
            if "source_identifier" in args and order.source_identifier != args["source_identifier"]:
                continue
            if "tag" in args and args["tag"].lower() not in {t.lower() for t in order.tags}:
                continue
            if "name" in args and order.name.lstrip("#") != args["name"].lstrip("#"):
                continue
            if "email" in args and (order.email or "").lower() != args["email"].lower():
                continue
            orders.append(order_payload(state.store, order))
    return _json({"orders": orders, "count": len(orders)})


@control_bp.get("/orders/<int:order_id>")
def get_order(order_id: int) -> Response:
    """One order, REST-shaped."""
    state = sim_state()
    with state.store.lock:
        order = state.store.orders.get(order_id)
        if order is None:
            raise ControlError(f"no order {order_id}", 404)
        return _json({"order": order_payload(state.store, order)})


@control_bp.post("/orders/<int:order_id>/fulfil")
@control_bp.post("/orders/<int:order_id>/fulfill")
def fulfil(order_id: int) -> Response:
    """Fulfil an order; sends ``fulfillments/create`` then ``orders/fulfilled`` (synchronously).

    Body (all optional): ``shipment_status``, ``status``, ``tracking_number``,
    ``tracking_url``, ``tracking_company``.
    """
    state = sim_state()
    with state.store.lock:
        order = state.store.orders.get(order_id)
        if order is None:
            raise ControlError(f"no order {order_id}", 404)
        fulfillment = fulfil_order(state.store, order, _body())
        f_payload = fulfillment_payload(state.store, fulfillment)
        o_payload = order_payload(state.store, order)
    deliveries = [
        state.webhooks.emit("fulfillments/create", f_payload, sync=True),
        state.webhooks.emit("orders/fulfilled", o_payload, sync=True),
    ]
    return _json({"fulfillment": f_payload, "order": o_payload, "webhooks": _deliveries(deliveries)}, 201)


@control_bp.post("/fulfillments/<int:fulfillment_id>/update")
def fulfillment_update(fulfillment_id: int) -> Response:
    """Change a fulfillment (``shipment_status`` etc.); sends ``fulfillments/update``."""
    state = sim_state()
    with state.store.lock:
        fulfillment = state.store.fulfillments.get(fulfillment_id)
        if fulfillment is None:
            raise ControlError(f"no fulfillment {fulfillment_id}", 404)
        update_fulfillment(state.store, fulfillment, _body())
        payload = fulfillment_payload(state.store, fulfillment)
    delivery = state.webhooks.emit("fulfillments/update", payload, sync=True)
    return _json({"fulfillment": payload, "webhooks": _deliveries([delivery])})


def _payload_for(state: SimState, topic: str, data: dict[str, Any]) -> Any:
    """Build a topic's payload from current state when the request names a record."""
    store = state.store
    with store.lock:
        if data.get("order_id") is not None:
            order = store.orders.get(int(data["order_id"]))
            if order is None:
                raise ControlError(f"no order {data['order_id']}", 404)
            return order_payload(store, order)
        if data.get("fulfillment_id") is not None:
            fulfillment = store.fulfillments.get(int(data["fulfillment_id"]))
            if fulfillment is None:
                raise ControlError(f"no fulfillment {data['fulfillment_id']}", 404)
            return fulfillment_payload(store, fulfillment)
        if data.get("product_id") is not None:
            product = store.products.get(int(data["product_id"]))
            if product is None:
                raise ControlError(f"no product {data['product_id']}", 404)
            return product_payload(store, product)
        if topic == "shop/redact":
            return shop_redact_payload(state.config)
        if data.get("customer_id") is not None:
            customer = store.customers.get(int(data["customer_id"]))
            if customer is None:
                raise ControlError(f"no customer {data['customer_id']}", 404)
            brief = {"id": customer.id, "email": customer.email, "phone": customer.phone}
            order_ids = [o.id for o in store.orders.values() if o.customer_id == customer.id]
            if topic == "customers/redact":
                return customers_redact_payload(state.config, brief, order_ids)
            if topic == "customers/data_request":
                return customers_data_request_payload(state.config, brief, order_ids, next_id())
            return customer_payload(customer)
    raise ControlError(
        "give 'payload', 'raw_body', or a record id (order_id, customer_id, fulfillment_id, "
        "product_id) to build the payload from"
    )


@control_bp.post("/webhooks/send")
def send() -> Response:
    """Deliver one event, ``repeat`` times (same Event-Id, new Webhook-Id each time).

    Body: ``topic`` (required), then ``payload`` (JSON), ``raw_body`` (string sent and
    signed as-is) or a record id to build the payload from state; optional ``repeat``,
    ``headers`` (override/add headers after signing; ``null`` removes one) and ``url``.
    """
    state = sim_state()
    data = _body()
    topic = data.get("topic")
    if not topic:
        raise ControlError("'topic' is required")
    url = data.get("url") or state.config.webhook_target_url
    if not url:
        raise ControlError("no webhook_target_url configured and no 'url' given")
    if "raw_body" in data:
        event = make_event(topic, body=str(data["raw_body"]).encode("utf-8"), url=url)
    else:
        payload = data["payload"] if "payload" in data else _payload_for(state, topic, data)
        event = make_event(topic, payload, url=url)
    state.webhooks.remember(event)
    repeat = max(1, int(data.get("repeat", 1)))
    deliveries = [state.webhooks.deliver(event, headers=data.get("headers")) for _ in range(repeat)]
    return _json(
        {
            "event_id": event.event_id,
            "topic": topic,
            "statuses": [d.status for d in deliveries],
            "deliveries": _deliveries(list(deliveries)),
        }
    )


@control_bp.post("/webhooks/redeliver")
def redeliver() -> Response:
    """Re-send a remembered event: ``{"event_id": ..., "repeat": 1, "headers": {...}}``."""
    state = sim_state()
    data = _body()
    event = state.webhooks.event(str(data.get("event_id")))
    if event is None:
        raise ControlError(f"unknown event {data.get('event_id')!r}", 404)
    repeat = max(1, int(data.get("repeat", 1)))
    deliveries = [
        state.webhooks.deliver(event, headers=data.get("headers"), url=data.get("url")) for _ in range(repeat)
    ]
    return _json(
        {
            "event_id": event.event_id,
            "statuses": [d.status for d in deliveries],
            "deliveries": _deliveries(list(deliveries)),
        }
    )


@control_bp.get("/webhooks")
def webhook_log() -> Response:
    """Every delivery attempted so far (automatic and explicit), oldest first."""
    deliveries = sim_state().webhooks.log()
    return _json({"deliveries": deliveries, "count": len(deliveries)})


@control_bp.post("/webhooks/flush")
def webhook_flush() -> Response:
    """Wait (``timeout`` seconds, default 10) until background deliveries are done."""
    done = sim_state().webhooks.flush(float(_body().get("timeout", 10)))
    return _json({"flushed": done}, 200 if done else 504)


@control_bp.get("/stats")
def stats() -> Response:
    """Request counters, throttling, faults fired, lowest bucket level."""
    state = sim_state()
    data = state.stats.snapshot()
    data["faults_by_kind"] = dict(state.faults.fired)
    data["webhook_deliveries"] = len(state.webhooks.log())
    counts = state.webhooks.counts()
    data["webhook_filtered"] = counts["filtered"]  # deliveries a subscription's filter suppressed
    data["webhook_undeliverable"] = counts["undeliverable"]
    data["webhook_bytes"] = counts["bytes"]
    data.update(state.oauth.stats())
    with state.store.lock:
        data["orders"] = len(state.store.orders)
        data["customers"] = len(state.store.customers)
    return _json(data)


@control_bp.get("/requests")
def request_log() -> Response:
    """The last GraphQL requests: operation, root fields, cost, status, outcome."""
    entries = sim_state().logged_requests()
    return _json({"requests": entries, "count": len(entries)})


def create_sim_app(**config: Any) -> Flask:
    """Build the simulator's Flask app; ``config`` keys are :class:`SimConfig` fields.

    ``None`` values keep the default (so a CLI can pass every option through unchanged).
    The state lives in ``app.extensions["shopify_sim"]`` (see :func:`sim_state`).
    """
    settings = SimConfig()
    settings.update({key: value for key, value in config.items() if value is not None})
    app = Flask("shopify_sim")
    app.extensions[EXTENSION_KEY] = SimState(settings)
    app.register_blueprint(graphql_bp)
    app.register_blueprint(control_bp)
    app.register_blueprint(oauth_bp)
    app.register_blueprint(oauth_control_bp)
    executable_schema()  # build now, not on the first request
    return app
