"""Setting up frequent buying: programs and their items, retailers, distributors, enrollments, prices.

Who may do what (one table, checked here so the API, CLI and admin UI agree):

===========================  =====================================================================
platform admin, support      everything below ("staff": support sets accounts up for retailers)
brand admin                  create programs and add items for its own brand; associate
                             distributors with its own programs; read what concerns its brand
retailer user                its own retailer only: locations, enrollments (the distributor and
                             the account number on each), price list; reads every program (it
                             must find them to enroll) and every distributor (it must pick one)
distributor user             reads programs, distributors, and the retailers and enrollments
                             that chose it; chooses its own associated programs and service area
                             (never another distributor's); changes no enrollment
viewer                       reads like a brand admin of its brand (or everything, unscoped)
===========================  =====================================================================

Another party's record answers "not found", never "forbidden", so its existence does not leak.
Use cases take ``rt`` and an ``Actor`` and run one transaction each; they return frozen views
(plain values, safe after the session closes) rather than ORM rows.
"""

from __future__ import annotations

# ``record`` is the audit-row writer callers knew from here before it moved to ``events``.
from connector.core.frequent_buyer.events import record_event as record
from connector.core.frequent_buyer.programs.account_numbers import (
    AccountNumberChangeView,
    list_account_number_changes,
    set_account_number,
)
from connector.core.frequent_buyer.programs.distributor_setup import (
    check_distributor_write,
    set_associated_programs,
    set_service_area,
)
from connector.core.frequent_buyer.programs.distributors import (
    area_text,
    associate_program,
    create_distributor,
    find_distributor,
    find_program,
    get_distributor,
    list_distributors,
    serves,
)
from connector.core.frequent_buyer.programs.enrollments import (
    change_distributor,
    distributor_options,
    end_enrollment,
    enroll,
    get_enrollment,
    list_enrollments,
)
from connector.core.frequent_buyer.programs.input_checks import normalise_zip
from connector.core.frequent_buyer.programs.permissions import (
    STAFF_ROLES,
    check_retailer_read,
    check_retailer_write,
    check_staff,
    is_staff,
    retailer_visible,
)
from connector.core.frequent_buyer.programs.price_list import get_price_list, upsert_price_list
from connector.core.frequent_buyer.programs.program_catalog import (
    PRODUCT_COLUMNS,
    add_program_items,
    create_program,
    export_product_list,
    get_program,
    list_programs,
    normalise_upc,
    product_list_lines,
    set_minimum_purchase,
)
from connector.core.frequent_buyer.programs.retailers import (
    add_location,
    create_retailer,
    find_retailer,
    get_retailer,
    list_retailers,
    store_code_key,
)
from connector.core.frequent_buyer.programs.views import (
    DistributorView,
    EnrollmentView,
    ItemSpec,
    ItemView,
    LocationSpec,
    LocationView,
    PriceListResult,
    PriceSpec,
    PriceView,
    ProgramView,
    RetailerView,
)

__all__ = [
    "AccountNumberChangeView",
    "check_distributor_write",
    "distributor_options",
    "list_account_number_changes",
    "set_account_number",
    "set_associated_programs",
    "set_service_area",
    "DistributorView",
    "EnrollmentView",
    "ItemSpec",
    "ItemView",
    "LocationSpec",
    "LocationView",
    "PRODUCT_COLUMNS",
    "PriceListResult",
    "PriceSpec",
    "PriceView",
    "ProgramView",
    "RetailerView",
    "STAFF_ROLES",
    "add_location",
    "add_program_items",
    "area_text",
    "associate_program",
    "change_distributor",
    "check_retailer_read",
    "check_retailer_write",
    "check_staff",
    "create_distributor",
    "create_program",
    "set_minimum_purchase",
    "create_retailer",
    "end_enrollment",
    "enroll",
    "export_product_list",
    "find_distributor",
    "find_program",
    "find_retailer",
    "get_distributor",
    "get_enrollment",
    "get_price_list",
    "get_program",
    "get_retailer",
    "is_staff",
    "list_distributors",
    "list_enrollments",
    "list_programs",
    "list_retailers",
    "normalise_upc",
    "normalise_zip",
    "product_list_lines",
    "record",
    "retailer_visible",
    "serves",
    "store_code_key",
    "upsert_price_list",
]
