"""The member's confirmation email: what it says at each stage, and sending it with a record of the send.

Its own module so that fulfilment (which confirms once the order exists) and the redemption use
cases (which resend on request) both use it without importing each other.
"""

from __future__ import annotations

from typing import Any

from connector.core.database import transaction
from connector.core.model import FulfilmentChannel, RedemptionStatus
from connector.core.runtime import Runtime
from connector.core.tables import OutboundMessage, Redemption
from connector.core.timeline import record_event


def send_initial_confirmation(rt: Runtime, redemption_id: int) -> OutboundMessage | None:
    with transaction(rt.sessions) as s:
        r = s.get(Redemption, redemption_id)
        if r is None or not r.member.email:
            return None
        msg = _confirmation(r, "system", rt.now())
        s.add(msg)
    return deliver_message(rt, msg.id)


def _confirmation(r: Redemption, actor: str, now: Any) -> OutboundMessage:
    """The confirmation email, true to where the redemption is.

    Support can resend it from any row that is not reversed, so it must not say "confirmed"
    while the shop order does not exist yet (pending, or in error while someone fixes it).
    The shop emails the member itself when the order ships (``sendFulfillmentReceipt``).
    An email reward's instructions are the reward itself (a code, a link): they are sent
    only once it is fulfilled.
    """
    reward = r.reward
    shop_order = r.channel == FulfilmentChannel.SHOPIFY
    if r.status == RedemptionStatus.FULFILLED:
        subject = f"Your reward: {reward.name} ({r.code})"
        order = f" {r.external_order_name}" if r.external_order_name else ""
        news = (
            f"Your reward {reward.name} is confirmed: we have placed your order{order}. "
            "You will get an email when it ships."
            if shop_order
            else f"Your reward {reward.name} is confirmed."
        )
        details = reward.instructions
    else:
        subject = f"We received your redemption: {reward.name} ({r.code})"
        news = (
            f"We have received your redemption of {reward.name} and are preparing your order. "
            "You will get an email when it ships."
            if shop_order
            else f"We have received your redemption of {reward.name}. We will send you your reward as soon as it "
            "is ready."
        )
        details = reward.instructions if shop_order else ""
    body = (
        f"Hi {r.member.first_name},\n\n"
        f"{news}\nRedemption code: {r.code}.\n"
        + (f"\n{details}\n" if details else "")
        + "\nThank you for being an ambassador.\n"
    )
    return OutboundMessage(
        redemption_id=r.id,
        to_address=r.member.email or "",
        subject=subject,
        body=body,
        actor=actor,
        created_at=now,
    )


def deliver_message(rt: Runtime, message_id: int) -> OutboundMessage:
    with rt.sessions() as s:
        msg = s.get(OutboundMessage, message_id)
        assert msg is not None
        to, subject, body = msg.to_address, msg.subject, msg.body
    error: str | None = None
    try:
        rt.mailer.send(to, subject, body)
    except Exception as exc:  # noqa: BLE001 - a mail failure is recorded on the message, not raised
        error = f"{type(exc).__name__}: {exc}"
    now = rt.now()
    with transaction(rt.sessions) as s:
        msg = s.get(OutboundMessage, message_id)
        assert msg is not None
        r = s.get(Redemption, msg.redemption_id)
        assert r is not None
        msg.status, msg.error, msg.sent_at = ("failed", error, None) if error else ("sent", None, now)
        record_event(
            s,
            r,
            actor=msg.actor,
            kind="confirmation_sent" if not error else "confirmation_failed",
            at=now,
            message="confirmation email sent" if not error else f"confirmation email failed: {error}",
            detail={"message_id": msg.id},
        )
    return msg
