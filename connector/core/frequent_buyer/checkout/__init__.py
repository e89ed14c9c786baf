"""In-store redemption (seed 000, 002): a retailer's counter looks a pet owner up, punches their cards, redeems.

One use case per thing a cashier does, shared by the console's Checkout page, the JSON API
(``/api/v1/checkout``) and the CLI (``connector checkout``):

* ``find_customers`` / ``add_customer``: the retailer's pet owners by name, phone or email;
  "+ Add Customer" with every bad field named (``customers``).
* ``record_purchase`` / ``customer_cards``: scanning a purchase onto a program's card, and each
  card's progress toward its reward (``cards``).
* ``redeem``: the complete card's free good, written exactly as a POS report of the card would
  write it, with the same rules and denial reasons; idempotent (``redeem``).

Who: the retailer's ``cashier`` users (a role of its own, scoped to one retailer, that reaches
Checkout and nothing else: no reports, uploads, programs, users or settings), the retailer's own
users, and support or platform admins naming the retailer (``scope``).
"""

from connector.core.frequent_buyer.checkout.cards import (
    CardProgress,
    CustomerCards,
    FreeChoice,
    counter_stores,
    customer_cards,
    record_purchase,
)
from connector.core.frequent_buyer.checkout.customers import CustomerView, add_customer, find_customers
from connector.core.frequent_buyer.checkout.redeem import RedemptionDenied, redeem
from connector.core.frequent_buyer.checkout.scope import check_works_counter, counter_retailer
from connector.core.frequent_buyer.checkout.visit import CheckoutRedemption

__all__ = [
    "CardProgress",
    "CheckoutRedemption",
    "CustomerCards",
    "CustomerView",
    "FreeChoice",
    "RedemptionDenied",
    "add_customer",
    "check_works_counter",
    "counter_retailer",
    "counter_stores",
    "customer_cards",
    "find_customers",
    "record_purchase",
    "redeem",
]
