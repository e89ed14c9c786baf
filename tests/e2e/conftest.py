"""Fixtures for the admin console's browser tests: a live server, seeded data, Debian's Chromium.

* ``live_server``: the real app from ``create_app(runtime=...)`` on 127.0.0.1 (a free port),
  served by werkzeug in a thread, with the fake shop plugin; stopped after each test. It records
  every 5xx it answers, and a test that saw one fails even if the page looked fine.
* ``console``: users of every role and redemptions in every tab (see ``seed.py``).
* ``browser``: one Chromium for the session; ``page``: a fresh context per test (own cookies,
  downloads accepted, 10 s timeouts). A failed test leaves a screenshot and the page's HTML,
  listed at the end of the run.

No Chromium: the suite is skipped on a developer machine, and FAILS under CI (CI=true), where
``.ci/install-browser`` must have installed it; a silent skip there would hide a broken setup.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.core.runtime import Runtime
from tests.conftest import IN_CI
from tests.e2e.harness import CHROMIUM, DEFAULT_TIMEOUT_MS, LiveServer, launch_chromium
from tests.e2e.seed import Console, seed_console
from tests.fakes import FakeShopPlugin

E2E_DIR = Path(__file__).parent
#: Where a failed test's screenshots, HTML and failure text are kept (listed at the end of the run).
ARTIFACTS_DIR = Path(tempfile.gettempdir()) / "connector-e2e-failures"
#: Seconds one e2e test may run, browser start included; a healthy one takes about a second.
E2E_TEST_TIMEOUT = 90
_ARTIFACTS = pytest.StashKey[list[str]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every e2e test its own timeout, so a hung browser stops the test, not the CI run."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(E2E_TEST_TIMEOUT))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Keep each phase's report on the item, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    saved = terminalreporter.config.stash.get(_ARTIFACTS, [])
    if saved:
        terminalreporter.section("e2e failure artifacts")
        for line in saved:
            terminalreporter.write_line(line)


# -- server and data ------------------------------------------------------------------------------------------


@pytest.fixture
def shop() -> FakeShopPlugin:
    """The shop: takes orders and cancellations in memory; a test appends errors to its script."""
    return FakeShopPlugin()


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime], shop: FakeShopPlugin) -> Runtime:
    return make_runtime(plugins=[shop])


@pytest.fixture
def console(rt: Runtime, shop: FakeShopPlugin) -> Console:
    return seed_console(rt, shop)


@pytest.fixture
def live_server(rt: Runtime, console: Console) -> Iterator[LiveServer]:
    server = LiveServer(rt).start()
    yield server
    server.stop()
    assert not server.errors.seen, f"the server answered with errors during the test: {server.errors.seen}"


# -- browser --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: run .ci/install-browser (Debian's chromium) to run the admin e2e tests"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Open a page in a fresh context (a separate browser profile: own cookies); call it again for a second user."""
    from playwright.sync_api import expect

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    contexts: list[Any] = []
    page_errors: list[str] = []

    def make() -> Any:
        context = browser.new_context(
            base_url=live_server.url, accept_downloads=True, viewport={"width": 1280, "height": 800}
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        # On the context, so a second tab a test opens (context.new_page()) is watched too.
        context.on(
            "page", lambda opened: opened.on("pageerror", lambda exc: page_errors.append(f"{opened.url}: {exc}"))
        )
        return context.new_page()

    yield make

    failed = [
        report
        for when in ("setup", "call")
        if (report := getattr(request.node, f"rep_{when}", None)) is not None and report.failed
    ]
    for n, context in enumerate(contexts):
        if failed:
            _capture(request, context, n, failed[0])
        context.close()
    assert not page_errors, f"uncaught JavaScript errors in the page: {page_errors}"


def _capture(request: pytest.FixtureRequest, context: Any, n: int, report: pytest.TestReport) -> None:
    """Keep what the browser showed when a test failed: a full-page PNG, the HTML and the failure text.

    Outside pytest's tmp_path, which keeps only the last three runs: a flaky failure must survive the reruns.
    """
    folder = ARTIFACTS_DIR / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "failure.txt").write_text(str(report.longrepr))
    saved = request.config.stash.setdefault(_ARTIFACTS, [])
    for m, page in enumerate(context.pages):
        stem = folder / f"page-{n}-{m}"
        try:
            page.screenshot(path=f"{stem}.png", full_page=True)
            Path(f"{stem}.html").write_text(page.content())
            saved.append(f"{request.node.nodeid}: {page.url} -> {stem}.png")
        except Exception as exc:  # noqa: BLE001 - evidence is best effort; the failure is already reported
            saved.append(f"{request.node.nodeid}: no capture of {page.url}: {exc}")


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    """One page in a fresh browser context, on the live server (relative URLs work)."""
    return new_page()
