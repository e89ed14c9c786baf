"""``connector users``: console accounts, created from the shell so the first admin needs no UI."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import TYPE_CHECKING

import click

from connector.commands import fail
from connector.core.access import Actor
from connector.core.model import Role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from connector.core.tables import ApiToken

_ROLES = [r.value for r in Role]


def cli_actor() -> Actor:
    """Who a command acts as in the audit log: the shell account that ran it (the shell is platform-admin power)."""
    return Actor(name=f"cli:{getpass.getuser()}", role=Role.PLATFORM_ADMIN)


@click.group(help="Admin console users.")
def users() -> None:
    pass


@users.command("add", help="Create a console user. The password is read from a prompt (or stdin), never argv.")
@click.option("--email", required=True)
@click.option("--name", default="", help="Display name; defaults to the email.")
@click.option("--role", type=click.Choice(_ROLES), required=True)
@click.option("--brand", default=None, help="Brand slug (brand_admin; optional for viewer).")
@click.option("--distributor", "distributor_id", type=int, default=None, help="Distributor id (distributor role).")
@click.option("--retailer", "retailer_id", type=int, default=None, help="Retailer id (retailer role).")
@click.password_option("--password", prompt="Password", confirmation_prompt=True)
def users_add(
    email: str,
    name: str,
    role: str,
    brand: str | None,
    distributor_id: int | None,
    retailer_id: int | None,
    password: str,
) -> None:
    from connector.bootstrap import build_runtime
    from connector.core import catalog
    from connector.core.database import transaction
    from connector.core.errors import ConnectorError
    from connector.core.user_admin import audit_user
    from connector.core.users import create_user

    rt = build_runtime(start_jobs=False)
    try:
        with transaction(rt.sessions) as s:
            brand_row = catalog.get_brand(s, brand) if brand else None
            user = create_user(
                s,
                email=email,
                name=name,
                password=password,
                role=Role(role),
                brand_id=brand_row.id if brand_row else None,
                distributor_id=distributor_id,
                retailer_id=retailer_id,
            )
            audit_user(
                s,
                cli_actor(),
                user,
                "user.created",
                rt.now(),
                after={
                    "email": user.email,
                    "name": user.name,
                    "role": user.role,
                    "brand_id": user.brand_id,
                    "distributor_id": user.distributor_id,
                    "retailer_id": user.retailer_id,
                },
            )
            click.echo(f"created {user.role} user {user.email} (id {user.id})")
    except ConnectorError as exc:
        raise fail(exc) from exc


@users.command("list", help="List console users.")
def users_list() -> None:
    from sqlalchemy import select

    from connector.bootstrap import build_runtime
    from connector.core.tables import User

    rt = build_runtime(start_jobs=False)
    with rt.sessions() as s:
        for u in s.scalars(select(User).order_by(User.email)):
            state = "disabled" if u.disabled_at else "active"
            scope = u.brand_id or u.distributor_id or u.retailer_id or "-"
            click.echo(f"{u.email}\t{u.role}\tscope={scope}\t{state}")


@users.command("disable", help="Disable a user: sign-in stops and open sessions end at once.")
@click.option("--email", required=True)
def users_disable(email: str) -> None:
    from connector.bootstrap import build_runtime
    from connector.core.database import transaction
    from connector.core.user_admin import audit_user, void_links
    from connector.core.users import disable_user, find_user

    rt = build_runtime(start_jobs=False)
    with transaction(rt.sessions) as s:
        user = find_user(s, email)
        if user is None:
            raise click.ClickException(f"no user {email}")
        if user.disabled_at is None:
            disable_user(s, user, rt.now())
            void_links(s, user.id)
            audit_user(
                s,
                cli_actor(),
                user,
                "user.disabled",
                rt.now(),
                before={"status": "active"},
                after={"status": "disabled"},
            )
    click.echo(f"disabled {email}")


@users.command("set-password", help="Set a new password; the user's open sessions end.")
@click.option("--email", required=True)
@click.password_option("--password", prompt="New password", confirmation_prompt=True)
def users_set_password(email: str, password: str) -> None:
    from connector.bootstrap import build_runtime
    from connector.core.database import transaction
    from connector.core.errors import ConnectorError
    from connector.core.user_admin import audit_user
    from connector.core.users import find_user, set_password

    rt = build_runtime(start_jobs=False)
    try:
        with transaction(rt.sessions) as s:
            user = find_user(s, email)
            if user is None:
                raise click.ClickException(f"no user {email}")
            set_password(s, user, password)
            audit_user(s, cli_actor(), user, "user.password_set", rt.now(), after={"sessions": "ended"})
    except ConnectorError as exc:
        raise fail(exc) from exc
    click.echo(f"password changed for {email}")


def token_audit(s: Session, token: ApiToken, action: str, now: datetime) -> None:
    """The audit row of a token made or revoked from the shell (``connector tokens``)."""
    from connector.core import audit

    facts = {
        "name": token.name,
        "role": str(token.role),
        "brand_id": token.brand_id,
        "distributor_id": token.distributor_id,
        "retailer_id": token.retailer_id,
    }
    audit.record(
        s,
        cli_actor(),
        action,
        target_kind="token",
        target_id=token.id,
        target_label=token.name,
        brand_id=token.brand_id,
        at=now,
        before={**facts, "status": "active"} if action == "token.revoked" else None,
        after={"status": "revoked"} if action == "token.revoked" else facts,
    )
