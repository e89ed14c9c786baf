"""The Fulfillments search and filter form: query string in, core ``RedemptionFilter`` out.

The list page, its export link and its bulk form all read the same query
string through this one parser, so the CSV holds exactly the rows on screen
(all pages of them). Dates are whole days in UTC: "claimed to 2026-07-01"
includes that whole day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from werkzeug.datastructures import MultiDict

from connector.core.errors import ValidationError
from connector.core.model import TAB_STATUSES, RedemptionStatus, Tab
from connector.core.queries import RedemptionFilter, decode_cursor

#: The console's extra tab: every status, for a search that should not depend on where a redemption is.
ALL = "all"
TABS: tuple[tuple[str, str], ...] = (
    (Tab.UNFULFILLED.value, "Unfulfilled"),
    (Tab.FULFILLED.value, "Fulfilled"),
    (Tab.REVERSED.value, "Reversed"),
    (ALL, "All"),
)
DEFAULT_TAB = Tab.UNFULFILLED.value
PAGE_SIZE = 50
MAX_SEARCH = 200
#: The query-string names of the filters, in the order links are written.
FILTER_NAMES = ("tab", "q", "status", "reward", "claimed_from", "claimed_to")


@dataclass(frozen=True)
class FilterForm:
    """What the user asked for (to redisplay it), the filter for the core, and what was wrong with it."""

    tab: str = DEFAULT_TAB
    q: str = ""
    status: str = ""
    reward: str = ""
    claimed_from: str = ""
    claimed_to: str = ""
    cursor: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    filter: RedemptionFilter = field(default_factory=RedemptionFilter)

    def args(self, **overrides: str) -> dict[str, str]:
        """The non-empty filters as query arguments (no cursor), for links that keep them."""
        values = {name: getattr(self, name) for name in FILTER_NAMES}
        values.update(overrides)
        return {k: v for k, v in values.items() if v}

    @property
    def statuses(self) -> tuple[str, ...]:
        """The statuses the status filter offers on this tab."""
        if self.tab == ALL:
            return tuple(s.value for s in RedemptionStatus)
        return tuple(s.value for s in TAB_STATUSES[Tab(self.tab)])

    @property
    def filtered(self) -> bool:
        return any((self.q, self.status, self.reward, self.claimed_from, self.claimed_to))


def _day(raw: str, name: str, errors: dict[str, str]) -> date | None:
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "use a date like 2026-07-01 (YYYY-MM-DD)"
        return None


def parse_filters(query: MultiDict[str, str]) -> FilterForm:
    """The form as given; ``errors`` names each bad field (the caller shows them and lists nothing)."""
    errors: dict[str, str] = {}
    raw = {name: (query.get(name) or "").strip() for name in (*FILTER_NAMES, "cursor")}
    tab = raw["tab"] or DEFAULT_TAB
    if tab not in {t for t, _ in TABS}:
        errors["tab"] = "choose Unfulfilled, Fulfilled, Reversed or All"
        tab = DEFAULT_TAB
    q = raw["q"]
    if len(q) > MAX_SEARCH:
        errors["q"] = f"search for at most {MAX_SEARCH} characters"
    status = raw["status"]
    allowed = {s.value for s in RedemptionStatus} if tab == ALL else {s.value for s in TAB_STATUSES[Tab(tab)]}
    if status and status not in allowed:
        errors["status"] = f"{status!r} is not a status of this tab; use the All tab for any status"
    reward_id: int | None = None
    if raw["reward"]:
        if raw["reward"].isdigit() and 0 < int(raw["reward"]) < 2**31:
            reward_id = int(raw["reward"])
        else:
            errors["reward"] = "pick a reward from the list"
    start = _day(raw["claimed_from"], "claimed_from", errors)
    end = _day(raw["claimed_to"], "claimed_to", errors)
    if start and end and start > end:
        errors["claimed_to"] = "must be on or after the 'claimed from' date"
    cursor = raw["cursor"]
    if cursor:
        try:
            at, _ = decode_cursor(cursor)
            if at.tzinfo is None:
                raise ValidationError("invalid cursor")
        except ValidationError:
            errors["cursor"] = "this page link is not valid; start again from the first page"
            cursor = ""
    core_filter = RedemptionFilter(
        tab=Tab(tab) if tab != ALL else None,
        status=RedemptionStatus(status) if status and "status" not in errors else None,
        search=q or None,
        reward_id=reward_id,
        claimed_from=datetime(start.year, start.month, start.day, tzinfo=UTC) if start else None,
        claimed_to=datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1) if end else None,
    )
    return FilterForm(
        tab=tab,
        q=q,
        status=status,
        reward=raw["reward"],
        claimed_from=raw["claimed_from"],
        claimed_to=raw["claimed_to"],
        cursor=cursor,
        errors=errors,
        filter=core_filter,
    )
