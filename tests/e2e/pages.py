"""What a person does and sees in the admin console, in the DOM contract's selectors.

One place for the selectors, so a contract change is one edit, and the screenshot script
walks the console exactly as the tests do.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Locator, Page, expect

from tests.e2e.seed import ConsoleUser

ROWS = "#fulfilments tr[data-redemption-id]"
TABS = ("unfulfilled", "fulfilled", "reversed")


def path_of(page: Page) -> str:
    return urlparse(page.url).path


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def log_in(page: Page, user: ConsoleUser, *, password: str | None = None) -> None:
    """Fill and submit the login form as a person would (click, not a crafted POST)."""
    page.goto("/admin/login")
    form = page.locator("#login-form")
    form.locator('input[name="email"]').fill(user.email)
    form.locator('input[name="password"]').fill(user.password if password is None else password)
    click_and_wait(form.locator('button[type="submit"]'))


def log_in_to_fulfilments(page: Page, user: ConsoleUser) -> None:
    log_in(page, user)
    expect(page).to_have_url(url_path("/admin/fulfilments"))


def url_path(path: str) -> re.Pattern[str]:
    """A URL pattern for ``expect(page).to_have_url``: this path, any host, any query."""
    return re.compile(rf"^[^?#]*{re.escape(path)}(\?.*)?$")


def open_tab(page: Page, tab: str) -> None:
    """Click a tab link and wait until the new tab is the current one."""
    click_and_wait(page.locator(f'a[data-tab="{tab}"]'))
    expect(page.locator(f'a[data-tab="{tab}"]')).to_have_attribute("aria-current", "page")


def rows(page: Page) -> Locator:
    return page.locator(ROWS)


def row(page: Page, redemption_id: int) -> Locator:
    return page.locator(f'#fulfilments tr[data-redemption-id="{redemption_id}"]')


def row_ids(page: Page) -> set[int]:
    return {int(v) for v in rows(page).evaluate_all("rs => rs.map(r => r.dataset.redemptionId)")}


def row_statuses(page: Page) -> list[str]:
    return list(rows(page).evaluate_all("rs => rs.map(r => r.dataset.status)"))


def current_tab(page: Page) -> list[str]:
    return list(page.locator('a[data-tab][aria-current="page"]').evaluate_all("as => as.map(a => a.dataset.tab)"))


#: How much of an element a person can actually see: CSS visibility and opacity (on it and its ancestors,
#: via checkVisibility), a real size, and the share of its box not cut off by the viewport or by a
#: scrolling/clipping ancestor. Playwright's own "visible" ignores opacity and clipping, and a tooltip
#: faded to opacity 0 or cut off by a table wrapper is exactly the bug this must catch.
_SEEN_JS = """
(el) => {
  if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true}))
    return {seen: 0, why: "hidden by CSS (display, visibility or opacity)"};
  const r = el.getBoundingClientRect();
  if (r.width < 2 || r.height < 2) return {seen: 0, why: `no size (${r.width}x${r.height})`};
  let [l, t, rr, b] = [Math.max(r.left, 0), Math.max(r.top, 0),
                       Math.min(r.right, innerWidth), Math.min(r.bottom, innerHeight)];
  let why = "cut off by the viewport";
  const pos = getComputedStyle(el).position;
  if (pos !== "fixed") {
    const cb = pos === "absolute" ? el.offsetParent : el.parentElement;
    let reachedCb = pos !== "absolute";
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      if (a === cb) reachedCb = true;
      if (!reachedCb) continue;
      const s = getComputedStyle(a);
      const clipX = s.overflowX !== "visible", clipY = s.overflowY !== "visible";
      if (!clipX && !clipY) continue;
      const ar = a.getBoundingClientRect();
      const before = (rr - l) * (b - t);
      if (clipX) { l = Math.max(l, ar.left); rr = Math.min(rr, ar.right); }
      if (clipY) { t = Math.max(t, ar.top); b = Math.min(b, ar.bottom); }
      if ((Math.max(rr - l, 0) * Math.max(b - t, 0)) < before)
        why = `clipped by <${a.tagName.toLowerCase()} class="${a.className}"> (overflow ${s.overflowX}/${s.overflowY})`;
    }
  }
  const seen = Math.max(rr - l, 0) * Math.max(b - t, 0) / (r.width * r.height);
  return {seen, why: seen >= 0.95 ? "visible" : why};
}
"""


def seen_share(locator: Locator) -> tuple[float, str]:
    """(share of the element a person can see, 0..1; why not all of it)."""
    result = locator.evaluate(_SEEN_JS)
    return float(result["seen"]), str(result["why"])


def wait_until_seen(locator: Locator, *, seen: bool, timeout: float = 3.0) -> tuple[float, str]:
    """Poll until the element is (almost) fully seen, or fully unseen; CSS transitions take a moment."""
    deadline = time.monotonic() + timeout
    while True:
        share, why = seen_share(locator)
        if (share >= 0.95) == seen and (seen or share == 0):
            return share, why
        if time.monotonic() > deadline:
            return share, why
        locator.page.wait_for_timeout(50)


def submit(form: Locator) -> None:
    """Click the form's submit button (a button without a type submits too) and wait for the page it leads to.

    Waiting for the navigation, not just the click, matters: reading rows right after a bare click can
    read the old page, which still shows the rows the filter was meant to remove.
    """
    click_and_wait(form.locator('button[type="submit"], input[type="submit"], button:not([type])').first)


def click_and_wait(target: Locator) -> None:
    """Click something that loads a new page (a link, a submit button) and wait until that page has loaded."""
    with target.page.expect_navigation():
        target.click()


def set_field(form: Locator, name: str, value: str, *, option_text: str | None = None) -> None:
    """Set a filter the way its control works: pick an option in a select, type into an input.

    ``option_text`` picks the select option whose label contains it (a reward by its name).
    """
    field = form.locator(f'[name="{name}"]')
    if field.evaluate("e => e.tagName") == "SELECT":
        if option_text is not None:
            labels = field.locator("option").evaluate_all("os => os.map(o => [o.value, o.textContent.trim()])")
            matching = [v for v, label in labels if option_text.lower() in label.lower()]
            assert matching, f"no option mentioning {option_text!r} in [name={name}]: {labels}"
            field.select_option(value=matching[0])
        else:
            field.select_option(value=value)
    else:
        field.fill(value)


def flash(page: Page, kind: str) -> Locator:
    return page.locator(f'.flash[data-kind="{kind}"]')
