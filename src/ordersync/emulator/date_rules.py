"""`items_page` rules on date and timeline columns, with the compare values Monday documents for them:
relative days (`TODAY`, `TOMORROW`, `YESTERDAY`, `ONE_WEEK_AGO`, `ONE_WEEK_FROM_NOW`, `ONE_MONTH_AGO`,
`ONE_MONTH_FROM_NOW`), periods for `any_of` (`THIS_WEEK`, `THIS_MONTH`, `PAST_DATETIME`, `FUTURE_DATETIME`;
on a timeline `CURRENT`, `DUE_TODAY`, `FUTURE_TIMELINE`, `PAST_TIMELINE`), `"EXACT"` before explicit
`YYYY-MM-DD` dates, `$$$blank$$$` for an empty cell, and on a timeline `compare_attribute` `START_DATE`
(the default) or `END_DATE`; week columns with `THIS_WEEK`, `NEXT_WEEKS`, `PAST_WEEKS` (any case, as
Monday's own example writes `past_weeks`). Days are UTC days; weeks start on Monday (the account's first
day of the week).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ordersync.emulator.errors import invalid_argument
from ordersync.emulator.model import Column, Item

BLANK = "$$$blank$$$"
_DAYS = {"TODAY": 0, "TOMORROW": 1, "YESTERDAY": -1, "ONE_WEEK_AGO": -7, "ONE_WEEK_FROM_NOW": 7}
_MONTHS = {"ONE_MONTH_AGO": -1, "ONE_MONTH_FROM_NOW": 1}


def today() -> date:
    return datetime.now(UTC).date()


def _shift_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    for candidate in (day.day, 30, 29, 28):  # the same day of the month, or that month's last
        try:
            return date(year, month + 1, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _day(word: str, now: date) -> date | None:
    """A compare value as one day: a relative word or an ISO date; None for anything else."""
    if word in _DAYS:
        return now + timedelta(days=_DAYS[word])
    if word in _MONTHS:
        return _shift_months(now, _MONTHS[word])
    try:
        return date.fromisoformat(word[:10])
    except ValueError:
        return None


def _cell_dates(item: Item, column: Column) -> tuple[date | None, date | None]:
    """(start, end) of the cell: a date column's date twice, a timeline's from and to."""
    cell = item.values.get(column.id)
    stored = json.loads(cell.value) if cell is not None and cell.value else {}
    if not isinstance(stored, dict):
        return None, None
    if column.type == "week":
        week = stored.get("week") or {}
        first, last = week.get("startDate"), week.get("endDate")
    elif column.type == "date":
        first = last = stored.get("date")
    else:
        first, last = stored.get("from"), stored.get("to")
    return (date.fromisoformat(first) if first else None, date.fromisoformat(last) if last else None)


def _period(word: str, now: date) -> Callable[[date, date], bool] | None:
    """`any_of` values that name a period rather than a day."""
    week_start = now - timedelta(days=now.weekday())
    periods: dict[str, Callable[[date, date], bool]] = {
        "THIS_WEEK": lambda start, end: week_start <= start < week_start + timedelta(days=7),
        "THIS_MONTH": lambda start, end: (start.year, start.month) == (now.year, now.month),
        "PAST_DATETIME": lambda start, end: start < now,
        "FUTURE_DATETIME": lambda start, end: start > now,
        "CURRENT": lambda start, end: start <= now <= end,
        "DUE_TODAY": lambda start, end: end == now,
        "FUTURE_TIMELINE": lambda start, end: start > now,
        "PAST_TIMELINE": lambda start, end: end < now,
        "NEXT_WEEKS": lambda start, end: start >= week_start + timedelta(days=7),
        "PAST_WEEKS": lambda start, end: start < week_start,
    }
    return periods.get(word.upper())


def date_rule_holds(item: Item, column: Column, operator: str, rule: dict[str, Any]) -> bool:
    """One rule on a date or timeline column (is_empty and is_not_empty included)."""
    raw = rule.get("compare_value")
    words = [str(value) for value in (raw if isinstance(raw, list) else [raw]) if value is not None]
    start, end = _cell_dates(item, column)
    if operator in ("is_empty", "is_not_empty"):
        return (start is None) == (operator == "is_empty")
    now = today()
    if operator in ("any_of", "not_any_of"):
        hit = _any_of(start, end, [word for word in words if word != "EXACT"], now)
        return hit if operator == "any_of" else not hit
    if operator in ("within_the_next", "within_the_last"):
        raise invalid_argument(f"The emulator does not support the rule operator {operator}", operator=operator)
    attribute = rule.get("compare_attribute") or "START_DATE"
    if attribute not in ("START_DATE", "END_DATE"):
        raise invalid_argument("compare_attribute must be START_DATE or END_DATE", compare_attribute=attribute)
    day = start if attribute == "START_DATE" else end
    days = [_day(word, now) for word in words if word != "EXACT"]
    bounds = [bound for bound in days if bound is not None]
    if day is None or not bounds or len(bounds) < len(days):
        return False
    if operator == "between":
        return len(bounds) >= 2 and bounds[0] <= day <= bounds[1]
    compare = {"greater_than": day.__gt__, "greater_than_or_equals": day.__ge__,
               "lower_than": day.__lt__, "lower_than_or_equal": day.__le__}.get(operator)
    if compare is None:
        raise invalid_argument(f"The rule operator {operator} does not apply to a {column.type} column",
                               operator=operator)
    return bool(compare(bounds[0]))


def _any_of(start: date | None, end: date | None, words: list[str], now: date) -> bool:
    for word in words:
        if word == BLANK:
            if start is None:
                return True
            continue
        if start is None or end is None:
            continue
        period = _period(word, now)
        if period is not None:
            if period(start, end):
                return True
            continue
        day = _day(word, now)
        if day is not None and start <= day <= end:
            return True
    return False
