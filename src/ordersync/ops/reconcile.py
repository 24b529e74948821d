"""Reconcile: read the whole board back and compare it with what the source says it should be.

Used by `ordersync reconcile` (drift report, `--fix`), by the demo (the board read back through
the API equals the source) and by the tests that prove a sync converges. The comparison is on
what a person sees: item names, groups, cell texts, subitems and their quantities.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from ordersync.config import Config
from ordersync.engine.adopt import BoardItem, ExpectedItem, correct_mirror, oldest, read_board
from ordersync.engine.clients import client_for
from ordersync.engine.filters import Filters, canonical_customers
from ordersync.engine.lines import transformed_order_lines
from ordersync.engine.pipeline import Databases
from ordersync.engine.routes import Router, routes_lines
from ordersync.engine.source import open_source
from ordersync.engine.transform import TransformedLine, rules_from_config
from ordersync.monday.client import MondayClient
from ordersync.monday.codec import expected_text, same_number, same_text
from ordersync.state.mirror import Mirror
from ordersync.state.schema import SCOPE_FIELDS

__all__ = ["BoardItem", "Drift", "ExpectedItem", "ReconcileResult", "compare", "expected_items", "read_board",
           "reconcile_async"]


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


def expected_items(config: Config, databases: Databases, filters: Filters | None = None) -> dict[str, ExpectedItem]:
    """What the board should hold for the source rows in `filters`: valid, uniquely keyed lines only,
    cancelled ones left out when the config archives them."""
    source_table = open_source(databases.source, config)
    rules = rules_from_config(config, source_table.size_columns)
    expected: dict[str, ExpectedItem] = {}
    seen: dict[str, int] = defaultdict(int)
    router = Router(config) if routes_lines(config) else None  # a routed board holds only its lines
    others: Counter[str] = Counter()  # keys of lines routed elsewhere: read, never transformed
    for result in transformed_order_lines(databases.source, source_table, config, filters or Filters(), rules,
                                          router=router, board=config.monday.board_id if router else None,
                                          other_keys=others):
        if not isinstance(result, TransformedLine):
            continue
        seen[result.item.item_key] += 1
        if result.item.cancelled and config.items.on_cancelled == "archive":
            continue
        expected[result.item.item_key] = ExpectedItem(
            result.item, {subitem.name: subitem for subitem in result.subitems})
    for key, count in seen.items():
        if count + others[key] > 1:
            expected.pop(key, None)  # a duplicate key is a row error: neither line belongs on the board
    return expected


def compare(config: Config, expected: Mapping[str, ExpectedItem], board: Iterable[BoardItem], *,
            check_values: bool = True, mirror: Mapping[str, Mapping[str, Any]] | None = None) -> Drift:
    """The board against the source. With the `mirror`, a source-owned value a person changed on a column
    whose `on_edit` keeps it (the source still holds what the sync wrote) is no drift."""
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
        _compare_item(config, key, wanted, found[0], drift, check_values=check_values,
                      kept=_kept_columns(config, wanted, found[0], (mirror or {}).get(key)))
    return drift



def _kept_columns(config: Config, wanted: ExpectedItem, item: BoardItem,
                  mirrored: Mapping[str, Any] | None) -> set[str]:
    """Keep-columns whose board value is a person's, kept: the sync wrote the value the source still holds."""
    if mirrored is None or mirrored.get("monday_item_id") != item.id:
        return set()
    written = json.loads(mirrored.get("column_values") or "{}")
    return {mapping.id for mapping in config.columns if mapping.owner == "source" and mapping.on_edit == "keep"
            and not (mapping.id in written and written[mapping.id] is None)
            and written.get(mapping.id) == wanted.item.column_values.get(mapping.id)}


def _compare_item(config: Config, key: str, wanted: ExpectedItem, item: BoardItem, drift: Drift, *,
                  check_values: bool, kept: Set[str] = frozenset()) -> None:
    """One order line's item on the board against what the source expects: group, name, values, sizes."""
    if item.group != wanted.item.group_name:
        drift.wrong_group.append(f"{key}: in {item.group!r}, should be in {wanted.item.group_name!r}")
    if item.name != wanted.item.item_name:
        drift.wrong_name.append(f"{key}: named {item.name!r}, should be {wanted.item.item_name!r}")
    if check_values:
        for mapping in config.columns:
            if mapping.owner == "board" or mapping.id in kept:  # people's values: the board's truth, not drift
                continue
            want = expected_text(wanted.item.column_values.get(mapping.id), mapping)
            have = item.texts.get(mapping.id, "")
            if not same_text(have, want, mapping):
                drift.wrong_values.append(f"{key}: {mapping.id} is {have!r}, should be {want!r}")
    for name, subitem in wanted.subitems.items():
        entries = item.subitems.get(name, [])
        if not entries:
            drift.missing_subitems.append(f"{key}: {name}")
            continue
        if len(entries) > 1:
            drift.duplicates.append(f"{key}: {name} ×{len(entries)}")
        if not same_number(entries[0][1] or "0", str(subitem.quantity)):
            drift.wrong_quantities.append(f"{key}: {name} has {entries[0][1]!r}, should be {subitem.quantity}")
    for name in item.subitems.keys() - wanted.subitems.keys():
        drift.extra_subitems.append(f"{key}: {name}")

# -- `ordersync reconcile [--fix]` ----------------------------------------------------------------
#
# Without --fix: the drift of the board against the source, in the command's scope. With --fix,
# holding the board's lock: board items carrying a business key the source no longer has (and
# extra or duplicate copies of items and sizes) are archived; the synced mirror is corrected to
# what the board really shows for every drifted order line (an item or size the board lacks is
# forgotten, a wrong value, name, group or quantity is marked changed); then an ordinary sync of
# just those order lines makes the board right — the one engine does the writing.



@dataclass
class ReconcileResult:
    board_id: str
    drift: Drift
    not_ours: int = 0  # items without a business key: a person's, never drift, never touched
    fixed: dict[str, Any] | None = None
    after: Drift | None = None

    @property
    def clean(self) -> bool:
        return (self.after or self.drift).clean

    @property
    def exit_code(self) -> int:
        return 0 if self.clean else 1

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"board_id": self.board_id, "clean": self.clean, "drift": self.drift.as_dict(),
                                  "not_ours": self.not_ours}
        if self.fixed is not None:
            result["fixed"] = self.fixed
            result["after"] = self.after.as_dict() if self.after else None
        return result


def _board_in_scope(config: Config, filters: Filters, board: list[BoardItem], expected: Mapping[str, ExpectedItem],
                    source_keys: set[str], mirror: Mapping[str, Mapping[str, Any]]) -> list[BoardItem]:
    """The board items a reconcile speaks for: ordersync's (they carry a business key) in the command's scope.

    Besides the lines the source has in scope, an item whose line the source no longer has is in
    scope when its mirror row is — and only when the command read its whole scope (no --limit).
    """
    if filters.is_unfiltered:
        return [item for item in board if item.key is not None]
    scope = filters.scope(canonical_customers(config.customers))

    def gone_from_scope(key: str) -> bool:
        row = mirror.get(key)
        return (key not in source_keys and row is not None and filters.covers_whole_scope
                and scope.contains(**{name: row.get(name) for name in SCOPE_FIELDS}))

    return [item for item in board if item.key in expected or (item.key is not None and gone_from_scope(item.key))]


async def reconcile_async(config: Config, filters: Filters | None = None, *, fix: bool = False,
                          http: Any = None, token: Any = None, wait_for_lock: float = 0.0,
                          on_progress: Any = None) -> ReconcileResult:
    """`ordersync reconcile [--fix]` from Python: the same data `--json` prints."""
    import httpx

    from ordersync.config import load_token
    from ordersync.errors import ConfigError

    if not config.monday.board_id:
        raise ConfigError("nothing to reconcile: [monday] board_id is not set", problems=["monday.board_id: missing"])
    token = token or load_token(config.monday)
    if http is not None:
        return await _reconcile(config, filters or Filters(), fix, http, token, wait_for_lock, on_progress)
    async with httpx.AsyncClient(timeout=config.monday.timeout_seconds) as own:
        return await _reconcile(config, filters or Filters(), fix, own, token, wait_for_lock, on_progress)


async def _drift(config: Config, filters: Filters, client: MondayClient, databases: Databases,
                 ) -> tuple[Drift, list[BoardItem], dict[str, ExpectedItem], set[str], dict[str, dict[str, Any]], int]:
    import sqlalchemy as sa

    from ordersync.engine.pipeline import all_source_keys

    board = await read_board(client, config.monday.board_id or "", key_column=config.monday.key_column,
                             quantity_column=config.subitems.quantity_column)
    expected = expected_items(config, databases, filters)
    source_keys = all_source_keys(databases.source, open_source(databases.source, config), config)
    synced = databases.state.tables.synced_items
    with databases.state.engine.connect() as connection:
        mirror = {row["item_key"]: dict(row) for row in connection.execute(
            sa.select(synced).where(synced.c.board_id == config.monday.board_id)).mappings()}
    scoped = _board_in_scope(config, filters, board, expected, source_keys, mirror)
    not_ours = sum(item.key is None for item in board)
    return compare(config, expected, scoped, mirror=mirror), scoped, expected, source_keys, mirror, not_ours


async def _reconcile(config: Config, filters: Filters, fix: bool, http: Any, token: Any, wait_for_lock: float,
                     on_progress: Any) -> ReconcileResult:
    import sqlalchemy as sa

    from ordersync.engine.sync import SyncOptions, sync_async
    from ordersync.state.lock import acquire_lock

    board_id = config.monday.board_id or ""
    databases = Databases.open(config)
    store = databases.state
    client = client_for(config, http, token, store)
    client.key_scope = store.write_scope(board_id)
    lock = None
    try:
        if fix:
            lock = await acquire_lock(store, board_id, wait_seconds=wait_for_lock)
        drift, scoped, expected, source_keys, mirror, not_ours = await _drift(config, filters, client, databases)
        result = ReconcileResult(board_id, drift, not_ours)
        if not fix:
            return result
        synced_subitems, groups = store.tables.synced_subitems, store.tables.groups
        with store.engine.connect() as connection:
            mirror_sizes = {(row["item_key"], row["size"]): dict(row) for row in connection.execute(
                sa.select(synced_subitems).where(synced_subitems.c.board_id == board_id)).mappings()}
            group_ids = dict(connection.execute(sa.select(groups.c.group_name, groups.c.group_id).where(
                groups.c.board_id == board_id)).all())

        # 1. what is on the board and should not be: archive it
        archive, kept = _unwanted_on_board(scoped, source_keys, expected, mirror_sizes)
        archived = await _archive(client, board_id, [monday_id for monday_id, _ in archive])

        copies = Counter(item.key for item in scoped)

        # 2. the mirror learns what the board really shows for every order line in scope
        affected: set[str] = set()
        with store.engine.begin() as connection:
            board_mirror = Mirror(store.tables, board_id)
            board_mirror.forget_items(connection, [item.key for item in scoped if item.key is not None and item.key not in source_keys])
            for key, wanted in expected.items():
                if correct_mirror(connection, board_mirror, config, wanted, kept.get(key), mirror.get(key),
                                   mirror_sizes, group_ids):
                    affected.add(key)
        result.fixed = {"archived": [{"id": monday_id, "why": why} for monday_id, why in archive
                                     if monday_id in archived],
                        "archive_failed": [monday_id for monday_id, _ in archive if monday_id not in archived],
                        "kept": [{"key": key, "id": keep.id} for key, keep in kept.items() if copies[key] > 1],
                        "order_lines_resynced": len(affected), "sync": None}
    finally:
        if lock is not None:
            lock.release()
        databases.close()
    if affected:  # 3. an ordinary sync of exactly those order lines
        fixing = await sync_async(config, SyncOptions(filters=Filters(item_keys=frozenset(affected)),
                                                      all_customers=True, wait_for_lock=wait_for_lock),
                                  http=http, token=token, on_progress=on_progress)
        result.fixed["sync"] = fixing.as_dict()
    databases = Databases.open(config)
    try:
        result.after = (await _drift(config, filters, client, databases))[0]
    finally:
        databases.close()
    return result


def _unwanted_on_board(scoped: Iterable[BoardItem], source_keys: Set[str],
                       expected: Mapping[str, ExpectedItem], mirror_sizes: Mapping[tuple[str, str], Mapping[str, Any]],
                       ) -> tuple[list[tuple[str, str]], dict[str, BoardItem]]:
    """What to archive (monday id, why): lines the source lacks, later copies, sizes not ordered;
    and the item kept for each business key: the oldest, the one people have worked on."""
    archive: list[tuple[str, str]] = []
    by_key: dict[str, list[BoardItem]] = defaultdict(list)
    for item in scoped:
        if item.key not in source_keys:
            archive.append((item.id, f"{item.key}: not in the source"))
        elif item.key is not None:
            by_key[item.key].append(item)
    kept: dict[str, BoardItem] = {}
    for key, items in by_key.items():
        keep = oldest(items)
        kept[key] = keep
        archive += [(item.id, f"{key}: a later copy of item {keep.id}, which is kept (the oldest)")
                    for item in items if item is not keep]
        wanted = expected.get(key)
        if wanted is not None:  # else in the source but not for the board (cancelled, a bad line): the sync decides
            archive += _unwanted_sizes(key, keep, wanted, mirror_sizes)
    return archive, kept


def _unwanted_sizes(key: str, keep: BoardItem, wanted: ExpectedItem,
                    mirror_sizes: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[tuple[str, str]]:
    archive: list[tuple[str, str]] = []
    for name, entries in keep.subitems.items():
        if name not in wanted.subitems:
            archive += [(sub_id, f"{key}: {name} is not an ordered size") for sub_id, _ in entries]
            continue
        size = wanted.subitems[name].size
        known_sub = mirror_sizes.get((key, size), {}).get("monday_subitem_id")
        keep_sub = next((entry for entry in entries if entry[0] == known_sub), entries[0])
        archive += [(sub_id, f"{key}: a second {name}") for sub_id, _ in entries if sub_id != keep_sub[0]]
    return archive


async def _archive(client: MondayClient, board_id: str, ids: list[str]) -> set[str]:
    """Archive items or subitems by id; the ids that are archived (or already gone) come back."""
    from ordersync.errors import NotFound
    from ordersync.monday.client import Mutation, derive_idempotency_key

    done: set[str] = set()
    mutations = [Mutation("archive_item", {"item_id": monday_id}, monday_id) for monday_id in ids]
    for batch in client.pack(mutations):
        outcomes = await client.send_batch(batch, board_id=board_id,
                                           idempotency_key=derive_idempotency_key("reconcile_archive",
                                                                                  [m.ref for m in batch]))
        done |= {str(outcome.mutation.ref) for outcome in outcomes
                 if outcome.ok or isinstance(outcome.error, NotFound)}
    return done
