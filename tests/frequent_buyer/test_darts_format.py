"""The DARTS "Buy X Get Y Free Redemption Export": the sample's cards, every rejection, and the plugin hook.

Broken files are built here from the one committed sample, each differing from it by one
realistic mistake, so every rejection is checked against a known-good file and must name the
exact row (as a spreadsheet numbers it, header = row 1), column and expected value.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connector.config import Settings
from connector.core.frequent_buyer import pos_ingest
from connector.core.frequent_buyer.pos_types import ParsedReport, PosReportProblem, PosReportRejected
from connector.core.hooktypes import HookContext
from connector.plugin_manager import make_plugin_manager, plugin_infos
from connector.plugins.darts.formats import DARTS_BXGY, MAPPINGS_DIR_KEY, mappings
from connector.plugins.darts.mapping import MAX_PROBLEMS, MappingError, parse

DATA = Path(__file__).resolve().parents[1] / "data" / "pos"
SAMPLE = (DATA / "darts-bxgy-sample.csv").read_bytes()
HEADER = (
    "Store #,Redemption #,Redemption Date,Customer #,Customer Name,Phone,Email,Program,Line Type,"
    "Purchase Date,SKU,UPC,Description,Size,Qty,Brand"
)


def _parse(data: bytes, filename: str = "report.csv") -> ParsedReport:
    return parse(io.BytesIO(data), filename, DARTS_BXGY)


def _rejected(data: bytes) -> PosReportRejected:
    with pytest.raises(PosReportRejected) as info:
        _parse(data)
    return info.value


def _lines() -> list[str]:
    return SAMPLE.decode("utf-8").split("\r\n")


def _join(lines: list[str]) -> bytes:
    return "\r\n".join(lines).encode("utf-8")


def _with_row(row: int, old: str, new: str) -> bytes:
    """The sample with ``old`` replaced by ``new`` on one spreadsheet row (header = row 1)."""
    lines = _lines()
    assert old in lines[row - 1], (row, old)
    lines[row - 1] = lines[row - 1].replace(old, new, 1)
    return _join(lines)


def _rewrite(change) -> bytes:
    """The sample with ``change(cells)`` applied to every row's cells, written back as CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for cells in csv.reader(io.StringIO(SAMPLE.decode("utf-8"), newline="")):
        writer.writerow(change(cells))
    return out.getvalue().encode("utf-8")


def _only(exc: PosReportRejected) -> PosReportProblem:
    assert len(exc.problems) == 1, [p.describe() for p in exc.problems]
    return exc.problems[0]


# -- the sample -----------------------------------------------------------------------------------------------


def test_darts_sample_parses_into_its_eight_cards():
    report = _parse(SAMPLE, "darts-bxgy-sample.csv")
    assert report.format == "darts-bxgy"
    assert report.sha256 == hashlib.sha256(SAMPLE).hexdigest()
    assert report.row_count == 37
    assert [c.key for c in report.cards] == [
        "101:50001",
        "101:50002",
        "101:50003",
        "101:50004",
        "102:50001",
        "102:71002",
        "102:71003",
        "102:71004",
    ]
    assert [c.store_code for c in report.cards] == ["101"] * 4 + ["102"] * 4
    assert sum(len(c.rows) for c in report.cards) == 37


def test_darts_sample_clean_card_has_every_field():
    card = _parse(SAMPLE).cards[0]
    assert card.key == "101:50001"
    assert card.redeemed_on == date(2025, 3, 14)
    assert card.program_code == "TOTW DOG DRY 12+1"
    assert card.rows == (2, 3, 4, 5, 6, 7, 8)
    c = card.customer
    assert (c.name, c.phone, c.email, c.internal_id) == (
        "Maria Lopez",
        "3035550142",
        "maria.lopez@example.com",
        "C-10023",
    )
    assert [p.quantity for p in card.purchases] == [2] * 6
    assert [p.purchased_on for p in card.purchases] == [
        date(2024, 10, 2),
        date(2024, 11, 5),
        date(2024, 12, 1),
        date(2025, 1, 6),
        date(2025, 2, 8),
        date(2025, 3, 14),
    ]
    assert {(p.sku, p.size_value, p.size_unit) for p in card.purchases} == {("TOTW-HP-28", Decimal(28), "lb")}
    assert card.purchases[2].row == 4  # printed "28LB" on that row
    (free,) = card.free_goods
    assert (free.sku, free.upc, free.quantity, free.row) == ("TOTW-HP-28", "074198612528", 1, 8)
    assert free.description == "Taste of the Wild High Prairie Canine, Bison & Venison"  # quoted comma
    assert (free.size_value, free.size_unit, free.brand) == (Decimal(28), "lb", "Taste of the Wild")


def test_darts_sample_customers_are_identified_by_phone_email_or_internal_id():
    by_key = {c.key: c for c in _parse(SAMPLE).cards}
    phone_only = by_key["101:50002"].customer
    assert (phone_only.phone, phone_only.email, phone_only.internal_id) == ("7205550199", None, None)
    email_only = by_key["101:50003"].customer
    assert (email_only.phone, email_only.email, email_only.internal_id) == (None, "priya.n@example.org", None)
    id_only = by_key["102:50001"].customer
    assert (id_only.phone, id_only.email, id_only.internal_id) == (None, None, "C-88")
    assert by_key["102:71002"].customer.phone == "7205550110"  # "+1 720 555 0110" loses the country code
    assert by_key["102:71003"].customer.phone == "7205550123"  # "(720) 555-0123"


def test_darts_sample_cards_carry_what_the_program_rules_need():
    by_key = {c.key: c for c in _parse(SAMPLE).cards}
    short = by_key["101:50002"]
    assert sum(p.quantity for p in short.purchases) == 9  # FROMM GOLD 10+1: one short
    assert {(p.size_value, p.size_unit) for p in short.purchases} == {(Decimal(15), "lb")}  # "15 lbs"
    two_brands = by_key["101:50003"]
    assert {p.brand for p in two_brands.purchases} == {"Taste of the Wild", "Fromm"}
    cans = by_key["101:50004"]
    assert {(p.size_value, p.size_unit) for p in cans.purchases} == {(Decimal("5.5"), "oz")}
    assert (cans.free_goods[0].size_value, cans.free_goods[0].size_unit) == (Decimal(3), "oz")
    assert "TOTW-PSP-5" in {p.sku for p in by_key["102:71002"].purchases}  # not in the program
    too_large = by_key["102:71003"]
    assert min(p.size_value for p in too_large.purchases) == Decimal(5)
    assert too_large.free_goods[0].size_value == Decimal(28)
    packs = by_key["102:71004"]
    assert {(p.size_value, p.size_unit) for p in packs.purchases} == {(Decimal(12), "ct")}
    assert by_key["102:50001"].customer != by_key["101:50001"].customer  # same number, other store


def test_darts_tolerates_bom_lf_line_endings_and_blank_rows():
    variant = b"\xef\xbb\xbf" + SAMPLE.replace(b"\r\n", b"\n") + b"\n\n,,,,,,,,,,,,,,,\n"
    assert _parse(variant).cards == _parse(SAMPLE).cards


def test_darts_reads_a_non_seekable_stream_and_leaves_the_callers_stream_open():
    class Pipe:
        def __init__(self, data: bytes) -> None:
            self._buf = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._buf.read(n)

    report = parse(Pipe(SAMPLE), "piped.csv", DARTS_BXGY)  # type: ignore[arg-type]
    assert report.sha256 == hashlib.sha256(SAMPLE).hexdigest() and len(report.cards) == 8
    stream = io.BytesIO(SAMPLE)
    parse(stream, "x.csv", DARTS_BXGY)
    assert not stream.closed


# -- rejections: the layout ------------------------------------------------------------------------------------


def test_darts_rejects_a_row_added_above_the_header():
    exc = _rejected(b"Buy X Get Y Free Redemption Export,,,\r\n" + SAMPLE)
    p = _only(exc)
    assert (p.row, p.column, p.value) == (1, "(row)", "Buy X Get Y Free Redemption Export")
    assert "found on row 2: delete the 1 row above it" in p.expected
    assert f"The header row (row 1) must be exactly: {HEADER}" in str(exc)


def test_darts_rejects_a_removed_column_and_names_it():
    exc = _rejected(_rewrite(lambda cells: cells[:3] + cells[4:]))
    p = _only(exc)
    assert (p.row, p.column, p.value) == (1, "Customer #", "")
    assert p.expected == "a column titled 'Customer #' after 'Redemption Date': it is missing"
    assert HEADER in str(exc)


def test_darts_rejects_a_renamed_column():
    p = _only(_rejected(_with_row(1, ",Qty,", ",Quantity,")))
    assert (p.row, p.column, p.value) == (1, "Qty", "Quantity")
    assert p.expected == "'Qty' as column 15: the column was renamed or replaced"


def test_darts_rejects_reordered_columns():
    exc = _rejected(_rewrite(lambda c: [*c[:5], c[6], c[5], *c[7:]]))  # Phone <-> Email
    assert [(p.row, p.column, p.value) for p in exc.problems] == [(1, "Phone", "Email"), (1, "Email", "Phone")]
    assert exc.problems[0].expected == "'Phone' as column 6: the columns were reordered"


def test_darts_rejects_an_extra_column():
    data = _rewrite(lambda cells: [*cells, "Notes" if cells[0] == "Store #" else "x"])
    p = _only(_rejected(data))
    assert (p.row, p.column, p.value) == (1, "Notes", "Notes")
    assert "no column 17 like this" in p.expected


def test_darts_rejects_an_empty_file_and_a_spreadsheet():
    assert _only(_rejected(b"")).expected == "the header row; the file is empty"
    p = _only(_rejected(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256))))
    assert (p.row, p.column) == (1, "(file)")
    assert p.value == "an Excel workbook (.xlsx) or another zip file"


def test_darts_rejects_a_ragged_row():
    lines = _lines()
    lines[4] = lines[4].rsplit(",", 1)[0]  # row 5 loses its Brand cell
    p = _only(_rejected(_join(lines)))
    assert (p.row, p.column, p.value) == (5, "(row)", "15 cells")
    assert p.expected == "16 cells, one per header column"


def test_darts_rejects_an_unquoted_delimiter_in_a_value():
    p = _only(_rejected(_with_row(9, "Dan Whitaker", "Whitaker, Dan")))
    assert (p.row, p.value) == (9, "17 cells")
    assert "must be in quotes" in p.expected


def test_darts_rejects_an_unbalanced_quote_and_a_cell_too_big_to_be_a_value():
    p = _only(_rejected(_with_row(9, "Dan Whitaker", '"Dan Whitaker')))
    assert (p.row, p.value) == (9, "9 cells")
    assert p.expected.endswith("a quote character without its closing quote joined it with the rows below")
    p = _only(_rejected(_with_row(9, "Dan Whitaker", '"' + "x" * 200_000 + '"')))
    assert (p.row, p.column, p.value) == (9, "(row)", "field larger than field limit (131072)")


def test_darts_rejects_a_title_row_and_a_renamed_column_together():
    exc = _rejected(b"Redemption Export\r\n" + _with_row(1, ",Qty,", ",Quantity,"))
    assert [(p.row, p.column, p.value) for p in exc.problems] == [
        (1, "(row)", "Redemption Export"),
        (2, "Qty", "Quantity"),
    ]
    assert "row 2 looks like the header: delete the rows above it" in exc.problems[0].expected


def test_darts_accepts_a_report_with_no_redemptions():
    report = _parse(_lines()[0].encode() + b"\r\n")
    assert (report.row_count, report.cards) == (0, ())


# -- rejections: values --------------------------------------------------------------------------------------


def test_darts_rejects_a_bad_date_with_row_column_and_format():
    p = _only(_rejected(_with_row(9, "03/18/2025", "2025-03-18")))
    assert (p.row, p.column, p.value) == (9, "Redemption Date", "2025-03-18")
    assert p.expected == "a date like '11/23/2024' (%m/%d/%Y)"
    p = _only(_rejected(_with_row(3, "11/05/2024", "11/31/2024")))  # no such day
    assert (p.row, p.column, p.value) == (3, "Purchase Date", "11/31/2024")


@pytest.mark.parametrize("qty", ["two", "0", "-1", "1.5", "", "100000"])
def test_darts_rejects_a_bad_quantity(qty: str):
    p = _only(_rejected(_with_row(10, ",3,Fromm", f",{qty},Fromm")))
    assert (p.row, p.column, p.value) == (10, "Qty", qty)
    expected = "a value: this column may not be empty" if not qty else "a whole number from 1 to 99999"
    assert p.expected == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (
            "28 stone",
            "a size unit of lb, oz, kg, g, l, ml, fl oz, gal, ct (or a spelling of them, like 'lbs' or 'count')",
        ),
        ("big", "a size like '28 lb', '12.5 oz' or '6 ct'"),
        ("0 lb", "a size greater than zero"),
        ("12,5 oz", "a size with '.' as the decimal separator, like '12.5 oz'"),
    ],
)
def test_darts_rejects_a_bad_size(size: str, expected: str):
    cell = f'"{size}"' if "," in size else size
    p = _only(_rejected(_with_row(21, ",5LB,", f",{cell},")))
    assert (p.row, p.column, p.value, p.expected) == (21, "Size", size, expected)


def test_darts_rejects_empty_required_cells_bad_line_type_upc_phone_and_email():
    assert _only(_rejected(_with_row(13, ",TOTW-HP-14,", ",,"))).describe() == (
        "row 13, column 'SKU': got '', expected a value: this column may not be empty"
    )
    p = _only(_rejected(_with_row(12, ",FREE,", ",GIFT,")))
    assert (p.row, p.column, p.expected) == (12, "Line Type", "one of PURCHASE, FREE")
    p = _only(_rejected(_with_row(21, "072705115105", "7.27051E+10")))
    assert (p.row, p.column) == (21, "UPC")
    assert "format the column as text" in p.expected
    lines = _lines()
    for row in (9, 10, 11, 12):  # the whole card, so its rows still agree with each other
        lines[row - 1] = lines[row - 1].replace("720.555.0199", "555-01")
    assert [(p.row, p.column, p.expected) for p in _rejected(_join(lines)).problems] == [
        (row, "Phone", "a phone number with 7 to 15 digits") for row in (9, 10, 11, 12)
    ]
    p = _only(_rejected(_with_row(2, "Maria.Lopez@Example.com", "maria at example")))
    assert (p.row, p.column) == (2, "Email")


def test_darts_rejects_control_characters_that_the_database_could_not_store():
    exc = _rejected(_with_row(13, "Priya Natarajan", "Priya\x00Natarajan"))
    p = _only(exc)
    assert (p.row, p.column, p.value) == (13, "Customer Name", "Priya[0x00]Natarajan")
    assert p.expected == "text without control characters (a damaged or binary file?)"


def test_darts_rejects_undecodable_bytes_with_row_column_and_byte_offset():
    data = _with_row(9, "Dan Whitaker", "Dan Whitaker").replace(b"Dan Whitaker", "Dan Ängström".encode("cp1252"))
    exc = _rejected(data)
    offsets = [i for i, b in enumerate(data) if b >= 0x80]
    assert [(p.row, p.column) for p in exc.problems] == [
        (row, "Customer Name") for row in (9, 9, 10, 10, 11, 11, 12, 12)
    ]
    first = exc.problems[0]
    assert first.value == f"Dan [0xC4] at byte offset {offsets[0]}"
    assert first.expected.startswith("text in UTF-8 (with or without a byte-order mark); [0xC4] reads 'Ä'")
    assert "export or save it as CSV UTF-8" in first.expected
    assert exc.problems[1].value == f"Dan \ufffdngstr[0xF6] at byte offset {offsets[1]}"  # earlier bad byte: U+FFFD


def test_darts_rejects_latin1_bytes_even_in_the_header():
    data = SAMPLE.replace(b"Customer Name", "Kunde Änderung".encode("latin-1"), 1)
    exc = _rejected(data)
    assert exc.problems[0].row == 1 and exc.problems[0].column == "(header)"
    assert any(p.column == "Customer Name" and "renamed" in p.expected for p in exc.problems)


def test_darts_rejects_utf16():
    p = _only(_rejected(SAMPLE.decode("utf-8").encode("utf-16")))
    assert p.value == "UTF-16 text (Excel's 'Unicode Text')"


# -- rejections: cards ---------------------------------------------------------------------------------------


def test_darts_rejects_a_card_with_no_free_good():
    lines = _lines()
    del lines[11]  # row 12: the FREE row of 101:50002
    p = _only(_rejected(_join(lines)))
    assert (p.row, p.column, p.value) == (9, "Line Type", "")
    assert p.expected == (
        "a free-good row (FREE) for card 101:50002 (rows 9-11): a card without one is not a redemption"
    )


def test_darts_rejects_a_card_with_no_purchases():
    lines = _lines()
    del lines[8:11]  # rows 9-11: the purchases of 101:50002
    p = _only(_rejected(_join(lines)))
    assert (p.row, p.column, p.expected) == (9, "Line Type", "purchase rows for card 101:50002 (row 9): it has none")


def test_darts_rejects_rows_of_one_card_that_disagree():
    p = _only(_rejected(_with_row(10, "720.555.0199", "720.555.0198")))
    assert (p.row, p.column, p.value) == (10, "Phone", "720.555.0198")
    assert p.expected == "'7205550199' as on row 9: every row of card 101:50002 must repeat the same Phone"
    p = _only(_rejected(_with_row(11, ",03/18/2025,", ",03/19/2025,")))
    assert (p.row, p.column) == (11, "Redemption Date")
    p = _only(_rejected(_with_row(12, "FROMM GOLD 10+1", "FROMM GOLD 12+1")))
    assert (p.row, p.column) == (12, "Program")


def test_darts_rejects_a_card_without_any_customer_identifier():
    lines = _lines()
    for row in (9, 10, 11, 12):
        lines[row - 1] = lines[row - 1].replace("720.555.0199", "")
    p = _only(_rejected(_join(lines)))
    assert (p.row, p.column) == (9, "Customer # or Phone or Email")
    assert p.expected == "a Customer # or Phone or Email for the customer of card 101:50002 (at least one)"


# -- all problems, capped ------------------------------------------------------------------------------------


def test_darts_reports_every_problem_not_just_the_first():
    lines = _lines()
    lines[2] = lines[2].replace("11/05/2024", "5 Nov 2024")  # row 3
    lines[20] = lines[20].replace(",4,Fromm", ",four,Fromm")  # row 21
    exc = _rejected(_join(lines))
    assert [(p.row, p.column) for p in exc.problems] == [(3, "Purchase Date"), (21, "Qty")]
    assert "2 problems found, nothing was imported" in str(exc)
    assert exc.fields == {
        "row 3, column Purchase Date": "got '5 Nov 2024', expected a date like '11/23/2024' (%m/%d/%Y)",
        "row 21, column Qty": "got 'four', expected a whole number from 1 to 99999",
    }


def test_darts_caps_the_problem_list_and_says_how_many_more():
    bad_row = _lines()[1].replace(",2,Taste", ",x,Taste")
    data = _join([_lines()[0], *[bad_row] * (MAX_PROBLEMS + 50)])
    exc = _rejected(data)
    assert len(exc.problems) == MAX_PROBLEMS
    assert [p.row for p in exc.problems[:3]] == [2, 3, 4]
    assert f"{MAX_PROBLEMS + 50} problems found" in str(exc)
    assert f"Listing the first {MAX_PROBLEMS}; and 50 more." in str(exc)


# -- the plugin ----------------------------------------------------------------------------------------------


def _hook_formats(pm, config: dict[str, str] | None = None) -> dict:
    ctx = HookContext(config=config or {})
    return {f.name: f for formats in pm.hook.connector_pos_formats(ctx=ctx) for f in formats}


def test_darts_plugin_exposes_its_format_through_the_real_plugin_manager(monkeypatch, tmp_path):
    monkeypatch.setenv(MAPPINGS_DIR_KEY, str(tmp_path / "missing"))  # the plugin reads its context, not this
    pm = make_plugin_manager()
    formats = _hook_formats(pm)
    assert "darts-bxgy" in formats
    assert formats["darts-bxgy"].description == 'DARTS "Buy X Get Y Free Redemption Export" (CSV)'
    report = formats["darts-bxgy"].parse(io.BytesIO(SAMPLE), "sample.csv")
    assert len(report.cards) == 8 and report.format == "darts-bxgy"
    info = next(i for i in plugin_infos(pm) if i.name == "darts")
    assert "pending" not in info.description and "darts-bxgy" in info.description


def test_darts_plugin_adds_json_mappings_from_the_mappings_directory(tmp_path):
    shutil.copy(DATA / "example-pos.mapping.json", tmp_path / "example-pos.json")
    (tmp_path / "README.txt").write_text("not a mapping: ignored")
    formats = _hook_formats(make_plugin_manager(), {MAPPINGS_DIR_KEY: str(tmp_path)})
    assert {"darts-bxgy", "example-pos"} <= formats.keys()
    with (DATA / "example-pos-sample.csv").open("rb") as fh:
        report = formats["example-pos"].parse(fh, "example-pos-sample.csv")
    assert [c.key for c in report.cards] == ["BER-01:T-9001", "BER-02:T-9001"]


def test_the_host_passes_its_mappings_folder_to_the_format_hook(make_runtime, tmp_path):
    """``CONNECTOR_POS_MAPPINGS_DIR`` still adds formats: the host reads it and the hook context carries it."""
    shutil.copy(DATA / "example-pos.mapping.json", tmp_path / "example-pos.json")
    assert Settings.from_env({"CONNECTOR_POS_MAPPINGS_DIR": f" {tmp_path} "}).pos_mappings_dir == str(tmp_path)
    assert "example-pos" not in pos_ingest.pos_formats(make_runtime())
    rt = make_runtime(pos_mappings_dir=str(tmp_path))
    with (DATA / "example-pos-sample.csv").open("rb") as fh:
        report = pos_ingest.find_pos_format(rt, "example-pos").parse(fh, "example-pos-sample.csv")
    assert len(report.cards) == 2


def test_darts_plugin_refuses_broken_or_clashing_mappings(tmp_path):
    with pytest.raises(MappingError, match="does not exist"):
        mappings({MAPPINGS_DIR_KEY: str(tmp_path / "missing")})
    clash = DARTS_BXGY.to_dict()
    (tmp_path / "clash.json").write_text(json.dumps(clash))
    with pytest.raises(MappingError, match=r"\['darts-bxgy'\] are declared more than once"):
        mappings({MAPPINGS_DIR_KEY: str(tmp_path)})
    (tmp_path / "clash.json").write_text('{"format": "broken"')
    with pytest.raises(MappingError, match="clash.json: cannot read the mapping as UTF-8 JSON"):
        mappings({MAPPINGS_DIR_KEY: str(tmp_path)})
    assert [m.name for m in mappings({})] == ["darts-bxgy"]
