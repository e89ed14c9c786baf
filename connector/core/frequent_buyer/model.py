"""Frequent-buyer vocabulary: statuses, denial reasons and fulfilment types as enums."""

from __future__ import annotations

from enum import StrEnum


class FulfilmentType(StrEnum):
    """Who makes the retailer whole for a free good (seed 000)."""

    DISTRIBUTOR = "distributor"  # the chosen distributor credits the retailer
    DIRECT = "direct"  # the manufacturer credits the retailer itself
    RETAILER = "retailer"  # the retailer secures reimbursement on its own


class PosRedemptionStatus(StrEnum):
    """A reported redemption's way through processing (seed 003, POS Reports Status Dashboard)."""

    NEW = "new"  # read from an uploaded report
    PENDING = "pending"  # mapped to a customer account (created when none matched)
    DENIED = "denied"  # failed a program rule; a corrected resubmission replaces it
    QUALITY_CHECK = "quality_check"  # passed the rules; awaiting the final check
    PROCESSED = "processed"  # handed to the distributor as a New Reward


class PosRedemptionEvent(StrEnum):
    MAP_CUSTOMER = "map_customer"
    DENY = "deny"
    PASS_RULES = "pass_rules"
    PROCESS = "process"
    RESUBMIT = "resubmit"  # a corrected row replaced a denied one


class DenialReason(StrEnum):
    INSUFFICIENT_PURCHASE_QUANTITY = "insufficient_purchase_quantity"
    #: "Insufficient Purchase Amount" (seed 003): the card's purchases, valued at the store's price list,
    #: come to less than the program's minimum purchase in dollars (or cannot be valued: a price is missing).
    INSUFFICIENT_PURCHASE_AMOUNT = "insufficient_purchase_amount"
    INELIGIBLE_PROGRAM = "ineligible_program"
    MULTIPLE_BRANDS_ON_CARD = "multiple_brands_on_card"
    ITEM_NOT_IN_PROGRAM = "item_not_in_program"
    INELIGIBLE_FREE_GOOD_SIZE = "ineligible_free_good_size"


#: Each denial as the seeds name it (seed 003's POS Reports Status Dashboard), for screens, emails and exports.
DENIAL_LABELS: dict[DenialReason, str] = {
    DenialReason.INSUFFICIENT_PURCHASE_QUANTITY: "Insufficient Purchase Quantity",
    DenialReason.INSUFFICIENT_PURCHASE_AMOUNT: "Insufficient Purchase Amount",
    DenialReason.INELIGIBLE_PROGRAM: "Ineligible Program",
    DenialReason.MULTIPLE_BRANDS_ON_CARD: "Multiple Brands on the Card",
    DenialReason.ITEM_NOT_IN_PROGRAM: "Item Not In Program",
    DenialReason.INELIGIBLE_FREE_GOOD_SIZE: "Ineligible Free Good Size",
}


def denial_label(reason: str | None) -> str:
    """The seeds' words for a denial code; an unknown code as it is (never blank when there is one)."""
    if not reason:
        return ""
    try:
        return DENIAL_LABELS[DenialReason(reason)]
    except ValueError:
        return reason


#: What each denial means and what the retailer can do about it, in the retailer's words (seed 003).
DENIAL_EXPLANATIONS: dict[DenialReason, tuple[str, str]] = {
    DenialReason.INSUFFICIENT_PURCHASE_QUANTITY: (
        "The card did not reach the program's required number of purchases before the free good was given.",
        "Check the card's purchases in the POS; if the report left purchases out, resubmit the corrected row.",
    ),
    DenialReason.INSUFFICIENT_PURCHASE_AMOUNT: (
        "The card did not meet the manufacturer's minimum purchase (in dollars) before the free good was given.",
        "Check the card's purchases and the store's price list (every purchased SKU needs a price); "
        "correct them, then resubmit the row.",
    ),
    DenialReason.INELIGIBLE_PROGRAM: (
        "The store is not enrolled in this program (or the program was not running on the redemption date).",
        "Enroll the store in the program and choose a distributor, then resubmit the row.",
    ),
    DenialReason.MULTIPLE_BRANDS_ON_CARD: (
        "The card mixes purchases of more than one brand; no manufacturer allows mixing programs.",
        "Keep a separate card per brand in the POS; resubmit the card with only one brand's purchases.",
    ),
    DenialReason.ITEM_NOT_IN_PROGRAM: (
        "An item on the card (purchased or given free) is not part of the program.",
        "Check the item's SKU/UPC against the program's product list; ask the brand representative if it should be.",
    ),
    DenialReason.INELIGIBLE_FREE_GOOD_SIZE: (
        "The free good is larger than the smallest item purchased on the card.",
        "Give a free good the same size as or smaller than the smallest purchase; keep separate cards per size.",
    ),
}


class CreditStatus(StrEnum):
    """A free good on the distributor's side (seed 001's five sections)."""

    UNBATCHED = "unbatched"  # Unbatched Free Goods: a New Reward
    BATCHED = "batched"  # in an Unfulfilled Batch
    CREDITED = "credited"  # its batch was marked Fulfilled/Credited
    GROUPED = "grouped"  # its batch was grouped for manufacturer credit
    DECLINED = "declined"  # Declined/Held Credits
    HELD = "held"  # Declined/Held Credits


class CreditEvent(StrEnum):
    BATCH = "batch"
    UNBATCH = "unbatch"
    DECLINE = "decline"
    HOLD = "hold"
    RELEASE = "release"  # a held (or declined) free good goes back to Unbatched
    CREDIT = "credit"
    GROUP = "group"
    #: A direct- or retailer-fulfilled free good (no distributor, so never batched) marked credited by the brand
    #: side: the manufacturer reimbursed the store (brand_fulfilment.py).
    CREDIT_DIRECT = "credit_direct"


class BatchStatus(StrEnum):
    UNFULFILLED = "unfulfilled"
    FULFILLED = "fulfilled"  # marked fulfilled/credited by the distributor
    GROUPED = "grouped"  # grouped for manufacturer credit


class BatchEvent(StrEnum):
    FULFIL = "fulfil"
    GROUP = "group"
    RECONCILE = "reconcile"  # the retailer confirms the credit memo; status is unchanged


class RetailerCreditView(StrEnum):
    """How a retailer sees a free good on Distributor Free Goods Credit Status (seed 002)."""

    UNCREDITED = "uncredited"
    CREDITED = "credited"
    RECONCILED = "reconciled"
    DECLINED = "declined"


class MemoLineOutcome(StrEnum):
    """How one credit memo line compares with the credited batch."""

    MATCHED = "matched"
    QUANTITY_DIFFERS = "quantity_differs"
    AMOUNT_DIFFERS = "amount_differs"
    NOT_IN_BATCH = "not_in_batch"  # credited on the memo, not in the batch
    MISSING_FROM_MEMO = "missing_from_memo"  # in the batch, not on the memo


#: Codes whose words the seeds give, for every screen, email and export that shows them. Anything else is
#: shown as its code in words ("quality_check" → "Quality check").
SEED_LABELS: dict[str, str] = {
    **{reason.value: label for reason, label in DENIAL_LABELS.items()},
    CreditStatus.UNBATCHED.value: "New Reward",  # seed 000: "visible to your chosen distributor as a New Reward"
    CreditStatus.GROUPED.value: "Grouped for MFG Credit",  # seed 001: "Batches Grouped for MFG Credit"
    FulfilmentType.DISTRIBUTOR.value: "Distributor Fulfilled",  # seed 000
    FulfilmentType.DIRECT.value: "Direct Fulfillment",  # seed 000
    FulfilmentType.RETAILER.value: "Retailer Fulfilled",  # seed 000
}
