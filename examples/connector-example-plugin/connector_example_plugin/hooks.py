"""Fulfils rewards of channel ``example`` by appending one JSON line per order to a file.

It shows the whole contract a plugin keeps: answer only for its own channel,
be idempotent per redemption (look before writing when an earlier attempt may
have written), call ``checkpoint()`` before the irreversible step, and read
configuration from ``ctx.config`` (``EXAMPLE_ORDERS_FILE``).
"""

from __future__ import annotations

import json
from pathlib import Path

from connector import hookimpl
from connector.core.hooktypes import FulfilmentRequest, FulfilmentResult, HookContext, PluginInfo

CHANNEL = "example"


@hookimpl
def connector_plugin_info() -> PluginInfo:
    return PluginInfo(name="example", version="0.1.0", description="Writes orders to a file.", channels=(CHANNEL,))


def _orders_file(ctx: HookContext) -> Path:
    return Path(ctx.config.get("EXAMPLE_ORDERS_FILE", "example-orders.jsonl"))


@hookimpl
def connector_fulfil_redemption(request: FulfilmentRequest, ctx: HookContext) -> FulfilmentResult | None:
    if request.channel != CHANNEL:
        return None
    path = _orders_file(ctx)
    order_id = f"example-{request.code}"
    if request.submitted_at is not None and path.exists():
        for line in path.read_text().splitlines():
            if json.loads(line)["order_id"] == order_id:
                return FulfilmentResult(external_order_id=order_id, external_order_name=order_id, found_existing=True)
    request.checkpoint()
    with path.open("a") as fh:
        fh.write(json.dumps({"order_id": order_id, "sku": request.reward.sku, "member": request.member.id}) + "\n")
    return FulfilmentResult(external_order_id=order_id, external_order_name=order_id)
