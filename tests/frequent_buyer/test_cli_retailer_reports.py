"""``connector reports``: the retailer reports from the shell, through the same core read model."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from connector.commands.retailer_reports import reports
from tests.frequent_buyer.test_retailer_reports import reported  # noqa: F401  (the fixture)


def _run(rt, *args: str):
    return CliRunner().invoke(reports, list(args), obj=rt, catch_exceptions=False)


def test_participation_detail_redemptions_and_export_from_the_shell(rt, reported, tmp_path):  # noqa: F811
    out = _run(rt, "participation", "--retailer", "paws-corner", "--json")
    assert out.exit_code == 0, out.output
    total = json.loads(out.output)[-1]
    assert (total["program"], total["cards_punched"], total["rewards_redeemed"]) == ("All programs", 3, 2)
    detail = _run(rt, "detail", "customers", "--retailer", "paws-corner", "--program-id", str(reported.kibble_id))
    assert detail.output.splitlines() == ["Customer\tCards punched\tItems sold", "Dana Smith\t2\t20"]
    lines = _run(rt, "redemptions", "--retailer", "paws-corner", "--from", "2026-06-15", "--to", "2026-06-15")
    assert "Multiple Brands on the Card" in lines.output
    target = tmp_path / "tx.csv"
    wrote = _run(rt, "transactions", "--retailer", "paws-corner", "--output", str(target))
    assert wrote.exit_code == 0, wrote.output
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert {r["Customer Name"] for r in rows} == {"Dana Smith", "Lee Park"}
    assert f"wrote {len(rows)} lines" in wrote.output


def test_a_bad_range_or_unknown_location_is_a_clear_error(rt, reported):  # noqa: F811
    bad = _run(rt, "participation", "--retailer", "paws-corner", "--from", "2026-07-01", "--to", "2026-06-01")
    assert bad.exit_code != 0 and "date_to" in bad.output
    other = _run(rt, "redemptions", "--retailer", "paws-corner", "--location-id", str(reported.store_b1_id))
    assert other.exit_code != 0 and "not found" in other.output


def test_notices_from_the_shell(rt, fb_world, actors):
    from connector.commands.retailer_reports import notices
    from connector.core.database import transaction
    from connector.core.model import Role
    from connector.core.users import create_user
    from tests.frequent_buyer.conftest import import_cards, make_card

    with transaction(rt.sessions) as s:
        create_user(s, email="owner@paws.example", name="Owner", password="pw-long-enough-1", role=Role.RETAILER,
                    retailer_id=fb_world.retailer_id, scrypt_n=2)  # fmt: skip
    runner = CliRunner()
    off = runner.invoke(notices, ["set", "--user", "OWNER@paws.example", "--off", "denials"], obj=rt)
    assert off.exit_code == 0 and off.output.splitlines()[0].startswith("denials\toff"), off.output
    import_cards(rt, actors.platform_admin, fb_world.retailer_id, [make_card(purchases=[("KIB-4", 5), ("WT-5", 5)])])
    assert list(rt.settings.outbox_dir.glob("*.eml")) == []
    wrong = runner.invoke(notices, ["set", "--user", "owner@paws.example", "--off", "new_rewards_digest"], obj=rt)
    assert wrong.exit_code != 0 and "new_rewards_digest" in wrong.output
    runner.invoke(notices, ["set", "--user", "owner@paws.example", "--on", "denials"], obj=rt)
    sent = runner.invoke(notices, ["send"], obj=rt)
    assert sent.output.strip() == "notices: 1 written, 1 sent, 0 could not be sent (tried again later)"
    again = runner.invoke(notices, ["send"], obj=rt)
    assert again.output.strip() == "notices: 0 written, 0 sent, 0 could not be sent (tried again later)"
    assert len(list(rt.settings.outbox_dir.glob("*.eml"))) == 1
