"""Correcting a member through ``core.member_edit``: the plugins' own rules, the timeline, Save and retry.

The Shopify plugin answers ``connector_check_member`` and fulfils against the simulator over real HTTP
(the test runtime runs jobs inline), so "fix the member, retry, fulfilled" is the real path.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from connector.core import member_edit
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.runtime import Runtime
from connector.core.snapshots import member_info
from connector.core.tables import Member, Redemption, RedemptionEventRow
from tests.conftest import World

SUPPORT = Actor("user:sam@support.example", Role.SUPPORT)


def set_member(rt: Runtime, member_id: int, **values: object) -> None:
    with transaction(rt.sessions) as s:
        m = s.get(Member, member_id)
        for name, value in values.items():
            setattr(m, name, value)


def redemption(rt: Runtime, redemption_id: int) -> Redemption:
    with rt.sessions() as s:
        r = s.get(Redemption, redemption_id)
        assert r is not None
        s.expunge(r)
        return r


def member(rt: Runtime, member_id: int) -> Member:
    with rt.sessions() as s:
        m = s.get(Member, member_id)
        assert m is not None
        s.expunge(m)
        return m


def failed_claim(rt: Runtime, world: World) -> int:
    """A claim that fails on the member's city (digits in it): crm_id_not_found, field city."""
    set_member(rt, world.member.id, city="Ottawa 5")
    rid = create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id).redemption.id
    r = redemption(rt, rid)
    assert (r.status, r.error_code, r.error_field) == ("error", "crm_id_not_found", "city")
    return rid


@pytest.mark.hook("connector_check_member")
def test_the_check_is_the_plugins_own_validation_word_for_word(rt: Runtime, world: World):
    set_member(rt, world.member.id, city="Ottawa 5", zip="")
    with rt.sessions() as s:
        info = member_info(s.get(Member, world.member.id))  # type: ignore[arg-type]
    found = rt.plugins.hook.connector_check_member(member=info, channel="shopify", ctx=rt.hook_context("shopify"))
    # The zip is empty: Shopify's fulfilment reports the missing field first, exactly as here.
    assert [(p.code, p.fields) for p in found] == [("missing_user_information", ("zip",))]
    assert "ZIP/postal code is empty" in found[0].message
    email = rt.plugins.hook.connector_check_member(
        member=info.__class__(**{**vars(info), "email": None}), channel="email", ctx=rt.hook_context("email")
    )
    assert [(p.code, p.fields) for p in email] == [("missing_user_information", ("email",))]
    assert (
        rt.plugins.hook.connector_check_member(member=info, channel="carrier-pigeon", ctx=rt.hook_context("x")) is None
    )


def test_fix_the_member_then_save_and_retry_fulfils_and_the_timeline_names_who_and_what(rt: Runtime, world: World):
    rid = failed_claim(rt, world)
    result = member_edit.update_member(rt, SUPPORT, world.member.id, {"city": "Ottawa"}, retry=True)
    assert result.changed == ("city",)
    assert result.retried == (rid,)
    r = redemption(rt, rid)
    assert r.status == "fulfilled" and r.external_order_id
    with rt.sessions() as s:
        events = s.scalars(select(RedemptionEventRow).where(RedemptionEventRow.redemption_id == rid)).all()
        kinds = [(e.kind, e.actor) for e in events]
        edited = next(e for e in events if e.kind == "member_updated")
    assert ("member_updated", SUPPORT.name) in kinds and ("retried", SUPPORT.name) in kinds
    assert edited.message == "member details changed: city" and "Ottawa" not in edited.message  # names, not values
    # A second Save and retry finds nothing left to retry: the order is not made twice.
    again = member_edit.update_member(rt, SUPPORT, world.member.id, {"city": "Ottawa"}, retry=True)
    assert again.changed == () and again.retried == ()
    assert redemption(rt, rid).external_order_id == r.external_order_id


def test_a_malformed_value_is_refused_with_the_plugins_message_and_nothing_is_stored(rt: Runtime, world: World):
    rid = failed_claim(rt, world)
    before = member(rt, world.member.id)
    with pytest.raises(ValidationError) as refused:
        member_edit.update_member(rt, SUPPORT, world.member.id, {"city": "Ottawa", "phone": "call me"}, retry=True)
    assert refused.value.fields == {"phone": "phone contains letters: enter digits only, e.g. +16135550142"}
    assert "phone contains letters: enter digits only" in refused.value.message
    after = member(rt, world.member.id)
    assert (after.city, after.phone) == (before.city, before.phone) == ("Ottawa 5", "+16135550142")
    assert redemption(rt, rid).status == "error"


def test_too_long_and_bad_dates_are_refused_per_field(rt: Runtime, world: World):
    with pytest.raises(ValidationError) as refused:
        member_edit.update_member(rt, SUPPORT, world.member.id, {"country_code": "Canada", "date_of_birth": "10/12/90"})
    assert set(refused.value.fields) == {"country_code", "date_of_birth"}
    assert "two-letter ISO code" in refused.value.fields["country_code"]
    assert "YYYY-MM-DD" in refused.value.fields["date_of_birth"]
    assert member(rt, world.member.id).country_code == "CA"
    with pytest.raises(ValidationError) as nul:  # PostgreSQL refuses NUL in text: a clear 422 first
        member_edit.update_member(rt, SUPPORT, world.member.id, {"city": "Ott\x00awa"})
    assert nul.value.fields == {"city": "city contains invisible control characters: remove them"}
    with pytest.raises(ValidationError) as unknown:
        member_edit.update_member(rt, SUPPORT, world.member.id, {"shop_customer_id": "gid://x"})
    assert unknown.value.fields == {"shop_customer_id": "not an editable member field"}


def test_an_empty_required_field_is_saved_with_a_warning_and_its_redemption_is_not_retried(rt: Runtime, world: World):
    rid = failed_claim(rt, world)
    result = member_edit.update_member(rt, SUPPORT, world.member.id, {"city": "Ottawa", "zip": ""}, retry=True)
    assert result.changed == ("city", "zip")
    assert [(w.channel, w.problem.code) for w in result.warnings] == [("shopify", "missing_user_information")]
    assert result.retried == () and "ZIP/postal code" in result.still_blocked[rid]
    assert member(rt, world.member.id).zip is None
    assert redemption(rt, rid).status == "error"


def test_a_save_that_does_not_touch_the_errors_field_does_not_retry_it(rt: Runtime, world: World):
    rid = failed_claim(rt, world)
    with pytest.raises(ValidationError):  # the city is still wrong: refused, as the plugin would
        member_edit.update_member(rt, SUPPORT, world.member.id, {"date_of_birth": date(1991, 1, 1)}, retry=True)
    set_member(rt, world.member.id, city="Ottawa")  # fixed behind the form's back (a CSV import)
    result = member_edit.update_member(rt, SUPPORT, world.member.id, {"date_of_birth": "1991-01-01"}, retry=True)
    assert result.retried == () and "city" in result.still_blocked[rid]


def test_roles_and_brands(rt: Runtime, world: World):
    viewer = Actor("user:vic", Role.VIEWER, brand_id=world.brand.id)
    with pytest.raises(PermissionDeniedError):
        member_edit.update_member(rt, viewer, world.member.id, {"city": "Ottawa"})
    other_admin = Actor("user:oscar", Role.BRAND_ADMIN, brand_id=world.other_brand.id)
    with pytest.raises(NotFoundError):
        member_edit.update_member(rt, other_admin, world.member.id, {"city": "Hull"})
    admin = Actor("user:bea", Role.BRAND_ADMIN, brand_id=world.brand.id)
    assert member_edit.update_member(rt, admin, world.member.id, {"city": "Kanata"}).changed == ("city",)
    assert member(rt, world.member.id).city == "Kanata"
