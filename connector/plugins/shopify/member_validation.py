"""Check and normalise a member's details before any of them reach Shopify.

Two kinds of failure, matching the product's error catalogue (seed 004):

* ``missing_user_information``: a required address field is empty; the fix
  is to complete the profile or ask the member.
* ``crm_id_not_found``: a field is filled in but Shopify would reject it or
  match nobody with it (state not in the country, city with digits, phone
  that cannot be dialled, date of birth in the future, ...); the fix is to
  correct that field.

Both messages name every field at fault and say how to fix it, and the
``field`` of the error lists those fields (comma-separated, ``MemberInfo``
attribute names) so the UI can point at them. Messages never quote the
member's phone, email, street or date of birth: errors are stored and shown,
and must not become a second copy of the member's personal data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.core.errors import ProviderError
from connector.core.hooktypes import MEMBER_FIELD_LABELS, MemberInfo
from connector.plugins.shopify.regions import (
    CALLING_CODES,
    COUNTRY_ALIASES,
    COUNTRY_CODES,
    NO_POSTAL_CODE_COUNTRIES,
    PROVINCES_BY_COUNTRY,
    US_TERRITORY_COUNTRIES,
    province_code_for,
)

MAX_TEXT = 255
MAX_AGE_YEARS = 120

#: How messages name each field: the core's words, so the console's form and these errors agree.
LABELS: dict[str, str] = MEMBER_FIELD_LABELS

_HTML = re.compile(r"<[^>]*>|[<>]")
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()./-]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_US_ZIP = re.compile(r"^([0-9]{5})(?:-?([0-9]{4}))?$")
_CA_POSTAL = re.compile(r"^([A-Z][0-9][A-Z]) ?([0-9][A-Z][0-9])$")
_OTHER_POSTAL = re.compile(r"^[A-Z0-9][A-Z0-9 -]{0,10}[A-Z0-9]$", re.IGNORECASE)


@dataclass(frozen=True)
class ValidatedMember:
    """A member whose details passed every check, in the forms Shopify expects."""

    id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str | None  # E.164
    address1: str
    address2: str | None
    city: str
    province_code: str | None
    country_code: str
    zip: str | None
    shop_customer_id: str | None

    def mailing_address(self) -> dict[str, Any]:
        """The member's address as a ``MailingAddressInput``."""
        address: dict[str, Any] = {
            "firstName": self.first_name,
            "lastName": self.last_name,
            "address1": self.address1,
            "city": self.city,
            "countryCode": self.country_code,
        }
        for key, value in (
            ("address2", self.address2),
            ("provinceCode", self.province_code),
            ("zip", self.zip),
            ("phone", self.phone),
        ):
            if value:
                address[key] = value
        return address


class MemberDetailsError(ProviderError):
    """The ``ProviderError`` a member's details fail with, also saying field by field what is wrong.

    The fulfilment stores it like any ``ProviderError``; the console's member form
    (``connector_check_member``) shows each field's own problem next to that field.
    """

    def __init__(self, code: str, message: str, *, fix: str, problems: list[tuple[str, str]]) -> None:
        super().__init__(code, message, fix=fix, retryable=False, field=",".join(dict.fromkeys(f for f, _ in problems)))
        self.problems = tuple(problems)


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, problem: str) -> None:
        self.items.append((field, problem))

    @property
    def fields(self) -> str:
        return ",".join(dict.fromkeys(field for field, _ in self.items))


def validate_member(member: MemberInfo, today: date) -> ValidatedMember:
    """Return the member normalised for Shopify, or raise the ``ProviderError`` that says what to fix."""
    first_name = _clean(member.first_name)
    last_name = _clean(member.last_name)
    address1 = _clean(member.address1)
    address2 = _clean(member.address2)
    city = _clean(member.city)
    zip_code = _clean(member.zip)
    raw_country = _clean(member.country_code)
    raw_province = _clean(member.province_code)
    email = _clean(member.email)

    malformed = _Problems()
    country = _country(raw_country, malformed)
    if country in US_TERRITORY_COUNTRIES:
        # Shopify has no country PR, GU, ...: it files them as states of US (Puerto Rico is US/PR).
        country, raw_province = "US", country

    missing = [
        name
        for name, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("address1", address1),
            ("city", city),
            ("zip", zip_code if country not in NO_POSTAL_CODE_COUNTRIES else "n/a"),
            ("country_code", raw_country),
            ("province_code", raw_province if country in PROVINCES_BY_COUNTRY else "n/a"),
        )
        if not value
    ]
    if missing:
        names = ", ".join(LABELS[name] for name in missing)
        raise MemberDetailsError(
            "missing_user_information",
            f"The member's address is incomplete: {names} "
            f"{'is' if len(missing) == 1 else 'are'} empty. Shopify needs a full shipping address.",
            fix=f"Fill in the member's {names} (contact the member if you do not know "
            f"{'it' if len(missing) == 1 else 'them'}), then retry.",
            problems=[
                (name, f"{LABELS[name]} is empty: Shopify needs it for the shipping address") for name in missing
            ],
        )
    # Narrowed by the check above; ``country`` stays None when it was given but is not a code.
    first_name, last_name, address1, city = str(first_name), str(last_name), str(address1), str(city)
    for name, value in (("first_name", first_name), ("last_name", last_name)):
        _check_text(name, value, malformed)
    province = _province(country, raw_province, malformed)
    _check_city(city, malformed)
    _check_address1(address1, malformed)
    if address2:
        _check_text("address2", address2, malformed)
    zip_code = _zip(country, zip_code, malformed)
    phone = _phone(member.phone, country, malformed)
    if email and (len(email) > MAX_TEXT or not _EMAIL.match(email)):
        malformed.add("email", "email is not a valid address: write it as name@example.com")
    if member.date_of_birth is not None:
        _check_birth_date(member.date_of_birth, today, malformed)

    if malformed.items:
        details = "; ".join(problem for _, problem in malformed.items)
        raise MemberDetailsError(
            "crm_id_not_found",
            f"The member's details cannot be matched to a Shopify customer: {details}.",
            fix="Correct the member's "
            + ", ".join(LABELS[name] for name in dict.fromkeys(f for f, _ in malformed.items))
            + " as described, then retry.",
            problems=malformed.items,
        )

    if country is None:  # unreachable: an invalid country was reported above
        raise AssertionError("country missing after validation")
    return ValidatedMember(
        id=member.id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        address1=address1,
        address2=address2,
        city=city,
        province_code=province,
        country_code=country,
        zip=zip_code,
        shop_customer_id=_clean(member.shop_customer_id),
    )


# -- single fields -------------------------------------------------------------------------------


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def text_problem(value: str) -> str | None:
    """What makes free text unacceptable to Shopify's address validation, if anything.

    The length comes first, so an over-long value never reaches a pattern.
    """
    if len(value) > MAX_TEXT:
        return f"is longer than {MAX_TEXT} characters"
    if _HTML.search(value):
        return "contains HTML (< or >)"
    if _URL.search(value):
        return "contains a web link"
    if any(_is_emoji(ch) for ch in value):
        return "contains emoji or pictographs"
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        return "contains invisible control characters"
    return None


def _is_emoji(ch: str) -> bool:
    code = ord(ch)
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x2B00 <= code <= 0x2BFF
        or code in (0xFE0F, 0x200D, 0x20E3)
    )


def _check_text(name: str, value: str, problems: _Problems) -> bool:
    problem = text_problem(value)
    if problem:
        problems.add(name, f"{LABELS[name]} {problem}: remove it and keep only the {LABELS[name]}")
        return False
    return True


def _country(raw: str | None, problems: _Problems) -> str | None:
    if not raw:
        return None
    text = raw.upper()
    text = COUNTRY_ALIASES.get(text, text)
    if text in COUNTRY_CODES or text in US_TERRITORY_COUNTRIES:
        return text
    shown = raw if raw.isprintable() and len(raw) <= 40 else "the value given"
    problems.add(
        "country_code",
        f"country '{shown}' is not an ISO 3166 two-letter country code: use a code such as US, CA or GB",
    )
    return None


def _province(country: str | None, raw: str | None, problems: _Problems) -> str | None:
    if not raw or country is None:
        return raw
    table = PROVINCES_BY_COUNTRY.get(country)
    if table is None:
        # Shopify accepts any province for countries it has no list for; keep it if it is clean text.
        return raw if _check_text("province_code", raw, problems) else None
    code = province_code_for(country, raw)
    if code is None:
        shown = raw if raw.isprintable() and len(raw) <= 40 else "the value given"
        kind, examples = ("US state", "NY, CA or TX") if country == "US" else ("Canadian province", "ON, QC or BC")
        problems.add(
            "province_code",
            f"state/province '{shown}' is not a {kind} (country {country}): use its two-letter code, e.g. {examples}",
        )
    return code


def _check_city(city: str, problems: _Problems) -> None:
    if not _check_text("city", city, problems):
        return
    if any(ch.isdigit() for ch in city):
        problems.add(
            "city",
            "city contains digits: enter only the city name (street number and ZIP have their own fields)",
        )


def _check_address1(address1: str, problems: _Problems) -> None:
    if not _check_text("address1", address1, problems):
        return
    if not any(ch.isdigit() for ch in address1):
        problems.add(
            "address1",
            "address line 1 has no street or box number: write it as '<number> <street>', e.g. 151 Main St",
        )


def _zip(country: str | None, raw: str | None, problems: _Problems) -> str | None:
    if not raw:
        return None
    text = raw.upper()
    if country == "US":
        match = _US_ZIP.match(text)
        if match:
            return match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")
        problems.add("zip", "ZIP code is not a US ZIP code: use 5 digits (12345) or ZIP+4 (12345-6789)")
        return None
    if country == "CA":
        match = _CA_POSTAL.match(text)
        if match:
            return f"{match.group(1)} {match.group(2)}"
        problems.add("zip", "postal code is not a Canadian postal code: use the form A1A 1A1")
        return None
    if not _OTHER_POSTAL.match(text):
        problems.add("zip", "postal code may only hold letters, digits, spaces and hyphens (2-12 characters)")
        return None
    return text


def normalize_phone(raw: str, country: str | None) -> str:
    """Return ``raw`` in E.164 form, or raise ``ValueError`` saying what is wrong and how to fix it.

    North American numbers may be written in any common way ("(613) 555-0142",
    "613.555.0142", "1-613-555-0142"); other countries need their country
    code unless the table in ``regions`` knows how their local numbers work.
    """
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise ValueError(f"phone is longer than {MAX_TEXT} characters: enter the number only, e.g. +16135550142")
    if any(ch.isalpha() for ch in text):
        raise ValueError("phone contains letters: enter digits only, e.g. +16135550142")
    if not _PHONE_CHARS.match(text):
        raise ValueError("phone contains characters other than digits, spaces and + - . ( ): remove them")
    digits = re.sub(r"[^0-9]", "", text)
    nanp = country in ("US", "CA")
    if text.startswith("+"):
        e164 = "+" + digits
    elif digits.startswith("011") and nanp:
        e164 = "+" + digits[3:]
    elif digits.startswith("00") and not nanp:
        e164 = "+" + digits[2:]
    elif nanp:
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        if len(digits) != 10:
            raise ValueError(
                "phone is not a 10-digit North American number: enter area code and number, e.g. (613) 555-0142"
            )
        e164 = "+1" + digits
    elif country in CALLING_CODES:
        calling_code, drops_trunk_zero = CALLING_CODES[country]
        national = digits[1:] if drops_trunk_zero and digits.startswith("0") else digits
        e164 = f"+{calling_code}{national}"
    else:
        raise ValueError("phone has no country code: write it in international form starting with +")
    if not _E164.match(e164):
        raise ValueError("phone is too short or too long to be dialled: E.164 numbers have 8 to 15 digits")
    if e164.startswith("+1"):
        national = e164[2:]
        if len(national) != 10 or national[0] in "01" or national[3] in "01":
            raise ValueError(
                "phone is not a dialable North American number: area code and exchange cannot start with 0 or 1"
            )
    return e164


def _phone(raw: str | None, country: str | None, problems: _Problems) -> str | None:
    text = _clean(raw)
    if not text:
        return None
    if country is None and not text.startswith("+"):
        return None  # a local number depends on the country, which is already reported as wrong
    try:
        return normalize_phone(text, country)
    except ValueError as exc:
        problems.add("phone", str(exc))
        return None


def _check_birth_date(born: date, today: date, problems: _Problems) -> None:
    if born > today:
        problems.add("date_of_birth", "date of birth is in the future: check the year")
        return
    try:
        oldest = today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
    if born < oldest:
        problems.add(
            "date_of_birth",
            f"date of birth is more than {MAX_AGE_YEARS} years ago: check the year (it is often typed "
            "as the current year or with two digits)",
        )
