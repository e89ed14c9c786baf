"""Reading Shopify's ``userErrors`` about a member: which member field a path points at, and "missing" vs "wrong".

``customerCreate``/``customerUpdate`` and ``orderCreate``'s shipping address name the same input fields
(``MailingAddressInput`` and the customer's own), so one map serves both; a missing value and a wrong
one get different catalogue codes (``missing_user_information`` vs ``crm_id_not_found``).
"""

from __future__ import annotations

import re

#: Last element of a userError ``field`` path → the ``MemberInfo`` field it is about.
MEMBER_FIELDS: dict[str, str] = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "phone": "phone",
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "province": "province_code",
    "provinceCode": "province_code",
    "country": "country_code",
    "countryCode": "country_code",
    "zip": "zip",
}

_BLANK = re.compile(r"\b(blank|required|must be present|is missing|can't be empty)\b", re.IGNORECASE)


def says_missing(message: str) -> bool:
    """Whether Shopify's message says a value is missing (rather than wrong)."""
    return _BLANK.search(message) is not None
