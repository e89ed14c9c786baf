"""Turn rows into the frozen DTOs plugins receive (see ``hooktypes``)."""

from __future__ import annotations

from collections.abc import Callable

from connector.core.hooktypes import AccessTokens, MemberInfo, RateLimitStatus, RewardInfo, ShopCache, ShopInfo
from connector.core.tables import Member, Reward, Shop


def member_info(m: Member) -> MemberInfo:
    return MemberInfo(
        id=m.id,
        first_name=m.first_name,
        last_name=m.last_name,
        email=m.email,
        phone=m.phone,
        date_of_birth=m.date_of_birth,
        address1=m.address1,
        address2=m.address2,
        city=m.city,
        province_code=m.province_code,
        country_code=m.country_code,
        zip=m.zip,
        shop_customer_id=m.shop_customer_id,
    )


def reward_info(r: Reward) -> RewardInfo:
    return RewardInfo(
        id=r.id, name=r.name, sku=r.sku, points_cost=r.points_cost, channel=r.channel, instructions=r.instructions
    )


def shop_info(
    s: Shop | None,
    tokens: AccessTokens | None = None,
    rate_limit_seen: Callable[[RateLimitStatus], None] | None = None,
    cache: ShopCache | None = None,
) -> ShopInfo | None:
    """The shop as a plugin sees it; ``tokens`` (a ``shop_tokens.TokenKeeper``) renews its token on the way,
    ``rate_limit_seen`` hears each answer's rate-limit bucket (``shop_health``), ``cache`` is the shop's own
    key/value cache (``shop_cache``)."""
    if s is None:
        return None
    return ShopInfo(
        id=s.id,
        domain=s.domain,
        api_base_url=s.api_base_url,
        access_token=s.access_token,
        api_version=s.api_version,
        tokens=tokens,
        rate_limit_seen=rate_limit_seen,
        cache=cache,
    )
