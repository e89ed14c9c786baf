"""Command groups that live beside ``connector.cli``: one module per area, mounted on ``main``."""

from __future__ import annotations

import click

from connector.config import Settings


def error_text(exc: object) -> str:
    """A ``ConnectorError`` as one line: the message, then each field and what to do about it."""
    fields = getattr(exc, "fields", None) or {}
    detail = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return f"{getattr(exc, 'message', exc)}" + (f" ({detail})" if detail else "")


def fail(exc: object) -> click.ClickException:
    return click.ClickException(error_text(exc))


def settings_from_env() -> Settings:
    """The settings every command builds from the environment; a bad value is a usage error, not a traceback."""
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
