"""Reference tables for checking a member's address before Shopify sees it.

Shopify answers a wrong state with a bare "Province is invalid" and no hint;
checking locally lets the error say which field is wrong and how to fix it,
and saves a round trip that could only fail. The tables follow Shopify's own
model, which is not quite ISO 3166: Puerto Rico, Guam and the other inhabited
US territories are *provinces* of US there, not countries.

The same tables stand in ``simulator/shopify_sim/validation.py`` on purpose: the simulator mimics Shopify
independently and never imports the product, so it can catch a mistake here instead of sharing it. Change
both together (docs/architecture.md).
"""

from __future__ import annotations

#: Shopify's US "provinces": the states, DC, the territories and the armed-forces codes.
US_STATES: dict[str, str] = {
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
    "VI": "Virgin Islands", "UM": "United States Minor Outlying Islands",
    "FM": "Federated States of Micronesia", "MH": "Marshall Islands", "PW": "Palau",
    "AA": "Armed Forces Americas", "AE": "Armed Forces Europe", "AP": "Armed Forces Pacific",
}  # fmt: skip

CA_PROVINCES: dict[str, str] = {
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
    "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
    "SK": "Saskatchewan", "YT": "Yukon",
}  # fmt: skip

#: Countries whose state/province is required and checked against a table.
PROVINCES_BY_COUNTRY: dict[str, dict[str, str]] = {"US": US_STATES, "CA": CA_PROVINCES}

#: Territories members often enter as a country; Shopify files them under US.
US_TERRITORY_COUNTRIES = frozenset({"PR", "GU", "VI", "AS", "MP"})

#: Shopify's ``CountryCode`` values (ISO 3166-1 alpha-2 plus a few Shopify keeps, minus the
#: US territories above). A test checks every one against the Admin schema.
_COUNTRY_CODES_TEXT = """
    AF AX AL DZ AD AO AI AG AR AM AW AC AU AT AZ BS BH BD BB BY BE BZ BJ BM BT BO BA BW BV BR IO BN
    BG BF BI KH CA CV BQ KY CF TD CL CN CX CC CO KM CG CD CK CR HR CU CW CY CZ CI DK DJ DM DO EC EG
    SV GQ ER EE SZ ET FK FO FJ FI FR GF PF TF GA GM GE DE GH GI GR GL GD GP GT GG GN GW GY HT HM VA
    HN HK HU IS IN ID IR IQ IE IM IL IT JM JP JE JO KZ KE KI KP XK KW KG LA LV LB LS LR LY LI LT LU
    MO MG MW MY MV ML MT MQ MR MU YT MX MD MC MN ME MS MA MZ MM NA NR NP NL AN NC NZ NI NE NG NU NF
    MK NO OM PK PS PA PG PY PE PH PN PL PT QA CM RE RO RU RW BL SH KN LC MF PM WS SM ST SA SN RS SC
    SL SG SX SK SI SB SO ZA GS KR SS ES LK VC SD SR SJ SE CH SY TW TJ TZ TH TL TG TK TO TT TA TN TR
    TM TC TV UG UA AE GB US UM UY UZ VU VE VN VG WF EH YE ZM ZW
"""
COUNTRY_CODES = frozenset(_COUNTRY_CODES_TEXT.split())

#: Country names members commonly type where a code belongs, mapped to the code.
COUNTRY_ALIASES: dict[str, str] = {
    "USA": "US", "U.S.": "US", "U.S.A.": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
    "CANADA": "CA", "UK": "GB", "U.K.": "GB", "UNITED KINGDOM": "GB", "GREAT BRITAIN": "GB",
    "ENGLAND": "GB", "SCOTLAND": "GB", "WALES": "GB", "MEXICO": "MX", "AUSTRALIA": "AU",
}  # fmt: skip

#: Countries without postal codes: an empty ZIP there is not "missing information".
_NO_POSTAL_CODE_TEXT = """
    AE AG AO AW BF BI BJ BS BW BZ CD CF CG CI CK CM DJ DM ER FJ GD GH GM GQ GY HK IE KI KM KN KP LC
    ML MO MR MW NR NU QA RW SB SC SL SR ST SY TF TG TK TL TO TV UG VU YE ZW
"""
NO_POSTAL_CODE_COUNTRIES = frozenset(_NO_POSTAL_CODE_TEXT.split())

#: Calling code and whether a national number's leading trunk "0" is dropped in international
#: form, for countries whose members may type local numbers. Others need a leading "+".
CALLING_CODES: dict[str, tuple[str, bool]] = {
    "GB": ("44", True), "IE": ("353", True), "AU": ("61", True), "NZ": ("64", True),
    "DE": ("49", True), "AT": ("43", True), "CH": ("41", True), "FR": ("33", True),
    "BE": ("32", True), "NL": ("31", True), "SE": ("46", True), "FI": ("358", True),
    "IT": ("39", False), "ES": ("34", False), "PT": ("351", False), "DK": ("45", False),
    "NO": ("47", False), "PL": ("48", False), "MX": ("52", False), "JP": ("81", True),
    "IN": ("91", True), "ZA": ("27", True), "SG": ("65", False), "HK": ("852", False),
}  # fmt: skip


def province_code_for(country: str, value: str) -> str | None:
    """The table's code for ``value`` (a code or a full name, any case); None when not in the table."""
    table = PROVINCES_BY_COUNTRY.get(country)
    if table is None:
        return None
    text = " ".join(value.replace(".", "").split()).upper()
    if text in table:
        return text
    for code, name in table.items():
        if name.upper() == text:
            return code
    return None
