"""Fuzz the POS report upload end to end: never a 5xx, problems name row and column, all or nothing.

Each example mutates the DARTS sample (tests/data/pos/darts-bxgy-sample.csv) and uploads it through
``POST /api/v1/pos-reports`` (multipart, the Flask test client, the real app on PostgreSQL, the
real ``darts-bxgy`` format) for the sample's store, seeded as in
tests/frequent_buyer/test_api_pos_reports.py. tests/frequent_buyer/test_pos_mapping.py already
fuzzes the parser alone; this goes through the route, the parser, the import and the database.

Mutations (1 to 3 per example, then possibly one on the bytes): drop a column, duplicate a header,
rename a header, replace a cell with garbage (formula-like ``=…``/``+…``/``@…``/``-…``, quotes,
commas, line breaks, NUL, non-ASCII, 5 000 characters, bad dates and quantities), delete, duplicate
or swap rows, add blank rows, an unbalanced quote, CRLF line ends, a (second) byte-order mark,
re-encoding as Latin-1, cp1252 or UTF-16, truncation at any byte, and ``dry_run``.

Oracle (docs/pos-formats.md, the route's OpenAPI text):

* the status is 201 (imported), 200 (dry run, or the same bytes again) or 422; never a 5xx;
* a 422 is JSON ``error.code`` ``pos_report_rejected`` (every problem in ``error.details.problems``
  with a row number ≥ 1 and a non-empty column, mirrored in ``error.fields`` as "row N, column C")
  or ``validation_error`` with ``error.fields``;
* a refused, dry-run or duplicate upload stores nothing: the row count of every table in
  ``Base.metadata`` is unchanged;
* an accepted upload stores what the parser read: the report row (hash, row count), one redemption
  per new card with the card's key, rows and redemption date, and the counts the summary gives.

Bounds: 100 examples, ``derandomize=True`` (the same examples every run), ``deadline=None``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from connector.app import create_app
from connector.core import catalog
from connector.core.database import transaction
from connector.core.frequent_buyer import pos_ingest
from connector.core.frequent_buyer.pos_types import PosReportRejected
from connector.core.frequent_buyer.tables import FreeGood, PosRedemption, PosReport
from connector.core.model import Role
from connector.core.tables import Base
from tests.frequent_buyer.darts_store import seed_darts_store
from tests.reliability.fuzzing import fuzz_settings

SAMPLE = (Path(__file__).resolve().parents[1] / "data" / "pos" / "darts-bxgy-sample.csv").read_bytes()
URL = "/api/v1/pos-reports"
EXAMPLES = 100

GARBAGE = st.one_of(
    st.sampled_from([
        "", " ", "=1+2", "=HYPERLINK(\"http://x\")", "+SUM(A1)", "-2", "@cmd", "\"", "a,b", "line\nbreak",
        "\x00", "ñandú", "💥", "02/30/2025", "2025-03-14", "13/01/2025", "0", "-1", "1.5", "100000", "1e3",
        "x" * 5000, "PURCHASE", "FREE", "free", "Purchase ", "28 LB", "LB", "999999999999999999999",
    ]),
    st.text(max_size=40),
)  # fmt: skip


#: Column index → values the format accepts there (the import may still deny or refuse the card).
VALID_CELLS = {
    0: st.sampled_from(["101", "102", "103", "B1"]),  # Store #: 103 and B1 are not this retailer's stores
    1: st.integers(1, 99_999).map(str),  # Redemption #: a new card, or another card's rows
    4: st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40),  # Customer Name
    7: st.sampled_from(["TOTW DOG DRY 12+1", "fromm gold 10+1", "WERUVA CAT 12+1", "NOPE"]),  # Program
    8: st.sampled_from(["PURCHASE", "FREE", "free", " Purchase "]),  # Line Type
    9: st.dates().map(lambda d: d.strftime("%m/%d/%Y")),  # Purchase Date
    10: st.sampled_from(["TOTW-HP-28", "TOTW-HP-14", "TOTW-HP-5", "FRM-GOLD-15", "FRM-GOLD-5", "UNKNOWN-1"]),
    13: st.sampled_from(["28 LB", "5LB", "15 lbs", "2 kg", "12 ct", "3 OZ"]),  # Size
    14: st.integers(1, 99_999).map(str),  # Qty
}


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _write(rows: list[list[str]], line_end: str = "\n") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=line_end).writerows(rows)
    return out.getvalue().encode("utf-8")


@st.composite
def reports(draw: st.DrawFn) -> tuple[bytes, list[str], bool]:
    rows = _rows(SAMPLE)
    done: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(
            ["drop_column", "duplicate_header", "rename_header", "garbage_cell", "garbage_cell", "delete_row",
             "duplicate_row", "swap_rows", "blank_row", "none", "valid_cell", "valid_cell", "valid_cell"]
        ))  # fmt: skip
        width = max(len(r) for r in rows) if rows else 1
        if kind == "drop_column" and width > 1:
            c = draw(st.integers(0, width - 1))
            rows = [[cell for i, cell in enumerate(r) if i != c] for r in rows]
        elif kind == "duplicate_header" and rows and len(rows[0]) > 1:
            a, b = draw(st.lists(st.integers(0, len(rows[0]) - 1), min_size=2, max_size=2, unique=True))
            rows[0][b] = rows[0][a]
        elif kind == "rename_header" and rows and rows[0]:
            rows[0][draw(st.integers(0, len(rows[0]) - 1))] = draw(GARBAGE)
        elif kind == "garbage_cell" and rows:
            r = draw(st.integers(0, len(rows) - 1))
            if rows[r]:
                rows[r][draw(st.integers(0, len(rows[r]) - 1))] = draw(GARBAGE)
        elif kind == "valid_cell" and len(rows) > 1:
            r = draw(st.integers(1, len(rows) - 1))
            column = draw(st.sampled_from(sorted(VALID_CELLS)))
            if column < len(rows[r]):
                rows[r][column] = draw(VALID_CELLS[column])
        elif kind == "delete_row" and len(rows) > 1:
            del rows[draw(st.integers(1, len(rows) - 1))]
        elif kind == "duplicate_row" and len(rows) > 1:
            r = draw(st.integers(1, len(rows) - 1))
            rows.insert(r, list(rows[r]))
        elif kind == "swap_rows" and len(rows) > 2:
            a, b = draw(st.lists(st.integers(1, len(rows) - 1), min_size=2, max_size=2, unique=True))
            rows[a], rows[b] = rows[b], rows[a]
        elif kind == "blank_row":
            rows.insert(draw(st.integers(1, len(rows))), [""] * draw(st.integers(0, 16)))
        done.append(kind)
    data = _write(rows, draw(st.sampled_from(["\n", "\r\n"])))
    raw = draw(st.sampled_from(
        ["none", "none", "none", "bom", "double_bom", "latin1", "cp1252", "utf16", "truncate", "unbalanced_quote",
         "long_line", "nul_byte"]
    ))  # fmt: skip
    if raw == "bom":
        data = b"\xef\xbb\xbf" + data
    elif raw == "double_bom":
        data = b"\xef\xbb\xbf\xef\xbb\xbf" + data
    elif raw in ("latin1", "cp1252"):
        data = data.decode("utf-8").replace("Maria", "Mar\u00eda").encode(raw, errors="replace")
    elif raw == "utf16":
        data = data.decode("utf-8").encode("utf-16")
    elif raw == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif raw == "unbalanced_quote":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b'"' + data[at:]
    elif raw == "long_line":
        at = data.index(b"\n") + 1 if b"\n" in data else 0
        data = data[:at] + b"101,59999," + b"y" * 200_000 + b"\n" + data[at:]
    elif raw == "nul_byte":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\x00" + data[at:]
    done.append(raw)
    return data, done, draw(st.booleans()) and draw(st.booleans())  # dry run one time in four


def counts(rt) -> dict[str, int]:
    """Row counts of every table, in one round trip."""
    tables = Base.metadata.sorted_tables
    with rt.sessions() as s:
        row = s.execute(select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))).one()
    return {t.name: int(n) for t, n in zip(tables, row, strict=True)}


@pytest.fixture
def pos_env(make_runtime):
    rt = make_runtime()
    retailer_id = seed_darts_store(rt)
    with transaction(rt.sessions) as s:
        _, token = catalog.create_api_token(s, "fuzz-store", Role.RETAILER, retailer_id=retailer_id)
    client = create_app(settings=rt.settings, runtime=rt).test_client()
    # The unmutated sample first: the fuzz then also meets cards imported before (skipped, never twice).
    first = _upload(client, token, SAMPLE, dry_run=False)
    assert first.status_code == 201, first.get_json()
    return rt, client, token, retailer_id


def _upload(client, token: str, data: bytes, *, dry_run: bool):
    return client.post(
        URL,
        data={"format": "darts-bxgy", "dry_run": "true" if dry_run else "false",
              "file": (io.BytesIO(data), "fuzzed.csv")},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )  # fmt: skip


stats: dict[str, Any] = {"examples": 0, "by_status": {}, "problems_max": 0}


@fuzz_settings(EXAMPLES)
@given(case=reports())
def test_pos_upload_fuzz_never_5xx_names_row_and_column_and_stores_all_or_nothing(pos_env, case):
    rt, client, token, retailer_id = pos_env
    data, mutations, dry_run = case
    stats["examples"] += 1
    before = counts(rt)
    response = _upload(client, token, data, dry_run=dry_run)
    status = response.status_code
    stats["by_status"][status] = stats["by_status"].get(status, 0) + 1
    assert status < 500, (mutations, response.get_data(as_text=True)[:2000])
    assert status in (200, 201, 422), (mutations, status, response.get_json())
    body = response.get_json()
    assert isinstance(body, dict)
    if status == 422:
        error = body["error"]
        assert error["message"].strip()
        if error["code"] == "pos_report_rejected":
            problems = error["details"]["problems"]
            assert problems and error["details"]["problem_count"] >= len(problems)
            stats["problems_max"] = max(stats["problems_max"], error["details"]["problem_count"])
            for p in problems:
                assert isinstance(p["row"], int) and p["row"] >= 1, (mutations, p)
                assert isinstance(p["column"], str) and p["column"].strip(), (mutations, p)
                assert isinstance(p["expected"], str) and p["expected"].strip(), (mutations, p)
                assert f"row {p['row']}, column {p['column']}" in error["fields"], (mutations, p)
        else:
            assert error["code"] == "validation_error" and error["fields"], (mutations, error)
        assert counts(rt) == before, f"a refused report stored something ({mutations})"
        return
    if status == 200:
        assert body["dry_run"] or body["duplicate_of"] is not None
        assert counts(rt) == before, f"a dry run or a duplicate stored something ({mutations})"
        return
    # 201: what is stored is what the parser reads from these bytes.
    parsed = pos_ingest.find_pos_format(rt, "darts-bxgy").parse(io.BytesIO(data), "fuzzed.csv")
    after = counts(rt)
    assert body["cards"] == len(parsed.cards)
    assert body["imported"] + body["replaced"] + body["already_imported"] == len(parsed.cards)
    assert after[PosReport.__tablename__] == before[PosReport.__tablename__] + 1
    assert after[PosRedemption.__tablename__] == before[PosRedemption.__tablename__] + body["imported"]
    assert after[FreeGood.__tablename__] == before[FreeGood.__tablename__] + body["free_goods_created"]
    with rt.sessions() as s:
        report = s.get(PosReport, body["report_id"])
        assert (report.sha256, report.row_count, report.retailer_id) == (parsed.sha256, parsed.row_count, retailer_id)
        stored = {
            r.pos_key: (list(r.source_rows), r.redeemed_on)
            for r in s.scalars(select(PosRedemption).where(PosRedemption.report_id == report.id))
        }
        known = set(s.scalars(select(PosRedemption.pos_key).where(PosRedemption.retailer_id == retailer_id)))
    cards = {c.key: (list(c.rows), c.redeemed_on) for c in parsed.cards}
    assert len(stored) == body["imported"] + body["replaced"]
    for key, value in stored.items():
        assert cards[key] == value, (mutations, key, value, cards.get(key))
    assert set(cards) <= known, "a card of an accepted report is nowhere"


def test_pos_upload_rejection_is_whole_even_when_only_the_last_row_is_bad(pos_env):
    """A deterministic anchor for the fuzz: one bad quantity on the last row refuses every earlier card."""
    rt, client, token, _ = pos_env
    rows = _rows(SAMPLE)
    for r in rows[1:]:
        r[1] = "8" + r[1]  # new card numbers: nothing of this file was imported before
    rows[-1][14] = "=1+1"
    before = counts(rt)
    response = _upload(client, token, _write(rows), dry_run=False)
    assert response.status_code == 422
    [problem] = response.get_json()["error"]["details"]["problems"]
    assert (problem["row"], problem["column"], problem["value"]) == (len(rows), "Qty", "=1+1")
    assert counts(rt) == before
    with pytest.raises(PosReportRejected):
        pos_ingest.find_pos_format(rt, "darts-bxgy").parse(io.BytesIO(_write(rows)), "x.csv")


def test_pos_fuzz_report():
    """Prints what the fuzz above saw (for docs/reliability.md); runs after it in file order."""
    print(f"pos fuzz: {stats}")
