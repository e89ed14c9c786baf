"""Sign-in cost: what OWASP's scrypt cost (N=2**17, r=8, p=1) costs a console sign-in, against the old 2**14.

The password hash is the one deliberately slow step of a sign-in, and it bounds how many sign-ins a
web process serves at once (each check holds 128 MiB for its duration). This runs the real console
sign-in (``POST /admin/login`` through the Flask app, CSRF token and all, on a throwaway SQLite
database) ``--count`` times per cost, one after another and then from ``--threads`` threads at once,
and prints the latency and the process's peak RSS. It asserts nothing.

    .venv/bin/python benches/sign_in.py
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from connector.app import create_app
from connector.config import Settings
from connector.core.credentials import generate_key
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.tables import Brand
from connector.core.users import create_user
from connector.migrations import upgrade

PASSWORD = "correct-horse-battery-staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _app(workdir: Path, scrypt_n: int, users: int):  # noqa: ANN202 - a Flask app, typed loosely for a script
    url = f"sqlite:///{workdir / f'signin-{scrypt_n}.sqlite3'}"
    keys = (generate_key(),)
    settings = Settings.from_env(
        {},
        database_url=url,
        outbox_dir=workdir / "outbox",
        jobs_mode="sync",
        secret_key="bench-" + generate_key(),
        encryption_keys=keys,
        password_scrypt_n=scrypt_n,
    )
    from connector.encryption import load_keyring

    upgrade(url, keyring=load_keyring(settings))
    app = create_app(settings)
    rt = app.extensions["connector"]
    with transaction(rt.sessions) as s:
        brand = Brand(name="Bench", slug="bench")
        s.add(brand)
        s.flush()
        for i in range(users):
            create_user(
                s,
                email=f"u{i}@bench.example",
                name=f"U{i}",
                password=PASSWORD,
                role=Role.BRAND_ADMIN,
                brand_id=brand.id,
                scrypt_n=scrypt_n,
            )
    return app


def _sign_in(app, email: str) -> float:  # noqa: ANN001
    client = app.test_client()
    token = _CSRF.search(client.get("/admin/login").text).group(1)  # type: ignore[union-attr]
    started = time.perf_counter()
    response = client.post("/admin/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    elapsed = time.perf_counter() - started
    if response.status_code != 302:
        raise SystemExit(f"sign-in failed with {response.status_code}: {response.text[:300]}")
    return elapsed


def _report(label: str, samples: list[float], wall: float) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(
        f"  {label:<24} n={len(samples):<4} p50 {statistics.median(samples) * 1000:7.1f} ms   "
        f"p95 {p95 * 1000:7.1f} ms   {len(samples) / wall:6.2f} sign-ins/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="sign-ins per cost and mode (default 20)")
    parser.add_argument("--threads", type=int, default=4, help="concurrent sign-ins (default 4, the Procfile's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-signin-") as tmp:
        for scrypt_n in (2**14, 2**17):
            app = _app(Path(tmp), scrypt_n, args.count)
            print(f"scrypt N=2**{scrypt_n.bit_length() - 1}, r=8, p=1")
            started = time.perf_counter()
            serial = [_sign_in(app, f"u{i}@bench.example") for i in range(args.count)]
            _report("one at a time", serial, time.perf_counter() - started)
            started = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                parallel = list(
                    pool.map(_sign_in, [app] * args.count, [f"u{i}@bench.example" for i in range(args.count)])
                )
            _report(f"{args.threads} at once", parallel, time.perf_counter() - started)
            peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  peak RSS so far           {peak_mib:7.0f} MiB")


if __name__ == "__main__":
    main()
