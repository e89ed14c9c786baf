"""Webhook subscriptions are the connector's job: what each shop must send us, and the sync that makes it so.

The wanted set is derived from the handlers (``webhook_topics.TOPICS``) minus the topics an app
declares in its own configuration (the three privacy topics and ``app/uninstalled``, which Shopify
sends for the app as a whole). Each topic carries:

* a ``filter`` where Shopify's filter syntax can tell a reward order's event from any other, so a
  shop whose reward orders are 1% of its orders stops sending the other 99%:

  - ``orders/*`` payloads are the order: reward orders carry the tag ``loyalty-reward`` and the
    ``source_identifier`` ``redemption-<code>`` (``orders.py``); the filter accepts either mark, so
    it still holds should one of them be edited away or matched differently by Shopify;
  - ``fulfillments/*`` payloads do not carry the order's tags or source identifier. What they do
    carry is the line items with their ``price``, and a reward order's line is zero-priced
    (``orders.order_create_variables``): ``line_items.price:<=0`` keeps every fulfilment of a
    reward order and drops every fulfilment made only of paid lines. Free lines of ordinary orders
    pass too; the connector ignores orders it does not know, so that costs a little traffic, never
    an event;
  - ``products/update`` stays unfiltered: a product set to draft or archived must reach the handler,
    which forgets its cached variants (``variant_cache``), so a reward is not ordered from it;
  - ``customers/update`` stays unfiltered: any customer may be a member waiting for a retry.

* ``includeFields``: what the handler, the payload shape check (``payload_shapes``) and the
  delivery's identity (``webhooks.verify_delivery``: id, ``admin_graphql_api_id``, ``updated_at``,
  the customer's id) read, plus the fields the filter names (so the filter holds whether Shopify evaluates it before
  or after trimming). Members' names, addresses and emails in order payloads are never sent, so
  never stored. ``tests/plugins/shopify/test_shopify_subscriptions.py`` proves that a trimmed
  payload gives the same effects and identity as the whole one.

``SHOPIFY_WEBHOOK_FILTERS=false`` drops the filters (the next sync updates the subscriptions), the
way back should Shopify ever judge a filter differently from its documentation.

The sync never touches a subscription to another address, creates with ``uri`` (not the deprecated
``callbackUrl``), and is idempotent: a second run finds nothing to change and sends no mutation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from connector.core.errors import ProviderError
from connector.core.hooktypes import WebhookSyncReport, WebhookTopicHealth
from connector.plugins.shopify.documents import PAGE_INFO_FIELDS, Document
from connector.plugins.shopify.graphql_client import ShopifyGraphQLClient
from connector.plugins.shopify.identifiers import redemption_key
from connector.plugins.shopify.orders import ORDER_TAG
from connector.plugins.shopify.webhook_topics import TOPICS

log = logging.getLogger("connector.plugins.shopify")

#: Sent by Shopify for the app as a whole, declared in the app's configuration, never subscribed per shop.
APP_CONFIGURED_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact", "app/uninstalled"})
#: Every reward order carries this tag or this source identifier prefix.
REWARD_ORDER_FILTER = f"tags:{ORDER_TAG} OR source_identifier:{redemption_key('')}*"
#: A reward order's line is zero-priced; a fulfilment payload lists the lines it ships.
ZERO_PRICED_LINE_FILTER = "line_items.price:<=0"
#: Pages of subscriptions read before giving up (a shop has a few dozen at most).
MAX_PAGES = 20

_FULFILMENT_FIELDS = (
    "id",
    "admin_graphql_api_id",
    "order_id",
    "status",
    "shipment_status",
    "tracking_number",
    "tracking_numbers",
    "tracking_url",
    "tracking_urls",
    "updated_at",
    "line_items.price",
)
#: ``customer.id``/``admin_graphql_api_id`` keep the delivery's customer reference, by which a
#: ``customers/redact`` finds and wipes the stored body; the customer's name and contacts are not sent.
_ORDER_FIELDS = (
    "id",
    "admin_graphql_api_id",
    "updated_at",
    "cancelled_at",
    "tags",
    "source_identifier",
    "customer.id",
    "customer.admin_graphql_api_id",
)


@dataclass(frozen=True)
class TopicPlan:
    """How one topic is subscribed when filters are on."""

    filter: str | None
    include_fields: tuple[str, ...]


PLANS: dict[str, TopicPlan] = {
    "fulfillments/create": TopicPlan(ZERO_PRICED_LINE_FILTER, _FULFILMENT_FIELDS),
    "fulfillments/update": TopicPlan(ZERO_PRICED_LINE_FILTER, _FULFILMENT_FIELDS),
    "orders/fulfilled": TopicPlan(
        REWARD_ORDER_FILTER,
        (
            *_ORDER_FIELDS,
            "fulfillments.status",
            "fulfillments.shipment_status",
            "fulfillments.tracking_number",
            "fulfillments.tracking_numbers",
            "fulfillments.tracking_url",
            "fulfillments.tracking_urls",
        ),
    ),
    "orders/cancelled": TopicPlan(REWARD_ORDER_FILTER, _ORDER_FIELDS),
    "products/update": TopicPlan(None, ("id", "admin_graphql_api_id", "status", "updated_at", "variants.sku")),
    "customers/update": TopicPlan(None, ("id", "admin_graphql_api_id", "email", "phone", "updated_at")),
}


@dataclass(frozen=True)
class DesiredSubscription:
    """One subscription the connector needs: ``topic`` as Shopify writes it in headers (``orders/fulfilled``)."""

    topic: str
    uri: str
    filter: str | None = None
    include_fields: tuple[str, ...] = ()
    format: str = "JSON"

    @property
    def topic_name(self) -> str:
        """The ``WebhookSubscriptionTopic`` value (``ORDERS_FULFILLED``)."""
        return topic_name(self.topic)


def topic_name(topic: str) -> str:
    return topic.upper().replace("/", "_")


def desired_subscriptions(uri: str, *, filters: bool = True) -> tuple[DesiredSubscription, ...]:
    """The subscriptions to ``uri`` the handlers need; without ``filters``, every event of each topic.

    A handled topic with no plan (a handler added later) is subscribed whole and unfiltered: the
    handler then sees what it expects, at the price of traffic.
    """
    wanted = []
    for topic in sorted(set(TOPICS) - APP_CONFIGURED_TOPICS):
        plan = PLANS.get(topic, TopicPlan(None, ()))
        wanted.append(DesiredSubscription(topic, uri, plan.filter if filters else None, plan.include_fields))
    return tuple(wanted)


# -- GraphQL -----------------------------------------------------------------------------------------

SUBSCRIPTION_FIELDS = "id topic uri filter format includeFields"

#: Every subscription of this app in the shop, oldest first (Shopify lists only the calling app's).
LIST_WEBHOOK_SUBSCRIPTIONS = Document(
    "WebhookSubscriptions",
    f"""
query WebhookSubscriptions($after: String) {{
  webhookSubscriptions(first: 100, after: $after) {{
    nodes {{ {SUBSCRIPTION_FIELDS} }}
    {PAGE_INFO_FIELDS}
  }}
}}
""",
)

WEBHOOK_SUBSCRIPTION_CREATE = Document(
    "WebhookSubscriptionCreate",
    f"""
mutation WebhookSubscriptionCreate(
  $topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!
) {{
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {{
    webhookSubscription {{ {SUBSCRIPTION_FIELDS} }}
    userErrors {{ field message }}
  }}
}}
""",
)

WEBHOOK_SUBSCRIPTION_UPDATE = Document(
    "WebhookSubscriptionUpdate",
    f"""
mutation WebhookSubscriptionUpdate($id: ID!, $webhookSubscription: WebhookSubscriptionInput!) {{
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $webhookSubscription) {{
    webhookSubscription {{ {SUBSCRIPTION_FIELDS} }}
    userErrors {{ field message }}
  }}
}}
""",
)

WEBHOOK_SUBSCRIPTION_DELETE = Document(
    "WebhookSubscriptionDelete",
    """
mutation WebhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}
""",
)

SUBSCRIPTION_DOCUMENTS: tuple[Document, ...] = (
    LIST_WEBHOOK_SUBSCRIPTIONS,
    WEBHOOK_SUBSCRIPTION_CREATE,
    WEBHOOK_SUBSCRIPTION_UPDATE,
    WEBHOOK_SUBSCRIPTION_DELETE,
)


def subscription_input(wanted: DesiredSubscription) -> dict[str, Any]:
    """``WebhookSubscriptionInput`` for create: ``uri``, never the deprecated ``callbackUrl``."""
    return {"uri": wanted.uri, **changes_input(wanted)}


def changes_input(wanted: DesiredSubscription) -> dict[str, Any]:
    """``WebhookSubscriptionInput`` for update: the address stays; an explicit null clears a filter."""
    return {"format": wanted.format, "filter": wanted.filter, "includeFields": list(wanted.include_fields)}


# -- the sync -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Existing:
    """A subscription as the shop lists it."""

    id: str
    topic: str
    uri: str
    filter: str | None
    format: str
    include_fields: tuple[str, ...]

    @classmethod
    def from_node(cls, node: Mapping[str, Any]) -> Existing:
        return cls(
            id=str(node["id"]),
            topic=str(node.get("topic") or ""),
            uri=str(node.get("uri") or ""),
            filter=(str(node.get("filter") or "").strip() or None),
            format=str(node.get("format") or "JSON"),
            include_fields=tuple(str(f) for f in node.get("includeFields") or ()),
        )

    def matches(self, wanted: DesiredSubscription) -> bool:
        """Same filter, format and fields. Fields in any order and filters up to spacing, so a shop that
        lists them its own way does not get an update on every sync."""
        return (
            _spaced(self.filter) == _spaced(wanted.filter)
            and self.format == wanted.format
            and sorted(self.include_fields) == sorted(wanted.include_fields)
        )


def _spaced(text: str | None) -> str | None:
    return " ".join(text.split()) or None if text else None


def list_subscriptions(client: ShopifyGraphQLClient) -> list[Existing]:
    """Every subscription of the app in the shop, following pages."""
    found: list[Existing] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        data = client.execute(LIST_WEBHOOK_SUBSCRIPTIONS, {"after": after})
        page = data.get("webhookSubscriptions") if isinstance(data, Mapping) else None
        if not isinstance(page, Mapping):
            raise ProviderError(
                "shop_unavailable",
                f"{client.shop.domain} answered webhookSubscriptions without a list.",
                retryable=True,
            )
        found += [Existing.from_node(n) for n in page.get("nodes") or [] if isinstance(n, Mapping) and n.get("id")]
        info = page.get("pageInfo") or {}
        if not info.get("hasNextPage") or not info.get("endCursor"):
            return found
        after = str(info["endCursor"])
    raise ProviderError(
        "shop_unavailable",
        f"{client.shop.domain} lists more than {MAX_PAGES * 100} webhook subscriptions; the sync stopped reading.",
        fix="Delete the subscriptions the app no longer needs in Shopify, then sync again.",
        retryable=False,
    )


def _errors(payload: Any) -> list[Mapping[str, Any]]:
    errors = payload.get("userErrors") if isinstance(payload, Mapping) else None
    return [e for e in errors or [] if isinstance(e, Mapping)]


def _words(errors: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e.get('field') or []) or 'subscription'}: {e.get('message') or 'refused'}"
        for e in errors
    )


def _about_filter(errors: Sequence[Mapping[str, Any]]) -> bool:
    return any(
        "filter" in [str(p) for p in e.get("field") or []] or "filter" in str(e.get("message") or "").lower()
        for e in errors
    )


def _save(
    client: ShopifyGraphQLClient, wanted: DesiredSubscription, existing: Existing | None
) -> tuple[str, Mapping[str, Any] | None, list[Mapping[str, Any]]]:
    """Create or update one subscription; (root field, its payload, userErrors)."""
    if existing is None:
        variables = {"topic": wanted.topic_name, "webhookSubscription": subscription_input(wanted)}
        field = "webhookSubscriptionCreate"
        data = client.execute(WEBHOOK_SUBSCRIPTION_CREATE, variables)
    else:
        variables = {"id": existing.id, "webhookSubscription": changes_input(wanted)}
        field = "webhookSubscriptionUpdate"
        data = client.execute(WEBHOOK_SUBSCRIPTION_UPDATE, variables)
    payload = data.get(field) if isinstance(data, Mapping) else None
    if not isinstance(payload, Mapping):
        raise ProviderError(
            "shop_unavailable",
            f"{client.shop.domain} answered {field} for {wanted.topic} without a result; sync again.",
            retryable=True,
        )
    return field, payload, _errors(payload)


def _apply(client: ShopifyGraphQLClient, wanted: DesiredSubscription, existing: Existing | None) -> WebhookTopicHealth:
    """Make one topic's subscription what ``wanted`` says; a filter the shop refuses falls back to none."""
    done = "created" if existing is None else "updated"
    _, payload, errors = _save(client, wanted, existing)
    unfiltered = ""
    if errors and wanted.filter and _about_filter(errors):
        unfiltered = f"{client.shop.domain} refused the filter {wanted.filter!r} ({_words(errors)}); every event "
        unfiltered += "of the topic is delivered instead"
        log.warning("shopify %s %s: %s", client.shop.domain, wanted.topic, unfiltered)
        wanted = DesiredSubscription(wanted.topic, wanted.uri, None, wanted.include_fields, wanted.format)
        _, payload, errors = _save(client, wanted, existing)
    if errors:
        return WebhookTopicHealth(
            wanted.topic,
            "error",
            existing.id if existing else None,
            detail=f"{client.shop.domain} refused the {wanted.topic} subscription: {_words(errors)}",
        )
    node = payload.get("webhookSubscription") if payload else None
    sub_id = str(node["id"]) if isinstance(node, Mapping) and node.get("id") else (existing.id if existing else None)
    return WebhookTopicHealth(
        wanted.topic,
        "unfiltered" if unfiltered else done,
        sub_id,
        wanted.filter,
        wanted.include_fields,
        unfiltered,
    )


def _delete(client: ShopifyGraphQLClient, stale: Existing, topic: str) -> WebhookTopicHealth:
    data = client.execute(WEBHOOK_SUBSCRIPTION_DELETE, {"id": stale.id})
    payload = data.get("webhookSubscriptionDelete") if isinstance(data, Mapping) else None
    errors = _errors(payload)
    if errors and not any("does not exist" in str(e.get("message") or "") for e in errors):
        return WebhookTopicHealth(topic, "error", stale.id, detail=f"could not delete: {_words(errors)}")
    return WebhookTopicHealth(topic, "deleted", stale.id)


def _topic_of(name: str) -> str:
    """``ORDERS_FULFILLED`` → ``orders/fulfilled`` for reports; an unknown name splits at its last underscore."""
    known = {topic_name(t): t for t in TOPICS}
    if name in known:
        return known[name]
    resource, _, action = name.lower().rpartition("_")
    return f"{resource}/{action}" if resource else action


def sync_webhooks(client: ShopifyGraphQLClient, desired: Sequence[DesiredSubscription]) -> WebhookSyncReport:
    """Create, correct and delete the shop's subscriptions to our address until they are ``desired``.

    Our address is the ``uri`` of ``desired`` (all the same); subscriptions to any other address are
    counted in ``foreign_uris`` and left alone. A subscription to our address for a topic no longer
    wanted is deleted. A topic the shop refuses is reported as ``error`` and the others still sync.
    """
    uris = {d.uri for d in desired}
    if len(uris) != 1:
        raise ValueError("desired subscriptions must all go to one address")
    (uri,) = uris
    existing = list_subscriptions(client)
    ours = [s for s in existing if s.uri == uri]
    foreign = tuple(sorted({s.uri for s in existing if s.uri != uri}))
    wanted_names = {d.topic_name for d in desired}

    topics: list[WebhookTopicHealth] = []
    counts = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    for wanted in desired:
        same_topic = [s for s in ours if s.topic == wanted.topic_name]
        current = same_topic[0] if same_topic else None
        if current is not None and current.matches(wanted):
            counts["unchanged"] += 1
            topics.append(
                WebhookTopicHealth(wanted.topic, "ok", current.id, current.filter, tuple(current.include_fields))
            )
            continue
        health = _apply(client, wanted, current)
        if health.status != "error":
            counts["updated" if current else "created"] += 1
        topics.append(health)
    for stale in ours:
        if stale.topic not in wanted_names:
            health = _delete(client, stale, _topic_of(stale.topic))
            counts["deleted"] += int(health.status == "deleted")
            topics.append(health)
    return WebhookSyncReport(uri=uri, foreign_uris=foreign, topics=tuple(topics), **counts)


def webhook_uri_problem(uri: str, *, allow_plain_http: bool) -> str | None:
    """Why Shopify would not deliver to ``uri`` (or should not: a secret-free ``http://``), or None."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "it is not a URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "it is not an absolute https:// URL"
    if parts.username is not None or parts.password is not None:
        return "it carries a user name or password"
    if parts.query or parts.fragment:
        return "it has a query or fragment"
    if parts.scheme == "http" and not allow_plain_http:
        return "Shopify delivers webhooks over HTTPS only"
    return None
