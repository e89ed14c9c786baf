"""A console URL with an id no row can have is the console's 404 page, never a 500 (issue 10).

werkzeug's ``int`` converter takes ids of any size, which SQLite (OverflowError) and PostgreSQL
("out of range") answered with a 500; the console shares the API's ``id`` converter instead.
"""

from __future__ import annotations

import pytest

from tests.web.admin.stories import snapshot

HUGE = ["9223372036854775808", "99999999999999999999999999", "2147483648"]
GETS = [
    "/admin/redemptions/{id}",
    "/admin/redemptions/{id}/reverse",
    "/admin/members/{id}",
    "/admin/programs/{id}",
    "/admin/programs/{id}/products.csv",
    "/admin/pos-reports/{id}",
    "/admin/pos-redemptions/{id}",
    "/admin/distribution/batches/{id}",
    "/admin/distribution/free-goods/{id}",
    "/admin/credit-status/batches/{id}",
]
POSTS = [
    "/admin/redemptions/{id}/resend",
    "/admin/redemptions/{id}/retry",
    "/admin/redemptions/{id}/reverse",
    "/admin/pos-reports/{id}/approve",
    "/admin/distribution/batches/{id}/fulfil",
    "/admin/credit-status/batches/{id}/reconcile",
    "/admin/credit-status/batches/{id}/credit-memos",
]


@pytest.mark.parametrize("value", HUGE)
def test_a_console_page_for_an_id_no_row_can_have_is_a_404_page(signed_in, people, value):
    browser = signed_in(people.platform_admin)
    for url in GETS:
        response = browser.get(url.format(id=value))
        assert response.status_code == 404, (url, response.status_code)
        assert response.mimetype == "text/html", url


@pytest.mark.parametrize("value", HUGE)
def test_a_console_action_on_an_id_no_row_can_have_is_a_404_and_changes_nothing(signed_in, people, rt, value):
    browser = signed_in(people.platform_admin)
    before = snapshot(rt)
    for url in POSTS:
        response = browser.post(url.format(id=value), {"reason": "x"})
        assert response.status_code == 404, (url, response.status_code)
    assert snapshot(rt) == before
