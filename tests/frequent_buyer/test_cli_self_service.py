"""``connector fb`` self-service commands: account numbers, changing distributor, a distributor's programs and
area; acting as a retailer or distributor keeps that party's scope (another's is "not found", nothing changes)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from connector.commands.fb_self_service import fb
from connector.core.frequent_buyer import programs


@pytest.fixture
def cli(rt):
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(fb, list(args), obj=rt)

    return run


def test_cli_account_number_and_its_changes(cli, rt, fb_world):
    eid = str(fb_world.kibble_enrollment_id)
    done = cli("account-number", eid, "NW-1", "--as-retailer", str(fb_world.retailer_id))
    assert done.exit_code == 0, done.output
    assert done.output.strip().endswith("with Northwest Pet Supply, account NW-1")
    refused = cli("account-number", eid, "BARK", "--as-retailer", str(fb_world.other_retailer_id))
    assert refused.exit_code == 1 and f"enrollment {eid} not found" in refused.output
    listing = cli("account-number-changes", "--as-distributor", str(fb_world.distributor_id))
    assert listing.exit_code == 0 and listing.output.splitlines()[1].split("\t")[4:6] == ["", "NW-1"]
    assert (
        len(cli("account-number-changes", "--as-distributor", str(fb_world.other_distributor_id)).output.splitlines())
        == 1
    )
    assert programs.get_enrollment(rt, fb_world.actors.support, fb_world.kibble_enrollment_id).account_number == "NW-1"


def test_cli_enroll_with_an_account_number_and_change_distributor(cli, rt, fb_world):
    done = cli("enroll", "--retailer", str(fb_world.retailer_id), "--program", "WILD-8",
               "--distributor", str(fb_world.distributor_id), "--account-number", "NW-8")  # fmt: skip
    assert done.exit_code == 0 and done.output.strip().endswith("account NW-8"), done.output
    refused = cli("change-distributor", str(fb_world.kibble_enrollment_id), "--distributor",
                  str(fb_world.other_distributor_id))  # fmt: skip
    assert refused.exit_code == 1 and "does not serve" in refused.output
    area = cli("service-area", str(fb_world.other_distributor_id), "--states", "OR,WA",
               "--as-distributor", str(fb_world.other_distributor_id))  # fmt: skip
    assert area.exit_code == 0 and "serves OR, WA" in area.output
    moved = cli("change-distributor", str(fb_world.kibble_enrollment_id), "--distributor",
                str(fb_world.other_distributor_id), "--account-number", "C-2")  # fmt: skip
    assert moved.exit_code == 0 and "with Columbia Distributing, account C-2" in moved.output


def test_cli_distributor_programs_and_area_refuse_to_strand_or_reach_another(cli, rt, fb_world):
    def setup():
        d = programs.get_distributor(rt, fb_world.actors.support, fb_world.distributor_id)
        return d.program_ids, d.service_states

    before = setup()
    stranded = cli("distributor-programs", str(fb_world.distributor_id), "--program", "WILD-8",
                   "--as-distributor", str(fb_world.distributor_id))  # fmt: skip
    assert stranded.exit_code == 1 and "Paws Corner in 'Acme Kibble Buy 10 Get 1'" in stranded.output
    other = cli("service-area", str(fb_world.distributor_id), "--states", "OR",
                "--as-distributor", str(fb_world.other_distributor_id))  # fmt: skip
    assert other.exit_code == 1 and "not found" in other.output
    assert setup() == before
    done = cli("distributor-programs", str(fb_world.other_distributor_id), "--program", "ACME-KIBBLE",
               "--program", "WILD-8")  # fmt: skip
    assert done.exit_code == 0 and f"programs [{fb_world.kibble_id}, {fb_world.wild_id}]" in done.output
