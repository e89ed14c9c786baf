"""Fulfils rewards of channel ``email``: the reward's instructions are emailed to the member.

There is no shop order, so no delivery status (as in seed 004, automated email
fulfillments are not tracked). An email is at-least-once: if an attempt dies
after sending and before the host records it, the retry sends it again; the
checkpoint narrows that window to the moment of sending.
"""

from __future__ import annotations

from connector import hookimpl
from connector.core.errors import ProviderError
from connector.core.hooktypes import (
    CheckProblem,
    FulfilmentRequest,
    FulfilmentResult,
    HookContext,
    MemberInfo,
    PluginInfo,
)

CHANNEL = "email"
_NO_EMAIL = CheckProblem(
    code="missing_user_information",
    message="The member has no email address, so the reward cannot be emailed.",
    fix="Add the member's email address, then retry.",
    fields=("email",),
)


@hookimpl
def connector_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="email", version="0.1.0", description="Emails the reward's instructions.", channels=(CHANNEL,)
    )


@hookimpl
def connector_check_member(member: MemberInfo, channel: str, ctx: HookContext) -> list[CheckProblem] | None:
    """An emailed reward needs an email address; nothing else about the member matters here."""
    if channel != CHANNEL:
        return None
    return [] if member.email else [_NO_EMAIL]


@hookimpl
def connector_fulfil_redemption(request: FulfilmentRequest, ctx: HookContext) -> FulfilmentResult | None:
    if request.channel != CHANNEL:
        return None
    member, reward = request.member, request.reward
    if not member.email:
        raise ProviderError(_NO_EMAIL.code, _NO_EMAIL.message, fix=_NO_EMAIL.fix, field="email")
    if not reward.instructions.strip():
        raise ProviderError(
            "reward_instructions_missing",
            f"Reward {reward.name!r} is fulfilled by email but has no instructions to send.",
            fix="Write the reward's instructions (the code or link the member receives), then retry.",
            field="instructions",
        )
    if ctx.send_email is None:
        raise ProviderError("internal_error", "the host lent no mail transport", retryable=True)
    request.checkpoint()
    body = f"Hi {member.first_name},\n\nHere is your reward {reward.name} ({request.code}):\n\n{reward.instructions}\n"
    try:
        ctx.send_email(member.email, f"Your reward: {reward.name}", body)
    except OSError as exc:
        raise ProviderError(
            "mail_unavailable",
            f"the mail server failed: {type(exc).__name__}",
            fix="Nothing to do: the connector retries automatically.",
            retryable=True,
        ) from exc
    return FulfilmentResult(external_order_id=None, external_order_name=None)
