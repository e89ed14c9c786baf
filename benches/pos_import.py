"""POS report import: rows/s and peak memory for a 100,000-row DARTS report on PostgreSQL.

One command, about a minute:

    .venv/bin/python benches/pos_import.py            # --rows N, --runs N, --sqlite

It generates a deterministic DARTS file (``benches/pos_data.py``), creates a throw-away
database with the catalogue the file assumes (brands, programs with sized items, a retailer
with five stores, a distributor serving them, enrollments), then imports the file in a child
process so the peak RSS printed is the import's own: parse, program rules, customer mapping,
redemptions, free goods and events, all in one transaction. It prints the outcomes next to the
ones the generator intended, so a fast run that denied everything would show.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches.benchlib import bench_env, clean_up_on_sigterm, fresh_database, key_env, print_machine, say  # noqa: E402
from benches.pos_data import bench_catalog, generate_darts_report  # noqa: E402

_CHILD = r"""
import json, os, resource, sys, time
from connector.bootstrap import build_runtime
from connector.config import Settings
from connector.core.access import Actor
from connector.core.frequent_buyer.pos_ingest import find_pos_format, import_pos_report
url, path, retailer_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
rt = build_runtime(Settings.from_env(os.environ, database_url=url, jobs_mode="sync"), start_jobs=False)
fmt = find_pos_format(rt, "darts-bxgy")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
with open(path, "rb") as fh:
    report = fmt.parse(fh, path.rsplit("/", 1)[-1])
parsed = time.perf_counter()
summary = import_pos_report(rt, Actor.system("bench"), retailer_id, report, path.rsplit("/", 1)[-1])
done = time.perf_counter()
print(json.dumps({
    "rows": report.row_count, "cards": len(report.cards),
    "parse_s": parsed - started, "import_s": done - parsed, "total_s": done - started,
    "base_rss_kib": base, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "processed": summary.processed, "denied": summary.denied, "denied_by_reason": summary.denied_by_reason,
    "free_goods": summary.free_goods_created, "customers_created": summary.customers_created,
}))
"""


def set_up_catalog(url: str) -> int:
    """Create what the generated file assumes, through the core's own use cases; returns the retailer id."""
    from connector.bootstrap import build_runtime
    from connector.config import Settings
    from connector.core import catalog
    from connector.core.access import Actor
    from connector.core.database import transaction
    from connector.core.frequent_buyer import programs as fb

    rt = build_runtime(Settings.from_env(key_env(), database_url=url, jobs_mode="sync"), start_jobs=False)
    admin = Actor.system("bench")
    cat = bench_catalog()
    with transaction(rt.sessions) as s:
        brands = {b["slug"]: catalog.create_brand(s, b["name"], b["slug"]).id for b in cat["brands"]}
    program_ids: dict[str, int] = {}
    for p in cat["programs"]:
        view = fb.create_program(
            rt,
            admin,
            brand_id=brands[p["brand"]],
            name=p["name"],
            code=p["code"],
            buy_quantity=p["buy_quantity"],
            free_quantity=p["free_quantity"],
            fulfilment_type=p["fulfilment_type"],
            items=[fb.ItemSpec(**item) for item in p["items"]],
        )
        program_ids[p["code"]] = view.id
    retailer = fb.create_retailer(
        rt,
        admin,
        name=cat["retailer"]["name"],
        slug=cat["retailer"]["slug"],
        locations=[fb.LocationSpec(**store) for store in cat["stores"]],
    )
    distributors = {
        d["slug"]: fb.create_distributor(
            rt,
            admin,
            name=d["name"],
            slug=d["slug"],
            service_states=d["service_states"],
            program_ids=list(program_ids.values()),
        ).id
        for d in cat["distributors"]
    }
    for e in cat["enrollments"]:
        fb.enroll(
            rt,
            admin,
            retailer_id=retailer.id,
            program_id=program_ids[e["program"]],
            distributor_id=distributors[e["distributor"]],
        )
    rt.engine.dispose()
    return retailer.id


def run_once(url: str, path: Path, retailer_id: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, url, str(path), str(retailer_id)],
        env=bench_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"import failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=2, help="each run imports into a fresh database")
    ap.add_argument("--sqlite", action="store_true", help="import into a SQLite file instead of PostgreSQL")
    args = ap.parse_args(argv)
    clean_up_on_sigterm()
    print_machine()
    with tempfile.TemporaryDirectory(prefix="pos-bench-") as tmp:
        path = Path(tmp) / "darts-bench.csv"
        file = generate_darts_report(path, rows=args.rows)
        say(f"file: {file['rows']:,} rows, {file['cards']:,} cards, {file['bytes'] / 2**20:.1f} MiB")
        say(f"intended outcomes: {file['intended']}")
        for run in range(1, args.runs + 1):
            if args.sqlite:
                from connector.migrations import upgrade

                url = f"sqlite:///{tmp}/bench-{run}.sqlite3"
                upgrade(url)
                result = run_once(url, path, set_up_catalog(url))
            else:
                with fresh_database("bench_pos") as url:
                    retailer_id = set_up_catalog(url)
                    started = time.perf_counter()
                    result = run_once(url, path, retailer_id)
                    result["wall_s"] = time.perf_counter() - started
            rows = result["rows"]
            say(
                f"run {run}: {rows:,} rows in {result['total_s']:.1f} s = {rows / result['total_s']:,.0f} rows/s "
                f"(parse {result['parse_s']:.1f} s, import {result['import_s']:.1f} s); "
                f"peak RSS {result['peak_rss_kib'] / 1024:.0f} MiB "
                f"({(result['peak_rss_kib'] - result['base_rss_kib']) / 1024:.0f} MiB above the process at start)"
            )
            say(
                f"        processed {result['processed']:,}, denied {result['denied']:,} "
                f"{result['denied_by_reason']}, free goods {result['free_goods']:,}, "
                f"customers created {result['customers_created']:,}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
