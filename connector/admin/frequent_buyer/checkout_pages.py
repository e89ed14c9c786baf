"""Checkout: the counter's pages (seed 002) — look a pet owner up, add one, scan items, redeem, Finished.

Thin like the other pages: each calls the core use case the JSON API (``connector/api/checkout.py``) and
the CLI call (``connector.core.frequent_buyer.checkout``). A cashier's login opens these pages and
nothing else (``blueprint.check_cashier_reach``). Support and platform admins ring up for a retailer they
pick (``retailer_id`` rides along in every link and form).

Nothing twice: every scan and redeem form carries a key made when the page was drawn, so a double-click
(or a resubmitted form) sends the same key twice and the core records one punch or one free good.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.frequent_buyer.common import form_int, positive_id, refusal
from connector.admin.session_auth import current_actor
from connector.core.access import RETAILER_SCOPED_ROLES, Actor
from connector.core.errors import ConflictError, ValidationError
from connector.core.frequent_buyer import checkout
from connector.core.frequent_buyer.programs import list_retailers
from connector.request_context import current_runtime


def _retailer_arg(actor: Actor) -> int | None:
    """The retailer a staff user rings up for (query or form); a retailer's own users carry theirs."""
    if actor.role in RETAILER_SCOPED_ROLES:
        return None
    return positive_id(request.values.get("retailer_id"))


def _here_args(actor: Actor) -> dict[str, Any]:
    rid = _retailer_arg(actor)
    return {"retailer_id": rid} if rid is not None else {}


def _key() -> str:
    return uuid.uuid4().hex


@bp.get("/checkout")
def fb_checkout() -> tuple[str, int]:
    """The lookup screen: type a name, phone or email; pick the customer, or + Add Customer."""
    actor = current_actor()
    rt = current_runtime()
    checkout.check_works_counter(actor)
    query = (request.args.get("q") or "").strip()
    rid = _retailer_arg(actor)
    needs_retailer = actor.role not in RETAILER_SCOPED_ROLES and rid is None
    found: list[checkout.CustomerView] | None = None
    error: str | None = None
    if query and not needs_retailer:
        try:
            found = checkout.find_customers(rt, actor, query, retailer_id=rid)
        except ValidationError as exc:
            error = refusal(exc)
    retailers = [] if actor.role in RETAILER_SCOPED_ROLES else [(r.id, r.name) for r in list_retailers(rt, actor)]
    html = render_template(
        "admin/fb/checkout.html",
        query=query,
        found=found,
        error=error,
        retailers=retailers,
        retailer_id=rid,
        needs_retailer=needs_retailer,
        here_args=_here_args(actor),
    )
    return html, 422 if error else 200


@bp.route("/checkout/customers/new", methods=["GET", "POST"])
def fb_checkout_add() -> Response | tuple[str, int]:
    """+ Add Customer: a name and a phone, email or customer id; every bad field is named and nothing saved."""
    actor = current_actor()
    rt = current_runtime()
    checkout.check_works_counter(actor)
    values = {k: (request.form.get(k) or "").strip() for k in ("name", "phone", "email", "internal_id")}
    errors: dict[str, str] = {}
    message: str | None = None
    if request.method == "POST":
        try:
            added = checkout.add_customer(
                rt,
                actor,
                name=values["name"],
                phone=values["phone"] or None,
                email=values["email"] or None,
                internal_id=values["internal_id"] or None,
                retailer_id=_retailer_arg(actor),
            )
        except ValidationError as exc:
            errors = {str(k): str(v) for k, v in exc.fields.items()}
            message = exc.message[:1].upper() + exc.message[1:] + "."
        else:
            flash(f"Added {added.name} as a new customer.", "success")
            return redirect(url_for("admin.fb_checkout_customer", customer_id=added.id, **_here_args(actor)))
    html = render_template(
        "admin/fb/checkout_add.html", values=values, errors=errors, message=message, here_args=_here_args(actor)
    )
    return html, 422 if errors else 200


@bp.get("/checkout/customers/<id:customer_id>")
def fb_checkout_customer(customer_id: int) -> str:
    """The checkout screen: the pet owner, Add Item, their cards, redeem, and this visit's rewards."""
    actor = current_actor()
    rt = current_runtime()
    rid = _retailer_arg(actor)
    cards = checkout.customer_cards(rt, actor, customer_id, retailer_id=rid)
    return render_template(
        "admin/fb/checkout_customer.html",
        view=cards,
        stores=checkout.counter_stores(rt, actor, retailer_id=rid),
        store=request.args.get("location_id", ""),
        key=_key,
        here_args=_here_args(actor),
    )


def _back(actor: Actor, customer_id: int) -> Response:
    args: dict[str, Any] = {"customer_id": customer_id, **_here_args(actor)}
    location = form_int("location_id")
    if location:
        args["location_id"] = location
    return redirect(url_for("admin.fb_checkout_customer", **args))


@bp.post("/checkout/customers/<id:customer_id>/items")
def fb_checkout_punch(customer_id: int) -> Response:
    """Add Item: a scanned (or typed) SKU or UPC punches the card of the program that holds it."""
    actor = current_actor()
    rt = current_runtime()
    quantity_text = (request.form.get("quantity") or "1").strip()
    try:
        if not quantity_text.isdigit():
            raise ValidationError("bad quantity", fields={"quantity": "a whole number from 1 to 999"})
        progress, replayed = checkout.record_purchase(
            rt,
            actor,
            customer_id,
            item=request.form.get("item") or "",
            quantity=int(quantity_text),
            program_id=form_int("program_id"),
            location_id=form_int("location_id"),
            idempotency_key=(request.form.get("key") or "").strip()[:190] or None,
            retailer_id=_retailer_arg(actor),
        )
    except (ValidationError, ConflictError) as exc:
        flash(refusal(exc, "Nothing was recorded."), "error")
    else:
        if not replayed:
            flash(
                f"Added to the {progress.program_name} card: {progress.punched} of {progress.buy_quantity}.", "success"
            )
    return _back(actor, customer_id)


@bp.post("/checkout/customers/<id:customer_id>/redeem")
def fb_checkout_redeem(customer_id: int) -> Response:
    """Redeem Selected Items: the chosen reward of a complete card, once however often the button is pressed."""
    actor = current_actor()
    rt = current_runtime()
    program_id, free_item_id = form_int("program_id"), form_int("free_item_id")
    try:
        if program_id is None or free_item_id is None:
            raise ValidationError(
                "no reward was selected", fields={"free_item_id": "select the reward the customer wants"}
            )
        done = checkout.redeem(
            rt,
            actor,
            customer_id,
            program_id=program_id,
            free_item_id=free_item_id,
            location_id=form_int("location_id"),
            idempotency_key=(request.form.get("key") or "").strip()[:190] or None,
            retailer_id=_retailer_arg(actor),
        )
    except checkout.RedemptionDenied as exc:
        flash(
            f"Not redeemed — {exc.reason.replace('_', ' ').capitalize()}: {exc.detail}. Nothing was recorded.", "error"
        )
    except (ValidationError, ConflictError) as exc:
        flash(refusal(exc, "Nothing was recorded."), "error")
    else:
        if not done.replayed:
            flash(f"Redeemed {done.quantity} × {done.description} ({done.program_name}).", "success")
    return _back(actor, customer_id)
