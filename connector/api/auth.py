"""Bearer-token authentication for the JSON API.

Tokens are stored as SHA-256 hashes (``ApiToken.token_hash``), so the lookup is
by hash and a database leak reveals no usable token. The token itself is never
logged: failures are logged with the token row id when there is one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app, g, request
from sqlalchemy import or_, select, update

from connector.api.blueprint import bp
from connector.api.openapi import Operation, operation_of
from connector.core.access import Actor
from connector.core.catalog import hash_token
from connector.core.database import transaction
from connector.core.errors import ConnectorError, PermissionDeniedError
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import ApiToken
from connector.request_context import current_runtime

log = logging.getLogger("connector.api.auth")

#: ``last_used_at`` is written at most this often per token, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: Generated tokens are ~46 characters; anything far longer is not one of ours.
_MAX_TOKEN_LENGTH = 512

HOW_TO_GET_A_TOKEN = (
    "create one on the console's API tokens page (/admin/tokens) or with "
    "`connector tokens create --name NAME --role ROLE [--brand SLUG]` "
    "and send it as `Authorization: Bearer <token>`"
)


class AuthenticationError(ConnectorError):
    """No usable credentials: answered 401 with a ``WWW-Authenticate: Bearer`` challenge (RFC 6750)."""

    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str, *, token_given: bool) -> None:
        super().__init__(message)
        challenge = 'Bearer realm="connector"'
        if token_given:
            challenge += ', error="invalid_token"'
        self.headers = {"WWW-Authenticate": challenge}


def authenticate(rt: Runtime, authorization: str | None) -> Actor:
    """The actor behind an ``Authorization`` header value, or ``AuthenticationError``."""
    if not authorization or not authorization.strip():
        raise AuthenticationError(f"missing bearer token: {HOW_TO_GET_A_TOKEN}", token_given=False)
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError(
            f"the Authorization header must be `Bearer <token>`: {HOW_TO_GET_A_TOKEN}", token_given=False
        )
    if len(token) > _MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
        raise AuthenticationError(f"invalid bearer token: {HOW_TO_GET_A_TOKEN}", token_given=True)
    now = rt.now()
    with rt.sessions() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one_or_none()
        if row is None:
            log.info("api auth refused: unknown token")
            raise AuthenticationError(f"invalid bearer token: {HOW_TO_GET_A_TOKEN}", token_given=True)
        if row.revoked_at is not None:
            log.info("api auth refused: token %s is revoked", row.id)
            raise AuthenticationError(
                f"this token was revoked on {row.revoked_at:%Y-%m-%d}: {HOW_TO_GET_A_TOKEN}", token_given=True
            )
        try:
            role = Role(row.role)
        except ValueError:
            log.warning("api auth refused: token %s has unknown role %r", row.id, row.role)
            raise AuthenticationError(
                f"this token has an unknown role; {HOW_TO_GET_A_TOKEN}", token_given=True
            ) from None
        actor = Actor(
            name=f"token:{row.name}",
            role=role,
            brand_id=row.brand_id,
            distributor_id=row.distributor_id,
            retailer_id=row.retailer_id,
        )
        token_id, last_used = row.id, row.last_used_at
    if last_used is None or last_used < now - LAST_USED_RESOLUTION:
        _touch(rt, token_id, now)
    return actor


def _touch(rt: Runtime, token_id: int, now: datetime) -> None:
    # Conditional, so concurrent requests in the same minute write once between them.
    with transaction(rt.sessions) as s:
        s.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_RESOLUTION),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )


def current_actor() -> Actor:
    """The authenticated caller of the current API request."""
    actor = g.get("connector_actor")
    if actor is None:  # a view without the blueprint's before_request: fail closed
        raise AuthenticationError(f"missing bearer token: {HOW_TO_GET_A_TOKEN}", token_given=False)
    return actor


#: The one API tag a cashier's token reaches: Checkout's operations; reports, uploads and settings are refused.
CASHIER_TAG = "checkout"

#: API request bodies are small JSON objects (an operation's ``max_bytes`` may allow more, e.g. a report upload).
API_MAX_BYTES = 64 * 1024


def body_limit(op: Operation | None) -> int:
    """The largest request body ``op`` accepts: its own ``max_bytes`` (a number or a setting), else 64 KiB."""
    if op is None or op.max_bytes is None:
        return API_MAX_BYTES
    if callable(op.max_bytes):
        return int(op.max_bytes(current_runtime().settings))
    return int(op.max_bytes)


@bp.before_request
def require_token() -> None:
    """Every API route needs a token, unless its ``Operation`` says ``public``."""
    op = operation_of(current_app.view_functions.get(request.endpoint or ""))
    request.max_content_length = body_limit(op)
    if op is not None and op.public:
        return None
    actor = authenticate(current_runtime(), request.headers.get("Authorization"))
    if actor.is_cashier and (op is None or op.tag != CASHIER_TAG):
        raise PermissionDeniedError("a cashier token reaches Checkout only (/api/v1/checkout/...)")
    g.connector_actor = actor
    return None
