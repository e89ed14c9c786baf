"""What the operations share: the control API's error, tag clean-up, blank and decimal input, camelCase keys."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any


class ControlError(ValueError):
    """A control-API request that cannot be applied (answered with HTTP 4xx)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def clean_tags(tags: Any) -> list[str]:
    """Shopify tag normalisation: split on commas, trim, drop blanks and duplicates."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    out: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        for part in str(tag).split(","):
            part = part.strip()
            if part and part.lower() not in seen:
                seen.add(part.lower())
                out.append(part)
    return out


def blank_to_none(value: Any) -> Any:
    """A string trimmed, ``None`` when nothing is left; other values unchanged."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def parse_decimal(value: Any) -> Decimal | None:
    """A finite decimal, or ``None`` for anything else."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _camel(key: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def camelize(value: Any) -> Any:
    """snake_case keys -> camelCase, recursively (control API accepts either spelling)."""
    if isinstance(value, dict):
        return {_camel(k): camelize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camelize(v) for v in value]
    return value
