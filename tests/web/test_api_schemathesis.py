"""Schemathesis against ``/api/v1/openapi.json``: the API answers exactly as its description says.

Every check, every phase (examples, coverage, fuzzing, stateful) runs against the real Flask
app, served on 127.0.0.1 from a thread of this process, on a database seeded with both worlds
the API serves (redemptions and the frequent-buyer records), authenticated as a platform admin,
who reaches every operation. A finding is either a server bug or a description looser or
stricter than the server; both get fixed, so the expected number of findings is zero.

Bounded for CI: ``MAX_EXAMPLES`` fuzzing examples per operation, ``STATEFUL_SCENARIOS`` stateful
runs, a fixed seed (the same cases each run) and one worker; no ``max-time`` (with one,
schemathesis repeats fuzzing and stateful until it runs out), pytest-timeout is the guard.
Measured on PostgreSQL: 58 operations, about 4,700 requests (coverage 3,201, fuzzing 1,378,
stateful 125), 56 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

pytest.importorskip("schemathesis")

import schemathesis  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.engine import events  # noqa: E402

from connector import hookimpl  # noqa: E402
from connector.app import create_app  # noqa: E402
from connector.core import catalog  # noqa: E402
from connector.core.database import transaction  # noqa: E402
from connector.core.hooktypes import TokenGrant, TokenGrantRequest, WebhookSyncReport  # noqa: E402
from connector.core.model import Role  # noqa: E402
from connector.core.tables import Brand  # noqa: E402
from connector.plugins.shopify.scopes import REQUIRED_SCOPES  # noqa: E402
from tests.fakes import FakeShopPlugin  # noqa: E402
from tests.frequent_buyer.conftest import CardsCsvFormat, seed_fb_world  # noqa: E402

#: Hypothesis examples per operation in the fuzzing phase (positive and negative).
MAX_EXAMPLES = 25
#: Stateful scenarios (chains of calls following Location headers and ids), and steps in each.
STATEFUL_SCENARIOS = 60
STATEFUL_STEPS = 8
SEED = 20_261_206
#: schemathesis's default expected statuses for the two data checks (4.x), widened below for documented reasons.
NEGATIVE_EXPECTED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]
POSITIVE_EXPECTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]


def run_schemathesis(app: Any, token: str) -> tuple[list[str], dict[str, Any]]:
    """Run every phase with every check; the failures (one line each, with a curl to replay) and counts."""
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {token}"},
            "workers": 1,
            "checks": {
                # 413 is how the server refuses a body over its limit (64 KiB): an array longer than its
                # maxItems (5,000 program items) cannot fit, so that negative case is rightly refused with 413.
                "negative_data_rejection": {"expected-statuses": [*NEGATIVE_EXPECTED, "413"]},
                # 422 also answers what JSON Schema cannot say: a reference to a record that does not exist
                # or is out of the token's scope ("no brand 7"), rules across fields (claimed_to after
                # claimed_from, a distributor serving every location), uniqueness (a taken slug or SKU) and
                # the filters each report takes. Such schema-valid requests are refused with 422 by design.
                # 413 likewise: a body over the operation's byte limit is refused whatever its shape.
                "positive_data_acceptance": {"expected-statuses": [*POSITIVE_EXPECTED, "413", "422"]},
            },
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": False},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {
                    "enabled": True,
                    "max-steps": STATEFUL_STEPS,
                    "generation": {"max-examples": STATEFUL_SCENARIOS},
                },
            },
        }
    )
    # A real server on 127.0.0.1 rather than schemathesis's WSGI transport, whose stateful phase fails
    # in 4.x (it passes ``max_redirects`` to werkzeug's test client, which does not take it).
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        return _run(f"http://127.0.0.1:{server.server_port}/api/v1/openapi.json", config)
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _run(url: str, config: SchemathesisConfig) -> tuple[list[str], dict[str, Any]]:
    schema = schemathesis.openapi.from_url(url, config=config)
    failures: list[str] = []
    stats: dict[str, Any] = {"operations": len(list(schema.get_all_operations())), "cases": 0, "scenarios": 0}
    started = time.monotonic()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            stats["scenarios"] += 1
            stats["cases"] += len(event.recorder.cases)
            per_phase = stats.setdefault("cases_by_phase", {})
            per_phase[event.phase.value] = per_phase.get(event.phase.value, 0) + len(event.recorder.cases)
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    case = event.recorder.cases[case_id].value
                    failure = check.failure_info.failure
                    interaction = event.recorder.interactions.get(case_id)
                    answer = interaction.response.content[:300] if interaction and interaction.response else b""
                    failures.append(
                        f"[{event.phase.value}] {check.name}: {failure.title} -- {failure.message[:300]!r}\n"
                        f"    {case.as_curl_command()[:600]}\n    answered: {answer!r}"
                    )
        elif isinstance(event, events.PhaseFinished):
            stats.setdefault("phase_seconds", {})[event.phase.name.value] = round(time.monotonic() - started, 1)
        elif isinstance(event, events.NonFatalError):
            failures.append(f"[error] {event.label}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            failures.append(f"[fatal] {event.exception!r}")
    stats["seconds"] = round(time.monotonic() - started, 1)
    return sorted(set(failures)), stats


class OfflineShops:
    """``POST /api/v1/shops`` gets its token and its webhook sync here: the fuzzer's shops are not real, and
    no request may leave the machine."""

    @hookimpl
    def connector_grant_token(self, request: TokenGrantRequest, provider: str, ctx: Any) -> TokenGrant:
        return TokenGrant(access_token="shpat_fuzz_token", scopes=REQUIRED_SCOPES, expires_in=86_400.0)

    @hookimpl
    def connector_sync_webhooks(self, shop: Any, webhook_uri: str, provider: str, ctx: Any) -> WebhookSyncReport:
        return WebhookSyncReport(uri=webhook_uri)

    @hookimpl(tryfirst=True)
    def connector_check_sku(self, shop: Any, sku: str, provider: str, ctx: Any) -> list[Any]:
        return []  # the Rewards' live SKU check: every SKU can be ordered


#: The app settings installs need (``POST /api/v1/shops`` with ``install`` answers the install link).
INSTALL_ENV = {"SHOPIFY_CLIENT_ID": "fuzz-client-id", "SHOPIFY_CLIENT_SECRET": "fuzz-client-secret-0123456789"}


@pytest.fixture
def seeded(make_runtime) -> Iterator[tuple[Any, str]]:
    rt = make_runtime(
        plugins=[FakeShopPlugin(), CardsCsvFormat(), OfflineShops()],
        plugin_env=INSTALL_ENV,
        public_url="https://connector.example",
    )
    fb = seed_fb_world(rt)
    with transaction(rt.sessions) as s:
        brand = s.get(Brand, fb.brand_id)
        shop = catalog.add_shop(
            s, brand, domain="acme.myshopify.com", access_token="shpat_x", webhook_secret="whsec_schemathesis_0123"
        )
        catalog.add_reward(s, brand, name="T-Shirt", sku="TSHIRT-M", points_cost=10, shop=shop)
        member = catalog.add_member(s, brand, first_name="Ada", last_name="Lovelace", email="ada@example.com")
        catalog.award_points(s, member, 1_000_000, "welcome bonus")
        _, token = catalog.create_api_token(s, "schemathesis", Role.PLATFORM_ADMIN)
    yield create_app(settings=rt.settings, runtime=rt), token


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_schemathesis_finds_nothing_in_every_phase_with_every_check(seeded):
    app, token = seeded
    failures, stats = run_schemathesis(app, token)
    print(f"schemathesis: {stats}")
    assert stats["operations"] >= 45 and stats["cases"] > 1_000, stats
    assert not failures, f"{len(failures)} findings ({stats}):\n" + "\n".join(failures)
