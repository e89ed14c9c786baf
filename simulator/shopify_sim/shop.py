"""The simulated shop as Shopify's REST ``Shop`` resource: the ``app/uninstalled`` webhook body.

Shopify sends the shop object (snake_case, numeric ``id``) when a merchant removes the
app. Values the simulator has no setting for are fixed, plausible dev-store values.
"""

from __future__ import annotations

from typing import Any

from shopify_sim.config import SimConfig

#: When the simulated shop "was created" (fixed, so payloads are stable between runs).
CREATED_AT = "2024-01-15T10:00:00-05:00"


def shop_name(domain: str) -> str:
    """``sim-shop.myshopify.com`` → ``Sim Shop``."""
    return domain.removesuffix(".myshopify.com").replace("-", " ").title()


def shop_payload(config: SimConfig, updated_at: str) -> dict[str, Any]:
    """The ``app/uninstalled`` body for the configured shop."""
    domain = config.shop_domain
    email = f"owner@{domain}"
    return {
        "id": config.shop_id,
        "name": shop_name(domain),
        "email": email,
        "domain": domain,
        "province": "Ontario",
        "country": "CA",
        "address1": "150 Elgin Street",
        "zip": "K2P 1L4",
        "city": "Ottawa",
        "source": None,
        "phone": "",
        "latitude": None,
        "longitude": None,
        "primary_locale": "en",
        "address2": "",
        "created_at": CREATED_AT,
        "updated_at": updated_at,
        "country_code": "CA",
        "country_name": "Canada",
        "currency": config.currency,
        "customer_email": email,
        "timezone": "(GMT-05:00) America/New_York",
        "iana_timezone": "America/New_York",
        "shop_owner": "Sim Owner",
        "money_format": "${{amount}}",
        "money_with_currency_format": f"${{{{amount}}}} {config.currency}",
        "weight_unit": "kg",
        "province_code": "ON",
        "taxes_included": False,
        "auto_configure_tax_inclusivity": None,
        "tax_shipping": None,
        "county_taxes": True,
        "plan_display_name": "Development",
        "plan_name": "partner_test",
        "has_discounts": False,
        "has_gift_cards": False,
        "myshopify_domain": domain,
        "google_apps_domain": None,
        "google_apps_login_enabled": None,
        "money_in_emails_format": "${{amount}}",
        "money_with_currency_in_emails_format": f"${{{{amount}}}} {config.currency}",
        "eligible_for_payments": True,
        "requires_extra_payments_agreement": False,
        "password_enabled": True,
        "has_storefront": True,
        "finances": True,
        "primary_location_id": None,
        "checkout_api_supported": True,
        "multi_location_enabled": True,
        "setup_required": False,
        "pre_launch_enabled": False,
        "enabled_presentment_currencies": [config.currency],
    }
