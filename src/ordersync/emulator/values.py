"""Column values: what each column type accepts on write, and how it reads back.

A write arrives as one entry of `column_values` (JSON object keyed by column id) or as the
string of `change_simple_column_value`. `parse_value` validates it the way Monday does for the
type and returns the `CellValue` to store (`value` JSON text + display `text`), or None to
clear. Refusals are Monday's `ColumnValueException` with `error_data.column_type`.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ordersync.emulator.account import TEAM_ID, TEAM_NAME, Tag
from ordersync.emulator.errors import column_value_error
from ordersync.emulator.model import CellValue, Column, User, now_iso

READ_ONLY_TYPES = frozenset(
    {"mirror", "formula", "item_id", "last_updated", "subtasks", "creation_log", "auto_number",
     "button", "progress", "item_assignees", "name", "vote", "group"}
)
"""Computed by Monday (or, for `name`, written through the item name): writing one is refused."""

NULL_TEXT_WHEN_EMPTY = frozenset({"status", "dropdown", "color_picker", "mirror", "board_relation", "dependency"})
"""Types whose `text` is null rather than "" when empty (Monday changelog, API 2023-10 hotfix)."""

MAX_STATUS_LABELS = 40
MAX_LONG_TEXT = 2000  # "the long text column holds up to 2,000 characters"; a text column has no limit of its own
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s\-().]{4,}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class ValueContext:
    """What validation needs beyond the column: the label flag, the account's people and tags, and a
    way to check that a linked item exists (`item_name` returns None for an unknown id)."""

    create_labels_if_missing: bool
    users: Mapping[int, User]
    item_name: Callable[[str], str | None]
    tags: Mapping[str, Tag] = field(default_factory=dict)
    on_this_board: Callable[[str], bool] = lambda item_id: False  # a dependency's items: of the item's board


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def is_empty(raw: Any) -> bool:
    """`""`, `{}` and null clear a column, as on Monday."""
    return raw is None or raw == "" or raw == {}


def empty_text(column_type: str) -> str | None:
    return None if column_type in NULL_TEXT_WHEN_EMPTY else ""


def parse_value(column: Column, raw: Any, ctx: ValueContext) -> CellValue | None:
    """Validate `raw` for `column`; None means "clear the value"."""
    if column.type in READ_ONLY_TYPES:
        raise column_value_error(
            column.id, column.type, f"Column of type {column.type} cannot be changed through the API", raw
        )
    if is_empty(raw):
        return None
    parser = _PARSERS.get(column.type, _parse_unvalidated)
    return parser(column, raw, ctx)


def _refuse(column: Column, raw: Any, why: str = "") -> Exception:
    detail = f" - {why}" if why else ""
    return column_value_error(
        column.id,
        column.type,
        f"invalid value{detail}. Please check our API documentation for the correct data structure "
        "for this column. https://developer.monday.com/api-reference/docs/change-column-values",
        raw,
    )


def _scalar_text(column: Column, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _refuse(column, raw, "expected a string")
    return _number_text(raw) if not isinstance(raw, str) else raw


def _number_text(number: int | float) -> str:
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)


def _parse_text(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    text = _scalar_text(column, raw)
    return CellValue(_dump(text), text)


def _parse_long_text(column: Column, raw: Any, ctx: ValueContext) -> CellValue | None:
    if isinstance(raw, dict):
        if set(raw) - {"text"} or not isinstance(raw.get("text", ""), str):
            raise _refuse(column, raw, 'expected {"text": "..."}')
        text = raw.get("text", "")
    else:
        text = _scalar_text(column, raw)
    if text == "":
        return None
    if len(text) > MAX_LONG_TEXT:
        raise _refuse(column, raw, f"a long text column holds at most {MAX_LONG_TEXT:,} characters, not {len(text):,}")
    return CellValue(_dump({"text": text, "changed_at": now_iso(millis=True)}), text)


def _parse_numbers(column: Column, raw: Any, ctx: ValueContext) -> CellValue | None:
    if isinstance(raw, bool):
        raise _refuse(column, raw, "not a number")
    if isinstance(raw, int | float):
        text = _number_text(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if text == "":
            return None
    else:
        raise _refuse(column, raw, "not a number")
    if not _NUMBER.match(text):
        raise _refuse(column, raw, "not a number")
    try:
        if not Decimal(text).is_finite():
            raise _refuse(column, raw, "not a finite number")
    except InvalidOperation as error:
        raise _refuse(column, raw, "not a number") from error
    return CellValue(_dump(text), text)


def _valid_date(text: Any) -> str | None:
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        date.fromisoformat(text)
    except ValueError:
        return None
    return text


def _valid_time(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    for form in ("%H:%M:%S", "%H:%M"):
        try:
            return datetime.strptime(text, form).strftime("%H:%M:%S")
        except ValueError:
            continue
    return None


def _parse_date(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    if isinstance(raw, str):
        day, _, rest = raw.strip().replace("T", " ").partition(" ")
        raw_time: str | None = rest.rstrip("Z") or None
    elif isinstance(raw, dict) and "date" in raw and not set(raw) - {"date", "time", "icon"}:
        day, raw_time = raw["date"], raw.get("time")
    else:
        raise _refuse(column, raw, 'expected {"date": "YYYY-MM-DD"}')
    checked_day = _valid_date(day)
    checked_time = _valid_time(raw_time) if raw_time not in (None, "") else None
    if checked_day is None or (raw_time not in (None, "") and checked_time is None):
        raise _refuse(column, raw, "invalid date")
    stored: dict[str, Any] = {"date": checked_day}
    text = checked_day
    if checked_time:
        stored["time"] = checked_time
        text = f"{checked_day} {checked_time[:5]}"
    stored["changed_at"] = now_iso(millis=True)
    return CellValue(_dump(stored), text)


def _label_id(raw_index: Any) -> int | None:
    if isinstance(raw_index, bool):
        return None
    if isinstance(raw_index, int):
        return raw_index
    if isinstance(raw_index, str) and raw_index.strip().lstrip("-").isdigit():
        return int(raw_index)
    return None


def _parse_status(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    label_id: int | None = None
    name: str | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        label_id = raw
    elif isinstance(raw, str):
        # a simple string of digits is the label id ("the API will interpret it as an index")
        label_id = _label_id(raw)
        name = None if label_id is not None else raw
    elif isinstance(raw, dict) and "index" in raw:
        label_id = _label_id(raw["index"])
        if label_id is None:
            raise _refuse(column, raw, "index must be a label id")
    elif isinstance(raw, dict) and isinstance(raw.get("label"), str):
        name = raw["label"]
    else:
        raise _refuse(column, raw, 'expected {"label": "..."} or {"index": <label id>}')
    if name is not None:
        label_id = column.label_id(name)
        if label_id is None:
            if not ctx.create_labels_if_missing:
                raise _refuse(column, raw, "label does not exist in column")
            if len(column.settings.get("labels", [])) >= MAX_STATUS_LABELS:
                raise _refuse(column, raw, f"a status column holds at most {MAX_STATUS_LABELS} labels")
            label_id = column.add_label(name)
    label = column.label(label_id) if label_id is not None else None
    if label is None:
        raise _refuse(column, raw, "label index does not exist in column")
    stored = {"index": label_id, "post_id": None, "changed_at": now_iso(millis=True)}
    return CellValue(_dump(stored), label["label"])


def _parse_dropdown(column: Column, raw: Any, ctx: ValueContext) -> CellValue | None:
    names: list[str] = []
    ids: list[int] = []
    if isinstance(raw, str):
        names = [part.strip() for part in raw.split(",") if part.strip()]
    elif isinstance(raw, dict) and set(raw) <= {"labels", "ids"}:
        labels = raw.get("labels", [])
        labels = [labels] if isinstance(labels, str) else labels
        raw_ids = raw.get("ids", [])
        if not isinstance(labels, list) or not isinstance(raw_ids, list):
            raise _refuse(column, raw, '"labels" and "ids" must be lists')
        if any(not isinstance(name, str) for name in labels):
            raise _refuse(column, raw, "labels must be strings")
        names = [name.strip() for name in labels if name.strip()]
        for raw_id in raw_ids:
            label_id = _label_id(raw_id)
            if label_id is None or column.label(label_id) is None:
                raise _refuse(column, raw, f"dropdown label id {raw_id!r} does not exist in column")
            ids.append(label_id)
    else:
        raise _refuse(column, raw, 'expected {"labels": [...]} or {"ids": [...]}')
    for name in names:
        label_id = column.label_id(name)
        if label_id is None:
            if not ctx.create_labels_if_missing:
                raise _refuse(column, raw, f"The dropdown label '{name}' does not exist")
            label_id = column.add_label(name)
        ids.append(label_id)
    ids = list(dict.fromkeys(ids))
    if not ids:
        return None
    text = ", ".join(column.label(label_id)["label"] for label_id in ids)  # type: ignore[index]
    return CellValue(_dump({"ids": ids, "changed_at": now_iso(millis=True)}), text)


def _truthy(flag: Any) -> bool | None:
    if isinstance(flag, bool):
        return flag
    if isinstance(flag, str) and flag.lower() in ("true", "false"):
        return flag.lower() == "true"
    return None


def _parse_checkbox(column: Column, raw: Any, ctx: ValueContext) -> CellValue | None:
    checked = _truthy(raw.get("checked")) if isinstance(raw, dict) and set(raw) == {"checked"} else _truthy(raw)
    if checked is None:
        raise _refuse(column, raw, 'expected {"checked": "true"}')
    if not checked:
        return None
    return CellValue(_dump({"checked": True, "changed_at": now_iso(millis=True)}), "v")


def _split_simple(raw: str) -> tuple[str, str]:
    head, _, tail = raw.strip().partition(" ")
    return head, tail.strip()


def _parse_email(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    if isinstance(raw, str):
        email, label = _split_simple(raw)
    elif isinstance(raw, dict) and isinstance(raw.get("email"), str):
        email, label = raw["email"].strip(), str(raw.get("text") or "")
    else:
        raise _refuse(column, raw, 'expected {"email": "...", "text": "..."}')
    if not _EMAIL.match(email):
        raise _refuse(column, raw, "invalid email address")
    label = label or email
    stored = {"email": email, "text": label, "changed_at": now_iso(millis=True)}
    return CellValue(_dump(stored), email)


def _parse_link(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    if isinstance(raw, str):
        url, label = _split_simple(raw)
    elif isinstance(raw, dict) and isinstance(raw.get("url"), str):
        url, label = raw["url"].strip(), str(raw.get("text") or "")
    else:
        raise _refuse(column, raw, 'expected {"url": "...", "text": "..."}')
    if not url or any(ch.isspace() for ch in url):
        raise _refuse(column, raw, "invalid url")
    label = label or url
    stored = {"url": url, "text": label, "changed_at": now_iso(millis=True)}
    return CellValue(_dump(stored), f"{label} - {url}")


def _parse_people(column: Column, raw: Any, ctx: ValueContext) -> CellValue | None:
    entries: list[tuple[Any, str]]
    if isinstance(raw, str):
        entries = [(part.strip(), "person") for part in raw.split(",") if part.strip()]
    elif isinstance(raw, dict) and isinstance(raw.get("personsAndTeams"), list):
        entries = []
        for entry in raw["personsAndTeams"]:
            if not isinstance(entry, dict) or "id" not in entry:
                raise _refuse(column, raw, 'expected {"personsAndTeams": [{"id": ..., "kind": "person"}]}')
            entries.append((entry["id"], str(entry.get("kind", "person"))))
    else:
        raise _refuse(column, raw, 'expected {"personsAndTeams": [...]}')
    people: list[dict[str, Any]] = []
    names: list[str] = []
    for raw_id, kind in entries:
        if kind == "team" and str(raw_id) == TEAM_ID:  # the account's one team (account.py)
            people.append({"id": int(TEAM_ID), "kind": "team"})
            names.append(TEAM_NAME)
            continue
        user_id = _label_id(raw_id)
        user = ctx.users.get(user_id) if user_id is not None and kind == "person" else None
        if user is None:
            raise _refuse(column, raw, f"{kind} {raw_id!r} does not exist in this account")
        people.append({"id": user.id, "kind": "person"})
        names.append(user.name)
    if not people:
        return None
    stored = {"personsAndTeams": people, "changed_at": now_iso(millis=True)}
    return CellValue(_dump(stored), ", ".join(names))


def _parse_phone(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    if isinstance(raw, str):
        phone, country = _split_simple(raw)
    elif isinstance(raw, dict) and isinstance(raw.get("phone"), str):
        phone, country = raw["phone"].strip(), str(raw.get("countryShortName") or "")
    else:
        raise _refuse(column, raw, 'expected {"phone": "...", "countryShortName": "US"}')
    if not _PHONE.match(phone) or sum(ch.isdigit() for ch in phone) < 4:
        raise _refuse(column, raw, "invalid phone number")
    if country and not _COUNTRY.match(country):
        raise _refuse(column, raw, "countryShortName must be an ISO 3166-1 alpha-2 code")
    stored = {"phone": phone, "countryShortName": country, "changed_at": now_iso(millis=True)}
    return CellValue(_dump(stored), phone)


def _parse_timeline(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    if not isinstance(raw, dict) or set(raw) - {"from", "to"}:
        raise _refuse(column, raw, 'expected {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}')
    start, end = _valid_date(raw.get("from")), _valid_date(raw.get("to"))
    if start is None or end is None or start > end:
        raise _refuse(column, raw, "invalid timeline")
    stored = {"from": start, "to": end, "changed_at": now_iso(millis=True)}
    return CellValue(_dump(stored), f"{start} - {end}")


def _parse_country(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    if not isinstance(raw, dict) or not _COUNTRY.match(str(raw.get("countryCode", ""))):
        raise _refuse(column, raw, 'expected {"countryCode": "US", "countryName": "United States"}')
    name = str(raw.get("countryName") or raw["countryCode"])
    stored = {"countryCode": raw["countryCode"], "countryName": name, "changed_at": now_iso(millis=True)}
    return CellValue(_dump(stored), name)


def _parse_board_relation(column: Column, raw: Any, ctx: ValueContext) -> CellValue | None:
    if isinstance(raw, dict) and isinstance(raw.get("item_ids"), list):
        raw_ids = raw["item_ids"]
    elif isinstance(raw, dict) and isinstance(raw.get("linkedPulseIds"), list):
        raw_ids = [entry.get("linkedPulseId") for entry in raw["linkedPulseIds"] if isinstance(entry, dict)]
    else:
        raise _refuse(column, raw, 'expected {"item_ids": [...]}')
    linked: list[int] = []
    for raw_id in raw_ids:
        item_id = _label_id(raw_id)
        if item_id is None or ctx.item_name(str(item_id)) is None:
            raise _refuse(column, raw, f"item {raw_id!r} does not exist")
        linked.append(item_id)
    if not linked:
        return None
    stored = {"linkedPulseIds": [{"linkedPulseId": item_id} for item_id in linked]}
    return CellValue(_dump(stored), None)


def _parse_dependency(column: Column, raw: Any, ctx: ValueContext) -> CellValue | None:
    """`{"item_ids": [...]}` of items on the same board (Monday: "connections between items in the same
    board"); stored as a connect-boards value is."""
    cell = _parse_board_relation(column, raw, ctx)
    if cell is None:
        return None
    stored = json.loads(cell.value or "{}")
    for entry in stored["linkedPulseIds"]:
        if not ctx.on_this_board(str(entry["linkedPulseId"])):
            raise _refuse(column, raw, f"item {entry['linkedPulseId']} is not on this board")
    return CellValue(_dump({**stored, "changed_at": now_iso(millis=True)}), None)  # changed_at: updated_at


def _parse_tags(column: Column, raw: Any, ctx: ValueContext) -> CellValue | None:
    """`{"tag_ids": [...]}` of the account's tags (create_or_get_tag makes them); text is their names."""
    tag_ids = raw.get("tag_ids") if isinstance(raw, dict) else None
    if not isinstance(tag_ids, list):
        raise _refuse(column, raw, 'expected {"tag_ids": [...]}')
    tags = [ctx.tags.get(str(tag_id)) for tag_id in dict.fromkeys(tag_ids)]
    if None in tags:
        raise _refuse(column, raw, "a tag does not exist in this account (create it with create_or_get_tag)")
    if not tags:
        return None
    stored = {"tag_ids": [int(tag.id) for tag in tags if tag is not None]}
    return CellValue(_dump(stored), ", ".join(tag.name for tag in tags if tag is not None))


def _whole(raw: Any) -> int | None:
    """An integer, or a string of digits; None for anything else (booleans included)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    return int(raw) if isinstance(raw, str) and raw.strip().isdigit() else None


def _parse_hour(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    hour, minute = (_whole(raw.get("hour")), _whole(raw.get("minute", 0))) if isinstance(raw, dict) else (None, None)
    if hour is None or minute is None or not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise _refuse(column, raw, 'expected {"hour": 0-23, "minute": 0-59}')
    stored = {"hour": hour, "minute": minute, "changed_at": now_iso(millis=True)}
    return CellValue(_dump(stored), f"{hour:02d}:{minute:02d}")


def _parse_rating(column: Column, raw: Any, ctx: ValueContext) -> CellValue | None:
    rating = _whole(raw.get("rating")) if isinstance(raw, dict) else None
    top = int(column.settings.get("max", 5))
    if rating is None or not 0 <= rating <= top:
        raise _refuse(column, raw, f'expected {{"rating": 1-{top}}}')
    if rating == 0:
        return None
    return CellValue(_dump({"rating": rating, "changed_at": now_iso(millis=True)}), str(rating))


def _parse_week(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    """`{"week": {"startDate", "endDate"}}`: a Monday and the Sunday after it."""
    week = raw.get("week") if isinstance(raw, dict) else None
    start = _valid_date(week.get("startDate")) if isinstance(week, dict) else None
    end = _valid_date(week.get("endDate")) if isinstance(week, dict) else None
    first = date.fromisoformat(start) if start else None
    if first is None or end is None or first.weekday() != 0 or date.fromisoformat(end) != first + timedelta(days=6):
        raise _refuse(column, raw, 'expected {"week": {"startDate": <a Monday>, "endDate": <the Sunday after>}}')
    return CellValue(_dump({"week": {"startDate": start, "endDate": end}}), f"{start} - {end}")


def _parse_world_clock(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    zone = raw.get("timezone") if isinstance(raw, dict) else None
    if not isinstance(zone, str) or zone not in zoneinfo.available_timezones():
        raise _refuse(column, raw, 'expected {"timezone": "<an IANA time zone, e.g. Europe/London>"}')
    return CellValue(_dump({"timezone": zone, "changed_at": now_iso(millis=True)}), zone)


def _coordinate(raw: Any, bound: float) -> float | None:
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return number if -bound <= number <= bound else None


def _parse_location(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    """`{"lat", "lng", "address"}` (the other LocationValue fields may come along and are kept)."""
    lat = _coordinate(raw.get("lat"), 90) if isinstance(raw, dict) else None
    lng = _coordinate(raw.get("lng"), 180) if isinstance(raw, dict) else None
    if lat is None or lng is None:
        raise _refuse(column, raw, 'expected {"lat": -90..90, "lng": -180..180, "address": "..."}')
    address = str(raw.get("address") or "")
    stored = {key: str(value) for key, value in raw.items() if key not in ("lat", "lng", "changed_at")}
    stored.update({"lat": str(raw["lat"]), "lng": str(raw["lng"]), "changed_at": now_iso(millis=True)})
    return CellValue(_dump(stored), address or f"{lat}, {lng}")


def _parse_team(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    team_id = _whole(raw.get("team_id")) if isinstance(raw, dict) else None
    if team_id is None or str(team_id) != TEAM_ID:
        raise _refuse(column, raw, f"team {team_id!r} does not exist in this account")
    return CellValue(_dump({"team_id": team_id, "changed_at": now_iso(millis=True)}), TEAM_NAME)


def _parse_unvalidated(column: Column, raw: Any, ctx: ValueContext) -> CellValue:
    """Types the emulator does not model: stored as sent, with an empty display text."""
    return CellValue(_dump(raw), raw if isinstance(raw, str) else "")


_PARSERS: dict[str, Callable[[Column, Any, ValueContext], CellValue | None]] = {
    "text": _parse_text,
    "long_text": _parse_long_text,
    "numbers": _parse_numbers,
    "date": _parse_date,
    "status": _parse_status,
    "dropdown": _parse_dropdown,
    "checkbox": _parse_checkbox,
    "email": _parse_email,
    "link": _parse_link,
    "people": _parse_people,
    "phone": _parse_phone,
    "timeline": _parse_timeline,
    "country": _parse_country,
    "board_relation": _parse_board_relation,
    "tags": _parse_tags,
    "dependency": _parse_dependency,
    "hour": _parse_hour,
    "rating": _parse_rating,
    "week": _parse_week,
    "world_clock": _parse_world_clock,
    "location": _parse_location,
    "team": _parse_team,
}


def search_keys(column: Column, cell: CellValue | None) -> tuple[str, ...]:
    """The strings `items_page_by_column_values` matches a cell by: its text, or for a dropdown
    each of its labels; an empty cell matches ""."""
    if cell is None:
        return ("",)
    if column.type == "dropdown" and cell.value:
        ids = json.loads(cell.value).get("ids", [])
        return tuple(column.label(label_id)["label"] for label_id in ids if column.label(label_id))  # type: ignore[index]
    return (cell.text or "",)
