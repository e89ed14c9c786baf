"""Retailer reports: how long a store waits for Participation, Redemption by Date and the transaction export.

One command, a minute or two:

    .venv/bin/python benches/retailer_reports.py            # --rows N, --sqlite

It imports one generated DARTS report (``benches/pos_data.py``, a year of redemptions over five stores)
into a throw-away PostgreSQL database as ``benches/pos_import.py`` does, then times each report as the
retailer's own user asks for it, through the core use cases the console, API and CLI call: the whole
year, one month and one day for Participation; one day and one month for Redemption by Date; the whole
export, streamed and counted. Each is asked ``--repeat`` times; the best and the median are printed,
with the numbers the report gave so a fast empty answer would show.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches.benchlib import clean_up_on_sigterm, fresh_database, key_env, print_machine, say  # noqa: E402
from benches.pos_data import generate_darts_report  # noqa: E402
from benches.pos_import import run_once, set_up_catalog  # noqa: E402


def _timed(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), result


def measure(url: str, retailer_id: int, repeat: int) -> None:
    from connector.bootstrap import build_runtime
    from connector.config import Settings
    from connector.core.access import Actor
    from connector.core.frequent_buyer.retailer_reports import (
        ReportFilters,
        participation,
        redemptions_by_date,
        transaction_export,
    )
    from connector.core.model import Role

    rt = build_runtime(Settings.from_env(key_env(), database_url=url, jobs_mode="sync"), start_jobs=False)
    store = Actor("owner@bench-store", Role.RETAILER, retailer_id=retailer_id)
    year = ReportFilters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    month = ReportFilters(date_from=date(2025, 6, 1), date_to=date(2025, 6, 30))
    day = ReportFilters(date_from=date(2025, 6, 15), date_to=date(2025, 6, 15))
    say(f"\n{'report':<44} {'best ms':>9} {'median ms':>10}   what it gave")
    for label, filters in (("Participation, the whole year", year), ("Participation, June", month)):
        best, median, got = _timed(repeat, lambda f=filters: participation(rt, store, f))
        t = got.total
        say(
            f"{label:<44} {best * 1000:9.0f} {median * 1000:10.0f}   {t.unique_customers:,} customers, "
            f"{t.cards_punched:,} cards, {t.items_sold:,} items, {t.rewards_earned:,} earned, "
            f"{t.rewards_redeemed:,} redeemed"
        )
    best, median, got = _timed(repeat, lambda: participation(rt, store, day))
    say(f"{'Participation, one day':<44} {best * 1000:9.0f} {median * 1000:10.0f}   {got.total.cards_punched:,} cards")
    for label, filters in (("Redemption by Date, one day", day), ("Redemption by Date, June", month)):
        best, median, got = _timed(repeat, lambda f=filters: redemptions_by_date(rt, store, f))
        cut = " (cut at the page limit)" if got.truncated else ""
        say(f"{label:<44} {best * 1000:9.0f} {median * 1000:10.0f}   {len(got.lines):,} lines{cut}")
    best, median, lines = _timed(repeat, lambda: sum(1 for _ in transaction_export(rt, store, year)))
    say(f"{'Transaction export, the whole year (CSV)':<44} {best * 1000:9.0f} {median * 1000:10.0f}   {lines:,} lines")
    rt.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows of the imported DARTS report")
    ap.add_argument("--repeat", type=int, default=3, help="times each report is asked")
    ap.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    args = ap.parse_args(argv)
    clean_up_on_sigterm()
    print_machine()
    with tempfile.TemporaryDirectory(prefix="retailer-reports-bench-") as tmp:
        path = Path(tmp) / "darts-bench.csv"
        file = generate_darts_report(path, rows=args.rows)
        say(f"file: {file['rows']:,} rows, {file['cards']:,} cards over 2025")
        if args.sqlite:
            from connector.migrations import upgrade

            url = f"sqlite:///{tmp}/bench.sqlite3"
            upgrade(url)
            retailer_id = set_up_catalog(url)
            result = run_once(url, path, retailer_id)
            say(f"imported: {result['processed']:,} processed, {result['denied']:,} denied (SQLite)")
            measure(url, retailer_id, args.repeat)
        else:
            with fresh_database("bench_reports") as url:
                retailer_id = set_up_catalog(url)
                result = run_once(url, path, retailer_id)
                say(f"imported: {result['processed']:,} processed, {result['denied']:,} denied (PostgreSQL)")
                measure(url, retailer_id, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
