"""What the benchmarks and the test suite both use: sample members and the children of a process.

It imports neither ``connector`` nor pytest, so a bench still runs with one command (``python
benches/<bench>.py``) and a test imports it as ``benches.shared`` (both add the repository root to
``sys.path``: the benches themselves, pytest through ``python -m pytest``). It lives here, not in
``tests/``, because the benches must not depend on the test suite; and not in the product, because
neither helper is something the connector itself does.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any


def ottawa_member(number: int, tag: str, *, surname_prefix: str = "") -> dict[str, Any]:
    """``catalog.add_member``'s fields for member ``number`` of a bulk seed: unique, and a valid Canadian address.

    Every member lives on Elgin St in Ottawa (a province and postal code Shopify accepts), so a
    fulfilment fails only for the reason a run injects, never for the member's data.
    """
    return dict(
        first_name="Ada",
        last_name=f"{surname_prefix}{tag.capitalize()}{number:04d}",
        email=f"ada.{tag}.{number:04d}@example.com",
        phone=f"+1613555{number % 10_000:04d}",
        date_of_birth=date(1990, 12, 10),
        address1=f"{100 + number} Elgin St",
        city="Ottawa",
        province_code="ON",
        country_code="CA",
        zip="K2P 1L4",
    )


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's workers, RQ's work horse and scheduler), read from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)
