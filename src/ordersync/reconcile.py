"""Reconcile: read the whole board back and compare it with what the source says it should be.

Used by `ordersync reconcile` (drift report, `--fix`), by the demo (the board read back through
the API equals the source) and by the tests that prove a sync converges. The comparison is on
what a person sees: item names, groups, cell texts, subitems and their quantities.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ordersync.config import ColumnMapping, Config
from ordersync.monday.client import MondayClient
from ordersync.pipeline import Databases
from ordersync.source import Filters, extract_order_lines, open_source
from ordersync.transform import ItemRow, SubitemRow, TransformedLine, rules_from_config, transform_order_line


@dataclass
class BoardItem:
    id: str
    name: str
    group: str
    key: str | None
    texts: dict[str, str]
    subitems: dict[str, list[tuple[str, str]]]  # subitem name → [(id, quantity text)]


@dataclass
class ExpectedItem:
    item: ItemRow
    subitems: dict[str, SubitemRow]  # subitem name → row


@dataclass
class Drift:
    """Differences between the board and the source, each a list of human-readable findings."""

    missing: list[str] = field(default_factory=list)  # keys the source has and the board lacks
    unknown: list[str] = field(default_factory=list)  # board items with a key the source does not have
    duplicates: list[str] = field(default_factory=list)  # keys on the board more than once
    wrong_group: list[str] = field(default_factory=list)
    wrong_name: list[str] = field(default_factory=list)
    wrong_values: list[str] = field(default_factory=list)
    missing_subitems: list[str] = field(default_factory=list)
    extra_subitems: list[str] = field(default_factory=list)
    wrong_quantities: list[str] = field(default_factory=list)
    board_items: int = 0
    board_subitems: int = 0
    source_items: int = 0
    source_subitems: int = 0

    @property
    def findings(self) -> dict[str, list[str]]:
        return {name: getattr(self, name) for name in (
            "missing", "unknown", "duplicates", "wrong_group", "wrong_name", "wrong_values",
            "missing_subitems", "extra_subitems", "wrong_quantities")}

    @property
    def clean(self) -> bool:
        return not any(self.findings.values())

    def summary(self) -> str:
        parts = [f"{name}={len(found)}" for name, found in self.findings.items() if found]
        return "board equals source" if not parts else "drift: " + ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "counts": {name: len(found) for name, found in self.findings.items()},
            "findings": self.findings,
            "board": {"items": self.board_items, "subitems": self.board_subitems},
            "source": {"items": self.source_items, "subitems": self.source_subitems},
        }


def _texts(column_values: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    return {value["id"]: value.get("text") or "" for value in column_values or []}


async def read_board(client: MondayClient, board_id: str, *, key_column: str, quantity_column: str) -> list[BoardItem]:
    """Every active item of the board with its cells and subitems, page by page."""
    items = []
    async for raw in client.board_items(board_id):
        if raw.get("state") not in (None, "active"):
            continue
        texts = _texts(raw.get("column_values"))
        subitems: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for sub in raw.get("subitems") or []:
            if sub.get("state") not in (None, "active"):
                continue
            subitems[sub["name"]].append((str(sub["id"]), _texts(sub.get("column_values")).get(quantity_column, "")))
        items.append(BoardItem(str(raw["id"]), raw["name"], (raw.get("group") or {}).get("title", ""),
                               texts.get(key_column) or None, texts, dict(subitems)))
    return items


def expected_items(config: Config, databases: Databases, filters: Filters | None = None) -> dict[str, ExpectedItem]:
    """What the board should hold for the source rows in `filters`: valid, uniquely keyed lines only,
    cancelled ones left out when the config archives them."""
    source_table = open_source(databases.source, config)
    rules = rules_from_config(config, source_table.size_columns)
    expected: dict[str, ExpectedItem] = {}
    seen: dict[str, int] = defaultdict(int)
    row = 0
    for chunk in extract_order_lines(databases.source, source_table, config, filters or Filters()):
        for order_line in chunk:
            row += 1
            result = transform_order_line(order_line, rules, row)
            if not isinstance(result, TransformedLine):
                continue
            seen[result.item.item_key] += 1
            if result.item.cancelled and config.items.on_cancelled == "archive":
                continue
            expected[result.item.item_key] = ExpectedItem(
                result.item, {subitem.name: subitem for subitem in result.subitems})
    for key, count in seen.items():
        if count > 1:
            expected.pop(key, None)  # a duplicate key is a row error: neither line belongs on the board
    return expected


def expected_text(value: Any, mapping: ColumnMapping) -> str:
    """The text Monday shows for a value ordersync sends."""
    if value is None:
        return ""
    if mapping.type == "long_text":
        return value["text"]
    if mapping.type == "date":
        return value["date"] + (f" {value['time'][:5]}" if value.get("time") else "")
    if mapping.type == "status":
        return value["label"]
    if mapping.type == "dropdown":
        return ", ".join(value["labels"])
    return str(value)


def _same_number(left: str, right: str) -> bool:
    try:
        return Decimal(left) == Decimal(right)
    except InvalidOperation:
        return left == right


def compare(config: Config, expected: Mapping[str, ExpectedItem], board: Iterable[BoardItem], *,
            check_values: bool = True) -> Drift:
    drift = Drift(source_items=len(expected), source_subitems=sum(len(e.subitems) for e in expected.values()))
    by_key: dict[str, list[BoardItem]] = defaultdict(list)
    for item in board:
        drift.board_items += 1
        drift.board_subitems += sum(len(entries) for entries in item.subitems.values())
        if item.key is None or item.key not in expected:
            drift.unknown.append(f"item {item.id} {item.name!r} (key {item.key!r})")
        by_key[item.key or ""].append(item)
    for key, wanted in expected.items():
        found = by_key.get(key, [])
        if not found:
            drift.missing.append(f"{key} ({wanted.item.item_name!r} in {wanted.item.group_name!r})")
            continue
        if len(found) > 1:
            drift.duplicates.append(f"{key}: items {', '.join(item.id for item in found)}")
        item = found[0]
        if item.group != wanted.item.group_name:
            drift.wrong_group.append(f"{key}: in {item.group!r}, should be in {wanted.item.group_name!r}")
        if item.name != wanted.item.item_name:
            drift.wrong_name.append(f"{key}: named {item.name!r}, should be {wanted.item.item_name!r}")
        if check_values:
            for mapping in config.columns:
                want = expected_text(wanted.item.column_values.get(mapping.id), mapping)
                have = item.texts.get(mapping.id, "")
                same = _same_number(have, want) if mapping.type == "numbers" and have and want else have == want
                if not same:
                    drift.wrong_values.append(f"{key}: {mapping.id} is {have!r}, should be {want!r}")
        for name, subitem in wanted.subitems.items():
            entries = item.subitems.get(name, [])
            if not entries:
                drift.missing_subitems.append(f"{key}: {name}")
                continue
            if len(entries) > 1:
                drift.duplicates.append(f"{key}: {name} ×{len(entries)}")
            if not _same_number(entries[0][1] or "0", str(subitem.quantity)):
                drift.wrong_quantities.append(f"{key}: {name} has {entries[0][1]!r}, should be {subitem.quantity}")
        for name in item.subitems.keys() - wanted.subitems.keys():
            drift.extra_subitems.append(f"{key}: {name}")
    return drift


def board_counts(items: Iterable[BoardItem]) -> dict[str, int]:
    listed = list(items)
    return {"items": len(listed), "subitems": sum(len(e) for item in listed for e in item.subitems.values())}
