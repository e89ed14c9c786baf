"""Rows → the plain dictionaries the response schemas dump (called inside an open session)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connector.core.errors import catalog_entry
from connector.core.links import shop_admin_url
from connector.core.tables import LedgerEntry, Member, OutboundMessage, Redemption, RedemptionEventRow


def redemption_summary(r: Redemption) -> dict[str, Any]:
    shop_order = None
    if r.external_order_id:
        shop_order = {
            "id": r.external_order_id,
            "name": r.external_order_name,
            "admin_url": shop_admin_url(r.shop.domain if r.shop else None, r.external_order_id),
        }
    delivery = None
    if r.delivery_status or r.tracking_number or r.tracking_url:
        delivery = {
            "status": r.delivery_status,
            "updated_at": r.delivery_updated_at,
            "tracking_number": r.tracking_number,
            "tracking_url": r.tracking_url,
        }
    error = None
    if r.error_code:
        error = {
            "code": r.error_code,
            "title": catalog_entry(r.error_code).title,
            "message": r.error_message or catalog_entry(r.error_code).message,
            "fix": r.error_fix,
            "field": r.error_field,
        }
    return {
        "id": r.id,
        "code": r.code,
        "status": r.status,
        "channel": r.channel,
        "points_cost": r.points_cost,
        "member": {"id": r.member.id, "name": r.member.full_name, "email": r.member.email},
        "reward": {
            "id": r.reward.id,
            "name": r.reward.name,
            "sku": r.reward.sku,
            "instructions": r.reward.instructions,
        },
        "shop_order": shop_order,
        "delivery": delivery,
        "error": error,
        "attempts": r.attempts,
        "next_attempt_at": r.next_attempt_at,
        "claimed_at": r.claimed_at,
        "fulfilled_at": r.fulfilled_at,
        "reversed_at": r.reversed_at,
        "order_cancelled_at": r.order_cancelled_at,
        "updated_at": r.updated_at,
    }


def redemption_event(e: RedemptionEventRow) -> dict[str, Any]:
    return {
        "at": e.at,
        "actor": e.actor,
        "kind": e.kind,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "message": e.message,
    }


def redemption_detail(r: Redemption) -> dict[str, Any]:
    return {**redemption_summary(r), "events": [redemption_event(e) for e in r.events]}


def confirmation(msg: OutboundMessage) -> dict[str, Any]:
    return {
        "message_id": msg.id,
        "status": msg.status,
        "error": msg.error,
        "created_at": msg.created_at,
        "sent_at": msg.sent_at,
    }


def member_detail(m: Member, balance: int, ledger: Sequence[LedgerEntry]) -> dict[str, Any]:
    return {
        "id": m.id,
        "external_ref": m.external_ref,
        "name": m.full_name,
        "first_name": m.first_name,
        "last_name": m.last_name,
        "email": m.email,
        "shop_customer_id": m.shop_customer_id,
        "redacted_at": m.redacted_at,
        "points_balance": balance,
        "ledger": [
            {
                "id": e.id,
                "at": e.created_at,
                "kind": e.kind,
                "delta": e.delta,
                "note": e.note,
                "redemption_id": e.redemption_id,
                "actor": e.actor,
            }
            for e in ledger
        ],
    }
