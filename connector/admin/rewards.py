"""The Rewards section (``/admin/rewards``): the catalogue the errors' fix texts send support to.

Everyone who works on redemptions reads it (viewers too, read-only). Support and admins edit a
reward, with "Save and retry" for the redemptions a wrong SKU (or missing instructions) blocked;
creating a reward and switching one off or on change what points buy, so only admins do those
(``Actor.check_can_configure``). Every SKU save is checked live in the reward's shop
(``core.reward_catalogue``). Refused input is drawn again as typed (422) with each field's problem.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.display import can_act
from connector.admin.session_auth import current_actor, safe_next
from connector.core import reward_catalogue as catalogue
from connector.core.access import Actor
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.tables import Brand, Redemption, Reward, Shop
from connector.request_context import current_runtime

FORM_FIELDS = tuple(catalogue.FIELDS)


def can_configure(actor: Actor) -> bool:
    try:
        actor.check_can_configure()
    except PermissionDeniedError:
        return False
    return True


@bp.get("/rewards")
def rewards() -> str:
    actor = current_actor()
    rt = current_runtime()
    with rt.sessions() as s:
        rows = catalogue.list_rewards(s, actor)
        return render_template(
            "admin/rewards.html",
            rows=rows,
            may_create=can_configure(actor),
            may_edit=can_act(actor),
            show_brand=actor.brand_id is None,
        )


@bp.get("/rewards/new")
def reward_new() -> str:
    actor = current_actor()
    actor.check_sees_redemptions()
    actor.check_can_configure()
    return _render_form(None, values={"channel": "shopify", "points_cost": ""}, errors={}, status=200)[0]


@bp.post("/rewards/new")
def reward_create() -> Response | tuple[str, int]:
    actor = current_actor()
    actor.check_sees_redemptions()
    actor.check_can_configure()
    raw = _form_values()
    brand_raw = request.form.get("brand_id", "") if actor.brand_id is None else str(actor.brand_id)
    try:
        if not brand_raw.strip().isdigit():
            raise ValidationError("the reward was not saved: choose its brand", fields={"brand_id": "choose a brand"})
        result = catalogue.create_reward(current_runtime(), actor, int(brand_raw), raw)
    except (ValidationError, NotFoundError) as exc:
        flash(_sentence(exc.message), "error")
        return _render_form(None, values={**raw, "brand_id": brand_raw}, errors=getattr(exc, "fields", {}), status=422)
    flash(f"Reward {raw['name'].strip()!r} created.{_sku_note(result.sku)}", "success")
    return redirect(url_for("admin.rewards"))


@bp.get("/rewards/<id:reward_id>/edit")
def reward_edit(reward_id: int) -> str:
    return _render_form(reward_id, values=None, errors={}, status=200)[0]


@bp.post("/rewards/<id:reward_id>/edit")
def reward_save(reward_id: int) -> Response | tuple[str, int]:
    actor = current_actor()
    actor.check_sees_redemptions()
    actor.check_can_act()
    raw = _form_values()
    retry = request.form.get("action") == "save_retry"
    rt = current_runtime()
    try:
        result = catalogue.update_reward(rt, actor, reward_id, raw, retry=retry)
    except ValidationError as exc:
        flash(_sentence(exc.message), "error")
        return _render_form(reward_id, values=raw, errors=exc.fields, status=422)
    text = (
        "Saved: " + ", ".join(catalogue.FIELDS[n] for n in result.changed) + "."
        if result.changed
        else "Nothing was changed."
    )
    if result.retried:
        with rt.sessions() as s:
            codes = s.scalars(select(Redemption.code).where(Redemption.id.in_(result.retried)).order_by(Redemption.id))
            text += f" Retried {len(result.retried)}: {', '.join(codes)}."
    flash(text + _sku_note(result.sku), "success")
    if result.sku is not None and result.sku.unchecked:
        flash(f"The SKU was not checked: {result.sku.unchecked}.", "error")
    return redirect(safe_next(request.form.get("next")) or url_for("admin.reward_edit", reward_id=reward_id))


@bp.post("/rewards/<id:reward_id>/active")
def reward_set_active(reward_id: int) -> Response:
    actor = current_actor()
    actor.check_sees_redemptions()
    active = request.form.get("active") == "1"
    name = catalogue.set_active(current_runtime(), actor, reward_id, active)
    flash(
        f"Reward {name!r} is on again: members can claim it."
        if active
        else f"Reward {name!r} is switched off: no new claims; its existing redemptions go on.",
        "success",
    )
    return redirect(url_for("admin.rewards"))


def _form_values() -> dict[str, Any]:
    return {name: request.form.get(name, "") for name in FORM_FIELDS}


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _sku_note(verdict: catalogue.SkuVerdict | None) -> str:
    return " The shop confirmed the SKU can be ordered." if verdict is not None and verdict.ok else ""


def _render_form(
    reward_id: int | None, *, values: dict[str, Any] | None, errors: dict[str, Any], status: int
) -> tuple[str, int]:
    actor = current_actor()
    actor.check_sees_redemptions()
    rt = current_runtime()
    with rt.sessions() as s:
        reward: Reward | None = None
        blocked: list[Redemption] = []
        if reward_id is not None:
            reward = catalogue.load_reward(s, actor, reward_id)
            blocked = catalogue.blocked_by_reward(s, reward.id)
        shown = values or {
            name: "" if getattr(reward, name) is None else str(getattr(reward, name)) for name in FORM_FIELDS
        }
        shops_q = select(Shop).order_by(Shop.domain)
        brands_q = select(Brand).order_by(Brand.name)
        if reward is not None:
            shops_q = shops_q.where(Shop.brand_id == reward.brand_id)
        elif actor.brand_id is not None:
            shops_q = shops_q.where(Shop.brand_id == actor.brand_id)
            brands_q = brands_q.where(Brand.id == actor.brand_id)
        html = render_template(
            "admin/reward_form.html",
            reward=reward,
            values=shown,
            errors=errors,
            labels=catalogue.FIELDS,
            shops=s.scalars(shops_q).all(),
            brands=s.scalars(brands_q).all(),
            choose_brand=reward is None and actor.brand_id is None,
            channels=catalogue.channels(rt),
            blocked=blocked,
            editable=can_act(actor) if reward is not None else can_configure(actor),
            may_configure=can_configure(actor),
            next_url=safe_next(request.values.get("next")) or "",
        )
    return html, status
