"""The source's shape per board (`<prefix>source_shapes`): this module is the table's only writer.

A shape is what a sync read from the source: its size columns and the type of every column the
config reads, kept as one JSON row per board. `engine/guards.py` builds and compares shapes; a sync
records the one it wrote from, and a later sync (or `validate`) that finds another stops.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.state.schema import StateTables, dumps, utcnow


@dataclass(frozen=True)
class SourceShape:
    """Size columns (name → type family), the other columns the config reads
    (name → type family), and the `[source.sizes]` rule that picked the sizes."""

    sizes: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    size_rule: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"sizes": self.sizes, "columns": self.columns, "size_rule": self.size_rule}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> SourceShape:
        return cls(sizes=dict(value.get("sizes") or {}), columns=dict(value.get("columns") or {}),
                   size_rule=dict(value.get("size_rule") or {}))


def recorded_shape(connection: Connection, tables: StateTables, board_id: str) -> SourceShape | None:
    """The shape the board's last recorded sync read; None before the first."""
    shapes = tables.source_shapes
    stored = connection.execute(sa.select(shapes.c.shape).where(shapes.c.board_id == board_id)).scalar_one_or_none()
    return None if stored is None else SourceShape.from_dict(json.loads(stored))


def record_shape(connection: Connection, tables: StateTables, board_id: str, shape: SourceShape,
                 run_id: int | None) -> None:
    """The board's shape is now `shape` (replacing the one recorded before)."""
    shapes = tables.source_shapes
    connection.execute(sa.delete(shapes).where(shapes.c.board_id == board_id))
    connection.execute(sa.insert(shapes).values(board_id=board_id, shape=dumps(shape.as_dict()), run_id=run_id,
                                                recorded_at=utcnow()))
