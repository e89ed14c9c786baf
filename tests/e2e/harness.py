"""The pieces the e2e fixtures and the screenshot script share: a live server and a browser.

Kept out of conftest.py so ``python -m tests.e2e.screenshots`` can serve the same app and
drive the same browser without pytest. The browser is always Debian's ``/usr/bin/chromium``:
the machines reach package registries only, so Playwright's own browser download cannot work.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from connector.app import create_app
from connector.config import Settings
from connector.core.credentials import generate_key
from connector.core.database import make_engine, make_session_factory
from connector.core.runtime import Runtime
from connector.dispatch import SyncDispatcher
from connector.encryption import load_keyring
from connector.mail import OutboxMailer
from connector.migrations import upgrade
from connector.plugin_manager import make_plugin_manager

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]

#: Flags for a closed network: without the background-networking ones Chromium keeps dialling out
#: (component updates, sync, QUIC probes) and the sandboxed network refuses it. Playwright adds a
#: fresh, empty ``--user-data-dir`` of its own to every ``launch()``, so no profile leaks between runs.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Milliseconds a single Playwright action or expectation may take: a page of this app renders in
#: tens of milliseconds, so anything near this is a hang, and it must fail well inside the test timeout.
DEFAULT_TIMEOUT_MS = 10_000

#: The screenshots' window: wide enough for the console's tables, as a laptop shows them.
VIEWPORT = {"width": 1280, "height": 800}


def launch_chromium(playwright: Any) -> Any:
    """Start Debian's Chromium through Playwright (never a downloaded build)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def build_runtime(settings: Settings, plugins: Iterable[object] = ()) -> Runtime:
    """A runtime like the test suite's ``make_runtime``: real database, jobs run inline (deterministic)."""
    engine = make_engine(settings.database_url, keyring=load_keyring(settings))
    rt = Runtime(
        settings=settings,
        sessions=make_session_factory(engine),
        plugins=make_plugin_manager(load_entrypoints=True, extra=tuple(plugins)),
        mailer=OutboxMailer(settings.outbox_dir, settings.mail_from),
    )
    rt.dispatcher = SyncDispatcher(rt)
    return rt


class _QuietHandler(WSGIRequestHandler):
    """No access log: pytest's output should show failures, not every GET the browser made."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class ServerErrors:
    """Every 5xx the live server answered: a test that passes in the browser must not hide one."""

    seen: list[str] = field(default_factory=list)

    def wrap(self, app: Callable[..., Any]) -> Callable[..., Any]:
        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            def recording(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                if status[:1] == "5":
                    self.seen.append(f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')} -> {status}")
                return start_response(status, headers, exc_info)

            return app(environ, recording)

        return middleware


class LiveServer:
    """The real Flask app served over HTTP on 127.0.0.1, in a thread, so a real browser can talk to it."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.app = create_app(settings=rt.settings, runtime=rt)
        self.errors = ServerErrors()
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self.errors.wrap(self.app), threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="e2e-live-server", daemon=True
        )

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def screenshot_settings(workdir: Path, name: str, env: Mapping[str, str], **extra: Any) -> Settings:
    """Settings over a fresh, migrated SQLite database in ``workdir``: jobs inline, new keys each run."""
    database_url = f"sqlite:///{workdir / name}"
    upgrade(database_url)
    return Settings.from_env(
        env,
        database_url=database_url,
        outbox_dir=workdir / "outbox",
        jobs_mode="sync",
        secret_key=secrets.token_hex(32),
        encryption_keys=(generate_key(),),
        **extra,
    )


def screenshots_main(
    take: Callable[[Path, Path], list[Path]], description: str, argv: list[str] | None, *, prefix: str
) -> int:
    """A screenshot script's command line: ``--out`` (docs/screenshots), a throw-away work folder, a path a line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder for the PNGs")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: run .ci/install-browser first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
        for path in take(args.out, Path(workdir)):
            print(path)
    return 0


@dataclass
class Album:
    """Browser pages on the live server, and the screenshots taken of them in order."""

    browser: Any
    base_url: str
    out: Path
    written: list[Path] = field(default_factory=list)

    def new_page(self) -> Any:
        """A page in a context of its own, so two users can be signed in side by side."""
        context = self.browser.new_context(base_url=self.base_url, viewport=VIEWPORT)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        return context.new_page()

    def shot(self, page: Any, name: str, *, whole: bool = False) -> None:
        self.written.append(self.out / name)
        page.screenshot(path=self.written[-1], full_page=whole)


@contextmanager
def album(rt: Runtime, out: Path) -> Iterator[Album]:
    """Serve ``rt`` and drive Chromium at it; afterwards fail if the server answered any 5xx, so no
    screenshot shows an error page unnoticed."""
    out.mkdir(parents=True, exist_ok=True)
    with LiveServer(rt) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield Album(browser, server.url, out)
        browser.close()
    rt.engine.dispose()
    if server.errors.seen:
        raise SystemExit(f"the server answered with errors: {server.errors.seen}")
