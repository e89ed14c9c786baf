"""``connector pos`` and ``connector fb``: a demo world set up from the shell, reports imported and watched.

The groups are invoked with click's runner and the test runtime as context object (so the
test-only ``test-cards`` format is installed); ``connector.cli`` mounts them for users.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from connector.commands.frequent_buyer import fb, pos
from tests.frequent_buyer.conftest import cards_csv, make_card


@pytest.fixture
def cli(rt):
    runner = CliRunner()

    def run(group, *args: str):
        return runner.invoke(group, list(args), obj=rt, catch_exceptions=False)

    return run


PROGRAMS = {
    "programs": [
        {
            "brand": "Prairie Pets",
            "name": "Prairie Dog Buy 6 Get 1",
            "code": "PRAIRIE-6",
            "buy_quantity": 6,
            "starts_on": "2026-01-01",
            "items": [
                {"sku": "PD-5", "description": "Prairie Dog 5 lb", "size_value": 5, "size_unit": "lb"},
                {"sku": "PD-25", "description": "Prairie Dog 25 lb", "size_value": "25", "size_unit": "lbs"},
            ],
        }
    ]
}


def test_cli_sets_up_a_world_and_imports_a_report(cli, rt, tmp_path):
    programs_file = tmp_path / "programs.json"
    programs_file.write_text(json.dumps(PROGRAMS))
    created = cli(fb, "programs", "import", str(programs_file))
    assert created.exit_code == 0, created.output
    assert "Prairie Dog Buy 6 Get 1 (PRAIRIE-6, 2 items, prairie-pets)" in created.output
    again = cli(fb, "programs", "import", str(programs_file))
    assert again.exit_code == 0 and "skipped 'PRAIRIE-6' (prairie-pets)" in again.output
    assert "PRAIRIE-6\tPrairie Dog Buy 6 Get 1\tPrairie Pets\tbuy 6 get 1" in cli(fb, "programs", "list").output

    shop = cli(
        fb, "retailer", "--name", "Kansas Kibble", "--location", "7|Kansas Kibble Topeka|KS|66603|1 Main St|Topeka"
    )
    assert shop.exit_code == 0, shop.output
    assert "(kansas-kibble); 7 Kansas Kibble Topeka (KS 66603)" in shop.output
    far = cli(fb, "distributor", "--name", "Far Away Feed", "--states", "ME", "--program", "PRAIRIE-6")
    near = cli(
        fb, "distributor", "--name", "Plains Supply", "--states", "KS,NE", "--zips", "640", "--program", "prairie-6"
    )
    assert far.exit_code == 0 and near.exit_code == 0, near.output
    assert "serves KS, NE, 640*" in near.output

    refused = cli(
        fb, "enroll", "--retailer", "kansas-kibble", "--program", "PRAIRIE-6", "--distributor", "far-away-feed"
    )
    assert refused.exit_code == 1
    assert (
        "distributor_id: distributor 'Far Away Feed' does not serve 'Kansas Kibble Topeka' (KS 66603)" in refused.output
    )
    enrolled = cli(
        fb, "enroll", "--retailer", "kansas-kibble", "--program", "PRAIRIE-6", "--distributor", "plains-supply"
    )
    assert enrolled.exit_code == 0 and "in Prairie Dog Buy 6 Get 1 with Plains Supply" in enrolled.output

    report = tmp_path / "june.csv"
    report.write_bytes(
        cards_csv(
            [
                make_card("7-1", store="7", purchases=[("PD-5", 6)], free=[("PD-5", 1)]),
                make_card("7-2", store="7", purchases=[("PD-5", 6)], free=[("PD-25", 1)], phone="785550002"),
            ]
        )
    )
    args = ("import", str(report), "--retailer", "kansas-kibble", "--format", "test-cards")
    dry = cli(pos, *args, "--dry-run")
    assert dry.exit_code == 0 and dry.output.startswith("dry run of june.csv (2 cards, 5 rows) for Kansas Kibble")
    imported = cli(pos, *args)
    assert imported.exit_code == 0, imported.output
    lines = imported.output.splitlines()
    assert lines[0].startswith("imported report ") and lines[0].endswith("june.csv (2 cards, 5 rows) for Kansas Kibble")
    assert lines[1] == "  cards: 2 new, 0 replaced a denial, 0 already imported (skipped)"
    assert lines[2] == "  processed 1, quality check 0, denied 1 (Ineligible Free Good Size: 1)"
    assert lines[4] == (
        "  denied 7-2 (rows 4, 5): Ineligible Free Good Size: free good 'Prairie Dog 25 lb' (25 lb) is larger than the "
        "smallest purchase 'Prairie Dog 5 lb' (5 lb)"
    )
    assert "already imported as report" in cli(pos, *args).output

    status = cli(pos, "status", "--retailer", "kansas-kibble")
    assert status.exit_code == 0
    rows = [line.split("\t") for line in status.output.splitlines()]
    assert rows[0][4:] == ["new", "pending", "denied", "quality_check", "processed", "total"]
    assert rows[1][1:3] == ["Kansas Kibble", "june.csv"] and rows[1][4:] == ["0", "0", "1", "0", "1", "2"]
    assert rows[-1][0] == "total"


def test_cli_import_prints_every_problem_and_exits_1(cli, fb_world, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(cards_csv([make_card("A", store="001"), make_card("B", store="999"), make_card("C", store="77")]))
    result = cli(pos, "import", str(bad), "--retailer", "paws-corner", "--format", "test-cards")
    assert result.exit_code == 1
    assert "2 problem(s) in bad.csv; nothing was imported." in result.stderr
    assert "row 4, column 'store': got '999', expected a store code of retailer 'Paws Corner': 1, 2" in result.stderr
    assert "row 6, column 'store': got '77'" in result.stderr
    garbled = tmp_path / "garbled.csv"
    garbled.write_bytes(cards_csv([make_card("A")]).replace(b",10,", b",lots,"))
    parsed = cli(pos, "import", str(garbled), "--retailer", "paws-corner", "--format", "test-cards")
    assert parsed.exit_code == 1 and "row 2, column 'quantity': got 'lots', expected a whole number" in parsed.stderr


def test_cli_errors_name_what_to_fix(cli, fb_world, tmp_path):
    report = tmp_path / "r.csv"
    report.write_bytes(cards_csv([make_card("A")]))
    unknown = cli(pos, "import", str(report), "--retailer", "paws-corner", "--format", "excel")
    assert unknown.exit_code == 1 and "format: unknown format 'excel'; available: " in unknown.output
    assert "test-cards" in unknown.output
    nobody = cli(pos, "import", str(report), "--retailer", "nobody", "--format", "test-cards")
    assert nobody.exit_code == 1 and "retailer 'nobody' not found" in nobody.output
    bad_location = cli(fb, "retailer", "--name", "X", "--location", "1|only two")
    assert bad_location.exit_code == 2 and "STORE_CODE|NAME|STATE|ZIP" in bad_location.output
    bad_programs = tmp_path / "p.json"
    bad_programs.write_text(
        json.dumps(
            {
                "programs": [
                    {
                        **PROGRAMS["programs"][0],
                        "items": [{**PROGRAMS["programs"][0]["items"][0], "size_unit": "sacks"}],
                    }
                ]
            }
        )
    )
    failed = cli(fb, "programs", "import", str(bad_programs))
    assert failed.exit_code == 1 and "items.0.size_unit: unknown size unit 'sacks'" in failed.stderr


def test_cli_approve_processes_the_quality_check(cli, fb_world, tmp_path):
    report = tmp_path / "treats.csv"
    report.write_bytes(cards_csv([make_card("T1", purchases=[("TRT-8OZ", 5)], free=[("TRT-8OZ", 1)])]))
    imported = cli(pos, "import", str(report), "--retailer", "paws-corner", "--format", "test-cards")
    assert "quality check 1" in imported.output
    report_id = imported.output.split()[2].rstrip(":")
    approved = cli(pos, "approve", "--report", report_id)
    assert approved.exit_code == 0 and approved.output == "processed 1 redemptions; 1 free goods created\n"
