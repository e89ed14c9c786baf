"""Checks of what a caller passes to a distribution use case (id lists, free text), with the limits,
so a bad call is refused with the field to fix before anything is locked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from connector.core.errors import ValidationError

#: How many ids one call may move; a distributor's weekly batch is far smaller.
MAX_IDS = 1000

DESCRIPTION_MAX = 300

REASON_MAX = 1000


def _ids_text(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def clean_ids(ids: Iterable[Any], what: str = "free_good_ids") -> list[int]:
    """Distinct positive integer ids in ascending order (the lock order), or a ``ValidationError``."""
    out: set[int] = set()
    bad: list[str] = []
    for raw in ids:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            bad.append(repr(raw))
        else:
            out.add(raw)
    if bad:
        raise ValidationError(f"invalid {what}", fields={what: f"ids are positive integers; got {', '.join(bad)}"})
    if not out:
        raise ValidationError(f"no {what} given", fields={what: "give at least one id"})
    if len(out) > MAX_IDS:
        raise ValidationError(f"too many {what}", fields={what: f"at most {MAX_IDS} ids per call; got {len(out)}"})
    return sorted(out)


#: Control characters other than tab and line breaks: PostgreSQL refuses NUL in text, and none belongs in a note.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def required_text(value: str | None, name: str, max_length: int) -> str:
    text = optional_text(value, name, max_length)
    if not text:
        raise ValidationError(f"{name} is required", fields={name: "must not be empty"})
    return text


def optional_text(value: str | None, name: str, max_length: int) -> str:
    text = (value or "").strip()
    if len(text) > max_length:
        raise ValidationError(f"{name} is too long", fields={name: f"at most {max_length} characters; got {len(text)}"})
    if CONTROL_CHARS.search(text):
        raise ValidationError(f"{name} has control characters", fields={name: "plain text without control characters"})
    return text
