"""Big, valid DARTS "Buy X Get Y Free Redemption Export" files for the POS import benchmark.

``generate_darts_report(path, rows, seed)`` writes a deterministic file (same seed, same bytes)
that parses cleanly, so the benchmark measures the import rather than error reporting. Its
cards are a mix the program rules should pass and deny, against the stores, programs, items and
enrollments ``bench_catalog()`` describes as plain dicts: the benchmark sets those up in its
database, imports the file and can compare outcomes with the ``intended`` counts returned.

Run on its own to make a file and time the parser on it:

    .venv/bin/python benches/pos_data.py --rows 100000 --parse
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import resource
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HEADER = [
    "Store #",
    "Redemption #",
    "Redemption Date",
    "Customer #",
    "Customer Name",
    "Phone",
    "Email",
    "Program",
    "Line Type",
    "Purchase Date",
    "SKU",
    "UPC",
    "Description",
    "Size",
    "Qty",
    "Brand",
]

#: Card kinds, how often each is drawn, and the outcome the program rules should reach for it.
CARD_KINDS: list[tuple[str, float]] = [
    ("pass", 0.80),
    ("insufficient_purchase_quantity", 0.06),
    ("multiple_brands_on_card", 0.04),
    ("item_not_in_program", 0.04),
    ("ineligible_free_good_size", 0.03),
    ("ineligible_program", 0.03),
]
#: No card has more rows than this, so the last cards can always be sized to hit ``rows`` exactly.
MAX_CARD_ROWS = 13


def _item(sku: str, upc: str, description: str, size: str, unit: str) -> dict[str, str]:
    return {"sku": sku, "upc": upc, "description": description, "size_value": size, "size_unit": unit}


_TOTW = "Taste of the Wild High Prairie Canine, Bison & Venison"
_TOTW_PS = "Taste of the Wild Pacific Stream Canine, Smoked Salmon"


def bench_catalog() -> dict[str, Any]:
    """What the generated file assumes exists: one retailer with five stores, brands, programs, enrollments.

    Plain data (sizes as decimal strings) so the benchmark can create rows with whatever core
    services exist. ``FROMM FOUR-STAR 10+1`` exists but no store is enrolled in it, which is what
    makes ``ineligible_program`` cards; ``not_in_program`` lists real-looking items of each brand
    that no program includes.
    """
    return {
        "retailer": {"name": "Bench Pet Supply", "slug": "bench-pet-supply", "account_number": "BENCH-1"},
        "stores": [
            {"store_code": code, "name": f"Bench Pet Supply #{code}", "state": "CO", "zip": f"80{code}"}
            for code in ("101", "102", "103", "104", "105")
        ],
        "distributors": [
            {"name": "Front Range Pet Distribution", "slug": "front-range", "service_states": ["CO"]},
        ],
        "brands": [
            {"name": "Taste of the Wild", "slug": "taste-of-the-wild"},
            {"name": "Fromm", "slug": "fromm"},
            {"name": "Weruva", "slug": "weruva"},
        ],
        "programs": [
            {
                "code": "TOTW DOG DRY 12+1",
                "name": "Taste of the Wild Dry Dog Buy 12 Get 1",
                "brand": "taste-of-the-wild",
                "buy_quantity": 12,
                "free_quantity": 1,
                "fulfilment_type": "distributor",
                "items": [
                    _item("TOTW-HP-5", "074198612505", _TOTW, "5", "lb"),
                    _item("TOTW-HP-14", "074198612514", _TOTW, "14", "lb"),
                    _item("TOTW-HP-28", "074198612528", _TOTW, "28", "lb"),
                    _item("TOTW-PS-5", "074198612605", _TOTW_PS, "5", "lb"),
                    _item("TOTW-PS-14", "074198612614", _TOTW_PS, "14", "lb"),
                    _item("TOTW-PS-28", "074198612628", _TOTW_PS, "28", "lb"),
                ],
            },
            {
                "code": "FROMM GOLD 10+1",
                "name": "Fromm Gold Buy 10 Get 1",
                "brand": "fromm",
                "buy_quantity": 10,
                "free_quantity": 1,
                "fulfilment_type": "distributor",
                "items": [
                    _item("FRM-GOLD-5", "072705115105", "Fromm Gold Adult Dog Food", "5", "lb"),
                    _item("FRM-GOLD-15", "072705115115", "Fromm Gold Adult Dog Food", "15", "lb"),
                    _item("FRM-GOLD-30", "072705115130", "Fromm Gold Adult Dog Food", "30", "lb"),
                ],
            },
            {
                "code": "WERUVA CAT 12+1",
                "name": "Weruva Cat Buy 12 Get 1",
                "brand": "weruva",
                "buy_quantity": 12,
                "free_quantity": 1,
                "fulfilment_type": "distributor",
                "items": [
                    _item("WRV-PLC-3", "878408004537", "Weruva Paw Lickin' Chicken Cat Food", "3", "oz"),
                    _item("WRV-PLC-5.5", "878408004551", "Weruva Paw Lickin' Chicken Cat Food", "5.5", "oz"),
                    _item("WRV-VAR-12", "878408007118", "Weruva Cats in the Kitchen Variety Pack", "12", "ct"),
                ],
            },
            {
                "code": "FROMM FOUR-STAR 10+1",
                "name": "Fromm Four-Star Buy 10 Get 1",
                "brand": "fromm",
                "buy_quantity": 10,
                "free_quantity": 1,
                "fulfilment_type": "distributor",
                "items": [
                    _item("FRM-4S-4", "072705116104", "Fromm Four-Star Chicken Au Frommage", "4", "lb"),
                    _item("FRM-4S-12", "072705116112", "Fromm Four-Star Chicken Au Frommage", "12", "lb"),
                ],
            },
        ],
        #: Every store runs these programs through the one distributor; none runs FROMM FOUR-STAR.
        "enrollments": [
            {"store_codes": ["101", "102", "103", "104", "105"], "program": code, "distributor": "front-range"}
            for code in ("TOTW DOG DRY 12+1", "FROMM GOLD 10+1", "WERUVA CAT 12+1")
        ],
        "not_in_program": {
            "taste-of-the-wild": _item(
                "TOTW-PSP-5", "074198613205", "Taste of the Wild Pacific Stream Puppy", "5", "lb"
            ),
            "fromm": _item("FRM-PUP-5", "072705117105", "Fromm Gold Puppy", "5", "lb"),
            "weruva": _item("WRV-TRU-3", "878408009013", "Weruva Truluxe Cat Food", "3", "oz"),
        },
    }


_FIRST = ["Maria", "Dan", "Priya", "Ana", "Lee", "Tom", "Jo", "Sam", "Alex", "Casey", "Jordan", "Riley", "Morgan"]
_LAST = ["Lopez", "Whitaker", "Natarajan", "Ruiz", "Park", "Becker", "Kim", "O'Neil", "Smith", "Nguyen", "Müller"]
_UNIT_SPELLINGS = {"lb": ["LB", "lb", "lbs", ""], "oz": ["OZ", "oz", ""], "ct": ["ct", "CT", "count"]}


class _Writer:
    """Draws cards and writes their rows; everything random comes from one seeded ``Random``."""

    def __init__(self, out: Any, seed: int) -> None:
        self.rng = random.Random(seed)
        self.out = csv.writer(out, lineterminator="\r\n")
        catalog = bench_catalog()
        self.stores = [s["store_code"] for s in catalog["stores"]]
        self.brand_names = {b["slug"]: b["name"] for b in catalog["brands"]}
        programs = catalog["programs"]
        enrolled = {e["program"] for e in catalog["enrollments"]}
        self.enrolled = [p for p in programs if p["code"] in enrolled]
        self.unenrolled = [p for p in programs if p["code"] not in enrolled]
        self.not_in_program = catalog["not_in_program"]
        self.brand_of = {i["sku"]: self.brand_names[p["brand"]] for p in programs for i in p["items"]}
        self.brand_of |= {i["sku"]: self.brand_names[b] for b, i in self.not_in_program.items()}
        self.next_card = dict.fromkeys(self.stores, 100_000)
        self.customers = {store: [self._customer(store, i) for i in range(3000)] for store in self.stores}
        self.rows = 0
        self.cards = 0
        self.intended: Counter[str] = Counter()

    def _customer(self, store: str, i: int) -> tuple[str, str, str, str]:
        rng = self.rng
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        area, line = rng.choice(("303", "720", "719", "970")), rng.randrange(10_000)
        phone = rng.choice(
            (
                f"({area}) 555-{line:04d}",
                f"{area}-555-{line:04d}",
                f"{area}.555.{line:04d}",
                f"+1 {area} 555 {line:04d}",
            )
        )
        first = name.split()[0]
        email = f"{first}.{i}@Example.com" if rng.random() < 0.5 else f"{first.lower()}{i}@example.org"
        internal = f"C-{store}{i:05d}"
        style = rng.random()
        if style < 0.40:
            return internal, name, phone, email
        if style < 0.65:
            return "", name, phone, ""
        if style < 0.85:
            return "", name, "", email
        return internal, name, "", ""

    def _size(self, item: dict[str, str]) -> str:
        unit = item["size_unit"]
        spelling = self.rng.choice(_UNIT_SPELLINGS[unit]) or unit.upper()
        sep = "" if self.rng.random() < 0.3 else " "
        return f"{item['size_value']}{sep}{spelling}"

    def _split(self, total: int, parts: int) -> list[int]:
        """``total`` as ``parts`` positive quantities."""
        cuts = sorted(self.rng.sample(range(1, total), parts - 1)) if parts > 1 else []
        bounds = [0, *cuts, total]
        return [b - a for a, b in zip(bounds, bounds[1:], strict=False)]

    def card(self, kind: str, rows: int | None = None) -> int:
        """Write one card of ``kind`` (with exactly ``rows`` rows when given); returns its row count."""
        rng = self.rng
        store = rng.choice(self.stores)
        number = self.next_card[store]
        self.next_card[store] += 1
        program = rng.choice(self.unenrolled if kind == "ineligible_program" else self.enrolled)
        if rows is not None:  # the final cards: clean cards of the biggest program, sized to fit
            program = max(self.enrolled, key=lambda p: p["buy_quantity"])
        x = program["buy_quantity"]
        items = sorted(program["items"], key=lambda i: float(i["size_value"]))
        bought = x - rng.randint(1, 3) if kind == "insufficient_purchase_quantity" else x
        min_parts = 2 if kind in ("multiple_brands_on_card", "item_not_in_program", "ineligible_free_good_size") else 1
        parts = rows - 1 if rows is not None else rng.randint(min_parts, min(bought, MAX_CARD_ROWS - 1))
        quantities = self._split(bought, parts)
        if kind == "ineligible_free_good_size":
            # Sizes compare only within one unit, so the too-large free good shares the smallest item's unit.
            same_unit = [i for i in items if i["size_unit"] == items[0]["size_unit"]]
            purchase_items = [same_unit[0]] + [same_unit[-1]] * (parts - 1)
            free_item = same_unit[-1]  # larger than the smallest (same_unit[0]) purchased
        else:
            size_item = rng.choice(items)
            purchase_items = [size_item] * parts
            smallest = next(i for i in items if i["size_unit"] == size_item["size_unit"])
            free_item = size_item if rng.random() < 0.7 else smallest  # same size or smaller, same unit
        if kind == "multiple_brands_on_card":
            other = rng.choice([p for p in self.enrolled if p["brand"] != program["brand"]])
            purchase_items[rng.randrange(parts)] = other["items"][0]
        elif kind == "item_not_in_program":
            stray = dict(self.not_in_program[program["brand"]])
            purchase_items[rng.randrange(parts)] = stray
            free_item = min(free_item, stray, key=lambda i: float(i["size_value"]))
        customer = rng.choice(self.customers[store])
        redeemed = date(2025, 1, 1) + timedelta(days=rng.randrange(365))
        days = sorted(rng.sample(range(1, 240), parts), reverse=True)
        r_text = redeemed.strftime("%m/%d/%Y")
        head = [store, str(number), r_text, *customer, program["code"]]
        for item, qty, day in zip(purchase_items, quantities, days, strict=True):
            when = (redeemed - timedelta(days=day)).strftime("%m/%d/%Y")
            self._write(head, "PURCHASE", when, item, qty, self.brand_of[item["sku"]])
        self._write(head, "FREE", r_text, free_item, program["free_quantity"], self.brand_of[free_item["sku"]])
        self.cards += 1
        self.intended[kind if rows is None else "pass"] += 1
        return parts + 1

    def _write(self, head: list[str], kind: str, when: str, item: dict[str, str], qty: int, brand: str) -> None:
        self.out.writerow(
            [*head, kind, when, item["sku"], item["upc"], item["description"], self._size(item), qty, brand]
        )
        self.rows += 1


def generate_darts_report(path: str | Path, rows: int = 100_000, seed: int = 20251123) -> dict[str, Any]:
    """Write exactly ``rows`` data rows (plus the header) to ``path``; the same seed writes the same bytes.

    Returns ``{"path", "rows", "cards", "bytes", "sha256", "intended": {outcome: cards}}`` where
    ``intended`` counts cards by the outcome the rules should reach (``pass`` or a denial reason).
    """
    if rows < 2:
        raise ValueError("a report needs at least 2 rows (one purchase and one free good)")
    kinds, weights = zip(*CARD_KINDS, strict=True)
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = _Writer(fh, seed)
        writer.out.writerow(HEADER)
        while rows - writer.rows > 2 * MAX_CARD_ROWS:
            writer.card(writer.rng.choices(kinds, weights)[0])
        remaining = rows - writer.rows
        if remaining > MAX_CARD_ROWS:  # two cards of at least 7 rows each
            writer.card("pass", rows=remaining // 2)
            remaining = rows - writer.rows
        writer.card("pass", rows=remaining)
    data = path.read_bytes()
    return {
        "path": str(path),
        "rows": writer.rows,
        "cards": writer.cards,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "intended": dict(sorted(writer.intended.items())),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="/tmp/darts-bench.csv")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20251123)
    ap.add_argument("--parse", action="store_true", help="also parse the file and print rows/s and peak memory")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    summary = generate_darts_report(args.out, rows=args.rows, seed=args.seed)
    print(
        f"wrote {summary['rows']} rows, {summary['cards']} cards, {summary['bytes']:,} bytes to {summary['path']} "
        f"in {time.perf_counter() - started:.2f} s; intended outcomes {summary['intended']}"
    )
    if args.parse:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from connector.plugins.darts.formats import DARTS_BXGY

        fmt = DARTS_BXGY.as_pos_format()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        with open(args.out, "rb") as fh:
            report = fmt.parse(fh, Path(args.out).name)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"parsed {report.row_count} rows into {len(report.cards)} cards in {seconds:.2f} s "
            f"({report.row_count / seconds:,.0f} rows/s); peak RSS {peak / 1024:.0f} MiB "
            f"(+{(peak - before) / 1024:.0f} MiB over the {before / 1024:.0f} MiB before parsing)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
