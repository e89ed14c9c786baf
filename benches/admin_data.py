"""A million redemptions for the admin console benchmark, seeded with set-based SQL in seconds.

Everything is ``INSERT … SELECT … FROM generate_series`` into a database the project's migrations
created, so the rows meet the real schema (every NOT NULL, unique and foreign-key constraint is
checked as they go in). Deterministic: the same ``rows``/``members``/``brands`` give the same data
(``setseed`` before each ``random()``-driven statement), so two runs search for the same things.

The shape, per brand (``brands``, 10 by default): one Shopify shop, ten rewards (eight shop
rewards, two email rewards), and ``members / brands`` members. Redemptions are spread evenly over
the year before ``NOW`` (ids rise with ``claimed_at``, as in production), each by a member of
the brand for one of the brand's rewards. Statuses: the newest 0.5% are mostly pending (the queue
at work), older ones 92.5% fulfilled, 4% reversed, 3% in error (with a catalogue error code,
message and fix), 0.5% pending. Shop orders carry a unique order id and a delivery status.

The non-unique indexes of ``members`` and ``redemptions`` are dropped for the load and rebuilt from
their own definitions afterwards (faster than maintaining them row by row); constraint indexes
stay. As a superuser the foreign-key triggers are skipped during the load and every foreign key
is checked afterwards in one set-based query (the load fails and rolls back if one points nowhere).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, text

from connector.core.errors import CATALOG
from connector.core.redemptions import _CODE_ALPHABET

#: The benchmark's "now": claimed_at runs over the year before it.
NOW = datetime(2026, 11, 23, tzinfo=UTC)
#: Members whose last name makes a rare search (one in ~1,000).
RARE_LAST_NAME = "Robinson-Hale"
#: A common last name (one member in ~60) for the name search.
COMMON_LAST_NAME = "Lovelace"

FIRST_NAMES = (  # noqa: SIM905 - a list of words reads better as words
    "Ada Alan Grace Linus Barbara Donald Edsger Frances Margaret Ken Dennis Radia Tim Vint Hedy Katherine "
    "John Mary Joan Niklaus Bjarne Guido Anita Carol Jean Shafi Leslie Whitfield Martin Ivan Sophie Lucy "
    "Noor Ana Mateo Chloe Omar Priya Yuki Lars"
).split()
LAST_NAMES = (
    f"{COMMON_LAST_NAME} Turing Hopper Torvalds Liskov Knuth Dijkstra Allen Hamilton Thompson Ritchie Perlman "
    "Berners-Lee Cerf Lamarr Johnson McCarthy Kenneth Clarke Wirth Stroustrup Rossum Borg Shaw Sammet Goldwasser "
    "Lamport Diffie Hellman Sutherland Wilson Fox Haddad Patel Tanaka Nilsson Garcia Martin Dubois Khan Smith "
    "Brown Taylor Anderson Thomas Moore Jackson White Harris Lewis Walker Young King Wright Scott Green Baker "
    "Adams Nelson Hill"
).split()
#: (name, channel): eight shop rewards and two email rewards per brand.
REWARDS = (
    ("Ambassador Tee", "shopify"),
    ("Ambassador Hoodie", "shopify"),
    ("Trucker Cap", "shopify"),
    ("Canvas Tote Bag", "shopify"),
    ("Water Bottle", "shopify"),
    ("Crew Socks", "shopify"),
    ("Sticker Pack", "shopify"),
    ("Knit Beanie", "shopify"),
    ("Gift Card $25", "email"),
    ("Early Access Pass", "email"),
)
#: The errors a redemption stays in until someone fixes something (the catalogue's non-retryable ones).
ERROR_CODES = tuple(code for code, info in CATALOG.items() if not info.retryable)


def _sql_array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def _code_expression(v: str) -> str:
    """``R-`` and ten characters of the code alphabet: the ten base-32 digits of the 50-bit ``v``."""
    digits = [f"substr('{_CODE_ALPHABET}', ((({v} >> {5 * k}) & 31)::int + 1), 1)" for k in range(9, -1, -1)]
    return "'R-' || " + " || ".join(digits)


def _scrambled(i: str) -> str:
    """A 50-bit number from row number ``i``, distinct for distinct ``i`` (so codes are unique).

    Both steps are bijections on 50-bit numbers: times an odd 50-bit number (mod 2**50, in
    ``numeric`` so it cannot overflow), then an xor-shift, so neighbouring rows get unrelated codes.
    """
    m = f"(({i}::numeric * 654392847513929) % 1125899906842624)::bigint"
    return f"({m} # ({m} >> 25))"


#: Rows whose foreign keys point nowhere (must be 0): what the FK triggers would have checked row by row.
_FOREIGN_KEYS_BROKEN = """
SELECT (SELECT count(*) FROM members m LEFT JOIN brands b ON b.id = m.brand_id WHERE b.id IS NULL)
     + (SELECT count(*) FROM redemptions r
        LEFT JOIN brands b ON b.id = r.brand_id
        LEFT JOIN members m ON m.id = r.member_id
        LEFT JOIN rewards w ON w.id = r.reward_id
        LEFT JOIN shops p ON p.id = r.shop_id
        WHERE b.id IS NULL OR m.id IS NULL OR w.id IS NULL OR (r.shop_id IS NOT NULL AND p.id IS NULL))
"""


def seed(url: str, *, rows: int, members: int, brands: int, say: Any = print) -> dict[str, float]:
    """Fill the migrated, empty database at ``url``; returns seconds per step."""
    per_brand = len(REWARDS)
    engine = create_engine(url)
    timings: dict[str, float] = {}
    year = 365 * 24 * 3600
    now = NOW.replace(tzinfo=None)
    with engine.begin() as c:
        c.execute(text("SET LOCAL synchronous_commit = off"))
        c.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        started = time.perf_counter()
        for statement in (
            """
            INSERT INTO brands (id, name, slug, created_at)
            SELECT b, 'Bench Brand ' || lpad(b::text, 2, '0'), 'bench-' || lpad(b::text, 2, '0'),
                   :now - interval '2 years'
            FROM generate_series(1, :brands) b
            """,
            """
            INSERT INTO shops (id, brand_id, provider, domain, api_base_url, api_version, access_token,
                               webhook_secret, active, created_at)
            SELECT b, b, 'shopify', 'bench-' || lpad(b::text, 2, '0') || '.myshopify.com',
                   'http://127.0.0.1:9/admin/api', '2026-07', 'shpat_bench', 'whsec_bench', true,
                   :now - interval '2 years'
            FROM generate_series(1, :brands) b
            """,
        ):
            c.execute(text(statement), {"now": now, "brands": brands})
        reward_rows = [
            {
                "id": (b - 1) * per_brand + k + 1,
                "brand": b,
                "shop": b if channel == "shopify" else None,
                "name": name,
                "sku": f"B{b:02d}-{name.upper().replace(' ', '-').replace('$', '')}",
                "points": 250 * (k + 1),
                "channel": channel,
                "instructions": (
                    "Ships within 5 business days." if channel == "shopify" else "Your code arrives by email."
                ),
                "now": now,
            }
            for b in range(1, brands + 1)
            for k, (name, channel) in enumerate(REWARDS)
        ]
        c.execute(
            text(
                "INSERT INTO rewards (id, brand_id, shop_id, name, sku, points_cost, channel, instructions, active,"
                " created_at) VALUES (:id, :brand, :shop, :name, :sku, :points, :channel, :instructions, true, :now)"
            ),
            reward_rows,
        )
        indexes = c.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes i WHERE tablename IN ('members', 'redemptions') "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)"
            )
        ).all()
        for name, _ in indexes:
            c.execute(text(f'DROP INDEX "{name}"'))
        # Foreign keys are checked once, set-based, after the load (below) instead of by a trigger per row;
        # that takes a superuser (the benchmark's default user is one), else the triggers stay on.
        checked_later = bool(c.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar())
        if checked_later:
            c.execute(text("SET LOCAL session_replication_role = replica"))
        c.execute(
            text(
                f"""
                INSERT INTO members (id, brand_id, external_ref, first_name, last_name, email, phone, date_of_birth,
                                     address1, city, province_code, country_code, zip, shop_customer_id,
                                     created_at, updated_at)
                SELECT m, 1 + (m - 1) % :brands, 'M' || lpad(m::text, 7, '0'), f.name, l.name,
                       lower(f.name || '.' || replace(l.name, '-', '') || '.' || m || '@example.com'),
                       '+1613555' || lpad((m % 10000)::text, 4, '0'),
                       date '1970-01-01' + (m * 37 % 12000),
                       (m % 900 + 10) || ' Bank Street', 'Ottawa', 'ON', 'CA', 'K1P 5N' || (m % 10),
                       CASE WHEN m % 5 <> 0 THEN 'gid://shopify/Customer/' || (7000000000 + m) END,
                       :now - interval '400 days' + (m * interval '1 minute'), :now - interval '30 days'
                FROM generate_series(1, :members) m
                CROSS JOIN LATERAL (SELECT ({_sql_array(FIRST_NAMES)})[1 + (m * 7) % {len(FIRST_NAMES)}] AS name) f
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN m % 997 = 0 THEN '{RARE_LAST_NAME}'
                                ELSE ({_sql_array(LAST_NAMES)})[1 + (m * 13 / 7) % {len(LAST_NAMES)}] END AS name
                ) l
                """
            ),
            {"now": now, "brands": brands, "members": members},
        )
        timings["catalogue and members"] = time.perf_counter() - started

        started = time.perf_counter()
        errors = _sql_array(ERROR_CODES)
        messages = _sql_array(tuple(CATALOG[code].message for code in ERROR_CODES))
        fixes = _sql_array(tuple(CATALOG[code].fix for code in ERROR_CODES))
        c.execute(text("SELECT setseed(0.42)"))
        c.execute(
            text(
                f"""
                INSERT INTO redemptions (
                    id, brand_id, code, member_id, reward_id, shop_id, channel, points_cost, status,
                    delivery_status, delivery_updated_at, tracking_number, tracking_url,
                    error_code, error_message, error_fix, attempts, attempt_budget_from, next_attempt_at,
                    submitted_at, external_order_id, external_order_name, idempotency_key, request_fingerprint,
                    claimed_at, fulfilled_at, reversed_at, updated_at)
                SELECT i, w.brand_id, {_code_expression("k.v")}, m.m, w.id, w.shop_id, w.channel, w.points_cost,
                       s.status,
                       CASE WHEN w.channel = 'shopify' AND s.status IN ('fulfilled', 'reversed') THEN d.delivery END,
                       CASE WHEN w.channel = 'shopify' AND s.status IN ('fulfilled', 'reversed')
                            THEN t.claimed + interval '2 days' END,
                       CASE WHEN w.channel = 'shopify' AND d.delivery IN ('shipped', 'delivered')
                            AND s.status = 'fulfilled' THEN '1Z' || lpad(i::text, 16, '0') END,
                       CASE WHEN w.channel = 'shopify' AND d.delivery IN ('shipped', 'delivered')
                            AND s.status = 'fulfilled' THEN 'https://track.example/1Z' || lpad(i::text, 16, '0') END,
                       CASE WHEN s.status = 'error' THEN ({errors})[d.k] END,
                       CASE WHEN s.status = 'error' THEN ({messages})[d.k] END,
                       CASE WHEN s.status = 'error' THEN ({fixes})[d.k] END,
                       CASE s.status WHEN 'pending' THEN (i % 3) WHEN 'error' THEN 1 + (i % 8) ELSE 1 END,
                       0,
                       CASE WHEN s.status = 'pending' AND i % 3 > 0 THEN t.claimed + interval '10 minutes' END,
                       CASE WHEN w.channel = 'shopify' AND s.status IN ('fulfilled', 'reversed')
                            THEN t.claimed + interval '1 minute' END,
                       CASE WHEN w.channel = 'shopify' AND s.status IN ('fulfilled', 'reversed')
                            THEN 'gid://shopify/Order/' || (5000000000 + i) END,
                       CASE WHEN w.channel = 'shopify' AND s.status IN ('fulfilled', 'reversed')
                            THEN '#' || (1000 + i) END,
                       'seed-' || i, md5(i::text),
                       t.claimed,
                       CASE WHEN s.status IN ('fulfilled', 'reversed') THEN t.claimed + interval '1 minute' END,
                       CASE WHEN s.status = 'reversed' THEN t.claimed + interval '3 days' END,
                       t.claimed + interval '3 days'
                FROM (SELECT i, random() AS u, random() AS v, random() AS x FROM generate_series(1, :rows) i) r
                CROSS JOIN LATERAL (SELECT 1 + (r.i::bigint * 48271 % :members)::int AS m) m
                CROSS JOIN LATERAL (SELECT {_scrambled("r.i")} AS v) k
                JOIN rewards w ON w.id = (m.m - 1) % :brands * {per_brand} + 1 + floor(r.v * r.v * {per_brand})::int
                CROSS JOIN LATERAL (
                    SELECT :start + ((r.i - 1) * :step + floor(r.x * :step)) * interval '1 second' AS claimed
                ) t
                CROSS JOIN LATERAL (
                    SELECT CASE
                        WHEN r.i > :rows * 0.995 THEN
                            CASE WHEN r.u < 0.6 THEN 'pending' WHEN r.u < 0.7 THEN 'error' ELSE 'fulfilled' END
                        ELSE CASE WHEN r.u < 0.925 THEN 'fulfilled' WHEN r.u < 0.965 THEN 'reversed'
                                  WHEN r.u < 0.995 THEN 'error' ELSE 'pending' END
                    END AS status
                ) s
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN r.x < 0.7 THEN 'delivered' WHEN r.x < 0.85 THEN 'shipped'
                                WHEN r.x < 0.95 THEN 'in_progress' ELSE 'unfulfilled' END AS delivery,
                           1 + (r.i % {len(ERROR_CODES)})::int AS k
                ) d
                """
            ),
            {
                "rows": rows,
                "members": members,
                "brands": brands,
                "start": now.replace(year=now.year - 1),
                "step": year / rows,
            },
        )
        timings["redemptions"] = time.perf_counter() - started
        started = time.perf_counter()
        for _, definition in indexes:
            c.execute(text(definition))
        timings["indexes rebuilt"] = time.perf_counter() - started
        if checked_later:
            started = time.perf_counter()
            c.execute(text("SET LOCAL session_replication_role = DEFAULT"))
            broken = c.execute(text(_FOREIGN_KEYS_BROKEN)).scalar()
            if broken:
                raise RuntimeError(f"the seed broke {broken} foreign key(s); nothing was committed")
            timings["foreign keys checked"] = time.perf_counter() - started
        for table in ("brands", "shops", "rewards", "members", "redemptions"):
            c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for table in ("brands", "shops", "rewards", "members", "redemptions"):
            c.execute(text(f"VACUUM ANALYZE {table}"))
    timings["vacuum analyze"] = time.perf_counter() - started
    engine.dispose()
    return timings
