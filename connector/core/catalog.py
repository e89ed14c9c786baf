"""Setting up what redemptions refer to: brands, shops, rewards, members, points, API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.access import check_scope
from connector.core.errors import ConflictError, NotFoundError, ValidationError
from connector.core.hooktypes import api_base_url_problem
from connector.core.model import FulfilmentChannel, LedgerKind, Role
from connector.core.tables import ApiToken, Brand, LedgerEntry, Member, Reward, Shop, ShopConnection, ShopStatus

_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "brand"


def create_brand(s: Session, name: str, slug: str | None = None) -> Brand:
    slug = slug or slugify(name)
    if s.scalars(select(Brand).where(Brand.slug == slug)).first():
        raise ConflictError(f"a brand with slug {slug!r} already exists")
    brand = Brand(name=name, slug=slug)
    s.add(brand)
    s.flush()
    return brand


def get_brand(s: Session, ref: str | int) -> Brand:
    brand = s.get(Brand, int(ref)) if str(ref).isdigit() else s.scalars(select(Brand).where(Brand.slug == ref)).first()
    if brand is None:
        raise NotFoundError(f"brand {ref!r} not found")
    return brand


def add_shop(
    s: Session,
    brand: Brand,
    *,
    domain: str,
    access_token: str,
    webhook_secret: str,
    api_base_url: str | None = None,
    api_version: str = "2026-07",
    allow_custom_api_base: bool = False,
) -> Shop:
    """Connect a shop with a static admin token (a legacy custom app's).

    ``api_base_url`` defaults to ``https://{domain}``; anything else (the local simulator)
    only with ``allow_custom_api_base`` (the ``SHOPIFY_ALLOW_CUSTOM_API_BASE`` setting), and never with
    credentials in it: the access token is sent to that address."""
    if not _SHOP_DOMAIN.match(domain):
        raise ValidationError(
            "invalid shop domain", fields={"domain": f"{domain!r} is not like your-shop.myshopify.com"}
        )
    if api_base_url is not None:
        problem = api_base_url_problem(domain, api_base_url, allow_custom=allow_custom_api_base)
        if problem:
            raise ValidationError("API base URL refused", fields={"api_base_url": problem})
    if not access_token:
        raise ValidationError("missing access token", fields={"access_token": "the shop's Admin API token"})
    if len(webhook_secret) < 16:
        raise ValidationError("webhook secret too short", fields={"webhook_secret": "use the app's client secret"})
    if s.scalars(select(Shop).where(Shop.domain == domain)).first():
        raise ConflictError(f"shop {domain} is already connected")
    shop = Shop(
        brand_id=brand.id,
        domain=domain,
        access_token=access_token,
        webhook_secret=webhook_secret,
        api_base_url=(api_base_url or f"https://{domain}").rstrip("/"),
        api_version=api_version,
        connection_kind=ShopConnection.STATIC_TOKEN,
        status=ShopStatus.CONNECTED,
    )
    s.add(shop)
    s.flush()
    return shop


def rotate_webhook_secret(s: Session, shop: Shop, new_secret: str, now: datetime, overlap_hours: float = 1) -> None:
    """Shopify may keep signing with the old secret for up to an hour after a rotation."""
    shop.previous_webhook_secret = shop.webhook_secret
    shop.previous_secret_expires_at = now + timedelta(hours=overlap_hours)
    shop.webhook_secret = new_secret


def add_reward(
    s: Session,
    brand: Brand,
    *,
    name: str,
    sku: str,
    points_cost: int,
    channel: str = FulfilmentChannel.SHOPIFY,
    shop: Shop | None = None,
    instructions: str = "",
) -> Reward:
    if points_cost <= 0:
        raise ValidationError("invalid points cost", fields={"points_cost": "must be a positive whole number"})
    if not sku.strip():
        raise ValidationError("missing SKU", fields={"sku": "the shop variant's SKU"})
    reward = Reward(
        brand_id=brand.id,
        shop_id=shop.id if shop else None,
        name=name,
        sku=sku.strip(),
        points_cost=points_cost,
        channel=channel,
        instructions=instructions,
    )
    s.add(reward)
    s.flush()
    return reward


def add_member(
    s: Session,
    brand: Brand,
    *,
    first_name: str,
    last_name: str,
    email: str | None = None,
    phone: str | None = None,
    date_of_birth: date | None = None,
    address1: str | None = None,
    address2: str | None = None,
    city: str | None = None,
    province_code: str | None = None,
    country_code: str | None = None,
    zip: str | None = None,
    external_ref: str | None = None,
) -> Member:
    member = Member(
        brand_id=brand.id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        date_of_birth=date_of_birth,
        address1=address1,
        address2=address2,
        city=city,
        province_code=province_code,
        country_code=country_code,
        zip=zip,
        external_ref=external_ref,
    )
    s.add(member)
    s.flush()
    return member


def award_points(s: Session, member: Member, points: int, note: str, actor: str = "system") -> LedgerEntry:
    entry = LedgerEntry(member_id=member.id, delta=points, kind=LedgerKind.EARNED, note=note, actor=actor)
    s.add(entry)
    s.flush()
    return entry


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(
    s: Session,
    name: str,
    role: Role,
    brand: Brand | None = None,
    *,
    distributor_id: int | None = None,
    retailer_id: int | None = None,
) -> tuple[ApiToken, str]:
    """Returns the row and the plain token, which is shown once and never stored."""
    check_scope(role, brand_id=brand.id if brand else None, distributor_id=distributor_id, retailer_id=retailer_id)
    plain = "cn_" + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        token_hash=hash_token(plain),
        role=role,
        brand_id=brand.id if brand else None,
        distributor_id=distributor_id,
        retailer_id=retailer_id,
    )
    s.add(row)
    s.flush()
    return row, plain
