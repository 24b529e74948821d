"""Board conflicts (issue 13) are recorded once per change, even when a sync's adopt and the webhook
receiver — two processes — record the same edit at the same moment: `Conflicts.record` checks and
inserts holding the table's write lock, so the second sees the first's row."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
import sqlalchemy as sa

from ordersync.state import StateStore
from ordersync.state.conflicts import Conflict, Conflicts


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    made = StateStore.from_url(url, "conflict_test_")
    made.ensure_schema()
    yield made
    made.engine.dispose()


def edit(changed_at: datetime | None) -> Conflict:
    return Conflict("PO-1 | OCEAN | ST-1", "101", "text_pattern", "keep", "A", "B", '"B"', "71000001" if changed_at
                    else None, changed_at)


def test_a_change_recorded_by_two_writers_at_once_is_one_conflict(store):
    conflicts = Conflicts(store.tables, "1")
    first = store.engine.connect()
    transaction = first.begin()
    assert conflicts.record(first, edit(datetime(2026, 12, 3, 12, 0, 0)))  # the receiver: dated, not committed
    second_recorded: list[bool] = []

    def adopt() -> None:  # a sync meets the same value on the board, undated
        with store.engine.begin() as connection:
            second_recorded.append(conflicts.record(connection, edit(None)))

    thread = threading.Thread(target=adopt)
    thread.start()
    thread.join(0.5)  # it reads (and, holding no lock, would decide to insert) while the first is open
    transaction.commit()
    first.close()
    thread.join(30)
    assert second_recorded == [False]
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(store.tables.board_conflicts.c.changed_at)).all()
    assert [row.changed_at for row in rows] == [datetime(2026, 12, 3, 12, 0, 0)]
