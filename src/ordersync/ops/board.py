"""`ordersync board create` and `ordersync board describe`: a board shaped like the config, and a board's
columns read against the config.

`create` finds the board by its name (else makes it, empty or from a template with `duplicate_board`),
makes the columns it lacks — every mapped column, the key column, the subitem board's size and quantity
columns, label columns starting with the labels the source uses where a sync may not create them — and
writes the board id into the config file, editing only that line. A second run finds everything and
creates nothing. Only documented API calls, so it works unchanged on Monday.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from ordersync.config import Config, format_path, load_token
from ordersync.engine.clients import client_for, http_for
from ordersync.engine.pipeline import Databases
from ordersync.errors import ConfigError, NotFound, UsageError
from ordersync.monday.board import BoardInfo
from ordersync.monday.board_setup import (
    BoardShape,
    ColumnSpec,
    board_named,
    create_empty_board,
    duplicate_structure,
    ensure_shape,
)
from ordersync.monday.client import MondayClient
from ordersync.monday.codec import LABEL_TYPES
from ordersync.monday.connect import read_board_schema
from ordersync.ops.validate import labels_in_source

DEFAULT_BOARD_NAME = "ordersync order lines"
KEY_COLUMN_TITLE = "ORDERSYNC KEY"


@dataclass
class BoardCreated:
    """What `board create` found and made; `as_dict()` is its `--json`."""

    board_id: str
    board_name: str
    subitem_board_id: str | None
    created_board: bool
    from_template: str | None
    columns_created: list[str] = field(default_factory=list)
    subitem_columns_created: list[str] = field(default_factory=list)
    config_path: str = ""
    config_changed: bool = False

    @property
    def created_anything(self) -> bool:
        return self.created_board or bool(self.columns_created or self.subitem_columns_created)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "created_anything": self.created_anything}


def board_shape(config: Config, labels: dict[str, set[str]], sizes: set[str]) -> BoardShape:
    """The columns a board needs for this config: the key column, every mapped column (titled by its
    source column) and, with subitems, the size and quantity columns; label columns that a sync may not
    extend start with `labels` (column id → the labels the source uses) and `sizes`."""
    columns = [ColumnSpec(config.monday.key_column, KEY_COLUMN_TITLE, "text")]
    columns += [ColumnSpec(mapping.id, mapping.source or mapping.id, mapping.type,
                           tuple(sorted(labels.get(mapping.id, ())))) for mapping in config.columns]
    subitems = config.subitems
    subitem_columns = [] if not subitems.enabled else [
        ColumnSpec(subitems.size_column, "Size", subitems.size_type, tuple(sorted(sizes))),
        ColumnSpec(subitems.quantity_column, "Order Qty", "numbers"),
        *(ColumnSpec(column.id, column.id, column.type) for column in subitems.columns)]  # board-owned
    return BoardShape(tuple(columns), tuple(subitem_columns))


def _fixed_labels(config: Config, databases: Databases) -> tuple[dict[str, set[str]], set[str]]:
    """The labels the source uses in the label columns a sync may not extend (and the sizes, likewise)."""
    fixed = {mapping.id for mapping in config.columns
             if mapping.type in LABEL_TYPES and not mapping.create_labels_if_missing}
    subitems = config.subitems
    sizes = subitems.enabled and subitems.size_type in LABEL_TYPES and not subitems.create_labels_if_missing
    if not fixed and not sizes:
        return {}, set()
    labels, used_sizes, _ = labels_in_source(config, databases, fixed, sizes=sizes)
    return labels, used_sizes


async def _board_for(client: MondayClient, config: Config, name: str, template: str | None) -> tuple[str, bool]:
    """The board named `name` (found, or made now) and whether it was made."""
    found = await board_named(client, name)
    if found is not None:
        return found, False
    named = config.monday.board_id
    if named is not None:
        try:
            existing: dict[str, Any] | None = await client.board_schema(named)
        except NotFound:  # the config's board is gone: nothing to keep
            existing = None
        if existing is not None:
            raise UsageError(f"the config names board {named} ({existing.get('name')!r}); no board is named "
                             f"{name!r}, and making one would replace it",
                             hint=f"pass --name {existing.get('name')!r} to shape that board, or remove "
                                  "[monday] board_id to make a new one")
    if template is not None:
        return await duplicate_structure(client, template, name), True
    return await create_empty_board(client, name), True


async def create_board_async(config: Config, config_path: Path, *, name: str = DEFAULT_BOARD_NAME,
                             template: str | None = None, http: httpx.AsyncClient | None = None,
                             token: SecretStr | None = None) -> BoardCreated:
    """`ordersync board create` from Python: the same data `--json` prints."""
    if config.routes:
        raise UsageError("`board create` makes the one board of [monday] board_id; this config routes lines "
                         "to several boards ([[routes]])",
                         hint="make each routed board with a config of its own, or name a template route "
                              "(template_board_id): a sync makes its boards")
    if not config_path.is_file():
        raise ConfigError(f"config file {config_path} does not exist: `board create` writes the board id into it",
                          hint="run `ordersync init` first")
    token = token or load_token(config.monday)
    databases = Databases.open(config)
    try:
        async with http_for(config, http) as session:
            client = client_for(config, session, token, databases.state)
            board_id, made = await _board_for(client, config, name, template)
            shape = board_shape(config, *_fixed_labels(config, databases))
            shaped = await ensure_shape(client, board_id, shape)
    finally:
        databases.close()
    changed = record_board_in_config(config_path, board_id, profile=config.profile, renamed=shaped.renamed)
    return BoardCreated(board_id, name, shaped.subitem_board_id, made, template if made else None, shaped.columns,
                        shaped.subitem_columns, str(config_path), changed)


# -- the config file: one line edited, the rest of the user's file kept as it is ------------------

def _section_pattern(profile: str | None) -> re.Pattern[str]:
    dotted = r"monday" if profile is None else rf"profiles\s*\.\s*(?:{re.escape(profile)}|\"{re.escape(profile)}\")\s*\.\s*monday"
    return re.compile(rf"^\s*\[\s*{dotted}\s*\]\s*(?:#.*)?$")


def config_text_with_board(text: str, board_id: str, *, profile: str | None = None) -> str:
    """`text` with `board_id = "ID"` in `[monday]` (a profile's `[profiles.NAME.monday]` when one is
    used): the existing `board_id` line's value replaced, else the line added under a commented-out
    `# board_id = …` or under the table's header, else the table added at the end. Comments, order and
    every other line stay as the user wrote them."""
    lines = text.splitlines(keepends=True)
    header = _section_pattern(profile)
    start = next((index for index, line in enumerate(lines) if header.match(line)), None)
    new_line = f'board_id = "{board_id}"\n'
    if start is None:
        table = "monday" if profile is None else f"profiles.{profile}.monday"
        ending = "" if not text or text.endswith("\n") else "\n"
        return text + ending + f"\n[{table}]\n" + new_line
    end = next((index for index in range(start + 1, len(lines)) if re.match(r"^\s*\[", lines[index])), len(lines))
    for index in range(start + 1, end):
        found = re.match(r'^(\s*board_id\s*=\s*)("[^"]*"|\'[^\']*\'|[0-9]+)(.*)$', lines[index], flags=re.DOTALL)
        if found:
            lines[index] = f'{found.group(1)}"{board_id}"{found.group(3)}'
            return "".join(lines)
    after = next((index for index in range(start + 1, end) if re.match(r"^\s*#\s*board_id\s*=", lines[index])), start)
    lines.insert(after + 1, new_line)
    return "".join(lines)


def record_board_in_config(path: Path, board_id: str, *, profile: str | None = None,
                           renamed: dict[str, str] | None = None) -> bool:
    """Write the board id into the config file; True when the file changed. The result must read back
    with that board id, else nothing is written (`ConfigError`: a layout this edit does not handle)."""
    text = path.read_text(encoding="utf-8-sig")
    updated = config_text_with_board(text, board_id, profile=profile)
    for old, new in (renamed or {}).items():
        updated = re.sub(rf'^(\s*(?:id|key_column|size_column|quantity_column)\s*=\s*)"{re.escape(old)}"',
                         rf'\g<1>"{new}"', updated, flags=re.MULTILINE)
    try:
        monday = tomllib.loads(updated)
        for part in ([] if profile is None else ["profiles", profile]) + ["monday"]:
            monday = monday.get(part, {})
        written = monday.get("board_id")
    except tomllib.TOMLDecodeError:
        written = None
    if written != board_id:
        where = "[monday]" if profile is None else f"[profiles.{profile}.monday]"
        raise ConfigError(f"could not write the board id into {path}: its {where} table is laid out in a way "
                          "this edit does not handle",
                          hint=f'add board_id = "{board_id}" to {where} by hand')
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8")
    return True


# -- describe -------------------------------------------------------------------------------------

@dataclass
class DescribedColumn:
    id: str
    title: str
    type: str
    config: list[str]  # the config keys that name this column: columns[3].id, monday.key_column, …
    source: str | None = None  # the source column a sync writes into it


@dataclass
class BoardDescription:
    """A board's columns (and its subitem board's) with the config keys that map to them, and the config
    keys that name a column the board lacks. `as_dict()` is `board describe --json`."""

    board_id: str
    board_name: str
    subitem_board_id: str | None
    columns: list[DescribedColumn]
    subitem_columns: list[DescribedColumn]
    missing: list[dict[str, str]]  # {config, column, board}: named by the config, absent from the board

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def config_columns(config: Config) -> tuple[dict[str, list[tuple[str, str | None]]], dict[str, list[str]]]:
    """Column id → the config keys naming it (with the source column a sync writes there), for the items
    board and for the subitem board."""
    items: dict[str, list[tuple[str, str | None]]] = {config.monday.key_column: [("monday.key_column", None)]}
    for index, mapping in enumerate(config.columns):
        items.setdefault(mapping.id, []).append((f"{format_path(('columns', index))}.id", mapping.source))
    subitems: dict[str, list[str]] = {}
    if config.subitems.enabled:
        subitems = {config.subitems.size_column: ["subitems.size_column"],
                    config.subitems.quantity_column: ["subitems.quantity_column"]}
        for index, column in enumerate(config.subitems.columns):
            subitems.setdefault(column.id, []).append(f"{format_path(('subitems', 'columns', index))}.id")
    return items, subitems


def describe(config: Config, board: BoardInfo) -> BoardDescription:
    items, subitems = config_columns(config)
    columns = [DescribedColumn(column.id, column.title, column.type, [key for key, _ in items.get(column.id, [])],
                               next((source for _, source in items.get(column.id, []) if source), None))
               for column in board.columns.values()]
    subitem_columns = [DescribedColumn(column.id, column.title, column.type, subitems.get(column.id, []))
                       for column in board.subitem_columns.values()]
    missing = [{"config": key, "column": column_id, "board": "items"}
               for column_id, keys in items.items() if column_id not in board.columns for key, _ in keys]
    if board.subitem_board_id is not None or subitems:
        missing += [{"config": key, "column": column_id, "board": "subitems"}
                    for column_id, keys in subitems.items() if column_id not in board.subitem_columns for key in keys]
    return BoardDescription(board.board_id, board.name, board.subitem_board_id, columns, subitem_columns, missing)


async def describe_board_async(config: Config, board_id: str | None = None, *, http: httpx.AsyncClient | None = None,
                               token: SecretStr | None = None) -> BoardDescription:
    """`ordersync board describe` from Python: the same data `--json` prints."""
    board_id = board_id or config.monday.board_id
    if board_id is None:
        raise UsageError("no board to describe: [monday] board_id is not set",
                         hint="pass --board ID, or run `ordersync board create`")
    token = token or load_token(config.monday)
    databases = Databases.open(config)
    try:
        async with http_for(config, http) as session:
            board = await read_board_schema(client_for(config, session, token, databases.state), board_id)
    finally:
        databases.close()
    return describe(config, board)
