"""The built-in email channel: the reward's instructions reach the member; problems say how to fix them."""

from __future__ import annotations

from email import message_from_bytes, policy

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.tables import Member, Redemption
from tests.conftest import seed_world

SUPPORT = Actor("support", Role.SUPPORT)


def _email_reward(rt, w, instructions: str) -> int:
    with transaction(rt.sessions) as s:
        return catalog.add_reward(
            s,
            s.merge(w.brand),
            name="Gift Card",
            sku="GIFT-10",
            points_cost=100,
            channel="email",
            instructions=instructions,
        ).id


def _redeem(rt, w, reward_id) -> Redemption:
    rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=reward_id).redemption.id
    with rt.sessions() as s:
        return s.get(Redemption, rid)


def test_email_channel_sends_instructions_and_is_fulfilled_without_delivery_tracking(make_runtime):
    rt = make_runtime()
    w = seed_world(rt)
    r = _redeem(rt, w, _email_reward(rt, w, "Your code: GIFT-ABCD-1234"))
    assert r.status == "fulfilled" and r.delivery_status is None and r.external_order_id is None
    mails = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in rt.settings.outbox_dir.glob("*.eml")]
    rewards = [m for m in mails if m["Subject"] == "Your reward: Gift Card"]
    assert len(rewards) == 1 and rewards[0]["To"] == "ada@example.com"
    assert "GIFT-ABCD-1234" in rewards[0].get_content()


def test_email_channel_without_instructions_or_address_is_an_error_with_a_fix(make_runtime):
    rt = make_runtime()
    w = seed_world(rt)
    r = _redeem(rt, w, _email_reward(rt, w, "  "))
    assert (r.status, r.error_code, r.error_field) == ("error", "reward_instructions_missing", "instructions")
    with transaction(rt.sessions) as s:
        s.get(Member, w.member.id).email = None
    r = _redeem(rt, w, _email_reward(rt, w, "code"))
    assert (r.status, r.error_code) == ("error", "missing_user_information")
    assert "email address" in r.error_fix
