"""``/api/v1/users/{id}/notices``: which frequent-buyer notices a console user gets by email.

The same use case as the console's account page (``frequent_buyer.notices``). An API token is not a user,
so the API names the user: a user manager's token (platform admins: anyone; brand admins: their brand's
users) reads and changes a user's switches; other roles answer 403, a user outside the token's scope 404.
Each kind applies to one role (``denials`` and ``credited`` to retailer users, ``new_rewards_digest`` to
distributor users); naming a kind that does not apply answers 422.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from connector.api.auth import current_actor
from connector.api.blueprint import bp
from connector.api.openapi import operation
from connector.api.payload import load_body
from connector.core.frequent_buyer import notices
from connector.request_context import current_runtime

_TAG = "users"


class NoticePreferenceSchema(Schema):
    kind = fields.String(metadata={"description": "denials, credited or new_rewards_digest."})
    label = fields.String()
    enabled = fields.Boolean()


class NoticePreferencesSchema(Schema):
    user_id = fields.Integer()
    email = fields.String()
    preferences = fields.List(
        fields.Nested(NoticePreferenceSchema), metadata={"description": "Only the kinds the user's role gets."}
    )


class NoticePreferencesUpdateSchema(Schema):
    denials = fields.Boolean(metadata={"description": "A retailer's POS report denials, with reasons."})
    credited = fields.Boolean(metadata={"description": "A retailer's batch marked credited."})
    new_rewards_digest = fields.Boolean(metadata={"description": "A distributor's daily digest of New Rewards."})


def _out(prefs: notices.NoticePreferences) -> dict[str, Any]:
    return NoticePreferencesSchema().dump(
        {
            "user_id": prefs.user_id,
            "email": prefs.email,
            "preferences": [{"kind": p.kind.value, "label": p.label, "enabled": p.enabled} for p in prefs.preferences],
        }
    )


@bp.get("/users/<id:user_id>/notices")
@operation(
    summary="A user's frequent-buyer email notices and whether each is on",
    tag=_TAG,
    responses={200: ("The notice switches", NoticePreferencesSchema)},
    errors=(403, 404),
)
def get_notice_preferences(user_id: int) -> dict[str, Any]:
    return _out(notices.notice_preferences(current_runtime(), current_actor(), user_id))


@bp.put("/users/<id:user_id>/notices")
@operation(
    summary="Switch a user's frequent-buyer email notices on or off (kinds left out stay as they are)",
    tag=_TAG,
    body=NoticePreferencesUpdateSchema,
    responses={200: ("The notice switches now", NoticePreferencesSchema)},
    errors=(403, 404),
)
def put_notice_preferences(user_id: int) -> dict[str, Any]:
    data = load_body(NoticePreferencesUpdateSchema())
    prefs = notices.set_notice_preferences(current_runtime(), current_actor(), user_id, data)
    return _out(prefs)
