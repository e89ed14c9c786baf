"""The Users page in a real browser: a brand admin invites someone, who opens the emailed link, chooses a
password and signs in with it; the link does not work a second time.

Headless Debian Chromium against the live app, the real database and the real outbox mailer (the link is
read from the ``.eml`` file the connector wrote); see tests/e2e/conftest.py.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from connector.core.model import Role
from connector.core.runtime import Runtime
from tests.e2e.pages import click_and_wait, flash, log_in, url_path
from tests.e2e.seed import Console, ConsoleUser
from tests.web.admin.users_support import link_path, mails_to

NEW = ConsoleUser("nina.new@example.com", "Nina New", Role.SUPPORT)


def test_invite_accept_and_sign_in(new_page, console: Console, rt: Runtime) -> None:
    admin: Page = new_page()
    log_in(admin, console.brand_admin)
    click_and_wait(admin.locator("nav a", has_text="Users"))
    expect(admin).to_have_url(url_path("/admin/users"))
    form = admin.locator("#invite-form")
    form.locator('input[name="email"]').fill(NEW.email)
    form.locator('input[name="name"]').fill(NEW.name)
    form.locator('select[name="role"]').select_option("support")
    click_and_wait(form.locator('button[type="submit"]'))
    expect(flash(admin, "success")).to_contain_text(f"Invitation sent to {NEW.email}")
    expect(admin.locator("#user .user-status")).to_have_text("invited")

    [mail] = mails_to(rt, NEW.email)
    path = link_path(mail)
    nina: Page = new_page()
    nina.goto(path)
    expect(nina.locator("#welcome h1")).to_have_text(f"Welcome, {NEW.name}")
    nina.locator("#password").fill(NEW.password)
    nina.locator("#password-again").fill(NEW.password)
    click_and_wait(nina.locator('#welcome-form button[type="submit"]'))
    expect(nina).to_have_url(url_path("/admin/login"))
    expect(flash(nina, "success")).to_contain_text("Your password is set")
    log_in(nina, NEW)
    expect(nina.locator(".who-name")).to_have_text(NEW.name)
    expect(nina).to_have_url(url_path("/admin/fulfilments"))

    # The same link again: refused, and the admin sees the user active.
    nina.goto(path)
    expect(nina.locator("#welcome h1")).to_have_text("This link does not work")
    admin.reload()
    expect(admin.locator("#user .user-status")).to_have_text("active")
