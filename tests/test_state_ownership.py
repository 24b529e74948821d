"""DESIGN §7: each state table has one writer. Statuses change only through `state/transitions.py`
(which refuses a change from a state that does not allow it); the synced mirror is written only
by `state/mirror.py`; the source's recorded shape only by `state/shapes.py`; the budget ledger one token's
workers share only by `state/budget_ledger.py`; the boards template routes made only by
`state/board_registry.py`.

The ownership test watches every INSERT, UPDATE and DELETE SQLAlchemy executes during real syncs
(a create, an update, a removal, a lost-answer retry) and a `reconcile --fix`, and checks which
module of ordersync issued it.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.sql.dml import Delete, Insert, Update

import ordersync
from cli_project import TOKEN, cli_project
from ordersync.emulator import EmulatorSettings
from ordersync.engine.filters import Filters
from ordersync.monday.client import Mutation
from ordersync.ops.reconcile import reconcile_async
from ordersync.state import RowStatus, RunKind, RunStatus, StateStore
from ordersync.state.transitions import IllegalTransition, RowChange, move_rows, move_run
from sync_world import make_world

PACKAGE = Path(ordersync.__file__).parent
MIRROR_TABLES = {"synced_items", "synced_subitems", "groups"}
STATUS_TABLES = {"runs", "staged_items", "staged_subitems"}
SHAPE_TABLES = {"source_shapes"}  # the source's shape per board, as its last sync read it
LEDGER_TABLES = {"budget_ledger"}  # the complexity budget one token's workers share (issue 11)
REGISTRY_TABLES = {"board_registry"}  # the boards template routes made (issue 11, rollover)


def _writer() -> str:
    """The innermost ordersync module (outside SQLAlchemy) on the stack: who issued the statement."""
    for frame in reversed(traceback.extract_stack()):
        path = Path(frame.filename)
        if PACKAGE in path.parents:
            return str(path.relative_to(PACKAGE))
    return "outside ordersync"


@pytest.fixture
def state_writes() -> Iterator[list[tuple[str, str, str]]]:
    """(table, kind of write, module) for every write ordersync makes while the test runs."""
    seen: list[tuple[str, str, str]] = []

    def watch(connection, clause, multiparams, params, execution_options):
        if isinstance(clause, Insert | Update | Delete):
            table = clause.table.name.removeprefix("ordersync_")
            kind = type(clause).__name__.lower()
            if isinstance(clause, Update) and "status" in {getattr(column, "key", column)
                                                           for column in clause._values or {}}:
                kind = "status"
            seen.append((table, kind, _writer()))

    sa.event.listen(sa.engine.Engine, "before_execute", watch)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_execute", watch)


@pytest.mark.anyio
async def test_mirror_and_statuses_are_written_only_by_their_owners(sqlite_url, state_writes):
    async with make_world(sqlite_url, rows=120, monday__shared_budget=True) as world:  # the ledger, on SQLite too
        await world.sync()
        world.execute('UPDATE "ORDERS_UNIFIED" SET "TOTAL QTY" = "TOTAL QTY" + 1, "M" = COALESCE("M", 0) + 3 '
                      'WHERE rowid % 7 = 0')
        world.execute('DELETE FROM "ORDERS_UNIFIED" WHERE rowid % 11 = 0')
        await world.sync()
        board = await world.board()
        archived = Mutation("archive_item", {"item_id": board[0].id}, "gone")  # a person archives one item:
        await world.client().send_batch([archived], board_id=world.board_id,  # reconcile --fix puts it back
                                        idempotency_key="a-person-archives")
        fixed = await reconcile_async(world.config, Filters(), fix=True, http=world.http, token=world.token)
        assert fixed.fixed and fixed.fixed["order_lines_resynced"] >= 1

    mirror_writers = {module for table, _, module in state_writes if table in MIRROR_TABLES}
    status_writers = {module for table, kind, module in state_writes if table in STATUS_TABLES and kind == "status"}
    shape_writers = {module for table, _, module in state_writes if table in SHAPE_TABLES}
    ledger_writers = {module for table, _, module in state_writes if table in LEDGER_TABLES}
    assert mirror_writers == {"state/mirror.py"}
    assert status_writers == {"state/transitions.py"}
    assert shape_writers == {"state/shapes.py"}
    assert ledger_writers == {"state/budget_ledger.py"}
    # and they did write: the test watched real work
    assert {table for table, _, _ in state_writes} >= MIRROR_TABLES | STATUS_TABLES | SHAPE_TABLES | LEDGER_TABLES


def test_the_board_registry_is_written_only_by_its_owner(tmp_path, state_writes):
    """A template route's sync that makes two boards (cap 60, rollover at 50): every registry write,
    the intents and the boards, comes from `state/board_registry.py`."""
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                                requests_per_minute=10**6, items_per_board_limit=60)
    with cli_project(tmp_path / "project", rows=100, settings=settings) as project:
        text = re.sub(r'(?m)^board_id = "\d+"\n', "", project.config_path.read_text())
        project.config_path.write_text(text + f'\n[[routes]]\ntemplate_board_id = "{project.board_id}"\n'
                                       'rollover_at = 50\n', encoding="utf-8")
        assert project.run("sync", "--all", "--json").exit_code in (0, 1)

    registry_writes = [(kind, module) for table, kind, module in state_writes if table in REGISTRY_TABLES]
    assert {kind for kind, _ in registry_writes} == {"insert", "update"}  # two intents, two boards
    assert {module for _, module in registry_writes} == {"state/board_registry.py"}


@pytest.fixture
def store(sqlite_url) -> Iterator[StateStore]:
    store = StateStore.from_url(sqlite_url)
    store.ensure_schema()
    yield store
    store.engine.dispose()


def _staged_row(store: StateStore, run_id: int, status: RowStatus) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.insert(store.tables.staged_items).values(
            run_id=run_id, item_key="K1", customer="GREYSON", status=status.value, attempts=0, cancelled=False))


@pytest.mark.parametrize(("start", "to"), [
    (RowStatus.DONE, RowStatus.ERROR),  # a confirmed write cannot fail afterwards
    (RowStatus.DONE, RowStatus.SENT),  # nor be sent again in its run
    (RowStatus.ERROR, RowStatus.SENT),  # a refused row is not sent again in its run
    (RowStatus.SENT, RowStatus.SENT),
])
def test_an_illegal_row_transition_raises_and_changes_nothing(store, start, to):
    run_id = store.start_run(RunKind.SYNC, "1", {})
    _staged_row(store, run_id, start)
    with pytest.raises(IllegalTransition, match=to.value), store.engine.begin() as connection:
        move_rows(connection, store.tables, run_id, store.tables.staged_items, [RowChange("K1", to)])
    with store.engine.connect() as connection:
        assert connection.execute(sa.select(store.tables.staged_items.c.status)).scalar_one() == start.value


def test_a_created_row_moves_pending_sent_done(store):
    run_id = store.start_run(RunKind.SYNC, "1", {})
    _staged_row(store, run_id, RowStatus.PENDING)
    for status in (RowStatus.SENT, RowStatus.DONE):
        with store.engine.begin() as connection:
            move_rows(connection, store.tables, run_id, store.tables.staged_items,
                      [RowChange("K1", status, monday_id="42")])
    assert store.run(run_id)["status"] == RunStatus.RUNNING.value
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(store.tables.staged_items)).mappings().one()
    assert (row["status"], row["monday_item_id"]) == (RowStatus.DONE.value, "42")


def test_a_finished_run_cannot_change_its_status(store):
    run_id = store.start_run(RunKind.SYNC, "1", {})
    store.set_run_status(run_id, RunStatus.FAILED, message="boom")
    with pytest.raises(IllegalTransition, match="run .* is FAILED: it cannot become"):
        store.set_run_status(run_id, RunStatus.COMPLETED)
    assert store.run(run_id)["status"] == RunStatus.FAILED.value
    assert not store.fail_unfinished_run(run_id, "again")  # an error after the end keeps the end


def test_a_completed_run_passes_through_each_stage(store):
    run_id = store.start_run(RunKind.SYNC, "1", {})
    with store.engine.begin() as connection:
        move_run(connection, store.tables, run_id, RunStatus.COMPLETED)
    run = store.run(run_id)
    assert run["status"] == RunStatus.COMPLETED.value
    assert run["items_completed_at"] and run["subitems_completed_at"] and run["finished_at"]


def test_no_status_or_category_literal_outside_the_enums():
    """Statuses and categories are named through their enums, never as bare strings."""
    literals = ['"PENDING"', '"SENT"', '"DONE"', '"ERROR"', '"COMPLETED"', '"FAILED"', '"RUNNING"',
                'category="', "category = \""]
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "emulator" in path.parts or path.name == "schema.py":
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(PACKAGE)}: {literal}" for literal in literals if literal in text]
    assert offenders == []
