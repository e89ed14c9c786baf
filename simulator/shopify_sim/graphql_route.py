"""The Admin GraphQL endpoint, ``POST /admin/api/<version>/graphql.json``.

Request pipeline (each step may answer):

1. access token check → HTTP 401 (Shopify's exact body): the static ``access_token`` setting
   or any valid token the OAuth side issued (:mod:`shopify_sim.oauth`);
2. configured latency;
3. parse / validate / coerce variables → HTTP 200 ``errors`` (nothing runs, nothing spent);
4. fault injection (see :mod:`shopify_sim.faults`);
5. leaky bucket: cost above what is available → ``THROTTLED`` (nothing runs);
6. execution under the store lock; ``ACCESS_DENIED`` for root fields needing a missing
   scope; webhooks queued for after the response is built;
7. after-effect faults (the work is done, the answer is lost or late).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request

from shopify_sim.cost import ThrottleStatus
from shopify_sim.faults import Fault
from shopify_sim.graphql_api import Prepared, format_execution_errors, prepare, run
from shopify_sim.json_response import json_response
from shopify_sim.resolvers import RequestContext, executable_schema
from shopify_sim.state import SimState, sim_state

VERSION_PATTERN = re.compile(r"^(\d{4}-\d{2}|unstable)$")
UNAUTHORIZED_BODY = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


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
        return json_response(
            {
                "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
                "uninterrupted service."
            },
            429,
            {"Retry-After": fault.retry_after or state.config.retry_after},
        )
    if kind == "500":
        return json_response(_internal_error_body(request_id), 500)
    if kind == "502":
        return Response(
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
            status=502,
            mimetype="text/html",
        )
    if kind == "503":
        return json_response({"errors": "Service Unavailable"}, 503)
    if kind == "timeout":
        time.sleep(fault.seconds if fault.seconds is not None else state.config.timeout_seconds)
        return json_response({"errors": "Gateway Timeout"}, 504)
    if kind == "throttled":
        state.stats.count("throttled")
        return json_response(_throttled_body(prepared.cost, bucket_status()))
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
        result = response if response is not None else json_response(body, status)
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
