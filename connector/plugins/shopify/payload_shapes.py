"""Does a signed body have the shape its (unsigned) topic header promises?

Shopify signs the body only, so a genuine body can be resent under another topic with fresh
delivery ids: a ``customers/data_request`` body sent as ``customers/redact`` would erase the
member. Each handled topic therefore names what its payload must (and must not) hold, from
Shopify's REST payload shapes (shopify-api.md §3, §5):

* fulfilment topics: a fulfilment (``order_id``, a ``Fulfillment`` GID if any);
* order topics: an order (numeric ``id``, an ``Order`` GID if any, no ``order_id``);
  ``orders/cancelled`` has a ``cancelled_at``, ``orders/fulfilled`` has ``fulfillments`` and none;
* ``products/update``: a product (``variants``); ``customers/update``: a customer (no nested ``customer``);
* privacy topics: the signing shop's ``shop_domain`` and a numeric ``shop_id``; ``customers/redact``
  has ``customer`` and ``orders_to_redact`` and no ``data_request``; ``customers/data_request`` has
  ``customer`` and ``data_request`` and no ``orders_to_redact``; ``shop/redact`` names no customer;
* ``app/uninstalled``: the shop itself (REST ``Shop``): its ``myshopify_domain`` is the signing shop, a
  numeric ``id`` if any, and nothing of an order, a customer or a privacy request. A subscription that
  trims this topic's payload (``includeFields``) must keep ``myshopify_domain``: it is what makes a
  replayed body of another topic unable to pass for an uninstall, which would disconnect the shop.

``shape_problem`` returns the reason a body does not fit, or None. The verify step refuses a
misfit before anything is stored; the interpret step checks again, for rows stored before this
check existed. Topics not listed here are not interpreted and are not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Mapping[str, Any], str], str | None]


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and value.isascii() and value.isdigit()


def _gid_kind(payload: Mapping[str, Any], kind: str) -> str | None:
    """A present ``admin_graphql_api_id`` must name a ``kind``: an order's GID is not a fulfilment's."""
    api_id = payload.get("admin_graphql_api_id")
    if api_id is None:
        return None
    if not isinstance(api_id, str) or not api_id.startswith(f"gid://shopify/{kind}/"):
        return f"admin_graphql_api_id is not a gid://shopify/{kind}/ id"
    return None


def _absent(payload: Mapping[str, Any], *keys: str) -> str | None:
    present = [k for k in keys if k in payload]
    return f"it has {', '.join(present)}, which this topic's payload never has" if present else None


def _fulfillment(payload: Mapping[str, Any], _domain: str) -> str | None:
    if not _numeric(payload.get("order_id")):
        return "a fulfilment payload needs a numeric order_id"
    return _gid_kind(payload, "Fulfillment")


def _order(payload: Mapping[str, Any]) -> str | None:
    if not _numeric(payload.get("id")):
        return "an order payload needs a numeric id"
    return _gid_kind(payload, "Order") or _absent(
        payload, "order_id", "data_request", "orders_to_redact", "myshopify_domain"
    )


def _order_cancelled(payload: Mapping[str, Any], _domain: str) -> str | None:
    if problem := _order(payload):
        return problem
    return None if payload.get("cancelled_at") else "an orders/cancelled payload needs a cancelled_at"


def _order_fulfilled(payload: Mapping[str, Any], _domain: str) -> str | None:
    if problem := _order(payload):
        return problem
    if not isinstance(payload.get("fulfillments"), list):
        return "an orders/fulfilled payload needs a fulfillments list"
    return "an orders/fulfilled payload cannot be of a cancelled order" if payload.get("cancelled_at") else None


def _product(payload: Mapping[str, Any], _domain: str) -> str | None:
    if not _numeric(payload.get("id")):
        return "a product payload needs a numeric id"
    if not isinstance(payload.get("variants"), list):
        return "a product payload needs a variants list"
    return _gid_kind(payload, "Product") or _absent(payload, "order_id", "line_items", "customer")


def _customer(payload: Mapping[str, Any], _domain: str) -> str | None:
    if not _numeric(payload.get("id")):
        return "a customer payload needs a numeric id"
    return _gid_kind(payload, "Customer") or _absent(
        payload, "customer", "line_items", "order_id", "data_request", "orders_to_redact", "myshopify_domain"
    )


def _privacy(payload: Mapping[str, Any], domain: str) -> str | None:
    named = payload.get("shop_domain")
    if not isinstance(named, str) or named.strip().lower() != domain:
        return "its shop_domain is not the shop that signed it"
    return None if _numeric(payload.get("shop_id")) else "a privacy payload needs a numeric shop_id"


def _with_customer(payload: Mapping[str, Any]) -> str | None:
    customer = payload.get("customer")
    if not isinstance(customer, Mapping):
        return "it needs a customer object"
    if not any(customer.get(k) not in (None, "") for k in ("id", "email", "phone")):
        return "its customer has no id, email or phone"
    return None


def _customer_redact(payload: Mapping[str, Any], domain: str) -> str | None:
    if problem := _privacy(payload, domain) or _with_customer(payload):
        return problem
    if not isinstance(payload.get("orders_to_redact"), list):
        return "a customers/redact payload needs an orders_to_redact list"
    return _absent(payload, "data_request", "orders_requested")


def _data_request(payload: Mapping[str, Any], domain: str) -> str | None:
    if problem := _privacy(payload, domain) or _with_customer(payload):
        return problem
    request = payload.get("data_request")
    if not isinstance(request, Mapping) or request.get("id") in (None, ""):
        return "a customers/data_request payload needs a data_request with an id"
    return _absent(payload, "orders_to_redact")


def _shop_redact(payload: Mapping[str, Any], domain: str) -> str | None:
    return _privacy(payload, domain) or _absent(payload, "customer", "data_request", "orders_to_redact")


def _app_uninstalled(payload: Mapping[str, Any], domain: str) -> str | None:
    named = payload.get("myshopify_domain")
    if not isinstance(named, str) or named.strip().lower() != domain:
        return "its myshopify_domain is not the shop that signed it"
    if "id" in payload and not _numeric(payload.get("id")):
        return "a shop payload's id must be numeric"
    return _gid_kind(payload, "Shop") or _absent(
        payload, "order_id", "line_items", "customer", "variants", "shop_domain", "data_request", "orders_to_redact"
    )


SHAPES: dict[str, Check] = {
    "fulfillments/create": _fulfillment,
    "fulfillments/update": _fulfillment,
    "orders/fulfilled": _order_fulfilled,
    "orders/cancelled": _order_cancelled,
    "products/update": _product,
    "customers/update": _customer,
    "customers/redact": _customer_redact,
    "customers/data_request": _data_request,
    "shop/redact": _shop_redact,
    "app/uninstalled": _app_uninstalled,
}


def shape_problem(topic: str, payload: Mapping[str, Any], shop_domain: str) -> str | None:
    """Why ``payload`` is not a ``topic`` payload from ``shop_domain``, in words; None when it fits."""
    check = SHAPES.get(topic)
    if check is None:
        return None
    problem = check(payload, shop_domain)
    return None if problem is None else f"the body does not have the shape of a {topic} payload: {problem}"


def json_object(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``payload[key]`` when it is a JSON object, else an empty one: Shopify's bodies are read defensively."""
    value = payload.get(key)
    return value if isinstance(value, Mapping) else {}
