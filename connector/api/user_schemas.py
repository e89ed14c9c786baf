"""What ``/api/v1/users``, ``/api/v1/tokens`` and ``/api/v1/audit-log`` accept and answer.

No answer holds a password, a one-time link or a token's hash; a token's secret is in the answer to
its creation only (``TokenCreatedSchema.secret``).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from connector.api.schemas import NOT_BLANK_PATTERN, UtcDateTime, body_id, page_limit
from connector.core.model import Role

_ROLES = [r.value for r in Role]


def _role(description: str) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.OneOf(_ROLES, error=f"must be one of: {', '.join(_ROLES)}"),
        metadata={"description": description},
    )


class _ScopeIds(Schema):
    """The scope fields every grant takes (a base, not a document component)."""

    brand_id = body_id(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The brand: required for a brand admin, optional for support and viewers, none "
            "for the others. Brand admins: their own brand, whatever is given (another brand: 404)."
        },
    )
    distributor_id = body_id(
        load_default=None, allow_none=True, metadata={"description": "The distributor (distributor role only)."}
    )
    retailer_id = body_id(
        load_default=None, allow_none=True, metadata={"description": "The retailer (retailer role only)."}
    )


class ListQuerySchema(Schema):
    limit = page_limit()
    cursor = fields.String(
        validate=validate.Regexp(r"^[0-9]{1,19}$", error="pass back next_cursor unchanged"),
        metadata={"description": "``next_cursor`` of the previous page, unchanged."},
    )


class UserInviteSchema(_ScopeIds):
    """Invite a user: the email gets a one-time link to choose a password."""

    email = fields.String(
        required=True,
        validate=[
            validate.Length(min=3, max=320),
            validate.Regexp(r"^[^@\s]+@[^@\s]+$", error="give an address like ana@example.com"),
        ],
        metadata={"description": "Their email address (also their sign-in name).", "format": "email"},
    )
    name = fields.String(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"description": "Their name as the console shows it; defaults to the email."},
    )
    role = _role("The role to grant. Brand admins grant brand_admin, support or viewer, in their brand.")


class UserScopeSchema(_ScopeIds):
    """A new role and scope for a user (or a token being created)."""

    role = _role("The role to grant. Brand admins grant brand_admin, support or viewer, in their brand.")


class TokenCreateSchema(_ScopeIds):
    """A new API token."""

    name = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=200), validate.Regexp(NOT_BLANK_PATTERN, error="must not be blank")],
        metadata={"description": "Who or what uses the token."},
    )
    role = _role("The token's role. Brand admins grant brand_admin, support or viewer, in their brand.")


# -- responses ---------------------------------------------------------------------------------------------


class UserSchema(Schema):
    id = fields.Integer(metadata={"format": "int64"})
    email = fields.String()
    name = fields.String()
    role = fields.String(validate=validate.OneOf(_ROLES))
    brand_id = fields.Integer(allow_none=True, metadata={"format": "int64"})
    distributor_id = fields.Integer(allow_none=True, metadata={"format": "int64"})
    retailer_id = fields.Integer(allow_none=True, metadata={"format": "int64"})
    status = fields.String(
        validate=validate.OneOf(["invited", "active", "disabled"]),
        metadata={"description": "`invited`: has not chosen a password yet."},
    )
    created_at = UtcDateTime()
    last_login_at = UtcDateTime(allow_none=True)
    disabled_at = UtcDateTime(allow_none=True)


class UserPageSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as `cursor`; null on the last page."})


class LinkSentSchema(Schema):
    """A one-time link was made and emailed (or the email failed: send again for a new link)."""

    user = fields.Nested(UserSchema)
    purpose = fields.String(validate=validate.OneOf(["invite", "reset"]))
    link_expires_at = UtcDateTime()
    email_sent = fields.Boolean()
    email_error = fields.String(allow_none=True, metadata={"description": "What the mail server said, if it failed."})


class TokenSchema(Schema):
    id = fields.Integer(metadata={"format": "int64"})
    name = fields.String()
    role = fields.String(validate=validate.OneOf(_ROLES))
    brand_id = fields.Integer(allow_none=True, metadata={"format": "int64"})
    distributor_id = fields.Integer(allow_none=True, metadata={"format": "int64"})
    retailer_id = fields.Integer(allow_none=True, metadata={"format": "int64"})
    created_at = UtcDateTime()
    last_used_at = UtcDateTime(allow_none=True)
    revoked_at = UtcDateTime(allow_none=True)


class TokenPageSchema(Schema):
    items = fields.List(fields.Nested(TokenSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as `cursor`; null on the last page."})


class TokenCreatedSchema(Schema):
    token = fields.Nested(TokenSchema)
    secret = fields.String(
        metadata={"description": "Send as `Authorization: Bearer <secret>`. Shown this once: only its hash is kept."}
    )


class AuditEntrySchema(Schema):
    id = fields.Integer(metadata={"format": "int64"})
    at = UtcDateTime()
    actor = fields.String(metadata={"description": "`user:<email>` or `token:<name>`."})
    action = fields.String(metadata={"description": "`user.invited`, `user.role_changed`, `token.revoked`, ..."})
    target_kind = fields.String(validate=validate.OneOf(["user", "token"]))
    target_id = fields.Integer(metadata={"format": "int64"})
    target_label = fields.String(metadata={"description": "The user's email or the token's name at the time."})
    brand_id = fields.Integer(allow_none=True, metadata={"format": "int64"})
    before = fields.Dict(allow_none=True, metadata={"description": "The facts before the change (never a secret)."})
    after = fields.Dict(allow_none=True, metadata={"description": "The facts after the change (never a secret)."})


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEntrySchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as `cursor`; null on the last page."})
