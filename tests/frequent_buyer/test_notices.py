"""Frequent-buyer notices by email: denials after a POS import, a credited batch, the distributors' daily
digest of New Rewards; each switched off per user, never sent twice, never to another retailer or distributor."""

from __future__ import annotations

import email
from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import distribution as dist
from connector.core.frequent_buyer.notice_tables import FbNotice
from connector.core.frequent_buyer.notices import (
    NoticeKind,
    notice_preferences,
    run_notices,
    set_notice_preferences,
)
from connector.core.model import Role
from connector.core.users import create_user
from tests.frequent_buyer.conftest import import_cards, make_card

MIXED = {"purchases": [("KIB-4", 5), ("WT-5", 5)]}


def _user(rt, email_: str, role: Role, **scope: int) -> int:
    with transaction(rt.sessions) as s:
        return create_user(s, email=email_, name=email_, password="pw-long-enough-1", role=role, scrypt_n=2, **scope).id


@pytest.fixture
def users(rt, fb_world):
    return {
        "paws": _user(rt, "owner@paws.example", Role.RETAILER, retailer_id=fb_world.retailer_id),
        "paws_quiet": _user(rt, "quiet@paws.example", Role.RETAILER, retailer_id=fb_world.retailer_id),
        "bark": _user(rt, "owner@bark.example", Role.RETAILER, retailer_id=fb_world.other_retailer_id),
        "nw": _user(rt, "ops@nw.example", Role.DISTRIBUTOR, distributor_id=fb_world.distributor_id),
        "nw_quiet": _user(rt, "quiet@nw.example", Role.DISTRIBUTOR, distributor_id=fb_world.distributor_id),
        "columbia": _user(rt, "ops@columbia.example", Role.DISTRIBUTOR, distributor_id=fb_world.other_distributor_id),
    }


def _self(email_: str, role: Role) -> Actor:
    return Actor(f"user:{email_}", role)


def _mail(rt) -> list[tuple[str, str, str]]:
    out = []
    for path in sorted(rt.settings.outbox_dir.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes())
        out.append((msg["To"], msg["Subject"], msg.get_payload(decode=True).decode()))
    return out


def _to(rt, address: str) -> list[tuple[str, str]]:
    return [(subject, body) for to, subject, body in _mail(rt) if to == address]


def test_retailer_users_get_each_reports_denials_once_and_never_another_retailers(rt, fb_world, actors, users):
    set_notice_preferences(rt, _self("quiet@paws.example", Role.RETAILER), users["paws_quiet"], {"denials": False})
    cards = [make_card("001-OK"), make_card("001-MIX", name="Mia Mixer", phone="2065550142", **MIXED)]
    import_cards(rt, actors.platform_admin, fb_world.retailer_id, cards, filename="june.csv")
    got = _to(rt, "owner@paws.example")
    assert len(got) == 1
    subject, body = got[0]
    assert subject == "1 denied redemption(s) in your POS report june.csv"
    assert "Card 001-MIX" in body and "Multiple Brands on the Card" in body and "Mia Mixer" in body
    assert "What to do: Keep a separate card per brand" in body and "001-OK" not in body
    assert _to(rt, "quiet@paws.example") == []  # switched off
    assert _to(rt, "owner@bark.example") == []  # another retailer's denials
    run_notices(rt)  # a re-run (or a retried job) sends nothing twice
    import_cards(rt, actors.platform_admin, fb_world.retailer_id, cards, filename="june.csv")  # the same file again
    assert len(_to(rt, "owner@paws.example")) == 1
    bark = make_card("B1-MIX", store="B1", name="Bo Barker", **MIXED)
    import_cards(rt, actors.platform_admin, fb_world.other_retailer_id, [bark], filename="bark.csv")
    bark_mail = _to(rt, "owner@bark.example")
    assert len(bark_mail) == 1 and "Bo Barker" in bark_mail[0][1] and "Mia Mixer" not in bark_mail[0][1]
    assert len(_to(rt, "owner@paws.example")) == 1


def test_a_report_without_denials_sends_nothing(rt, fb_world, actors, users):
    import_cards(rt, actors.platform_admin, fb_world.retailer_id, [make_card("001-OK")])
    run_notices(rt)
    assert _mail(rt) == []


def _free_goods(rt, fb_world, actors, retailer_id, *cards):
    import_cards(rt, actors.platform_admin, retailer_id, list(cards))
    with rt.sessions() as s:
        from connector.core.frequent_buyer.tables import FreeGood

        return list(s.scalars(select(FreeGood.id).where(FreeGood.retailer_id == retailer_id).order_by(FreeGood.id)))


def test_retailer_users_hear_once_when_a_batch_is_credited(rt, fb_world, actors, users):
    goods = _free_goods(rt, fb_world, actors, fb_world.retailer_id, make_card("001-C1"), make_card("001-C2"))
    set_notice_preferences(rt, _self("quiet@paws.example", Role.RETAILER), users["paws_quiet"], {"credited": False})
    batch = dist.create_batch(rt, actors.distributor, goods, "Week 24")
    assert _mail(rt) == []  # batching is not crediting
    dist.mark_batch_fulfilled(rt, actors.distributor, batch.id)
    got = _to(rt, "owner@paws.example")
    assert [s for s, _ in got] == [f"Batch {batch.id} from Northwest Pet Supply was credited"]
    assert "2 free good(s), 2 item(s)" in got[0][1]
    run_notices(rt)
    run_notices(rt)
    assert len(_to(rt, "owner@paws.example")) == 1
    assert _to(rt, "quiet@paws.example") == [] and _to(rt, "owner@bark.example") == []
    assert "credit memo" not in got[0][1].split("Compare")[0]  # none recorded: none named


def test_the_credited_notice_names_the_credit_memo_the_distributor_recorded(rt, fb_world, actors, users):
    goods = _free_goods(rt, fb_world, actors, fb_world.retailer_id, make_card("001-C1"))
    batch = dist.create_batch(rt, actors.distributor, goods, "Week 25")
    dist.mark_batch_fulfilled(
        rt, actors.distributor, batch.id, credit_memo_number="CM-5521", credit_memo_amount="1250.50"
    )
    [(_, body)] = _to(rt, "owner@paws.example")
    assert "The distributor recorded credit memo CM-5521 for $1,250.50." in body


def test_distributors_get_one_digest_of_yesterdays_new_rewards(rt, fb_world, actors, users):
    _free_goods(rt, fb_world, actors, fb_world.retailer_id, make_card("001-C1"), make_card("001-C2"))
    _free_goods(rt, fb_world, actors, fb_world.other_retailer_id, make_card("B1-C1", store="B1", name="Bo"))
    set_notice_preferences(
        rt, _self("quiet@nw.example", Role.DISTRIBUTOR), users["nw_quiet"], {"new_rewards_digest": False}
    )
    run_notices(rt)
    assert _to(rt, "ops@nw.example") == []  # today is not over yet
    real_now = rt.now
    rt.now = lambda: real_now() + timedelta(days=1)
    run_notices(rt)
    run_notices(rt)  # a re-run of the day's digest
    nw = _to(rt, "ops@nw.example")
    assert len(nw) == 1
    subject, body = nw[0]
    assert subject.startswith("2 New Reward(s) on ")
    assert "Paws Corner, Acme Kibble Buy 10 Get 1: 2 New Reward(s)" in body and "Bark Avenue" not in body
    columbia = _to(rt, "ops@columbia.example")
    assert len(columbia) == 1 and "Bark Avenue" in columbia[0][1] and "Paws Corner" not in columbia[0][1]
    assert _to(rt, "quiet@nw.example") == []


class _Refusing:
    def send(self, to: str, subject: str, body: str) -> None:
        raise ConnectionRefusedError("mail server down")


def test_a_refused_send_is_kept_and_sent_once_later(rt, fb_world, actors, users):
    working = rt.mailer
    rt.mailer = _Refusing()
    import_cards(rt, actors.platform_admin, fb_world.retailer_id, [make_card("001-MIX", **MIXED)])
    with rt.sessions() as s:
        row = s.scalars(select(FbNotice).where(FbNotice.user_id == users["paws"])).one()
        assert (row.sent_at, row.attempts, row.last_error) == (None, 1, "mail server down")
    rt.mailer = working
    run_notices(rt)
    run_notices(rt)
    assert len(_to(rt, "owner@paws.example")) == 1


def test_preferences_are_per_user_and_only_for_their_role(rt, fb_world, users):
    me = _self("owner@paws.example", Role.RETAILER)
    prefs = notice_preferences(rt, me, users["paws"])
    assert [(p.kind, p.enabled) for p in prefs.preferences] == [(NoticeKind.DENIALS, True), (NoticeKind.CREDITED, True)]
    after = set_notice_preferences(rt, me, users["paws"], {"credited": False})
    assert [(p.kind.value, p.enabled) for p in after.preferences] == [("denials", True), ("credited", False)]
    quiet = notice_preferences(rt, _self("quiet@paws.example", Role.RETAILER), users["paws_quiet"])
    assert [p.enabled for p in quiet.preferences] == [True, True]  # stored per user
    again = set_notice_preferences(rt, me, users["paws"], {"credited": True})
    assert all(p.enabled for p in again.preferences)
    with pytest.raises(ValidationError) as wrong:
        set_notice_preferences(rt, me, users["paws"], {"new_rewards_digest": False})
    assert "new_rewards_digest" in wrong.value.fields
    with pytest.raises(PermissionDeniedError):  # another user's preferences: only user managers
        set_notice_preferences(rt, me, users["bark"], {"denials": False})
    bark = notice_preferences(rt, _self("owner@bark.example", Role.RETAILER), users["bark"])
    assert all(p.enabled for p in bark.preferences)
    admin = Actor("test:platform", Role.PLATFORM_ADMIN)
    assert set_notice_preferences(rt, admin, users["bark"], {"denials": False}).preferences[0].enabled is False
    with pytest.raises(NotFoundError):
        notice_preferences(rt, admin, 999_999)
