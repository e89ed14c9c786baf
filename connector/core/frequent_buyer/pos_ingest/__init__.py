"""Importing a POS redemption report: every card checked, mapped to a customer, and sent on — or none.

One upload is one transaction. The file's problems are found before anything is written (an
unknown store code, a card without a free good, a key twice...) and rejected together with
their rows and columns (``PosReportRejected``); a failure after writing started rolls every row
back. Nothing is imported twice: the same bytes from the same retailer answer the first
import's summary (``duplicate_of``), and a card whose POS key was imported before is skipped
(``already_imported``) — unless that earlier one was denied, in which case the corrected card
replaces it in place (same id, a ``resubmit`` event) and is judged again.

Each card walks the POS lifecycle inside the transaction, with an ``fb_events`` row per move:
``new → pending`` (mapped to one of the retailer's customers: by internal id, then phone digits,
then email; a new customer when none matches, once per file however many cards share a phone),
then ``pending → denied`` (reason and detail from ``rules``) or ``pending → quality_check``, and
``quality_check → processed`` at once unless the program asks for a person's check
(``approve_quality_check``). Processing creates the program's ``FreeGood`` row — unbatched, for
the enrollment's distributor (none for direct and retailer-fulfilled programs), with the unit
cost from the retailer's price list — which the distributor side picks up.

Speed: a 100,000-row file is one pass over in-memory cards in chunks. Programs, items,
enrollments, prices and the customers the file can match are loaded once into dicts; rows are
written with Core ``INSERT … RETURNING`` executemany per chunk (no ORM objects per card, no
flush per row), so memory stays at one chunk of rows beside the parsed report.

Decisions where the brief left a choice
    * A card's ``store_code`` that the retailer has no location for rejects the whole file (its
      rows named): mapping it to "no location" would hide a typo. A card without a store code is
      put at the retailer's only location, or at no location when it has several.
    * A card must give exactly one free item (one ``FreeGood`` per redemption); two different
      free items on one card reject the file, asking for one card per free item.
    * Support and platform admins may upload on a retailer's behalf (seed 000: reports are
      emailed to the POS team, who upload them); distributors, brands and viewers may not.
"""

from connector.core.frequent_buyer.pos_ingest.checks import MAX_PROBLEMS, check_can_upload, check_report
from connector.core.frequent_buyer.pos_ingest.customers import normalise_email, normalise_phone
from connector.core.frequent_buyer.pos_ingest.formats import find_pos_format, formats_context, pos_formats
from connector.core.frequent_buyer.pos_ingest.importer import CHUNK, import_pos_report
from connector.core.frequent_buyer.pos_ingest.quality_check import ApproveResult, approve_quality_check
from connector.core.frequent_buyer.pos_ingest.rows import card_json, free_good_values
from connector.core.frequent_buyer.pos_ingest.rule_book import load_rule_book
from connector.core.frequent_buyer.pos_ingest.summary import MAX_DENIAL_LINES, DenialLine, ImportSummary
from connector.core.frequent_buyer.pos_ingest.upload import upload_pos_report

__all__ = [
    "CHUNK",
    "MAX_DENIAL_LINES",
    "MAX_PROBLEMS",
    "ApproveResult",
    "DenialLine",
    "ImportSummary",
    "approve_quality_check",
    "card_json",
    "check_can_upload",
    "check_report",
    "find_pos_format",
    "formats_context",
    "free_good_values",
    "import_pos_report",
    "load_rule_book",
    "normalise_email",
    "normalise_phone",
    "pos_formats",
    "upload_pos_report",
]
