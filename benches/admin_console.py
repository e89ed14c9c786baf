"""Admin console at a million redemptions: list, deep page and search latency, CSV export time and memory.

One command, about 10 minutes at the default size on two busy cores (seeding ~1.5 min):

    .venv/bin/python benches/admin_console.py            # --rows N, --samples N, --keep, --db NAME

It creates a throw-away PostgreSQL database, migrates it with the project's migrations and seeds
``--rows`` redemptions with set-based SQL (``benches/admin_data.py``). Then it serves the real app
with gunicorn on 127.0.0.1 (one gthread worker, so the export's worker is known) and measures
through the real routes, signed in as the console's users (POST /admin/login with its CSRF token):

* **pages**: ``GET /admin/fulfilments`` for each tab (Unfulfilled, Fulfilled, Reversed, All), the
  first page and a deep page (its cursor built the way the app builds one, for the row 60% down the
  tab: row 600,000 of All at a million); searches by exact code, exact email, a name, an offer, a
  name with a full first and last name, part of a code, and a term that matches nothing; a
  status + date-range filter. As ``support`` (every brand) and as a ``brand_admin`` (one brand of ten).
  Each: ``--warmup`` requests, then ``--samples`` timed ones, one at a time: n, p50, p95, max in ms.
* **SQL only**: the same list query in-process (``queries.list_redemptions`` with the filter parsed by
  the console's own parser): p50 of the ORM call and the server's ``EXPLAIN ANALYZE`` execution time
  of the very statement it sent. The rest of a request is the tab counts, rendering and HTTP.
* **API**: ``GET /api/v1/redemptions`` with a bearer token, first and deep page.
* **export**: ``GET /admin/fulfilments/export.csv?tab=all`` (and/or the API's ``export.csv``), every
  row streamed to nowhere while counting lines: time, rows/s, and the worker's peak RSS (``VmRSS``
  sampled every 50 ms, and ``VmHWM`` at the end). The row count must equal the table's, else
  ``MISMATCH`` and exit status 1.

It asserts no timings. Targets (issue 5): p95 under 50 ms for the first and a deep page, export
peak RSS under 150 MB; the summary marks each line against them. The database is dropped at the
end unless ``--keep`` (``--db NAME`` then reuses it, already seeded, on the next run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches import benchlib  # noqa: E402
from benches.benchlib import PG_ADMIN_URL, percentile, say  # noqa: E402
from benches.shared import child_pids  # noqa: E402

MAX_ROWS = 2_000_000
TARGET_P95_MS = 50.0
TARGET_RSS_MB = 150.0
#: A deep page is the one that starts this far down its tab (row 600,000 of All at a million rows).
DEEP_FRACTION = 0.6
PAGE = 50


# -- the database -------------------------------------------------------------------------------------------


def _admin_engine() -> Any:
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def bench_database(args: argparse.Namespace) -> Iterator[str]:
    """The seeded database's URL: reused when ``--db`` names a seeded one, else created and seeded here."""
    from sqlalchemy import create_engine, text

    from benches.admin_data import seed
    from connector.migrations import upgrade

    name = args.db or f"bench_admin_{uuid.uuid4().hex[:10]}"
    if not re.fullmatch(r"[a-z0-9_]+", name):
        sys.exit("--db: lower-case letters, digits and _ only")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    admin = _admin_engine()
    try:
        with admin.connect() as c:
            exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
            if not exists:
                c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        sys.exit(f"cannot create a database at {PG_ADMIN_URL} ({type(exc).__name__}: {exc}); is PostgreSQL up?")
    try:
        upgrade(url)  # a reused database gets any newer migration too
        engine = create_engine(url)
        with engine.connect() as c:
            have = int(c.execute(text("SELECT count(*) FROM redemptions")).scalar() or 0)
        engine.dispose()
        if exists and have:
            say(f"database {name}: reused, {have:,} redemptions already there (--rows ignored)")
        else:
            if have:
                sys.exit(f"{name} has {have:,} redemptions but was not seeded by this run; drop it or pick another")
            say(f"database {name}: seeding {args.rows:,} redemptions, {args.members:,} members, {args.brands} brands")
            started = time.perf_counter()
            steps = seed(url, rows=args.rows, members=args.members, brands=args.brands)
            total = time.perf_counter() - started
            detail = ", ".join(f"{k} {v:.1f} s" for k, v in steps.items())
            say(f"  seeded in {total:.1f} s ({args.rows / total:,.0f} rows/s overall): {detail}")
        yield url
    finally:
        if args.keep:
            say(f"kept database {name} (reuse it with --db {name}; drop it with: DROP DATABASE {name})")
        else:
            with admin.connect() as c:
                c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            say(f"dropped database {name}")
        admin.dispose()


def postgres_settings(url: str) -> dict[str, str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    out = {}
    with engine.connect() as c:
        for name in (
            "shared_buffers",
            "work_mem",
            "effective_cache_size",
            "random_page_cost",
            "jit",
            "max_parallel_workers_per_gather",
        ):
            out[name] = str(c.execute(text(f"SHOW {name}")).scalar())
        out["redemptions size"] = str(
            c.execute(
                text(
                    "SELECT pg_size_pretty(pg_table_size('redemptions')) || ' table, ' || "
                    "pg_size_pretty(pg_indexes_size('redemptions')) || ' indexes'"
                )
            ).scalar()
        )
    engine.dispose()
    return out


# -- who signs in, and what they look for ----------------------------------------------------------------


@dataclass
class Person:
    label: str
    email: str
    password: str
    role: str
    brand_id: int | None


@dataclass
class Case:
    label: str
    query: dict[str, str]
    expect: str | None = None  # text the page must contain (a found code), or None
    deep: bool = False


@dataclass
class Result:
    who: str
    label: str
    times_ms: list[float]
    sql_ms: float = float("nan")
    explain_ms: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def p50(self) -> float:
        return percentile(self.times_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.times_ms, 95)


def set_up_people(rt: Any) -> tuple[list[Person], str]:
    """A support user (every brand), a brand admin of brand 1, and a support API token (fresh each run)."""
    from sqlalchemy import delete

    from connector.core import catalog, users
    from connector.core.database import transaction
    from connector.core.model import Role
    from connector.core.tables import ApiToken, User

    people = [
        Person("support", "bench-support@bench.local", secrets.token_urlsafe(18), Role.SUPPORT.value, None),
        Person("brand admin", "bench-brand-admin@bench.local", secrets.token_urlsafe(18), Role.BRAND_ADMIN.value, 1),
    ]
    with transaction(rt.sessions) as s:
        s.execute(delete(User).where(User.email.in_([p.email for p in people])))
        s.execute(delete(ApiToken).where(ApiToken.name == "bench-admin-console"))
        for p in people:
            users.create_user(
                s, email=p.email, name=p.label, password=p.password, role=Role(p.role), brand_id=p.brand_id
            )
        _, token = catalog.create_api_token(s, "bench-admin-console", Role.SUPPORT)
    return people, token


def cases_for(rt: Any, person: Person) -> list[Case]:
    """What this person's pages and searches are, from the seeded data in their scope."""
    from sqlalchemy import text

    from benches.admin_data import COMMON_LAST_NAME, RARE_LAST_NAME
    from connector.core.model import TAB_STATUSES, Tab
    from connector.core.queries import encode_cursor

    scope = "" if person.brand_id is None else f" AND brand_id = {int(person.brand_id)}"
    cases: list[Case] = []
    with rt.sessions() as s:
        tabs: list[tuple[str, str]] = [
            (t.value, "status IN (" + ", ".join(f"'{x}'" for x in TAB_STATUSES[t]) + ")") for t in Tab
        ]
        tabs.append(("all", "true"))
        for tab, where in tabs:
            cases.append(Case(f"{tab}: first page", {"tab": tab}))
            total = int(s.execute(text(f"SELECT count(*) FROM redemptions WHERE {where}{scope}")).scalar() or 0)
            depth = int(total * DEEP_FRACTION)
            row = s.execute(
                text(
                    f"SELECT claimed_at, id FROM redemptions WHERE {where}{scope} "
                    "ORDER BY claimed_at DESC, id DESC OFFSET :k LIMIT 1"
                ),
                {"k": depth},
            ).first()
            if row is not None:
                # The app's own encoding of a cursor: what "Older →" would carry at this row.
                cursor = encode_cursor(SimpleNamespace(claimed_at=row.claimed_at.replace(tzinfo=UTC), id=row.id))
                cases.append(Case(f"{tab}: page at row {depth:,}", {"tab": tab, "cursor": cursor}, deep=True))
        # A redemption and a member deep in the list (the ones support is asked about are rarely the newest).
        code, email = s.execute(
            text(
                "SELECT r.code, m.email FROM redemptions r JOIN members m ON m.id = r.member_id "
                f"WHERE true{scope.replace('brand_id', 'r.brand_id')} ORDER BY r.claimed_at DESC, r.id DESC "
                "OFFSET :k LIMIT 1"
            ),
            {"k": int(s.execute(text(f"SELECT count(*) FROM redemptions WHERE true{scope}")).scalar() * 0.6)},
        ).one()
        rare_member = s.execute(
            text(f"SELECT first_name FROM members WHERE last_name = :n{scope} ORDER BY id LIMIT 1"),
            {"n": RARE_LAST_NAME},
        ).scalar()
    cases += [
        Case("search: exact code", {"tab": "all", "q": code}, expect=code),
        Case("search: exact code, lower case", {"tab": "all", "q": code.lower()}, expect=code),
        Case("search: exact email", {"tab": "all", "q": email.upper()}, expect=code),
        Case("search: name (common)", {"tab": "all", "q": COMMON_LAST_NAME.lower()}),
        Case("search: name (rare)", {"tab": "all", "q": RARE_LAST_NAME.lower()[:9]}),
        Case("search: full name", {"tab": "all", "q": f"{rare_member} {RARE_LAST_NAME}"}),
        Case("search: offer", {"tab": "all", "q": "hoodie"}),
        Case(
            "filter: error + March",
            {"tab": "all", "status": "error", "claimed_from": "2026-03-01", "claimed_to": "2026-03-31"},
        ),
        Case("filter: reward + unfulfilled", {"tab": "unfulfilled", "reward": str(2 if person.brand_id else 12)}),
        Case("search: part of a code", {"tab": "all", "q": code[2:9]}, expect=code),
        Case("search: no match", {"tab": "all", "q": "zzqqxx"}),
    ]
    return cases


# -- HTTP ---------------------------------------------------------------------------------------------------


def sign_in(base: str, person: Person) -> Any:
    """A requests session signed in through the login form, CSRF token included, as a browser would."""
    import requests

    http = requests.Session()
    page = http.get(f"{base}/admin/login", timeout=30)
    found = re.search(r'name="csrf_token"\s+value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"\s+name="csrf_token"', page.text
    )
    if not found:
        raise RuntimeError(f"no csrf_token on the login page:\n{page.text[:1000]}")
    answer = http.post(
        f"{base}/admin/login",
        data={"email": person.email, "password": person.password, "csrf_token": found.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"sign-in as {person.email} answered {answer.status_code}: {answer.text[:500]}")
    return http


def timed_get(http: Any, url: str, params: dict[str, str], headers: dict[str, str] | None = None) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = http.get(url, params=params, headers=headers, timeout=120)
    _ = answer.content
    return (time.perf_counter() - started) * 1000, answer


def measure(
    get: Callable[[], tuple[float, Any]], warmup: int, samples: int, check: Callable[[Any], None]
) -> list[float]:
    for _ in range(warmup):
        _, answer = get()
        check(answer)
    times = []
    for _ in range(samples):
        ms, answer = get()
        check(answer)
        times.append(ms)
    return times


# -- SQL only -----------------------------------------------------------------------------------------------


class StatementTrap:
    """Remembers the SELECTs an engine sends (statement and dialect-level parameters) while armed."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.armed = False
        self.seen: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.armed and statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, parameters))


def sql_only(rt: Any, trap: StatementTrap, actor: Any, query: dict[str, str], runs: int) -> tuple[float, float]:
    """p50 ms of ``list_redemptions`` in-process, and the server's EXPLAIN ANALYZE time of its statement."""
    from werkzeug.datastructures import MultiDict

    from connector.admin.filters import parse_filters
    from connector.core.queries import list_redemptions

    form = parse_filters(MultiDict(query))
    if form.errors:
        raise RuntimeError(f"{query}: {form.errors}")
    times = []
    for i in range(runs + 1):
        trap.armed, trap.seen = i == 0, []
        with rt.sessions() as s:
            started = time.perf_counter()
            list_redemptions(s, actor, form.filter, limit=PAGE, cursor=form.cursor or None)
            elapsed = (time.perf_counter() - started) * 1000
        trap.armed = False
        if i == 0:
            statements = list(trap.seen)
        else:
            times.append(elapsed)
    explain = float("nan")
    if statements:
        statement, params = statements[-1]
        with rt.engine.connect() as c:
            plan = c.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).scalar()
        explain = float(plan[0]["Execution Time"])
    return percentile(times, 50), explain


# -- export and memory --------------------------------------------------------------------------------------


class RssSampler(threading.Thread):
    """Peak VmRSS of some processes, read from /proc every ``interval`` seconds until stopped."""

    def __init__(self, pids: list[int], interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.peak_kib = {pid: 0 for pid in pids}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            for pid in self.pids:
                self.peak_kib[pid] = max(self.peak_kib[pid], proc_status(pid).get("VmRSS", 0))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def proc_status(pid: int) -> dict[str, int]:
    """The kB figures of /proc/<pid>/status (VmRSS, VmHWM, ...)."""
    out = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                out[key] = int(value.split()[0])
    return out


def export(http: Any, url: str, params: dict[str, str], headers: dict[str, str], pids: list[int]) -> dict[str, Any]:
    before = {pid: proc_status(pid) for pid in pids}
    sampler = RssSampler(pids)
    sampler.start()
    lines = 0
    size = 0
    started = time.perf_counter()
    first_byte = float("nan")
    try:
        with http.get(url, params=params, headers=headers, stream=True, timeout=600) as answer:
            if answer.status_code != 200:
                raise RuntimeError(f"export answered {answer.status_code}: {answer.text[:500]}")
            for chunk in answer.iter_content(chunk_size=256 * 1024):
                if first_byte != first_byte:
                    first_byte = time.perf_counter() - started
                lines += chunk.count(b"\r\n")
                size += len(chunk)
    finally:
        elapsed = time.perf_counter() - started
        sampler.stop()
    after = {pid: proc_status(pid) for pid in pids}
    return {
        "rows": lines - 1,  # the header line
        "seconds": elapsed,
        "first_byte_s": first_byte,
        "mib": size / 2**20,
        "rss_before_mb": max(before[p].get("VmRSS", 0) for p in pids) / 1024,
        "rss_peak_mb": max(sampler.peak_kib.values()) / 1024,
        "hwm_mb": max(after[p].get("VmHWM", 0) for p in pids) / 1024,
    }


# -- the run ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help=f"redemptions to seed (at most {MAX_ROWS:,})")
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--brands", type=int, default=10)
    ap.add_argument("--samples", type=int, default=50, help="timed requests per page (after --warmup)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--sql-runs", type=int, default=10, help="in-process runs per query for the SQL-only time")
    ap.add_argument("--export", default="admin", help="admin, api, admin,api or none")
    ap.add_argument("--who", default="support,brand admin", help="support, brand admin, or both (default)")
    ap.add_argument("--keep", action="store_true", help="keep the database (reuse it with --db NAME)")
    ap.add_argument("--db", default=None, help="database name: reused when it exists and is seeded")
    args = ap.parse_args(argv)
    if not 1_000 <= args.rows <= MAX_ROWS:
        ap.error(f"--rows between 1,000 and {MAX_ROWS:,}")
    if not 10 <= args.members <= args.rows or not 1 <= args.brands <= 99:
        ap.error("--members between 10 and --rows, --brands between 1 and 99")
    exports = [e for e in args.export.split(",") if e and e != "none"]
    who = {w.strip() for w in args.who.split(",")}

    run_started = time.perf_counter()
    say(f"admin console benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    benchlib.print_machine()
    say(f"  {'load average':<22} {' '.join(Path('/proc/loadavg').read_text().split()[:3])} (at start)")
    cpu = benchlib.CpuSampler().start()
    failed = False
    with bench_database(args) as url, tempfile.TemporaryDirectory(prefix="admin-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for key, value in postgres_settings(url).items():
            say(f"  {'pg ' + key:<22} {value}")
        from connector.bootstrap import build_runtime
        from connector.config import Settings
        from connector.core.access import Actor
        from connector.core.model import Role

        rt = build_runtime(Settings.from_env(benchlib.key_env(), database_url=url, jobs_mode="sync"), start_jobs=False)
        trap = StatementTrap(rt.engine)
        people, token = set_up_people(rt)
        people = [p for p in people if p.label in who]
        env = benchlib.bench_env(
            CONNECTOR_DATABASE_URL=url,
            CONNECTOR_JOBS_MODE="sync",  # no Redis: nothing here enqueues
            CONNECTOR_SECRET_KEY=uuid.uuid4().hex,
            CONNECTOR_DATA_DIR=str(tmp),
            CONNECTOR_OUTBOX_DIR=str(tmp / "outbox"),
        )
        server = benchlib.Gunicorn(
            "connector.app:create_app()", env, workers=1, threads=4, log_path=tmp / "gunicorn.log"
        )
        results: list[Result] = []
        export_results: list[tuple[str, dict[str, Any], int]] = []
        try:
            base = f"http://127.0.0.1:{server.port}"
            worker_pids = child_pids(server.proc.pid)
            say(f"gunicorn: 1 worker (pid {', '.join(map(str, worker_pids))}), 4 threads, at {base}")
            say(
                f"\nper page: {args.warmup} warm-up requests, then {args.samples} timed, one at a time; "
                f"SQL = list_redemptions in-process (p50 of {args.sql_runs}) / EXPLAIN ANALYZE execution time"
            )
            for person in people:
                http = sign_in(base, person)
                actor = Actor(name=f"user:{person.email}", role=Role(person.role), brand_id=person.brand_id)
                scope = "" if person.brand_id is None else f", brand 1 of {args.brands}"
                say(f"\n{person.label} ({person.role}{scope}):")
                say(f"  {'page':<34} {'n':>3} {'p50':>8} {'p95':>8} {'max':>8}   {'SQL p50':>8} {'EXPLAIN':>8}")
                for case in cases_for(rt, person):

                    def check(answer: Any, case: Case = case) -> None:
                        if answer.status_code != 200:
                            raise RuntimeError(f"{case.label}: {answer.status_code} {answer.text[:300]}")
                        if case.expect and case.expect not in answer.text:
                            raise RuntimeError(f"{case.label}: {case.expect!r} is not on the page")

                    times = measure(
                        lambda case=case, http=http: timed_get(http, f"{base}/admin/fulfilments", case.query),
                        args.warmup,
                        args.samples,
                        check,
                    )
                    sql_ms, explain_ms = sql_only(rt, trap, actor, case.query, args.sql_runs)
                    r = Result(person.label, case.label, times, sql_ms, explain_ms)
                    results.append(r)
                    say(
                        f"  {case.label:<34} {len(times):>3} {r.p50:>8.1f} {r.p95:>8.1f} {max(times):>8.1f}   "
                        f"{sql_ms:>8.1f} {explain_ms:>8.1f}"
                    )
                    if case.label == "all: first page" and "cursor=" not in check_older_link(http, base):
                        raise RuntimeError("the first page has no 'Older' link with a cursor")
                say(f"  page extras in-process (tab counts, rewards, brands), p50: {page_extras_ms(rt, actor):.1f} ms")
            # The JSON API's list, as a support token.
            say("\nAPI (support token):")
            auth = {"Authorization": f"Bearer {token}"}
            import requests

            api = requests.Session()
            support_actor = Actor(name="token:bench", role=Role.SUPPORT)
            for case in [
                c
                for c in cases_for(rt, people[0] if people else Person("", "", "", "support", None))
                if c.label.startswith(("unfulfilled", "all"))
            ]:
                query = {k: v for k, v in case.query.items() if (k, v) != ("tab", "all")}  # the API's All: no tab
                query["limit"] = str(PAGE)

                def api_check(answer: Any, label: str = case.label) -> None:
                    if answer.status_code != 200 or len(answer.json()["items"]) != PAGE:
                        raise RuntimeError(f"API {label}: {answer.status_code} {answer.text[:300]}")

                times = measure(
                    lambda query=query: timed_get(api, f"{base}/api/v1/redemptions", query, auth),
                    args.warmup,
                    args.samples,
                    api_check,
                )
                sql_ms, explain_ms = sql_only(rt, trap, support_actor, case.query, args.sql_runs)
                r = Result("API", case.label, times, sql_ms, explain_ms)
                results.append(r)
                say(
                    f"  {case.label:<34} {len(times):>3} {r.p50:>8.1f} {r.p95:>8.1f} {max(times):>8.1f}   "
                    f"{sql_ms:>8.1f} {explain_ms:>8.1f}"
                )
            # The export of everything.
            from sqlalchemy import text

            with rt.sessions() as s:
                in_db = int(s.execute(text("SELECT count(*) FROM redemptions")).scalar() or 0)
            for which in exports:
                if which == "admin":
                    support = next((p for p in people if p.role == Role.SUPPORT.value), None)
                    if support is None:
                        continue
                    http, url_, params, headers = (
                        sign_in(base, support),
                        f"{base}/admin/fulfilments/export.csv",
                        {"tab": "all"},
                        {},
                    )
                else:
                    http, url_, params, headers = requests.Session(), f"{base}/api/v1/redemptions/export.csv", {}, auth
                say(f"\nexport ({which}): GET {url_.removeprefix(base)} {params or ''} ...")
                e = export(http, url_, params, headers, worker_pids)
                export_results.append((which, e, in_db))
                say(
                    f"  {e['rows']:,} rows, {e['mib']:.0f} MiB in {e['seconds']:.1f} s = "
                    f"{e['rows'] / e['seconds']:,.0f} rows/s (first byte {e['first_byte_s'] * 1000:.0f} ms); "
                    f"worker RSS {e['rss_before_mb']:.0f} MB before, peak {e['rss_peak_mb']:.0f} MB sampled, "
                    f"VmHWM {e['hwm_mb']:.0f} MB"
                )
                if e["rows"] != in_db:
                    say(f"  MISMATCH: the export has {e['rows']:,} rows, the database {in_db:,}")
                    failed = True
        finally:
            server.stop()
            rt.engine.dispose()
        busy = cpu.stop()
        summary(results, export_results)
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        took = time.perf_counter() - run_started
        say(
            f"\nwhole machine busy {busy:.0f}% of both cores during the run; "
            f"load average now {load}; run took {took:.0f} s"
        )
    return 1 if failed else 0


def check_older_link(http: Any, base: str) -> str:
    """The first page's "Older →" link, followed once: the cursor path a user takes."""
    page = http.get(f"{base}/admin/fulfilments", params={"tab": "all"}, timeout=60).text
    found = re.search(r'href="([^"]*cursor=[^"]+)"', page)
    if not found:
        return ""
    link = found.group(1).replace("&amp;", "&")
    answer = http.get(base + link if link.startswith("/") else f"{base}/admin/{link}", timeout=60)
    if answer.status_code != 200:
        raise RuntimeError(f"following {link} answered {answer.status_code}")
    return link


def page_extras_ms(rt: Any, actor: Any, runs: int = 10) -> float:
    from connector.admin import reads

    times = []
    for _ in range(runs):
        with rt.sessions() as s:
            started = time.perf_counter()
            reads.tab_counts(s, actor)
            reads.visible_rewards(s, actor)
            reads.brand_names(s, actor)
            times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50)


def summary(results: list[Result], exports: list[tuple[str, dict[str, Any], int]]) -> None:
    say(
        f"\nsummary (targets: p95 < {TARGET_P95_MS:.0f} ms for first and deep pages; "
        f"export peak RSS < {TARGET_RSS_MB:.0f} MB)"
    )
    say(f"  {'who':<12} {'page':<34} {'p50 ms':>8} {'p95 ms':>8} {'SQL ms':>8}  target")
    for r in results:
        mark = "met" if r.p95 < TARGET_P95_MS else "MISSED"
        say(f"  {r.who:<12} {r.label:<34} {r.p50:>8.1f} {r.p95:>8.1f} {r.sql_ms:>8.1f}  {mark}")
    for which, e, in_db in exports:
        mark = "met" if max(e["hwm_mb"], e["rss_peak_mb"]) < TARGET_RSS_MB else "MISSED"
        say(
            f"  export {which:<6} {e['rows']:,}/{in_db:,} rows in {e['seconds']:.1f} s, "
            f"{e['rows'] / e['seconds']:,.0f} rows/s, peak RSS {max(e['hwm_mb'], e['rss_peak_mb']):.0f} MB  {mark}"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
