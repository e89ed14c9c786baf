"""The frequent-buyer pages of the console: POS reports, the Distributor Portal, credit status, programs.

Routes register on the console's blueprint (``connector.admin.bp``), so the login
requirement, the CSRF check, the error pages and the security headers apply as to
every other console page. Each page calls the same core use case as the JSON API
in ``connector/api/{pos_reports,distribution,retailer_credits,programs}.py``.

The header links are added here, each for the roles that use it. Their order
matters: ``/admin`` sends a user to their role's first link, so a retailer user
lands on POS Reports and a distributor user on the Distributor Portal (brand
roles keep Fulfillments, registered first, as their landing page).
"""

from __future__ import annotations

from connector.admin.blueprint import add_nav
from connector.admin.frequent_buyer import (  # noqa: F401  (routes register on import)
    common,
    distributor_pages,
    pos_pages,
    program_pages,
    retailer_pages,
)
from connector.core.model import Role

#: Retailer users upload and review their reports; support and platform admins do it on their behalf.
POS_ROLES = (Role.RETAILER, Role.PLATFORM_ADMIN, Role.SUPPORT)
#: Distributor users work here; platform admins act on their behalf; support and brand admins read.
DISTRIBUTION_ROLES = (Role.DISTRIBUTOR, Role.PLATFORM_ADMIN, Role.SUPPORT, Role.BRAND_ADMIN)
#: The retailer reconciles; a platform admin may on its behalf; support reads.
CREDIT_ROLES = (Role.RETAILER, Role.PLATFORM_ADMIN, Role.SUPPORT)
#: Everyone reads programs within their scope (retailers choose from them, distributors associate with them).
PROGRAM_ROLES = (Role.RETAILER, Role.DISTRIBUTOR, Role.PLATFORM_ADMIN, Role.SUPPORT, Role.BRAND_ADMIN, Role.VIEWER)

add_nav("POS Reports", "admin.fb_pos_reports", POS_ROLES)
add_nav("Distributor Portal", "admin.fb_distribution", DISTRIBUTION_ROLES)
add_nav("Credit Status", "admin.fb_credit_status", CREDIT_ROLES)
add_nav("Programs", "admin.fb_programs", PROGRAM_ROLES)
