"""Shared checks of free text, state codes and ZIP codes, collecting every problem by field so one
refusal names all of them.
"""

from __future__ import annotations

import re

_STATE = re.compile(r"^[A-Z]{2}$")

_ZIP_PREFIX = re.compile(r"^[A-Z0-9]{1,10}$")


def _text(value: str | None, field_name: str, problems: dict[str, str], *, max_len: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        problems[field_name] = "required; must not be empty"
    elif len(text) > max_len:
        problems[field_name] = f"at most {max_len} characters (got {len(text)})"
    return text


def normalise_zip(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()
