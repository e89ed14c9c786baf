"""The name of an uploaded file as the product stores and shows it."""

from __future__ import annotations

from connector.core.frequent_buyer.distribution import CONTROL_CHARS

#: The longest file name stored (the ``filename`` columns).
MAX_FILENAME = 300


def clean_filename(name: str | None, default: str = "report") -> str:
    """The name as the user's browser or client sent it, without control characters (PostgreSQL refuses NUL)
    or a folder path (``C:\\Users\\ana\\june.csv`` is ``june.csv``), at most 300 characters; ``default`` when
    nothing is left. Applying it twice changes nothing, so each layer may call it."""
    text = CONTROL_CHARS.sub("", name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return text[:MAX_FILENAME] or default
