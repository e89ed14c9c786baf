"""Test doubles that implement the plugin hooks the way a real plugin must."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from connector import hookimpl
from connector.core.errors import ProviderError
from connector.core.hooktypes import (
    CancelRequest,
    CancelResult,
    FulfilmentRequest,
    FulfilmentResult,
    HookContext,
    PluginInfo,
)


@dataclass
class FakeShopPlugin:
    """Fulfils channel ``shopify`` against an in-memory "shop" that keeps its orders.

    ``script`` is a list of outcomes consumed one per attempt: ``"ok"``, a
    ``ProviderError`` to raise before the irreversible call, or ``"crash_after_create"``
    (the order is created, then the attempt dies before the host hears back).
    """

    script: list[object] = field(default_factory=list)
    orders: dict[str, str] = field(default_factory=dict)  # code -> order id
    requests: list[FulfilmentRequest] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    on_call: Callable[[FulfilmentRequest], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    __name__ = "fake_shop"

    @hookimpl
    def connector_plugin_info(self) -> PluginInfo:
        return PluginInfo(name="fake_shop", version="0", channels=("shopify",))

    @hookimpl(tryfirst=True)
    def connector_fulfil_redemption(self, request: FulfilmentRequest, ctx: HookContext) -> FulfilmentResult | None:
        if request.channel != "shopify":
            return None
        self.requests.append(request)
        if self.on_call:
            self.on_call(request)
        if request.submitted_at is not None and request.code in self.orders:
            return FulfilmentResult(
                self.orders[request.code], "#found", "gid://shopify/Customer/1", found_existing=True
            )
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, ProviderError):
            raise step
        request.checkpoint()
        with self.lock:
            order_id = f"gid://shopify/Order/{len(self.orders) + 1}"
            self.orders.setdefault(request.code, order_id)
        if step == "crash_after_create":
            raise ProviderError("shop_unavailable", "connection reset after send", retryable=True, in_doubt=True)
        return FulfilmentResult(order_id, f"#{1000 + len(self.orders)}", "gid://shopify/Customer/1")

    @hookimpl(tryfirst=True)
    def connector_cancel_order(self, request: CancelRequest, ctx: HookContext) -> CancelResult | None:
        if request.channel != "shopify":
            return None
        self.cancelled.append(request.external_order_id)
        return CancelResult(cancelled=True)
