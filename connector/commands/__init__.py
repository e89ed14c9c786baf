"""Command groups that live beside ``connector.cli``: one module per area, mounted on ``main``."""

from __future__ import annotations

import click


def error_text(exc: object) -> str:
    """A ``ConnectorError`` as one line: the message, then each field and what to do about it."""
    fields = getattr(exc, "fields", None) or {}
    detail = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return f"{getattr(exc, 'message', exc)}" + (f" ({detail})" if detail else "")


def fail(exc: object) -> click.ClickException:
    return click.ClickException(error_text(exc))
