"""The frequent-buyer pages of the console: POS reports, the Distributor Portal, credit status, programs.

Routes register on the console's blueprint (``connector.admin.bp``), so the login
requirement, the CSRF check, the error pages and the security headers apply as to
every other console page. Each page calls the same core use case as the JSON API
in ``connector/api/{pos_reports,distribution,retailer_credits,programs}.py``.

The header links are added here, each for the roles that use it. Their order
matters: ``/admin`` sends a user to their role's first link, so a retailer user
lands on POS Reports and a distributor user on the Distributor Portal's landing choice, Free
Goods or Rebates Dashboard (brand
roles keep Fulfillments, registered first, as their landing page).
"""

from __future__ import annotations

from connector.admin.blueprint import add_nav, any_role
from connector.admin.frequent_buyer import (  # noqa: F401  (routes register on import)
    brand_pages,
    checkout_pages,
    common,
    distributor_pages,
    pos_pages,
    program_pages,
    rebate_pages,
    report_pages,
    retailer_pages,
    self_service_pages,
)
from connector.core.frequent_buyer.brand_fulfilment import check_reads_brand_fulfilment
from connector.core.frequent_buyer.checkout import check_works_counter
from connector.core.frequent_buyer.distribution import check_reads_distribution
from connector.core.frequent_buyer.pos_dashboard import check_sees_pos_reports
from connector.core.frequent_buyer.retailer_reports import check_reads_retailer_reports

# Each link is registered with the check its page's core use case makes (the API's too), so the header
# shows a page exactly to the users it opens for. Retailers, support and platform admins (and a viewer
# without a brand) see POS reports; every role but a retailer reads the Distributor Portal within its
# scope; credit status and programs are read by every role, each within its scope.
add_nav("POS Reports", "admin.fb_pos_reports", check_sees_pos_reports)
add_nav("Distributor Portal", "admin.fb_distributor_home", check_reads_distribution)
add_nav("Credit Status", "admin.fb_credit_status", any_role)
add_nav("Programs", "admin.fb_programs", any_role)
# The retailer's own reports name its customers: the retailer, support and platform admins only.
add_nav("Retailer Reports", "admin.fb_participation", check_reads_retailer_reports)
add_nav("Brand Fulfillment", "admin.fb_brand_fulfilment", check_reads_brand_fulfilment)
# Last, so a retailer still lands on POS Reports; a cashier's only link, so a cashier lands on Checkout.
add_nav("Checkout", "admin.fb_checkout", check_works_counter)
