"""The brand side: direct- and retailer-fulfilled free goods (Owed → Credited) and the batches distributors
grouped for MFG credit, per role; a second brand's admin sees and changes nothing of the first's."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import update

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import IllegalTransitionError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import distribution as d
from connector.core.frequent_buyer.brand_fulfilment import BrandSection, brand_fulfilment, mark_direct_credited
from connector.core.frequent_buyer.tables import FreeGood
from connector.core.model import Role
from tests.frequent_buyer.distribution_fixtures import events, make_free_good, snapshot, statuses


def _zeta_admin(m) -> Actor:
    return Actor("zeta-admin", Role.BRAND_ADMIN, brand_id=m.zeta)


def _retailer_fulfilled(rt, m, **kwargs) -> int:
    good = make_free_good(rt, m, direct=True, **kwargs)
    with transaction(rt.sessions) as s:
        s.execute(update(FreeGood).where(FreeGood.id == good).values(fulfilment_type="retailer"))
    return good


def _ids(view) -> list[int]:
    return [g.id for g in view.free_goods]


def test_the_brand_sees_what_its_direct_and_retailer_programs_owe_and_nothing_else(rt, m):
    direct = make_free_good(rt, m, direct=True, unit_cost="4.00", quantity=2)
    retailer = _retailer_fulfilled(rt, m, unit_cost="1.50")
    make_free_good(rt, m)  # distributor-fulfilled: the Distributor Portal's, not listed here
    view = brand_fulfilment(rt, m.acme_admin)
    assert (view.brand_id, view.section) == (m.acme, BrandSection.OWED)
    assert _ids(view) == [retailer, direct]  # newest first
    assert [g.program_id for g in view.free_goods] == [m.acme_direct, m.acme_direct]
    owed = view.counts[BrandSection.OWED]
    assert (owed.free_goods, owed.quantity, owed.approximate_cost) == (2, 3, Decimal("9.50"))
    only_retailer = brand_fulfilment(rt, m.acme_admin, fulfilment_type="retailer")
    assert _ids(only_retailer) == [retailer]
    with pytest.raises(ValidationError) as bad:
        brand_fulfilment(rt, m.acme_admin, fulfilment_type="distributor")
    assert "fulfilment_type" in bad.value.fields


def test_marking_credited_moves_owed_to_credited_once_with_an_event(rt, m):
    goods = [make_free_good(rt, m, direct=True) for _ in range(2)]
    assert mark_direct_credited(rt, m.acme_admin, goods, "cheque 5521") == goods
    assert statuses(rt, goods) == {g: ("credited", None) for g in goods}
    view = brand_fulfilment(rt, m.acme_admin, section="credited")
    assert _ids(view) == sorted(goods, reverse=True) and view.counts[BrandSection.OWED].free_goods == 0
    [event] = events(rt, "free_good", goods[0])
    assert (event.event, event.from_status, event.to_status, event.actor, event.detail) == (
        "credit_direct",
        "unbatched",
        "credited",
        "acme-admin",
        "credited by the manufacturer: cheque 5521",
    )
    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError):  # nothing happens twice
        mark_direct_credited(rt, m.acme_admin, goods)
    assert snapshot(rt) == before


def test_a_distributor_free_good_is_not_credited_here_and_nothing_changes(rt, m):
    direct = make_free_good(rt, m, direct=True)
    theirs = make_free_good(rt, m)
    before = snapshot(rt)
    with pytest.raises(ValidationError) as refused:
        mark_direct_credited(rt, m.admin, [direct, theirs])
    assert f"free goods {theirs} are distributor-fulfilled" in refused.value.fields["free_good_ids"]
    assert snapshot(rt) == before


def test_another_brand_neither_sees_nor_credits_the_first_brands_free_goods(rt, m):
    direct = make_free_good(rt, m, direct=True)
    zeta = _zeta_admin(m)
    assert brand_fulfilment(rt, zeta).free_goods == []
    assert all(c.free_goods == 0 for c in brand_fulfilment(rt, zeta).counts.values())
    with pytest.raises(NotFoundError):
        brand_fulfilment(rt, zeta, brand_id=m.acme)
    before = snapshot(rt)
    with pytest.raises(NotFoundError):
        mark_direct_credited(rt, zeta, [direct])
    assert snapshot(rt) == before


def test_who_reads_and_who_credits(rt, m):
    direct = make_free_good(rt, m, direct=True)
    for actor in (m.north_user, m.paws_user):
        with pytest.raises(PermissionDeniedError):
            brand_fulfilment(rt, actor)
    for actor in (m.north_user, m.paws_user, m.support):
        with pytest.raises(PermissionDeniedError):
            mark_direct_credited(rt, actor, [direct])
    assert _ids(brand_fulfilment(rt, m.support)) == [direct]
    assert _ids(brand_fulfilment(rt, m.admin, brand_id=m.acme)) == [direct]
    assert brand_fulfilment(rt, m.admin, brand_id=m.zeta).free_goods == []
    assert mark_direct_credited(rt, m.admin, [direct]) == [direct]


def test_the_brand_sees_the_batches_its_distributors_grouped_for_mfg_credit_with_its_own_totals(rt, m):
    acme = make_free_good(rt, m, unit_cost="5.00")
    zeta = make_free_good(rt, m, sku="ZETA-3LB", unit_cost="7.00")
    batch = d.create_batch(rt, m.north_user, [acme, zeta], "Week 24")
    d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    group = d.group_for_mfg_credit(rt, m.north_user, [batch.id], "June claim")
    [seen] = brand_fulfilment(rt, m.acme_admin).mfg_groups
    assert (seen.id, seen.description, seen.distributor_id, [b.id for b in seen.batches]) == (
        group.id,
        "June claim",
        m.north,
        [batch.id],
    )
    assert (seen.free_goods, seen.approximate_cost) == (1, Decimal("5.00"))  # the Acme free good only
    [zeta_view] = brand_fulfilment(rt, _zeta_admin(m)).mfg_groups
    assert (zeta_view.free_goods, zeta_view.approximate_cost) == (1, Decimal("7.00"))
    assert brand_fulfilment(rt, m.admin).mfg_groups[0].free_goods == 2


# -- API and CLI -------------------------------------------------------------------------------------------------


def _token(rt, name, role, **scope):
    from connector.core import catalog

    with transaction(rt.sessions) as s:
        if "brand_id" in scope:
            from connector.core.tables import Brand

            scope = {"brand": s.get(Brand, scope.pop("brand_id"))}
        _, plain = catalog.create_api_token(s, name, role, **scope)
    return {"Authorization": f"Bearer {plain}"}


def test_api_lists_and_credits_within_the_brand(rt, m):
    from connector.app import create_app

    client = create_app(settings=rt.settings, runtime=rt).test_client()
    acme = _token(rt, "acme", Role.BRAND_ADMIN, brand_id=m.acme)
    zeta = _token(rt, "zeta", Role.BRAND_ADMIN, brand_id=m.zeta)
    north = _token(rt, "north", Role.DISTRIBUTOR, distributor_id=m.north)
    direct = make_free_good(rt, m, direct=True, unit_cost="4.00")

    page = client.get("/api/v1/brand/fulfilment", headers=acme)
    assert page.status_code == 200, page.get_json()
    body = page.get_json()
    assert (body["brand_id"], body["section"], [g["id"] for g in body["free_goods"]]) == (m.acme, "owed", [direct])
    assert body["sections"][0] == {
        "section": "owed",
        "title": "Owed",
        "free_goods": 1,
        "quantity": 1,
        "approximate_cost": "4.00",
    }
    assert client.get("/api/v1/brand/fulfilment", headers=zeta).get_json()["free_goods"] == []
    assert client.get(f"/api/v1/brand/fulfilment?brand_id={m.acme}", headers=zeta).status_code == 404
    assert client.get("/api/v1/brand/fulfilment", headers=north).status_code == 403
    assert client.get("/api/v1/brand/fulfilment?section=unbatched", headers=acme).status_code == 422

    credit = "/api/v1/brand/free-goods/credit"
    assert client.post(credit, json={"free_good_ids": [direct]}, headers=zeta).status_code == 404
    assert client.post(credit, json={"free_good_ids": [direct]}, headers=north).status_code == 403
    assert statuses(rt, [direct]) == {direct: ("unbatched", None)}
    done = client.post(credit, json={"free_good_ids": [direct], "note": "ACH 77"}, headers=acme)
    assert done.status_code == 200 and done.get_json() == {"free_good_ids": [direct]}
    again = client.post(credit, json={"free_good_ids": [direct]}, headers=acme)
    assert again.status_code == 409
    credited = client.get("/api/v1/brand/fulfilment?section=credited", headers=acme).get_json()
    assert [g["id"] for g in credited["free_goods"]] == [direct]


def test_cli_shows_and_credits(rt, m, monkeypatch):
    from click.testing import CliRunner

    from connector.commands.distribution import distribution

    monkeypatch.setattr("connector.commands.distribution._runtime", lambda: rt)
    runner = CliRunner()
    direct = make_free_good(rt, m, direct=True, unit_cost="4.00")
    shown = runner.invoke(distribution, ["brand", "--brand", str(m.acme)])
    assert shown.exit_code == 0, shown.output
    assert "Owed: 1 free goods, quantity 1, approx. $4.00" in shown.output and f"{direct}\t" in shown.output
    other = runner.invoke(distribution, ["brand-credit", str(direct), "--as-brand", str(m.zeta)])
    assert other.exit_code == 1 and "not found" in other.output
    done = runner.invoke(distribution, ["brand-credit", str(direct), "--as-brand", str(m.acme), "--note", "ACH"])
    assert done.exit_code == 0 and done.output.strip() == f"credited 1 free good: {direct}"
    assert statuses(rt, [direct]) == {direct: ("credited", None)}
