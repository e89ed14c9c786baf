"""``connector rebates``: the distributor's rebate batch flow from the shell, refusals and the second distributor."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from connector.commands.rebates import rebates
from tests.frequent_buyer.rebate_fixtures import rebate_rows, seed_rebates


@pytest.fixture
def cli(rt):
    runner = CliRunner()

    def run(*args: object):
        return runner.invoke(rebates, [str(a) for a in args], obj=rt, catch_exceptions=False)

    return run


@pytest.fixture
def rw(rt, fb_world):
    return seed_rebates(rt, fb_world)


def test_the_rebate_batch_flow_from_the_shell(cli, fb_world, rw):
    nw, paws = fb_world.distributor_id, fb_world.retailer_id
    out = cli("sections", "--distributor", nw)
    assert out.exit_code == 0 and "Unbatched Rebates\t3" in out.output
    made = cli("batch", "--distributor", nw, "--retailer", paws, "--description", "June", *rw.paws[:2])
    assert made.exit_code == 0, made.output
    assert "2 rebates, 10.00, unfulfilled" in made.output
    batch_id = int(made.output.split()[2])
    declined = cli("decline", rw.paws[2], "--reason", "no receipt", "--distributor", nw)
    assert f"rebates {rw.paws[2]} are now declined" in declined.output
    credited = cli("credit", batch_id, "--note", "CM-1", "--distributor", nw)
    assert credited.exit_code == 0 and "credited: 2 rebates, 10.00" in credited.output
    seen = cli("batches", "--retailer", paws)
    assert f"{batch_id}\tfulfilled\tNorthwest Pet Supply\tPaws Corner\tJune\t2 rebates\t10.00" in seen.output


def test_a_refused_move_exits_1_with_the_reason_and_changes_nothing(cli, rt, fb_world, rw):
    before = rebate_rows(rt)
    res = cli("release", rw.paws[0], "--distributor", fb_world.distributor_id)
    assert res.exit_code == 1
    assert "cannot release rebates that are not declined" in res.output
    assert rebate_rows(rt) == before


def test_a_second_distributor_cannot_batch_the_first_s_rebates(cli, rt, fb_world, rw):
    before = rebate_rows(rt)
    res = cli(
        "batch", "--distributor", fb_world.other_distributor_id, "--retailer", fb_world.retailer_id,
        "--description", "steal", rw.paws[0],
    )  # fmt: skip
    assert res.exit_code == 1 and "not found" in res.output
    assert rebate_rows(rt) == before
    listed = cli("list", "unbatched-rebates", "--distributor", fb_world.other_distributor_id)
    assert "Unbatched Rebates: 1" in listed.output
