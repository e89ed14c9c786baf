"""Keyset pages for the frequent-buyer lists: one cursor format and one page-size rule for all of them.

A cursor is the last row's id tagged with the list it came from, so a cursor taken from one
list and passed to another is refused instead of silently paging the wrong rows.
"""

from __future__ import annotations

import base64

from connector.core.errors import ValidationError

MAX_LIMIT = 500


def encode_cursor(tag: str, ident: int) -> str:
    return base64.urlsafe_b64encode(f"{tag}|{ident}".encode()).decode()


def decode_cursor(tag: str, cursor: str) -> int:
    try:
        got, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        if got != tag:
            raise ValueError(got)
        return int(ident)
    except Exception as exc:  # noqa: BLE001 - any malformed cursor is the client's error
        raise ValidationError("invalid cursor", fields={"cursor": "pass back next_cursor unchanged"}) from exc


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("invalid limit", fields={"limit": f"between 1 and {MAX_LIMIT}"})
