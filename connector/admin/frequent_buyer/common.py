"""What the frequent-buyer pages share: query-string filters, form ids, refusal messages, CSV responses.

The pages are thin like the rest of the console: they parse a form or a query
string here, call the same core use case the JSON API calls, and render or
redirect. Parsing lives in one place so every filter form, its pager links and
its "Download CSV" link read the query string the same way (the CSV then holds
exactly what the page shows, across all its pages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Response, request, url_for
from werkzeug.datastructures import MultiDict

from connector.admin.blueprint import bp
from connector.admin.session_auth import safe_next
from connector.core.access import Actor
from connector.core.errors import ConflictError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.model import SEED_LABELS

#: Longest free-text filter (a customer, an item search) the core accepts.
MAX_TEXT = 200
#: Rows per page of every list and report in these pages.
PAGE_SIZE = 50

#: How a query-string value is read: a positive id, a YYYY-MM-DD day, or plain text.
INT, DAY, TEXT = "int", "day", "text"


@dataclass(frozen=True)
class QueryForm:
    """A filter form as the user gave it (``raw``, to redisplay), read (``values``), and what was wrong."""

    raw: dict[str, str]
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    cursor: str = ""

    def args(self, **overrides: str) -> dict[str, str]:
        """The non-empty filters as query arguments (no cursor), for links that keep them."""
        merged = {**self.raw, **overrides}
        return {k: v for k, v in merged.items() if v}

    @property
    def filtered(self) -> bool:
        return any(self.raw.values())

    def get(self, name: str) -> Any:
        return self.values.get(name)


def parse_query(query: MultiDict[str, str] | Mapping[str, str], kinds: Mapping[str, str]) -> QueryForm:
    """Read the filters named in ``kinds``; a bad one is named in ``errors`` (the page then lists nothing)."""
    raw: dict[str, str] = {}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, kind in kinds.items():
        text = (query.get(name) or "").strip()
        raw[name] = text
        if not text:
            continue
        if kind == INT:
            if text.isdigit() and 0 < int(text) < 2**31:
                values[name] = int(text)
            else:
                errors[name] = "pick one from the list (a positive whole number)"
        elif kind == DAY:
            try:
                if len(text) != 10:
                    raise ValueError(text)
                values[name] = date.fromisoformat(text)
            except ValueError:
                errors[name] = "use a date like 2026-07-01 (YYYY-MM-DD)"
        else:
            if len(text) > MAX_TEXT:
                errors[name] = f"at most {MAX_TEXT} characters"
            else:
                values[name] = text
    start, end = values.get("date_from"), values.get("date_to")
    if start and end and start > end:
        errors["date_to"] = "must be on or after the 'from' date"
    cursor = (query.get("cursor") or "").strip()
    return QueryForm(raw=raw, values=values, errors=errors, cursor=cursor[:500])


def form_ids(name: str = "ids") -> list[int]:
    """The ticked rows of a form: positive whole numbers, or a ``ValidationError`` saying what to do."""
    raw = [v.strip() for v in request.form.getlist(name) if v.strip()]
    if not raw:
        raise ValidationError("nothing was selected", fields={name: "tick at least one row, then press the button"})
    bad = [v for v in raw if not (v.isdigit() and 0 < int(v) < 2**31)]
    if bad:
        raise ValidationError("the selection is not valid", fields={name: "reload the page and tick the rows again"})
    return sorted({int(v) for v in raw})


def positive_id(text: str | None) -> int | None:
    """``text`` as a row id (a positive 32-bit integer), else None."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


def form_int(name: str) -> int | None:
    return positive_id(request.form.get(name))


def arg_int(name: str) -> int | None:
    """``form_int`` for the query string."""
    return positive_id(request.args.get(name))


def refusal(exc: ConflictError | ValidationError, fix: str | None = None) -> str:
    """The core's message as a sentence, with what to do: the fields it names, or ``fix``."""
    fields = getattr(exc, "fields", None) or {}
    hints = "; ".join(f"{str(k).replace('_', ' ')}: {v}" for k, v in fields.items())
    message = exc.message[:1].upper() + exc.message[1:]
    message = message if message.endswith((".", "!", "?")) else message + "."
    if hints:
        message = f"{message[:-1]}: {hints}."
    return f"{message} {fix}" if fix else message


def nothing_changed(message: str) -> str:
    """``message``, ending with "Nothing was changed." unless it says so already (the core guarantees it)."""
    return message if "nothing was changed" in message.lower() else f"{message} Nothing was changed."


def allowed(check: Callable[[Actor], None], actor: Actor) -> bool:
    """Whether a core permission check passes: the pages draw a button exactly when pressing it can work."""
    try:
        check(actor)
    except PermissionDeniedError:
        return False
    return True


def back_to(default: str) -> str:
    """Where a POST returns: the form's ``next`` (a console path only), else ``default``."""
    return safe_next(request.form.get("next")) or default


def here() -> str:
    """This page's path and query, for forms that should come back here."""
    return request.full_path.rstrip("?")


def ids_text(ids: Iterable[int]) -> str:
    shown = [str(i) for i in ids]
    if len(shown) > 12:
        return ", ".join(shown[:12]) + f" and {len(shown) - 12} more"
    return ", ".join(shown)


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def csv_download(lines: Iterator[str], filename: str) -> Response:
    """A streamed CSV download (the core neutralised formula-like cells); nothing is held in memory.

    No ``stream_with_context``: the core's generators open their own short sessions and need no request,
    so the request ends at once instead of living as long as a slow client takes to read the file.
    """
    response = Response(lines, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# -- template helpers ----------------------------------------------------------------------------------------


@bp.app_template_filter("fb_money")
def fb_money(value: Decimal | None) -> str:
    """Dollars with cents; blank (not 0.00) when no cost is known, as the core's totals are."""
    return "" if value is None else f"${value:,.2f}"


@bp.app_template_filter("fb_label")
def fb_label(value: str | None) -> str:
    """A status or reason code as words: the seeds' label where they give one (``multiple_brands_on_card`` →
    ``Multiple Brands on the Card``, ``unbatched`` → ``New Reward``), else ``quality_check`` → ``Quality check``."""
    if not value:
        return ""
    if str(value) in SEED_LABELS:
        return SEED_LABELS[str(value)]
    text = str(value).replace("_", " ").replace("-", " ")
    return text[:1].upper() + text[1:]


@bp.app_template_filter("fb_day")
def fb_day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


@bp.app_template_global()
def fb_url(endpoint: str, **values: Any) -> str:
    """``url_for`` that drops empty arguments, so filter links stay short."""
    return url_for(endpoint, **{k: v for k, v in values.items() if v not in (None, "")})
