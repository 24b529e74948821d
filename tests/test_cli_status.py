"""`ordersync status`: the real state of the board's sync, read from the state tables."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest
import sqlalchemy as sa

from cli_project import config_file_for, run_cli
from ordersync.state import IntentOperation, IntentStatus, RunKind, StateStore, utcnow
from ordersync.state.lock import acquire_lock
from sync_world import make_world
from test_report import ON_HOLD


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A state database after one sync of 150 order lines in which one GREYSON line was refused."""
    directory = tmp_path_factory.mktemp("status")
    url = f"sqlite:///{directory / 'ordersync.db'}"

    async def one_sync() -> tuple[str, int]:
        async with make_world(url, rows=150) as world:
            world.execute(ON_HOLD)
            result = await world.sync()
            return world.board_id, result.run_id

    board_id, run_id = asyncio.run(one_sync())
    return config_file_for(url, board_id, directory / "ordersync.toml"), url, board_id, run_id


def status(config, *args: str):
    return run_cli("--config", str(config), "status", *args)


def test_status_before_any_run_says_so(tmp_path):
    run_cli("init", str(tmp_path / "ordersync.toml"), "--source-url", f"sqlite:///{tmp_path / 'o.db'}")
    shown = status(tmp_path / "ordersync.toml", "--json")
    assert shown.exit_code == 0, shown.stderr
    result = shown.json()
    assert result["runs"] == [] and result["running"] == [] and result["last_sync"] is None
    assert result["lock"] is None and result["open_write_intents"]["count"] == 0
    printed = status(tmp_path / "ordersync.toml")
    assert printed.exit_code == 0 and "no runs yet" in printed.stdout and "lock: free" in printed.stdout


def test_status_shows_the_last_sync_and_per_customer_rows_on_the_board_pending_and_failed(synced):
    config, url, board_id, run_id = synced
    shown = status(config, "--json")
    assert shown.exit_code == 0, shown.stderr
    result = shown.json()
    assert result["board_id"] == board_id
    assert result["last_sync"]["run_id"] == run_id and result["last_sync"]["status"] == "COMPLETED"  # with one refused line
    assert [run["run_id"] for run in result["runs"]] == [run_id]
    assert result["runs"][0]["items"]["failed"] == 1
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        on_board = dict(connection.execute(sa.text(
            "SELECT customer, count(*) FROM ordersync_synced_items GROUP BY customer")).all())
    engine.dispose()
    assert {name: counts["synced_items"] for name, counts in result["customers"].items()} == on_board
    assert result["customers"]["GREYSON"]["failed"] > 1  # the refused line and its sizes
    assert sum(counts["failed"] for name, counts in result["customers"].items() if name != "GREYSON") == 0
    assert result["totals"]["pending"] == 0
    assert result["totals"]["synced_subitems"] > result["totals"]["synced_items"]


def test_status_for_one_customer_by_alias(synced):
    config, *_ = synced
    result = status(config, "--customer", "greyson clothiers", "--json").json()
    assert list(result["customers"]) == ["GREYSON"]


def test_status_shows_a_run_in_progress_its_lock_and_open_write_intents(synced, tmp_path):
    config, url, board_id, _ = synced
    store = StateStore.from_url(url)
    lock = asyncio.run(acquire_lock(store, board_id))
    run_id = store.start_run(RunKind.SYNC, board_id, {"customers": ["GREYSON"]})
    try:
        lock.attach_run(run_id)
        store.record_progress(run_id, {"total": 400, "done": 120, "customer": "GREYSON", "phase": "create items"})
        with store.engine.begin() as connection:
            connection.execute(sa.insert(store.tables.write_intents).values(
                run_id=run_id, board_id=board_id, operation=IntentOperation.CREATE_ITEM.value, item_key="K-1",
                status=IntentStatus.OPEN.value, created_at=utcnow()))
        result = status(config, "--json").json()
        assert result["lock"]["run_id"] == run_id and result["lock"]["holder_gone"] is False
        assert result["lock"]["owner"].startswith(f"{socket.gethostname()}:{os.getpid()}:")
        [running] = result["running"]
        assert running["run_id"] == run_id
        assert running["progress"] == {"total": 400, "done": 120, "customer": "GREYSON", "phase": "create items"}
        assert result["open_write_intents"]["count"] == 1
        assert result["open_write_intents"]["oldest"][0]["item_key"] == "K-1"
        printed = status(config)
        assert printed.exit_code == 0
        assert f"lock: held by {result['lock']['owner']} (run {run_id})" in printed.stdout
        assert "120/400 operations" in printed.stdout and "open write intents: 1" in printed.stdout
    finally:
        lock.release()
        with store.engine.begin() as connection:
            connection.execute(sa.delete(store.tables.write_intents).where(
                store.tables.write_intents.c.run_id == run_id))
            connection.execute(sa.delete(store.tables.runs).where(store.tables.runs.c.run_id == run_id))
        store.engine.dispose()


def test_status_with_a_config_mistake_exits_2(tmp_path):
    (tmp_path / "ordersync.toml").write_text("[monday]\nboard_id = \"not a number\"\n")
    shown = status(tmp_path / "ordersync.toml", "--json")
    assert shown.exit_code == 2 and shown.json()["error"]["type"] == "ConfigError"
    assert "monday.board_id" in shown.stderr


def test_status_exits_3_when_the_state_database_cannot_be_reached(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket closes
    (tmp_path / "ordersync.toml").write_text(
        f'[source]\nurl = "postgresql+psycopg://nobody@127.0.0.1:{port}/orders?connect_timeout=2"\n')
    shown = status(tmp_path / "ordersync.toml", "--json")
    assert shown.exit_code == 3, shown.stderr
    assert "cannot reach the state database" in shown.stderr
