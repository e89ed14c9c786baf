"""Input checks that reproduce the ``userErrors`` Shopify answers live.

The messages and ``field`` paths follow recorded live responses (see
``shared/reference/shopify-api.md`` §1(b)). The rules themselves are deliberately small
approximations of Shopify's (which uses libphonenumber and full address data): strict
enough that a client sending sloppy data sees the same *kind* of error it would see in
production, loose enough that every realistic, well-formed input passes.

The region tables repeat ``connector/plugins/shopify/regions.py`` on purpose: the simulator mimics Shopify
independently and never imports the product, so a mistake in the plugin's copy shows up as a refused order
instead of being shared. Change both together (docs/architecture.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 255

#: US states, DC, territories and military "states" Shopify accepts for ``countryCode: US``.
US_PROVINCES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands", "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands", "UM": "United States Minor Outlying Islands",
    "FM": "Federated States of Micronesia", "MH": "Marshall Islands", "PW": "Palau",
    "AA": "Armed Forces Americas", "AE": "Armed Forces Europe", "AP": "Armed Forces Pacific",
}  # fmt: skip

#: Canadian provinces and territories.
CA_PROVINCES: dict[str, str] = {
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NT": "Northwest Territories", "NS": "Nova Scotia",
    "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
    "SK": "Saskatchewan", "YT": "Yukon",
}  # fmt: skip

#: Countries whose province is checked. Elsewhere any province text is accepted, as live
#: Shopify did for ``countryCode: SG, provinceCode: ON``.
PROVINCES: dict[str, dict[str, str]] = {"US": US_PROVINCES, "CA": CA_PROVINCES}

#: Display names for the countries a reward shop is likely to ship to. Other valid codes
#: fall back to the code itself as the name.
COUNTRY_NAMES: dict[str, str] = {
    "US": "United States", "CA": "Canada", "MX": "Mexico", "GB": "United Kingdom",
    "IE": "Ireland", "FR": "France", "DE": "Germany", "NL": "Netherlands", "BE": "Belgium",
    "LU": "Luxembourg", "ES": "Spain", "PT": "Portugal", "IT": "Italy", "CH": "Switzerland",
    "AT": "Austria", "DK": "Denmark", "SE": "Sweden", "NO": "Norway", "FI": "Finland",
    "PL": "Poland", "CZ": "Czechia", "AU": "Australia", "NZ": "New Zealand", "JP": "Japan",
    "SG": "Singapore", "HK": "Hong Kong SAR", "IN": "India", "BR": "Brazil",
    "AR": "Argentina", "ZA": "South Africa", "AE": "United Arab Emirates", "IL": "Israel",
}  # fmt: skip

#: Codes present in the ``CountryCode`` enum that Shopify still rejects on an address.
INVALID_COUNTRY_CODES = frozenset({"ZZ"})

#: name@domain with a dot inside the domain; written so it matches one way only (linear in the input).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s][^@\s.]*\.[^@\s]+$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-]+$")


@dataclass(frozen=True)
class FieldError:
    """One ``UserError``: ``field`` is the path Shopify reports (``None`` = whole input)."""

    field: list[str] | None
    message: str

    def as_dict(self, code: str | None = None) -> dict[str, Any]:
        """The GraphQL ``UserError`` shape (``code`` only for error types that have one)."""
        data: dict[str, Any] = {"field": self.field, "message": self.message}
        if code is not None:
            data["code"] = code
        return data


def normalize_phone(raw: str) -> str | None:
    """Return the E.164 form of ``raw``, or ``None`` when it is not a dialable number.

    Accepts what Shopify documents as valid (``6135551212``, ``+16135551212``,
    ``(613)555-1212``, ``+1 613-555-1212``). Numbers without ``+`` are read as North
    American (the simulated shop is in the US), so they need 10 digits, or 11 starting
    with 1. North American numbers must have a valid area code and exchange (2-9 first).
    """
    text = raw.strip()
    if not text or len(text) > MAX_TEXT or not _PHONE_CHARS.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+"):
        if len(digits) == 10:
            digits = "1" + digits
        elif not (len(digits) == 11 and digits.startswith("1")):
            return None
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    if digits.startswith("1") and (len(digits) != 11 or digits[1] in "01" or digits[4] in "01"):
        return None
    return "+" + digits


def valid_email(email: str) -> bool:
    """Loose syntax check; Shopify rejects the obviously malformed with ``Email is invalid``."""
    return len(email) <= MAX_TEXT and bool(_EMAIL.match(email))


def check_phone(phone: str | None, path: list[str]) -> tuple[str | None, list[FieldError]]:
    """Normalise an optional phone, returning (E.164 or None, errors)."""
    if phone is None or phone == "":
        return None, []
    errors: list[FieldError] = []
    if len(phone) > MAX_TEXT:
        errors.append(FieldError(path, "Phone is too long (maximum is 255 characters)"))
    normalized = normalize_phone(phone)
    if normalized is None:
        errors.append(FieldError(path, "Phone is invalid"))
    return normalized, errors


@dataclass
class CleanAddress:
    """A validated address, in the simulator's storage form."""

    first_name: str | None
    last_name: str | None
    company: str | None
    address1: str | None
    address2: str | None
    city: str | None
    province: str | None
    province_code: str | None
    country: str | None
    country_code: str | None
    zip: str | None
    phone: str | None


def resolve_country(address: dict[str, Any], known_codes: frozenset[str]) -> tuple[str | None, bool]:
    """Return (ISO code or None, ok) from ``countryCode`` or the deprecated ``country`` text."""
    code = address.get("countryCode")
    if code:
        code = str(code).upper()
        return code, code in known_codes and code not in INVALID_COUNTRY_CODES
    text = address.get("country")
    if not text:
        return None, True
    text = str(text).strip()
    if text.upper() in known_codes and text.upper() not in INVALID_COUNTRY_CODES:
        return text.upper(), True
    for iso, name in COUNTRY_NAMES.items():
        if name.lower() == text.lower():
            return iso, True
    return None, False


def clean_address(
    address: dict[str, Any], path: list[str], known_codes: frozenset[str]
) -> tuple[CleanAddress | None, list[FieldError]]:
    """Validate a ``MailingAddressInput``; errors use ``path + ["country" | "province"]``.

    Like Shopify, the error path says ``province`` even when ``provinceCode`` was sent.
    """
    errors: list[FieldError] = []
    code, ok = resolve_country(address, known_codes)
    if not ok:
        errors.append(FieldError([*path, "country"], "Country is invalid"))
    province_in = address.get("provinceCode") or address.get("province")
    province_code: str | None = None
    province_name: str | None = None
    if province_in:
        province_in = str(province_in).strip()
        table = PROVINCES.get(code or "")
        if table is None:
            province_code = province_in
            province_name = province_in
        else:
            upper = province_in.upper()
            if upper in table:
                province_code, province_name = upper, table[upper]
            else:
                match = next((c for c, n in table.items() if n.lower() == province_in.lower()), None)
                if match is None:
                    errors.append(FieldError([*path, "province"], "Province is invalid"))
                else:
                    province_code, province_name = match, table[match]
    phone = address.get("phone")
    for key in ("address1", "address2", "city", "zip", "company", "firstName", "lastName"):
        value = address.get(key)
        if value is not None and len(str(value)) > MAX_TEXT:
            label = key[0].upper() + key[1:]
            errors.append(FieldError([*path, key], f"{label} is too long (maximum is 255 characters)"))
    if errors:
        return None, errors
    return (
        CleanAddress(
            first_name=address.get("firstName"),
            last_name=address.get("lastName"),
            company=address.get("company"),
            address1=address.get("address1"),
            address2=address.get("address2"),
            city=address.get("city"),
            province=province_name,
            province_code=province_code,
            country=COUNTRY_NAMES.get(code, code) if code else None,
            country_code=code,
            zip=address.get("zip"),
            phone=normalize_phone(phone) or phone if phone else None,
        ),
        [],
    )
