"""The synced mirror — our record of what Monday holds (synced items, synced subitems, groups).

This module is its only writer (DESIGN §7): every row it writes has one shape, built here from a
staged row and the ids Monday confirmed (or from what `reconcile` read on the board). Nothing else
inserts, updates or deletes these tables; `tests/test_state_ownership.py` checks it.

Two facts the mirror can record besides confirmed values:
- `row_hash` NULL: the board is known to differ from the source for this line, so the next diff
  sees it CHANGED (a NULL hash equals nothing);
- a column value JSON `null`: the board shows something no source value equals, so the next update
  sends the column whatever the source holds (including clearing it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.state.schema import SCOPE_FIELDS, DiffState, Operation, RowStatus, StateTables, dumps, utcnow


def item_row(board_id: str, staged: Mapping[str, Any], monday_id: str, group_id: str | None,
             run_id: int | None) -> dict[str, Any]:
    """The mirror row of an item Monday confirmed (or one found on the board and adopted)."""
    return {
        "board_id": board_id, "item_key": staged["item_key"], "monday_item_id": monday_id,
        "customer": staged["customer"], "group_name": staged["group_name"], "group_id": group_id,
        "item_name": staged["item_name"], "po_number": staged["po_number"], "aag_season": staged["aag_season"],
        "customer_season": staged["customer_season"], "cancelled": bool(staged["cancelled"]),
        "column_values": staged["column_values"], "row_hash": staged["row_hash"],
        "run_id": run_id, "synced_at": utcnow(),
    }


def subitem_row(board_id: str, staged: Mapping[str, Any], monday_id: str, parent_item_id: str,
                run_id: int | None) -> dict[str, Any]:
    """The mirror row of a size subitem Monday confirmed (or one found on the board and adopted)."""
    return {
        "board_id": board_id, "item_key": staged["item_key"], "size": staged["size"],
        "monday_subitem_id": monday_id, "parent_item_id": parent_item_id, "name": staged["name"],
        "quantity": staged["quantity"], "run_id": run_id, "synced_at": utcnow(),
    }


class Mirror:
    """Writes to one board's mirror rows, inside the caller's transaction."""

    def __init__(self, tables: StateTables, board_id: str) -> None:
        self.tables = tables
        self.board_id = board_id

    # -- items and subitems ----------------------------------------------------------------------
    def record_items(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rows from `item_row`, replacing any row with the same key."""
        self._replace(connection, self.tables.synced_items, rows, ("item_key",))

    def record_subitems(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rows from `subitem_row`, replacing any row with the same key and size."""
        self._replace(connection, self.tables.synced_subitems, rows, ("item_key", "size"))
        self._unconfirm(connection, (row["item_key"] for row in rows))

    def record_item_part(self, connection: Connection, item_key: str, *, values: Mapping[str, Any] | None = None,
                         group: tuple[str, str] | None = None) -> None:
        """Half of an update landed (its column values and name, or its move to a group): the mirror
        learns that half, but not the new row hash, so the rest is sent again next time."""
        synced = self.tables.synced_items
        changes: dict[str, Any] = dict(values or {}) | {"fingerprint": None}
        if group is not None:
            changes |= {"group_name": group[0], "group_id": group[1]}
        connection.execute(sa.update(synced).where(
            synced.c.board_id == self.board_id, synced.c.item_key == item_key).values(**changes, synced_at=utcnow()))

    def mark_unknown(self, connection: Connection, item_key: str, column_ids: Iterable[str], *,
                     name: str | None = None) -> None:
        """A person changed these source-owned columns of the line on the board — or renamed its item to
        `name` — (a conflict to restore): their values become unknown (JSON null), the name the board's, and
        the line's row hash and fingerprint go, so the next sync reads the line, sees it CHANGED and writes
        the source's values (and name) back."""
        synced = self.tables.synced_items
        where = (synced.c.board_id == self.board_id, synced.c.item_key == item_key)
        row = connection.execute(sa.select(synced.c.column_values).where(*where)).first()
        if row is None:  # a line the mirror does not know: the next sync adopts and compares it anyway
            return
        values = json.loads(row[0] or "{}") | dict.fromkeys(column_ids)
        renamed = {} if name is None else {"item_name": name}
        connection.execute(sa.update(synced).where(*where).values(
            column_values=dumps(values), row_hash=None, fingerprint=None, synced_at=utcnow(), **renamed))

    def mark_quantity_unknown(self, connection: Connection, item_key: str, size: str) -> None:
        """A person changed the size's quantity on the board (a conflict to restore): it becomes unknown
        (NULL equals no quantity) and the line's fingerprint goes, so the next sync reads the line, sees
        the size CHANGED and writes the source's quantity back."""
        subitems = self.tables.synced_subitems
        connection.execute(sa.update(subitems).where(
            subitems.c.board_id == self.board_id, subitems.c.item_key == item_key, subitems.c.size == size).values(
            quantity=None, synced_at=utcnow()))
        self._unconfirm(connection, [item_key])

    def forget_items(self, connection: Connection, item_keys: Iterable[str]) -> None:
        """Items archived, deleted or gone from the board: they and their sizes leave the mirror."""
        keys = [{"k_key": key} for key in item_keys]
        if not keys:
            return
        for table in (self.tables.synced_subitems, self.tables.synced_items):
            connection.execute(sa.delete(table).where(
                table.c.board_id == self.board_id, table.c.item_key == sa.bindparam("k_key")), keys)

    def forget_subitems(self, connection: Connection, sizes: Iterable[tuple[str, str]]) -> None:
        rows = [{"k_key": key, "k_size": size} for key, size in sizes]
        if not rows:
            return
        synced = self.tables.synced_subitems
        connection.execute(sa.delete(synced).where(
            synced.c.board_id == self.board_id, synced.c.item_key == sa.bindparam("k_key"),
            synced.c.size == sa.bindparam("k_size")), rows)
        self._unconfirm(connection, (row["k_key"] for row in rows))

    # -- fingerprints ----------------------------------------------------------------------------
    def _unconfirm(self, connection: Connection, item_keys: Iterable[str]) -> None:
        """Something of these lines was written: their fingerprints no longer say what the board shows
        (an item row replaced by `record_items` starts without one)."""
        keys = [{"k_key": key} for key in dict.fromkeys(item_keys)]
        if keys:
            synced = self.tables.synced_items
            connection.execute(sa.update(synced).where(
                synced.c.board_id == self.board_id, synced.c.item_key == sa.bindparam("k_key"),
                synced.c.fingerprint.is_not(None)).values(fingerprint=None), keys)

    def record_fingerprints(self, connection: Connection, run_id: int) -> None:
        """The lines run `run_id` confirmed whole — the item written or unchanged, every size written or
        unchanged — now show what their source fingerprint describes: the next run may skip them while it
        stays the same. A line with anything failed, unsent or unanswered keeps none, and is read again."""
        staged, sizes, synced = self.tables.staged_items, self.tables.staged_subitems, self.tables.synced_items
        done, none = RowStatus.DONE.value, Operation.NONE.value
        size_open = sa.select(sa.literal(1)).where(
            sizes.c.run_id == run_id, sizes.c.item_key == staged.c.item_key, sizes.c.status != done,
            sa.or_(sizes.c.operation.is_(None), sizes.c.operation != none)).exists()
        connection.execute(sa.update(synced).where(
            synced.c.board_id == self.board_id, staged.c.run_id == run_id, staged.c.item_key == synced.c.item_key,
            staged.c.fingerprint.is_not(None), staged.c.state != DiffState.REMOVED.value,
            sa.or_(staged.c.status == done, staged.c.operation == none), ~size_open,
        ).values(fingerprint=staged.c.fingerprint))

    def refresh_scope(self, connection: Connection, run_id: int) -> None:
        """Lines the board shows unchanged may still have moved in what scopes a filtered run (an AAG
        season nothing displays, say): the mirror learns it, so later removals are scoped right."""
        staged, synced = self.tables.staged_items, self.tables.synced_items

        def of_staged(name: str) -> sa.ScalarSelect[Any]:
            return sa.select(staged.c[name]).where(
                staged.c.run_id == run_id, staged.c.item_key == synced.c.item_key).scalar_subquery()

        differs = sa.or_(*(sa.not_(synced.c[name].is_not_distinct_from(staged.c[name]))
                           for name in SCOPE_FIELDS))
        unchanged = sa.select(sa.literal(1)).where(
            staged.c.run_id == run_id, staged.c.item_key == synced.c.item_key,
            staged.c.state == DiffState.UNCHANGED.value, differs).exists()
        connection.execute(sa.update(synced).where(synced.c.board_id == self.board_id, unchanged).values(
            **{name: of_staged(name) for name in SCOPE_FIELDS}))

    # -- groups ----------------------------------------------------------------------------------
    def record_group(self, connection: Connection, group_name: str, group_id: str, *, customer: str | None,
                     created_by_run: int | None) -> None:
        groups = self.tables.groups
        updated = connection.execute(sa.update(groups).where(
            groups.c.board_id == self.board_id, groups.c.group_name == group_name).values(
            group_id=group_id, recorded_at=utcnow())).rowcount
        if not updated:
            connection.execute(sa.insert(groups).values(
                board_id=self.board_id, group_name=group_name, group_id=group_id, customer=customer,
                created_by_run=created_by_run, recorded_at=utcnow()))

    def forget_groups(self, connection: Connection, group_names: Sequence[str]) -> None:
        if group_names:
            groups = self.tables.groups
            connection.execute(sa.delete(groups).where(groups.c.board_id == self.board_id,
                                                       groups.c.group_name.in_(list(group_names))))

    def _replace(self, connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]],
                 keys: tuple[str, ...]) -> None:
        """Mirror rows are replaced whole: delete any row with the same key, then insert in bulk."""
        if not rows:
            return
        where = [table.c.board_id == self.board_id]
        where += [table.c[key] == sa.bindparam(f"k_{key}") for key in keys]
        connection.execute(sa.delete(table).where(*where), [{f"k_{key}": row[key] for key in keys} for row in rows])
        connection.execute(sa.insert(table), [dict(row) for row in rows])
