"""ordersync's own tables (DESIGN §3), one SQLAlchemy Core schema for SQLite, PostgreSQL and SQL Server,
and the states a row or a run can be in — declared here, once. Status changes go through
`ordersync.state.transitions`; the mirror tables are written by `ordersync.state.mirror`.
"""

from __future__ import annotations

import enum
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ordersync.errors import ErrorCategory

__all__ = ["ErrorCategory"]

# Widths of the columns the transform fills: a longer value is a row error, never a failed insert.
# A key NVARCHAR(400) and a size NVARCHAR(30) fit SQL Server's 900-byte clustered index key next to
# the board id NVARCHAR(20): 2 × (20 + 400 + 30) = 900 bytes for the synced subitems' primary key.
KEY_LENGTH = 400
SIZE_LENGTH = 30
NAME_LENGTH = 200  # customer, PO number, seasons
TITLE_LENGTH = 255  # group and item names: what Monday takes
MAX_QUANTITY = 2_147_483_647  # INTEGER on every engine


# The columns of a line (staged and mirrored alike) that a run's filters scope it by.
SCOPE_FIELDS = ("customer", "po_number", "aag_season", "customer_season")


class RunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    PLANNED = "PLANNED"  # a dry run: nothing a sync relies on was changed
    ITEMS_COMPLETED = "ITEMS_COMPLETED"
    SUBITEMS_COMPLETED = "SUBITEMS_COMPLETED"
    COMPLETED = "COMPLETED"  # items and subitems both completed
    FAILED = "FAILED"
    INTERRUPTED = "INTERRUPTED"  # stopped by Ctrl-C / SIGTERM, or found RUNNING by a later run (killed, crashed)


class RunKind(enum.StrEnum):
    SYNC = "sync"
    PLAN = "plan"
    RETRY = "retry"


class DiffState(enum.StrEnum):
    NEW = "NEW"
    CHANGED = "CHANGED"
    UNCHANGED = "UNCHANGED"
    REMOVED = "REMOVED"


class Operation(enum.StrEnum):
    """What the plan does with a staged row."""

    CREATE = "create"
    UPDATE = "update"
    ARCHIVE = "archive"
    DELETE = "delete"
    NONE = "none"


class RowStatus(enum.StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    DONE = "DONE"
    ERROR = "ERROR"


class IntentStatus(enum.StrEnum):
    OPEN = "OPEN"  # committed before the request; the outcome is not known yet
    CONFIRMED = "CONFIRMED"  # the response carried the new id
    FAILED = "FAILED"  # the API refused it: nothing was created
    ADOPTED = "ADOPTED"  # resolved later: found on the board and adopted
    ABSENT = "ABSENT"  # resolved later: not on the board, so never created


class IntentOperation(enum.StrEnum):
    CREATE_GROUP = "create_group"
    CREATE_ITEM = "create_item"
    CREATE_SUBITEM = "create_subitem"
    ARCHIVE_ITEM = "archive_item"  # one item of a bulk_archive_items job; monday_id holds the job's id


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _key() -> sa.Unicode:
    return sa.Unicode(KEY_LENGTH)


@dataclass(frozen=True)
class StateTables:
    """The Table objects, named with the configured prefix."""

    metadata: sa.MetaData
    meta: sa.Table
    runs: sa.Table
    staged_items: sa.Table
    staged_subitems: sa.Table
    synced_items: sa.Table
    synced_subitems: sa.Table
    groups: sa.Table
    errors: sa.Table
    write_intents: sa.Table
    locks: sa.Table
    source_shapes: sa.Table
    budget_ledger: sa.Table
    board_registry: sa.Table
    unchanged_lines: sa.Table
    board_conflicts: sa.Table


def build_tables(prefix: str = "ordersync_") -> StateTables:
    md = sa.MetaData()
    p = prefix
    meta = sa.Table(
        f"{p}meta", md,
        sa.Column("name", sa.Unicode(100), primary_key=True),
        sa.Column("value", sa.Unicode(400), nullable=False),
    )
    runs = sa.Table(
        f"{p}runs", md,
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Unicode(20), nullable=False),
        sa.Column("board_id", sa.Unicode(20)),
        sa.Column("status", sa.Unicode(30), nullable=False),
        sa.Column("filters", sa.UnicodeText, nullable=False, default="{}"),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("items_completed_at", sa.DateTime),
        sa.Column("subitems_completed_at", sa.DateTime),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("heartbeat_at", sa.DateTime),
        sa.Column("owner", sa.Unicode(200)),
        sa.Column("progress", sa.UnicodeText),  # JSON: what the apply stage has done so far
        sa.Column("summary", sa.UnicodeText),  # JSON: counts per customer when finished
        sa.Column("message", sa.UnicodeText),
    )
    staged_items = sa.Table(
        f"{p}staged_items", md,
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("item_key", _key(), primary_key=True),
        sa.Column("customer", sa.Unicode(NAME_LENGTH), nullable=False),
        sa.Column("group_name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("item_name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("po_number", sa.Unicode(NAME_LENGTH)),
        sa.Column("aag_season", sa.Unicode(NAME_LENGTH)),
        sa.Column("customer_season", sa.Unicode(NAME_LENGTH)),
        sa.Column("cancelled", sa.Boolean, nullable=False, default=False),
        sa.Column("column_values", sa.UnicodeText),
        sa.Column("row_hash", sa.Unicode(64)),
        sa.Column("source_row", sa.Integer),
        sa.Column("state", sa.Unicode(12)),
        sa.Column("operation", sa.Unicode(12)),
        sa.Column("status", sa.Unicode(12), nullable=False, default=RowStatus.PENDING.value),
        sa.Column("monday_item_id", sa.Unicode(20)),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("fingerprint", sa.Unicode(64)),  # the source line's, recorded in the mirror once all confirmed
        sa.Index(f"ix_{p}staged_items_customer", "run_id", "customer"),
    )
    staged_subitems = sa.Table(
        f"{p}staged_subitems", md,
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("item_key", _key(), primary_key=True),
        sa.Column("size", sa.Unicode(SIZE_LENGTH), primary_key=True),
        sa.Column("customer", sa.Unicode(NAME_LENGTH), nullable=False),
        sa.Column("name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("quantity", sa.Integer),
        sa.Column("position", sa.Integer),  # the size's place in the table: subitems are created in this order
        sa.Column("state", sa.Unicode(12)),
        sa.Column("operation", sa.Unicode(12)),
        sa.Column("status", sa.Unicode(12), nullable=False, default=RowStatus.PENDING.value),
        sa.Column("monday_subitem_id", sa.Unicode(20)),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Index(f"ix_{p}staged_subitems_customer", "run_id", "customer"),
    )
    synced_items = sa.Table(
        f"{p}synced_items", md,
        sa.Column("board_id", sa.Unicode(20), primary_key=True),
        sa.Column("item_key", _key(), primary_key=True),
        sa.Column("monday_item_id", sa.Unicode(20), nullable=False),
        sa.Column("customer", sa.Unicode(NAME_LENGTH), nullable=False),
        sa.Column("group_name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("group_id", sa.Unicode(100)),
        sa.Column("item_name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("po_number", sa.Unicode(NAME_LENGTH)),
        sa.Column("aag_season", sa.Unicode(NAME_LENGTH)),
        sa.Column("customer_season", sa.Unicode(NAME_LENGTH)),
        sa.Column("cancelled", sa.Boolean, nullable=False, default=False),
        sa.Column("column_values", sa.UnicodeText),
        sa.Column("row_hash", sa.Unicode(64)),
        sa.Column("run_id", sa.Integer),
        sa.Column("synced_at", sa.DateTime, nullable=False),
        # The source line's fingerprint (engine/fingerprints.py) when a run last confirmed every write of
        # it; NULL once anything of it is written again, until a run confirms it whole.
        sa.Column("fingerprint", sa.Unicode(64)),
        sa.Index(f"ix_{p}synced_items_monday_id", "monday_item_id"),
        sa.Index(f"ix_{p}synced_items_customer", "board_id", "customer"),
    )
    synced_subitems = sa.Table(
        f"{p}synced_subitems", md,
        sa.Column("board_id", sa.Unicode(20), primary_key=True),
        sa.Column("item_key", _key(), primary_key=True),
        sa.Column("size", sa.Unicode(SIZE_LENGTH), primary_key=True),
        sa.Column("monday_subitem_id", sa.Unicode(20), nullable=False),
        sa.Column("parent_item_id", sa.Unicode(20), nullable=False),
        sa.Column("name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("quantity", sa.Integer),
        sa.Column("run_id", sa.Integer),
        sa.Column("synced_at", sa.DateTime, nullable=False),
    )
    groups = sa.Table(
        f"{p}groups", md,
        sa.Column("board_id", sa.Unicode(20), primary_key=True),
        sa.Column("group_name", sa.Unicode(TITLE_LENGTH), primary_key=True),
        sa.Column("group_id", sa.Unicode(100), nullable=False),
        sa.Column("customer", sa.Unicode(NAME_LENGTH)),
        sa.Column("created_by_run", sa.Integer),  # NULL: found on the board, not created by ordersync
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    errors = sa.Table(
        f"{p}errors", md,
        sa.Column("error_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False, index=True),
        sa.Column("item_key", _key()),
        sa.Column("size", sa.Unicode(SIZE_LENGTH)),
        sa.Column("customer", sa.Unicode(NAME_LENGTH)),
        sa.Column("source_row", sa.Integer),
        sa.Column("stage", sa.Unicode(20), nullable=False),
        sa.Column("category", sa.Unicode(20), nullable=False),
        sa.Column("field", sa.Unicode(255)),
        sa.Column("message", sa.UnicodeText, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=1),
        sa.Column("payload", sa.UnicodeText),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    write_intents = sa.Table(
        f"{p}write_intents", md,
        sa.Column("intent_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("board_id", sa.Unicode(20), nullable=False),
        sa.Column("operation", sa.Unicode(20), nullable=False),
        sa.Column("item_key", _key()),
        sa.Column("size", sa.Unicode(SIZE_LENGTH)),
        sa.Column("group_name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("parent_item_id", sa.Unicode(20)),
        sa.Column("status", sa.Unicode(12), nullable=False),
        sa.Column("monday_id", sa.Unicode(100)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("settled_at", sa.DateTime),
        sa.Index(f"ix_{p}write_intents_open", "board_id", "status"),
    )
    locks = sa.Table(
        f"{p}locks", md,
        sa.Column("board_id", sa.Unicode(20), primary_key=True),
        sa.Column("run_id", sa.Integer),
        sa.Column("owner", sa.Unicode(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
    )
    # Per board, the source's shape its last sync read (JSON: size columns, types of the columns the
    # config reads): a later run that finds another refuses before its first write (engine/guards.py).
    source_shapes = sa.Table(
        f"{p}source_shapes", md,
        sa.Column("board_id", sa.Unicode(20), primary_key=True),
        sa.Column("shape", sa.UnicodeText, nullable=False),
        sa.Column("run_id", sa.Integer),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    # Per Monday token (a fingerprint of it, never the token), the complexity every worker sharing it
    # has reserved in the window: one row, changed in short locked transactions (state/budget_ledger.py).
    budget_ledger = sa.Table(
        f"{p}budget_ledger", md,
        sa.Column("token_fingerprint", sa.Unicode(64), primary_key=True),
        sa.Column("limit_points", sa.Integer),  # the budget per window, as the API last reported it
        sa.Column("window_seconds", sa.Float),
        sa.Column("held_until", sa.Float),  # database clock (epoch seconds): a rate limit asked all to hold off
        sa.Column("reservations", sa.UnicodeText, nullable=False),  # JSON: the sliding log of reservations
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    # The boards a template route made (`[[routes]] template_board_id`), one row per board in the order
    # made; `board_id` NULL while its creation is an open intent (state/board_registry.py, the one writer).
    board_registry = sa.Table(
        f"{p}board_registry", md,
        sa.Column("template_board_id", sa.Unicode(20), primary_key=True),
        sa.Column("sequence", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("board_name", sa.Unicode(255), nullable=False),  # how a lost creation is found again
        sa.Column("board_id", sa.Unicode(20)),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime),
    )
    # Per run and customer, the lines a run did not stage because their fingerprints had not changed
    # (counted as unchanged with the staged ones, engine/plan.py).
    unchanged_lines = sa.Table(
        f"{p}unchanged_lines", md,
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("customer", sa.Unicode(NAME_LENGTH), primary_key=True),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("subitems", sa.Integer, nullable=False),
    )
    # A person's edit of a source-owned column (issue 13): one row per distinct board value met by `pull`
    # or the webhook receiver (state/conflicts.py, the one writer), settled by the column's `on_edit`.
    board_conflicts = sa.Table(
        f"{p}board_conflicts", md,
        sa.Column("conflict_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("board_id", sa.Unicode(20), nullable=False),
        sa.Column("item_key", _key(), nullable=False),
        sa.Column("item_id", sa.Unicode(20), nullable=False),
        sa.Column("column_id", sa.Unicode(100), nullable=False),  # `name` for the item's name
        sa.Column("size", sa.Unicode(SIZE_LENGTH)),  # a subitem's (the size's quantity); NULL for the item's
        sa.Column("policy", sa.Unicode(10), nullable=False),  # EditPolicy: restore | keep
        sa.Column("source_value", sa.UnicodeText),  # JSON: what the sync last wrote there (the mirror's)
        sa.Column("board_text", sa.UnicodeText),  # what the person left, as Monday shows it
        sa.Column("board_value", sa.UnicodeText),  # and as the API's value JSON
        sa.Column("user_id", sa.Unicode(20)),  # who, when the activity log tells
        sa.Column("changed_at", sa.DateTime),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Index(f"ix_{p}board_conflicts_key", "board_id", "item_key", "column_id"),
    )
    return StateTables(md, meta, runs, staged_items, staged_subitems, synced_items, synced_subitems,
                       groups, errors, write_intents, locks, source_shapes, budget_ledger, board_registry,
                       unchanged_lines, board_conflicts)


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def dumps(value: Any) -> str:
    """JSON as stored in the state tables: stable key order so equal values compare equal."""
    return _STATE_JSON.encode(value)


# Built once: json.dumps with options builds an encoder on every call, and staging calls this once a line.
_STATE_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


