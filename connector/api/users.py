"""``/api/v1/users``, ``/api/v1/tokens`` and ``/api/v1/audit-log``: the Users, API tokens and Audit log pages as JSON.

Same rules as the console (``core.user_admin``, ``core.token_admin``, ``core.audit``): platform
admins everything, brand admins their own brand's users, tokens and audit rows (another brand's id
answers 404), other roles 403. Every change writes its audit row, named after the calling token.
"""

from __future__ import annotations

from typing import Any

from flask import request

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.openapi import operation
from connector.api.payload import load_body, load_query
from connector.api.user_schemas import (
    AuditPageSchema,
    LinkSentSchema,
    ListQuerySchema,
    TokenCreatedSchema,
    TokenCreateSchema,
    TokenPageSchema,
    TokenSchema,
    UserInviteSchema,
    UserPageSchema,
    UserSchema,
    UserScopeSchema,
)
from connector.core import audit, token_admin, user_admin, user_links
from connector.core.model import Role
from connector.request_context import current_runtime

_ACTION_ERRORS = (403, 404, 409)


def _link_base() -> str:
    return user_links.link_base(current_runtime().settings.public_url, request.host_url)


def _scope(data: dict[str, Any]) -> user_admin.Scope:
    return user_admin.Scope(
        Role(data["role"]),
        brand_id=data["brand_id"],
        distributor_id=data["distributor_id"],
        retailer_id=data["retailer_id"],
    )


def _sent(sent: user_links.SentLink) -> dict[str, Any]:
    user = user_admin.get_user(current_runtime(), current_actor(), sent.user_id)
    return LinkSentSchema().dump(
        {
            "user": user,
            "purpose": sent.purpose,
            "link_expires_at": sent.expires_at,
            "email_sent": sent.mail_error is None,
            "email_error": sent.mail_error,
        }
    )


@bp.get("/users")
@operation(
    summary="List the console users this token manages",
    description="Platform admins: every user; brand admins: their brand's. By id; pass `next_cursor` back as "
    "`cursor` until it is null.",
    tag="users",
    query=ListQuerySchema,
    responses={200: ("One page", UserPageSchema)},
    errors=(403,),
)
def list_users() -> dict[str, Any]:
    args = load_query(ListQuerySchema())
    page = user_admin.list_users(current_runtime(), current_actor(), limit=args["limit"], cursor=args.get("cursor"))
    return UserPageSchema().dump({"items": page.items, "next_cursor": page.next_cursor})


@bp.post("/users")
@operation(
    summary="Invite a user: a one-time link to choose a password is emailed to them",
    description="The link works once, for three days, and is stored hashed. A brand admin invites into their own "
    "brand only, as brand_admin, support or viewer; distributor and retailer users are a platform admin's. "
    "An email that already has a user: 409. If the mail server refuses, the user exists and `email_error` says "
    "why: send a new link with `POST /users/{id}/password-link`.",
    tag="users",
    body=UserInviteSchema,
    responses={201: ("Invited", LinkSentSchema)},
    errors=_ACTION_ERRORS,
)
def invite_user() -> tuple[dict[str, Any], int]:
    rt, actor = current_runtime(), current_actor()
    data = load_body(UserInviteSchema())
    sent = user_links.invite(
        rt, actor, email=data["email"], name=data["name"], scope=_scope(data), link_base=_link_base()
    )
    return _sent(sent), 201


@bp.get("/users/<id:user_id>")
@operation(summary="One user", tag="users", responses={200: ("The user", UserSchema)}, errors=(403, 404))
def get_user(user_id: int) -> dict[str, Any]:
    return UserSchema().dump(user_admin.get_user(current_runtime(), current_actor(), user_id))


@bp.patch("/users/<id:user_id>")
@operation(
    summary="Change a user's role and scope",
    description="Effective at the user's next request. The same role and scope again changes nothing.",
    tag="users",
    body=UserScopeSchema,
    responses={200: ("The user", UserSchema)},
    errors=_ACTION_ERRORS,
)
def change_user(user_id: int) -> dict[str, Any]:
    data = load_body(UserScopeSchema())
    return UserSchema().dump(user_admin.change_scope(current_runtime(), current_actor(), user_id, _scope(data)))


@bp.post("/users/<id:user_id>/disable")
@operation(
    summary="Disable a user: sign-in stops, their sessions and pending links end at once",
    description="Disabling a disabled user changes nothing.",
    tag="users",
    responses={200: ("The user", UserSchema)},
    errors=_ACTION_ERRORS,
)
def disable_user(user_id: int) -> dict[str, Any]:
    return UserSchema().dump(user_admin.set_disabled(current_runtime(), current_actor(), user_id, disabled=True))


@bp.post("/users/<id:user_id>/enable")
@operation(
    summary="Enable a disabled user again",
    tag="users",
    responses={200: ("The user", UserSchema)},
    errors=_ACTION_ERRORS,
)
def enable_user(user_id: int) -> dict[str, Any]:
    return UserSchema().dump(user_admin.set_disabled(current_runtime(), current_actor(), user_id, disabled=False))


@bp.post("/users/<id:user_id>/password-link")
@operation(
    summary="Email a one-time link to choose a new password (the invitation again, if not accepted yet)",
    description="A reset link works once, for an hour; any older link of the user stops working. A disabled user: 409.",
    tag="users",
    responses={202: ("Sent", LinkSentSchema)},
    errors=_ACTION_ERRORS,
)
def send_password_link(user_id: int) -> tuple[dict[str, Any], int]:
    sent = user_links.send_link(current_runtime(), current_actor(), user_id, _link_base())
    return _sent(sent), 202


@bp.get("/tokens")
@operation(
    summary="List the API tokens this token manages (never their secrets)",
    tag="tokens",
    query=ListQuerySchema,
    responses={200: ("One page", TokenPageSchema)},
    errors=(403,),
)
def list_tokens() -> dict[str, Any]:
    args = load_query(ListQuerySchema())
    page = token_admin.list_tokens(current_runtime(), current_actor(), limit=args["limit"], cursor=args.get("cursor"))
    return TokenPageSchema().dump({"items": page.items, "next_cursor": page.next_cursor})


@bp.post("/tokens")
@operation(
    summary="Create an API token; its secret is in this answer only",
    description="Only the secret's hash is kept: no call or page shows it again. Brand admins create tokens of "
    "their brand, as brand_admin, support or viewer.",
    tag="tokens",
    body=TokenCreateSchema,
    responses={201: ("Created", TokenCreatedSchema)},
    errors=_ACTION_ERRORS,
)
def create_token() -> tuple[dict[str, Any], int]:
    data = load_body(TokenCreateSchema())
    token, secret = token_admin.create_token(current_runtime(), current_actor(), data["name"], _scope(data))
    return TokenCreatedSchema().dump({"token": token, "secret": secret}), 201


@bp.post("/tokens/<id:token_id>/revoke")
@operation(
    summary="Revoke an API token: calls with it are refused from now on",
    description="Revoking a revoked token changes nothing.",
    tag="tokens",
    responses={200: ("The token", TokenSchema)},
    errors=_ACTION_ERRORS,
)
def revoke_token(token_id: int) -> dict[str, Any]:
    return TokenSchema().dump(token_admin.revoke_token(current_runtime(), current_actor(), token_id))


@bp.get("/audit-log")
@operation(
    summary="Changes to users and API tokens, newest first: who, what, when, before and after",
    description="Platform admins: every row; brand admins: their brand's. Secrets are never recorded.",
    tag="audit",
    query=ListQuerySchema,
    responses={200: ("One page", AuditPageSchema)},
    errors=(403,),
)
def audit_log() -> dict[str, Any]:
    args = load_query(ListQuerySchema())
    page = audit.list_entries(current_runtime(), current_actor(), limit=args["limit"], cursor=args.get("cursor"))
    return AuditPageSchema().dump({"items": page.items, "next_cursor": page.next_cursor})
