"""Webhook subscriptions over GraphQL, and which of them an event goes to.

``webhookSubscriptions`` (a connection, ``first``/``after``, ``topics`` and ``uri`` filters),
``webhookSubscriptionCreate(topic, webhookSubscription)``, ``webhookSubscriptionUpdate(id,
webhookSubscription)`` and ``webhookSubscriptionDelete(id)`` keep the subscriptions in
:attr:`Store.webhook_subscriptions`. :func:`routes` tells the dispatcher where one event goes:
to each subscription of its topic whose ``filter`` the payload passes, trimmed to its
``includeFields``; ``None`` when the topic has no subscription, so the settings
(``webhook_target_url`` + ``webhook_topics``, the app's own configuration) decide as before.
The privacy topics cannot be subscribed through the API (they are not ``WebhookSubscriptionTopic``
values), and ``app/uninstalled`` is always delivered from the settings: apps declare both in their
configuration.

userErrors (``field``, ``message``) follow Shopify's where one is on record: "Address is invalid"
for a bad address, "Address for this topic has already been taken" for a second subscription of a
topic to one address, "The specified filter is invalid, please ensure you specify the field(s) you
wish to filter on." for a filter. Their ``field`` paths name ``uri`` (the records name the
deprecated ``callbackUrl``), and the messages for an unknown id, an ``http://`` address and a
blank ``includeFields`` entry are approximations in the same style.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from graphql import GraphQLResolveInfo

from shopify_sim.resolvers.context import RequestContext
from shopify_sim.resolvers.pagination import connection
from shopify_sim.store import Store, WebhookSubscription, gid, iso, next_id, parse_gid
from shopify_sim.webhook_filter import FilterError, include_fields_problem, matches, parse_filter, trim
from shopify_sim.webhooks import Routes

#: Topics an app declares in its configuration, never through ``webhookSubscriptionCreate``.
APP_CONFIGURED_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact", "app/uninstalled"})
INVALID_FILTER = "The specified filter is invalid, please ensure you specify the field(s) you wish to filter on."
INVALID_ADDRESS = "Address is invalid"
ADDRESS_TAKEN = "Address for this topic has already been taken"
NOT_FOUND = "Webhook subscription does not exist"
_PUBSUB = re.compile(r"^pubsub://[a-z][a-z0-9-]{4,28}[a-z0-9]:[A-Za-z][A-Za-z0-9._~+%-]{2,254}$")
_EVENTBRIDGE = re.compile(r"^arn:aws:events:[a-z0-9-]+::event-source/aws\.partner/shopify\.com(\.test)?/\d+/[\w./-]+$")


def topic_name(topic: str) -> str:
    """``orders/fulfilled`` → ``ORDERS_FULFILLED`` (the ``WebhookSubscriptionTopic`` value)."""
    return topic.upper().replace("/", "_")


def is_http(uri: str) -> bool:
    """Whether the simulator can POST to ``uri`` (Pub/Sub and EventBridge addresses are stored only)."""
    return uri.startswith(("https://", "http://"))


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def uri_problem(uri: str) -> str | None:
    """The userError message for an address Shopify would refuse, or None.

    HTTPS URLs, Pub/Sub and EventBridge addresses are Shopify's; plain ``http://`` is accepted to a
    loopback host only, because the tests' receivers listen on 127.0.0.1 without TLS.
    """
    if _PUBSUB.match(uri) or _EVENTBRIDGE.match(uri):
        return None
    if any(ch.isspace() for ch in uri):
        return INVALID_ADDRESS
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return INVALID_ADDRESS
    if not parts.netloc or not host or parts.username is not None or parts.password is not None:
        return INVALID_ADDRESS
    if parts.scheme == "https":
        return None
    if parts.scheme == "http":
        return None if _loopback(host) else "Address protocol http:// is not supported"
    return INVALID_ADDRESS


def subscription_view(sub: WebhookSubscription) -> dict[str, Any]:
    """``WebhookSubscription``."""
    return {
        "id": gid("WebhookSubscription", sub.id),
        "legacyResourceId": str(sub.id),
        "topic": sub.topic,
        "uri": sub.uri,
        "filter": sub.filter,
        "format": sub.format,
        "includeFields": list(sub.include_fields),
        "metafieldNamespaces": list(sub.metafield_namespaces),
        "name": sub.name,
        "createdAt": iso(sub.created_at),
        "updatedAt": iso(sub.updated_at),
    }


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    return info.context


def _error(field: list[str] | None, message: str) -> dict[str, Any]:
    return {"field": field, "message": message}


def _forced(info: GraphQLResolveInfo) -> dict[str, Any] | None:
    forced = _ctx(info).forced_user_errors.get(info.field_name)
    return None if forced is None else _error(forced.get("field"), forced["message"])


def resolve_webhook_subscriptions(
    _: Any,
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    topics: Sequence[str] | None = None,
    uri: str | None = None,
) -> dict[str, Any]:
    """``webhookSubscriptions(first, after, topics, uri)``, oldest first (Shopify's ``CREATED_AT`` order)."""
    store = _ctx(info).store
    found = [
        sub
        for sub in sorted(store.webhook_subscriptions.values(), key=lambda s: s.id)
        if (not topics or sub.topic in topics) and (uri is None or sub.uri == uri)
    ]
    return connection(found, first, after, subscription_view)


def _clean(
    store: Store, topic: str, data: dict[str, Any], current: WebhookSubscription | None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Validated new values for a subscription (keys absent from ``data`` keep ``current``'s), or userErrors."""
    errors: list[dict[str, Any]] = []
    uri = data.get("uri") if data.get("uri") is not None else data.get("callbackUrl")
    if uri is None:
        uri = current.uri if current else None
    uri = uri.strip() if isinstance(uri, str) else uri
    if not uri:
        errors.append(_error(["webhookSubscription", "uri"], "Address can't be blank"))
    elif problem := uri_problem(uri):
        errors.append(_error(["webhookSubscription", "uri"], problem))
    elif any(
        s.topic == topic and s.uri == uri and (current is None or s.id != current.id)
        for s in store.webhook_subscriptions.values()
    ):
        errors.append(_error(["webhookSubscription", "uri"], ADDRESS_TAKEN))

    filter_text = data.get("filter", current.filter if current else None)
    filter_text = filter_text.strip() or None if isinstance(filter_text, str) else None
    if filter_text is not None:
        try:
            parse_filter(filter_text)
        except FilterError:
            errors.append(_error(["webhookSubscription", "filter"], INVALID_FILTER))

    fields = data.get("includeFields", current.include_fields if current else None)
    fields = [str(f).strip() for f in fields or []]
    if problem := include_fields_problem(fields):
        errors.append(_error(["webhookSubscription", "includeFields"], f"Include fields is invalid: {problem}"))

    if errors:
        return None, errors
    namespaces = data.get("metafieldNamespaces", current.metafield_namespaces if current else None)
    return {
        "uri": uri,
        "filter": filter_text,
        "include_fields": list(dict.fromkeys(fields)),
        "format": data.get("format") or (current.format if current else "JSON"),
        "metafield_namespaces": list(namespaces or []),
        "name": data.get("name", current.name if current else None),
    }, []


def resolve_create(_: Any, info: GraphQLResolveInfo, topic: str, webhookSubscription: dict[str, Any]) -> dict:  # noqa: N803
    """``webhookSubscriptionCreate(topic, webhookSubscription)``."""
    if (forced := _forced(info)) is not None:
        return {"webhookSubscription": None, "userErrors": [forced]}
    ctx = _ctx(info)
    values, errors = _clean(ctx.store, topic, webhookSubscription, None)
    if values is None:
        return {"webhookSubscription": None, "userErrors": errors}
    now = time.time()
    sub = WebhookSubscription(id=next_id(), topic=topic, created_at=now, updated_at=now, **values)
    ctx.store.webhook_subscriptions[sub.id] = sub
    ctx.wrote = True
    return {"webhookSubscription": subscription_view(sub), "userErrors": []}


def resolve_update(_: Any, info: GraphQLResolveInfo, id: str, webhookSubscription: dict[str, Any]) -> dict:  # noqa: A002, N803
    """``webhookSubscriptionUpdate(id, webhookSubscription)``: given fields change, absent ones stay."""
    if (forced := _forced(info)) is not None:
        return {"webhookSubscription": None, "userErrors": [forced]}
    ctx = _ctx(info)
    sub = ctx.store.webhook_subscriptions.get(parse_gid(id, "WebhookSubscription") or -1)
    if sub is None:
        return {"webhookSubscription": None, "userErrors": [_error(["id"], NOT_FOUND)]}
    values, errors = _clean(ctx.store, sub.topic, webhookSubscription, sub)
    if values is None:
        return {"webhookSubscription": None, "userErrors": errors}
    for key, value in values.items():
        setattr(sub, key, value)
    sub.updated_at = time.time()
    ctx.wrote = True
    return {"webhookSubscription": subscription_view(sub), "userErrors": []}


def resolve_delete(_: Any, info: GraphQLResolveInfo, id: str) -> dict:  # noqa: A002
    """``webhookSubscriptionDelete(id)``."""
    if (forced := _forced(info)) is not None:
        return {"deletedWebhookSubscriptionId": None, "userErrors": [forced]}
    ctx = _ctx(info)
    sub = ctx.store.webhook_subscriptions.pop(parse_gid(id, "WebhookSubscription") or -1, None)
    if sub is None:
        return {"deletedWebhookSubscriptionId": None, "userErrors": [_error(["id"], NOT_FOUND)]}
    ctx.wrote = True
    return {"deletedWebhookSubscriptionId": gid("WebhookSubscription", sub.id), "userErrors": []}


QUERY_RESOLVERS = {"webhookSubscriptions": resolve_webhook_subscriptions}
MUTATION_RESOLVERS = {
    "webhookSubscriptionCreate": resolve_create,
    "webhookSubscriptionUpdate": resolve_update,
    "webhookSubscriptionDelete": resolve_delete,
}


# -- delivery -----------------------------------------------------------------------------------
def routes(store: Store, topic: str, payload: Any) -> Routes | None:
    """Where an event of ``topic`` goes when subscriptions cover it; ``None`` leaves it to the settings.

    Each subscription of the topic whose filter the payload passes gets the payload trimmed to its
    ``includeFields``; the others are counted as filtered. Pub/Sub and EventBridge subscriptions are
    counted as undeliverable (the simulator has no such endpoints).
    """
    if topic in APP_CONFIGURED_TOPICS:
        return None
    name = topic_name(topic)
    with store.lock:
        subs = sorted((s for s in store.webhook_subscriptions.values() if s.topic == name), key=lambda s: s.id)
        if not subs:
            return None
        passed = [s for s in subs if matches(s.filter, payload)]
        targets = [(s.uri, trim(payload, s.include_fields)) for s in passed if is_http(s.uri)]
    return Routes(targets=targets, filtered=len(subs) - len(passed), undeliverable=len(passed) - len(targets))
