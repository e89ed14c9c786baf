"""The harness itself works: Debian's Chromium reaches the live server and reads real JSON from it."""

from __future__ import annotations

import json

from playwright.sync_api import Page


def test_browser_reads_healthz_from_the_live_server(page: Page) -> None:
    response = page.goto("/healthz")
    assert response is not None and response.status == 200
    body = json.loads(page.locator("body").inner_text())
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert page.evaluate("navigator.userAgent").find("Chrome/") != -1
