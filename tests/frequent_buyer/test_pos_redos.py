"""Pathological POS cells cannot stall a worker: every pattern is linear and over-long cells never reach one.

An uploaded report is user input. Before the fix, an Email cell of ``a@`` + 100,000 dots + ``@`` kept the
quadratic email pattern busy for about half a minute (and stalled ``/healthz`` meanwhile), and so did a
Size cell of a number, 100,000 spaces and a word. ``pytest-timeout`` is the guard: the old code does not
finish in time, the new one answers the retailer with a located problem at once.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.core.queries import EMAIL_SHAPE
from connector.plugins.darts.mapping import normalise_email, parse_size, values
from tests.frequent_buyer.conftest import auth

URL = "/api/v1/pos-reports"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "pos" / "darts-bxgy-sample.csv"
N = 100_000
#: Column title -> the cell that made the old pattern backtrack quadratically.
PATHOLOGICAL = {
    "Email": "a@" + "." * N + "@",
    "Size": "1" + " " * N + "x" * 30,
}


def _with_cell(title: str, value: str) -> bytes:
    """The DARTS sample with ``value`` in column ``title`` of its first data row (quoted, it holds no comma)."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    # The description cell is quoted and holds a comma: it comes after Email and before Size, so index from
    # the right for the columns after it.
    index = header.index(title)
    if index > header.index("Description"):
        index -= len(header)
    cells[index] = f'"{value}"'
    lines[1] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.timeout(20)
@pytest.mark.parametrize("title", sorted(PATHOLOGICAL))
def test_pos_dry_run_rejects_a_pathological_cell_at_once(fb_client, rt, fb_world, fb_tokens, title: str):
    from tests.frequent_buyer.darts_store import seed_darts_store

    store_id = seed_darts_store(rt)
    response = fb_client.post(
        URL,
        data={
            "retailer_id": str(store_id),
            "dry_run": "true",
            "file": (io.BytesIO(_with_cell(title, PATHOLOGICAL[title])), "darts.csv"),
        },
        headers=auth(fb_tokens.support),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.get_json()
    problems = response.get_json()["error"]["details"]["problems"]
    assert [(p["row"], p["column"]) for p in problems] == [(2, title)]
    assert "at most" in problems[0]["expected"]


@pytest.mark.timeout(10)
def test_pos_email_rule_is_linear_even_without_the_length_check():
    """The rule itself (public, the docs and the core use it) answers at once, whatever length it is given."""
    with pytest.raises(ValueError, match="one email address"):
        normalise_email(PATHOLOGICAL["Email"])
    with pytest.raises(ValueError, match="one email address"):
        normalise_email("a@" + "x." * N + "@")


@pytest.mark.timeout(10)
def test_pos_size_rule_is_linear_even_without_the_length_check():
    with pytest.raises(ValueError):
        parse_size(PATHOLOGICAL["Size"])
    with pytest.raises(ValueError):
        parse_size("1" + " " * N + "-" + " " * N + "x" * 30)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("ada@example.com", True),
        ("a.b@mail.example.co.uk", True),
        ("a@.b.c", True),
        ("a@b..c", True),
        ("a@b.", False),
        ("a@.b", False),
        ("a@b", False),
        ("@b.c", False),
        ("a@b@c.d", False),
        ("a b@c.d", False),
        ("a@b.c;d@e.f", False),
    ],
)
def test_pos_email_rule_keeps_its_meaning(text: str, ok: bool):
    """The linear rewrite accepts and refuses exactly what the old pattern did."""
    if ok:
        assert normalise_email(text) == text.lower()
    else:
        with pytest.raises(ValueError):
            normalise_email(text)


#: The patterns as they were, kept here only to prove the linear rewrites match the same strings.
_OLD_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+")
_OLD_SIZE = re.compile(r"(\d{1,7}(?:[.,]\d{1,3})?|[.,]\d{1,3})\s*-?\s*(\S(?:.{0,18}\S)?)")
_OLD_SEARCH_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet='a.@ ,;"x', max_size=14))
def test_linear_email_patterns_match_exactly_what_the_old_ones_did(text: str):
    assert (values._EMAIL.fullmatch(text) is None) == (_OLD_EMAIL.fullmatch(text) is None)
    assert (EMAIL_SHAPE.fullmatch(text) is None) == (_OLD_SEARCH_EMAIL.fullmatch(text) is None)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="12.,- \tlbLBx", max_size=16))
def test_linear_size_pattern_matches_exactly_what_the_old_one_did(text: str):
    old, new = _OLD_SIZE.fullmatch(text), values._SIZE.fullmatch(text)
    assert (old is None) == (new is None)
    if old and new:
        assert old.groups() == new.groups()
