"""The declarative column mapping: value rules, mapping validation, a second POS as JSON only, and fuzzing.

The fuzz tests hold the parser to its one promise about bad input: any bytes either parse into
a report or raise ``PosReportRejected``; no other exception ever reaches the upload handler.
"""

from __future__ import annotations

import io
import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.core.frequent_buyer.pos_types import PosReportRejected
from connector.plugins.darts.formats import DARTS_BXGY
from connector.plugins.darts.mapping import (
    Column,
    ColumnMapping,
    LineKind,
    MappingError,
    load_mappings,
    normalise_email,
    normalise_phone,
    parse,
    parse_size,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "pos"
DARTS_SAMPLE = (DATA / "darts-bxgy-sample.csv").read_bytes()
EXAMPLE_MAPPING = DATA / "example-pos.mapping.json"
EXAMPLE_SAMPLE = (DATA / "example-pos-sample.csv").read_bytes()


def _example() -> ColumnMapping:
    return ColumnMapping.from_json(EXAMPLE_MAPPING)


def _rejected(data: bytes, mapping: ColumnMapping) -> PosReportRejected:
    with pytest.raises(PosReportRejected) as info:
        parse(io.BytesIO(data), "f.csv", mapping)
    return info.value


# -- value rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("4 lb", "4", "lb"),
        ("28LB", "28", "lb"),
        ("15 lbs", "15", "lb"),
        ("30#", "30", "lb"),
        ("4-lb", "4", "lb"),
        ("12.5 oz", "12.5", "oz"),
        ("3 OZ", "3", "oz"),
        (".5 oz", "0.5", "oz"),
        ("6 ct", "6", "ct"),
        ("12 Count", "12", "ct"),
        ("1.5 KG", "1.5", "kg"),
        ("500 g", "500", "g"),
        ("  22 Pounds ", "22", "lb"),
    ],
)
def test_mapping_sizes_normalise_to_decimal_and_unit(text: str, value: str, unit: str):
    assert parse_size(text) == (Decimal(value), unit)


@pytest.mark.parametrize("text", ["", "lb", "28", "0 lb", "28 stone", "4 lb bag", "12,5 oz", "1.2345 oz", "-4 lb"])
def test_mapping_sizes_refuse_what_is_not_one(text: str):
    with pytest.raises(ValueError):
        parse_size(text)


def test_mapping_sizes_follow_the_declared_decimal_separator_and_aliases():
    assert parse_size("11,4 kg", ",") == (Decimal("11.4"), "kg")
    with pytest.raises(ValueError, match="',' as the decimal separator"):
        parse_size("11.4 kg", ",")
    assert parse_size("12 Stk", aliases={"stk": "ct"}) == (Decimal(12), "ct")


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("(303) 555-0142", "3035550142"),
        ("303.555.0142", "3035550142"),
        ("+1 303 555 0142", "3035550142"),
        ("1-303-555-0142", "3035550142"),
        ("555-0142", "5550142"),
        ("+49 170 5550123", "491705550123"),
    ],
)
def test_mapping_phones_become_digits(text: str, digits: str):
    assert normalise_phone(text) == digits


@pytest.mark.parametrize("text", ["555-01", "call me", "303 555 0142 ext 12", "1234567890123456"])
def test_mapping_phones_refuse_what_is_not_one(text: str):
    with pytest.raises(ValueError):
        normalise_phone(text)


def test_mapping_phone_country_code_is_per_mapping_and_emails_lower_case():
    assert normalise_phone("+1 303 555 0142", None) == "13035550142"
    assert normalise_email("Maria.Lopez@Example.COM") == "maria.lopez@example.com"
    for bad in ("maria", "a@b", "a b@example.com", "a@example.com, b@example.com"):
        with pytest.raises(ValueError):
            normalise_email(bad)


# -- mapping validation --------------------------------------------------------------------------------------


def _columns(**drop: bool) -> tuple[Column, ...]:
    cols = (
        Column("Card", "card_number"),
        Column("Date", "redeemed_on"),
        Column("Phone", "phone", required=False),
        Column("Kind", "line_type"),
        Column("SKU", "sku"),
        Column("Qty", "quantity"),
    )
    return tuple(c for c in cols if not drop.get(c.field or ""))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": _columns(card_number=True)}, "no column maps to the mandatory field 'card_number'"),
        ({"columns": _columns(line_type=True)}, "no column maps to the mandatory field 'line_type'"),
        ({"columns": _columns(phone=True)}, "map at least one customer identifier"),
        ({"columns": _columns(redeemed_on=True)}, "map 'redeemed_on', or 'purchased_on'"),
        ({"columns": (*_columns(), Column("SKU", "brand"))}, "repeated: ['SKU']"),
        ({"columns": (*_columns(), Column("Item", "sku"))}, "mapped more than once: ['sku']"),
        ({"columns": (*_columns(), Column("X", "colour"))}, "unknown field 'colour'"),
        ({"columns": (Column("Card", "card_number", optional=True), *_columns(card_number=True))}, "must be required"),
        ({"date_formats": ("%m/%d",)}, "does not round-trip"),
        ({"encodings": ("klingon",)}, "unknown encoding 'klingon'"),
        ({"delimiter": ";;"}, "must be one character"),
        ({"line_kind": LineKind("column", ("P",), ("p",))}, "must be non-empty and distinct"),
        ({"line_kind": LineKind("colour")}, "use 'column' or 'quantity_sign'"),
        ({"size_units": {"bag": "sack"}}, "the units are lb, oz, kg, g, l, ml, fl oz, gal, ct"),
        ({"name": "Has Spaces"}, "format name 'Has Spaces'"),
    ],
)
def test_mapping_refuses_a_mapping_that_could_not_read_a_file(kwargs: dict, message: str):
    args = {"name": "t", "description": "test", "columns": _columns()} | kwargs
    with pytest.raises(MappingError) as info:
        ColumnMapping(**args)
    assert message in str(info.value)


def test_mapping_round_trips_through_its_json_shape():
    assert ColumnMapping.from_dict(DARTS_BXGY.to_dict()) == DARTS_BXGY
    assert ColumnMapping.from_dict(json.loads(json.dumps(_example().to_dict()))) == _example()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d | {"delimitor": ";"}, "unknown key(s) ['delimitor']"),
        (lambda d: {k: v for k, v in d.items() if k != "columns"}, "missing key 'columns'"),
        (lambda d: d | {"columns": [{"title": "A", "field": "sku", "hidden": True}]}, "columns[0]: unknown key(s)"),
        (lambda d: d | {"columns": [{"title": 3, "field": "sku"}]}, "columns[0]: 'title' must be a string"),
        (lambda d: d | {"encodings": "utf-8"} | {"date_formats": []}, "date_formats: expected a non-empty list"),
        (lambda d: d | {"line_kind": {"by": "quantity_sign", "sign": "-"}}, "'line_kind' must be an object"),
        (lambda d: d | {"format": "darts bxgy"}, "format name 'darts bxgy'"),
    ],
)
def test_mapping_json_errors_name_the_file_and_the_key(tmp_path, change, message: str):
    path = tmp_path / "pos.json"
    path.write_text(json.dumps(change(json.loads(EXAMPLE_MAPPING.read_text()))))
    with pytest.raises(MappingError) as info:
        ColumnMapping.from_json(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_mapping_directory_loads_every_json_file_in_name_order(tmp_path):
    shutil.copy(EXAMPLE_MAPPING, tmp_path / "b.json")
    (tmp_path / "a.json").write_text(json.dumps(DARTS_BXGY.to_dict() | {"format": "darts-copy"}))
    assert [m.name for m in load_mappings(tmp_path)] == ["darts-copy", "example-pos"]


# -- a second POS, declared in JSON only ---------------------------------------------------------------------


def test_mapping_json_example_pos_parses_its_sample():
    report = parse(io.BytesIO(EXAMPLE_SAMPLE), "example-pos-sample.csv", _example())
    assert report.format == "example-pos" and report.row_count == 5
    first, second = report.cards
    assert first.key == "BER-01:T-9001" and second.key == "BER-02:T-9001"
    assert first.redeemed_on == date(2025, 3, 2)  # no redemption-date column: the free row's date
    assert first.customer.name == "Jürgen Müller"  # Windows-1252 bytes, the declared fallback
    assert (first.customer.phone, first.customer.email) == ("491705550123", "j.mueller@example.de")
    assert [(p.quantity, p.size_value, p.size_unit) for p in first.purchases] == [(5, Decimal("11.4"), "kg")] * 2
    (free,) = first.free_goods
    assert (free.sku, free.quantity, free.size_value, free.size_unit) == ("AC-RR-2", 1, Decimal(2), "kg")  # "-1"
    assert [p.purchased_on for p in first.purchases] == [date(2025, 1, 4), date(2025, 1, 18)]
    assert (second.customer.internal_id, second.customer.email) == (None, "zoe.fischer@example.de")
    assert second.free_goods[0].size_unit == "ct"  # "Stk", an alias this mapping declares
    assert second.program_code == "ORIJEN-CAT-6+1"


def test_mapping_json_example_pos_reads_utf8_too_and_its_optional_column_may_be_absent():
    mapping = _example()
    utf8 = EXAMPLE_SAMPLE.decode("cp1252").encode("utf-8")
    assert parse(io.BytesIO(utf8), "u.csv", mapping).cards == parse(io.BytesIO(EXAMPLE_SAMPLE), "c.csv", mapping).cards
    without_notes = "\r\n".join(line.rsplit(";", 1)[0] for line in utf8.decode().split("\r\n") if line).encode()
    assert len(parse(io.BytesIO(without_notes), "n.csv", mapping).cards) == 2


def test_mapping_json_example_pos_rejections_use_its_own_column_names_and_formats():
    text = EXAMPLE_SAMPLE.decode("cp1252")
    exc = _rejected(text.replace("18/01/2025", "01/18/2025").encode("cp1252"), _example())
    assert [(p.row, p.column, p.value) for p in exc.problems] == [(3, "Date", "01/18/2025")]
    assert exc.problems[0].expected == "a date like '23/11/2024' (%d/%m/%Y)"
    exc = _rejected(text.replace(";11,4;kg;5;", ";11,4;kg;0;", 1).encode("cp1252"), _example())
    assert [(p.row, p.column, p.value) for p in exc.problems] == [(2, "Qty", "0")]
    assert exc.problems[0].expected == "a whole number: positive for a purchase, negative for a free good, never 0"
    exc = _rejected(text.replace(";12;Stk;-1;", ";12;Stk;1;").encode("cp1252"), _example())
    assert [(p.row, p.column) for p in exc.problems] == [(5, "Qty")]
    assert "a free-good row (a negative quantity) for card BER-02:T-9001" in exc.problems[0].expected


def test_mapping_free_rows_of_one_card_must_share_the_redemption_date_without_a_redemption_column():
    text = EXAMPLE_SAMPLE.decode("cp1252")
    extra = "BER-01;T-9001;03/03/2025;L-311;Jürgen Müller;+49 170 5550123;J.Mueller@Example.DE;ACANA-DOG-10+1;"
    extra += "AC-RR-2;0064992523022;Acana Red Meat Recipe;2;kg;-1;Acana;\r\n"
    exc = _rejected((text + extra).encode("cp1252"), _example())
    assert [(p.row, p.column, p.value) for p in exc.problems] == [(7, "Date", "03/03/2025")]


# -- fuzzing: parse or PosReportRejected, never anything else ------------------------------------------------

_FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parses_or_rejects(data: bytes, mapping: ColumnMapping) -> None:
    try:
        report = parse(io.BytesIO(data), "fuzz.csv", mapping)
    except PosReportRejected as exc:
        assert exc.problems and all(p.row >= 1 for p in exc.problems)
        assert len(exc.problems) <= 200
        return
    assert report.row_count >= sum(1 for _ in report.cards)
    for card in report.cards:
        assert card.purchases and card.free_goods
        items = (*card.purchases, *card.free_goods)
        assert all(i.quantity > 0 for i in items)
        texts = [card.key, card.customer.name, *(i.sku for i in items), *(i.description for i in items)]
        assert not any("\x00" in t for t in texts)  # PostgreSQL refuses NUL in text


@_FUZZ
@given(st.binary(max_size=2000))
def test_mapping_fuzz_arbitrary_bytes_parse_or_reject(data: bytes):
    _parses_or_rejects(data, DARTS_BXGY)
    _parses_or_rejects(data, _EXAMPLE)


@st.composite
def _mutated(draw: st.DrawFn, sample: bytes) -> bytes:
    """The sample with a few byte-level edits: replace, insert or delete at random places."""
    data = bytearray(sample)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["replace", "insert", "delete", "splice"]))
        at = draw(st.integers(0, len(data)))
        if op == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from([b",", b'"', b"\r\n", b"\n", b";", b"\x00", b"\xe9", b"-", b"  "]))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        else:  # move a chunk elsewhere: reordered cells, rows and half-rows
            end = min(len(data), at + draw(st.integers(1, 200)))
            chunk = bytes(data[at:end])
            del data[at:end]
            to = draw(st.integers(0, len(data)))
            data[to:to] = chunk
    return bytes(data)


@st.composite
def _cell_edited(draw: st.DrawFn) -> bytes:
    """The DARTS sample with some cells replaced by plausible wrong values (the mistakes retailers make)."""
    lines = DARTS_SAMPLE.decode().split("\r\n")
    for _ in range(draw(st.integers(1, 4))):
        row = draw(st.integers(0, len(lines) - 1))
        cells = lines[row].split(",")
        col = draw(st.integers(0, max(0, len(cells) - 1)))
        cells[col] = draw(
            st.one_of(
                st.sampled_from(["", "0", "-3", "FREE", "PURCHASE", "13/45/2025", "28 LB", "x", "1e9", "4.5.6 lb"]),
                st.text(max_size=12),
            )
        )
        lines[row] = ",".join(cells)
    return "\r\n".join(lines).encode("utf-8", "surrogatepass")


_EXAMPLE = ColumnMapping.from_json(EXAMPLE_MAPPING)


@_FUZZ
@given(_mutated(DARTS_SAMPLE))
def test_mapping_fuzz_mutated_darts_sample_parses_or_rejects(data: bytes):
    _parses_or_rejects(data, DARTS_BXGY)


@_FUZZ
@given(_mutated(EXAMPLE_SAMPLE))
def test_mapping_fuzz_mutated_example_sample_parses_or_rejects(data: bytes):
    _parses_or_rejects(data, _EXAMPLE)


@_FUZZ
@given(_cell_edited())
def test_mapping_fuzz_edited_cells_parse_or_reject(data: bytes):
    _parses_or_rejects(data, DARTS_BXGY)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64, 1 << 20])
def test_mapping_undecodable_bytes_are_located_exactly_whatever_the_read_size(monkeypatch, chunk: int):
    """Valid UTF-8 "é" (2 bytes) straddles chunk edges; only the Windows-1252 bytes are reported, at their offsets."""
    import connector.plugins.darts.mapping.source as source

    monkeypatch.setattr(source, "_CHUNK", chunk)
    lines = DARTS_SAMPLE.split(b"\r\n")
    lines[1] = lines[1].replace(b"Maria Lopez", "Marié Lopez".encode())  # fine: UTF-8
    lines[9] = lines[9].replace(b"Dan Whitaker", "Dän Whitaker".encode("cp1252"))  # row 10: not UTF-8
    lines[21] = lines[21].replace(b"Lee Park", "Lee Pärk".encode("cp1252"))  # row 22
    data = b"\r\n".join(lines)
    bad = [i for i, b in enumerate(data) if b == 0xE4]
    exc = _rejected(data, DARTS_BXGY)
    decoding = [p for p in exc.problems if "byte offset" in p.value]
    assert [(p.row, p.column) for p in decoding] == [(10, "Customer Name"), (22, "Customer Name")]
    assert [p.value for p in decoding] == [f"D[0xE4] at byte offset {bad[0]}", f"Lee P[0xE4] at byte offset {bad[1]}"]
