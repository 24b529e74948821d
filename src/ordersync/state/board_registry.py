"""The boards template routes made (`<prefix>board_registry`): this module is the table's only writer.

A `[[routes]] template_board_id` route's boards, numbered in the order made. Making one is a write
with an intent: the row (its name, no board id) is committed before `duplicate_board` is sent, and the
board id recorded once the board is known — from the answer, or, after a lost answer or a kill, found
again by its name (engine/rollover.py), so a rerun never makes a second board.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ordersync.state.schema import StateTables, utcnow


@dataclass(frozen=True)
class RegisteredBoard:
    template_board_id: str
    sequence: int  # 1 for the route's first board
    board_name: str
    board_id: str | None  # None: its creation is an open intent

    def as_dict(self) -> dict[str, object]:
        return {"sequence": self.sequence, "board_name": self.board_name, "board_id": self.board_id}


class BoardRegistry:
    """The registry of one state database: read a template's boards, record an intent, record a board."""

    def __init__(self, engine: Engine, tables: StateTables) -> None:
        self.engine, self.table = engine, tables.board_registry

    def boards(self, template_board_id: str) -> list[RegisteredBoard]:
        """The template's boards, oldest first (with any whose creation is still open)."""
        table = self.table
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(table.c.sequence, table.c.board_name, table.c.board_id)
                .where(table.c.template_board_id == template_board_id).order_by(table.c.sequence)).all()
        return [RegisteredBoard(template_board_id, sequence, name, board_id) for sequence, name, board_id in rows]

    def record_intent(self, template_board_id: str, sequence: int, board_name: str) -> None:
        """Committed before the board is requested; a second call for the same board changes nothing."""
        table = self.table
        with self.engine.begin() as connection:
            exists = connection.execute(sa.select(table.c.sequence).where(
                table.c.template_board_id == template_board_id, table.c.sequence == sequence)).first()
            if exists is None:
                connection.execute(sa.insert(table).values(template_board_id=template_board_id, sequence=sequence,
                                                           board_name=board_name, requested_at=utcnow()))

    def record_board(self, template_board_id: str, sequence: int, board_id: str) -> None:
        """The board exists: the intent is settled."""
        table = self.table
        with self.engine.begin() as connection:
            connection.execute(sa.update(table).where(
                table.c.template_board_id == template_board_id, table.c.sequence == sequence)
                .values(board_id=board_id, created_at=utcnow()))
