"""Fixtures for the console tests: users of every role, signed-in clients, redemptions in every state.

Builds on tests/web/conftest.py (``rt`` with the FakeShopPlugin, a seeded ``world`` with 5000
points per member, ``app``). Users are created through ``core.users.create_user`` and sign in
through the real login form, so every test runs the real session and CSRF code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from connector.core.database import transaction
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.users import create_user
from tests.conftest import World
from tests.web.admin.dom import Node, parse

PASSWORD = "correct-horse-battery-staple"


@dataclass(frozen=True)
class Person:
    email: str
    role: Role
    password: str = PASSWORD

    @property
    def actor_name(self) -> str:
        return f"user:{self.email}"


@dataclass(frozen=True)
class People:
    platform_admin: Person
    support: Person
    brand_admin: Person
    other_admin: Person
    viewer: Person
    global_viewer: Person
    distributor: Person
    retailer: Person
    cashier: Person


@pytest.fixture
def people(rt: Runtime, world: World) -> People:
    made = People(
        platform_admin=Person("pat@platform.example", Role.PLATFORM_ADMIN),
        support=Person("sam@support.example", Role.SUPPORT),
        brand_admin=Person("bea@acme.example", Role.BRAND_ADMIN),
        other_admin=Person("oscar@other.example", Role.BRAND_ADMIN),
        viewer=Person("vic@acme.example", Role.VIEWER),
        global_viewer=Person("gil@viewer.example", Role.VIEWER),
        distributor=Person("dora@distributor.example", Role.DISTRIBUTOR),
        retailer=Person("rita@retailer.example", Role.RETAILER),
        cashier=Person("cleo@retailer.example", Role.CASHIER),
    )
    scopes = {
        made.brand_admin: {"brand_id": world.brand.id},
        made.other_admin: {"brand_id": world.other_brand.id},
        made.viewer: {"brand_id": world.brand.id},
        made.distributor: {"distributor_id": 7},
        made.retailer: {"retailer_id": 9},
        made.cashier: {"retailer_id": 9},
    }
    with transaction(rt.sessions) as s:
        for person in vars(made).values():
            create_user(
                s,
                email=person.email,
                name=person.email.split("@")[0].title(),
                password=person.password,
                role=person.role,
                scrypt_n=rt.settings.password_scrypt_n,
                **scopes.get(person, {}),
            )
    return made


class Console:
    """A browser's view of the console: its own cookie jar, the forms' CSRF token, parsed pages."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()

    def csrf(self) -> str:
        """The token the session's forms carry (read from the login page when there is no session yet)."""
        with self.client.session_transaction() as session:
            token = session.get("csrf")
        if token:
            return str(token)
        page = parse(self.client.get("/admin/login").text)
        return page.one("input", name="csrf_token")["value"]

    def login(self, person: Person, *, password: str | None = None, next_url: str | None = None) -> TestResponse:
        data = {"email": person.email, "password": person.password if password is None else password}
        if next_url is not None:
            data["next"] = next_url
        return self.post("/admin/login", data)

    def get(self, url: str, **kwargs: object) -> TestResponse:
        return self.client.get(url, **kwargs)  # type: ignore[arg-type]

    def page(self, url: str, status: int = 200) -> Node:
        response = self.client.get(url)
        assert response.status_code == status, (url, response.status_code, response.text[:2000])
        return parse(response.text)

    def post(self, url: str, data: dict[str, object] | None = None, *, csrf: str | None = "auto") -> TestResponse:
        """POST a form as the page would: with the session's CSRF token unless ``csrf`` says otherwise."""
        form: dict[str, object] = dict(data or {})
        if csrf == "auto":
            form["csrf_token"] = self.csrf()
        elif csrf is not None:
            form["csrf_token"] = csrf
        return self.client.post(url, data=form)

    def follow(self, response: TestResponse) -> Node:
        """Follow a redirect (post/redirect/get) and parse the page it leads to."""
        assert response.status_code in (302, 303), (response.status_code, response.text[:2000])
        return self.page(response.headers["Location"])


@pytest.fixture
def console(app: Flask) -> Console:
    """A browser with no session yet."""
    return Console(app)


@pytest.fixture
def signed_in(app: Flask, people: People) -> Callable[[Person], Console]:
    """A new browser signed in as ``person``."""

    def sign_in(person: Person) -> Console:
        browser = Console(app)
        response = browser.login(person)
        assert response.status_code == 302, response.text[:2000]
        return browser

    return sign_in


def flashes(page: Node, kind: str) -> list[str]:
    return [node.text for node in page.find_all("div", class_="flash", data_kind=kind)]


def row_ids(page: Node) -> list[int]:
    table = page.one("table", id="fulfilments")
    return [int(tr["data-redemption-id"]) for tr in table.find_all("tr", data_redemption_id=True)]


def row(page: Node, redemption_id: int) -> Node:
    return page.one("tr", data_redemption_id=str(redemption_id))
