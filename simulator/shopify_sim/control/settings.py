"""Control routes for the simulator itself: reset, settings, faults, buckets, counters and the request log."""

from __future__ import annotations

from flask import Response, request

from shopify_sim.control.common import control_blueprint, request_body
from shopify_sim.json_response import json_response
from shopify_sim.state import sim_state

bp = control_blueprint("settings")


@bp.post("/reset")
def reset() -> Response:
    """Empty the shop; body ``{"config": true}`` also restores the start-up settings."""
    state = sim_state()
    state.reset(config=bool(request_body().get("config")))
    return json_response({"ok": True, "config": state.config.as_dict()})


@bp.get("/config")
def get_config() -> Response:
    """Current settings."""
    return json_response(sim_state().config.as_dict())


@bp.post("/config")
def set_config() -> Response:
    """Change settings (see :class:`~shopify_sim.config.SimConfig`)."""
    state = sim_state()
    state.configure(request_body())
    return json_response(state.config.as_dict())


@bp.get("/faults")
def get_faults() -> Response:
    """Queued faults and rates still in force, plus how many fired per kind."""
    return json_response(sim_state().faults.snapshot())


@bp.post("/faults")
def set_faults() -> Response:
    """Queue faults and/or set rates (see :meth:`FaultInjector.configure`)."""
    state = sim_state()
    state.faults.configure(request_body())
    return json_response(state.faults.snapshot())


@bp.delete("/faults")
def clear_faults() -> Response:
    """Remove every queued fault and rate."""
    state = sim_state()
    state.faults.clear()
    return json_response(state.faults.snapshot())


@bp.get("/bucket")
def get_bucket() -> Response:
    """Throttle status of a token's bucket (``?token=``, default: the configured token)."""
    state = sim_state()
    token = request.args.get("token") or state.config.access_token
    return json_response(state.buckets.get(token).status().as_dict())


@bp.post("/bucket")
def drain_bucket() -> Response:
    """``{"drain": points | null, "token": ...}``: remove points (null = empty the bucket)."""
    state = sim_state()
    data = request_body()
    bucket = state.buckets.get(data.get("token") or state.config.access_token)
    amount = data.get("drain")
    bucket.drain(None if amount is None else float(amount))
    return json_response(bucket.status().as_dict())


@bp.get("/stats")
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
    return json_response(data)


@bp.get("/requests")
def request_log() -> Response:
    """The last GraphQL requests: operation, root fields, cost, status, outcome."""
    entries = sim_state().logged_requests()
    return json_response({"requests": entries, "count": len(entries)})
