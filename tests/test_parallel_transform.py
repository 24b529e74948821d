"""The transform in worker processes (`engine.parallel`): a run that reads every line stages exactly what one
process reading alone stages — the same rows, numbers, row errors and duplicate keys — on SQLite and
PostgreSQL; a worker that dies fails the run with a typed error; a killed run leaves no worker behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersync.config import parse_config
from ordersync.engine.filters import Filters
from ordersync.engine.parallel import transform_processes
from ordersync.engine.pipeline import Databases, discard_staged_rows, prepare
from ordersync.errors import SourceError
from ordersync.sample_data import write_sample_data
from ordersync.sample_data.config import sample_config_text
from ordersync.state import RunKind, RunStatus


def config_with(url: str, processes: int | str):
    text = sample_config_text(source_url=url).replace("[source]\n", f"[source]\ntransform_processes = {processes!r}\n"
                                                      .replace("'", '"'), 1)
    config = parse_config(text, origin="the test config")
    assert config.source.transform_processes == processes
    return config


def staged(url: str, processes: int | str, *, progress=None, full: bool = False) -> dict[str, list[tuple]]:
    """Every row a first-time prepare stages and records, but the run's id."""
    config = config_with(url, processes)
    databases = Databases.open(config)
    try:
        prepared = prepare(config, databases, Filters(), kind=RunKind.PLAN, progress=progress, full=full)
        databases.state.set_run_status(prepared.run_id, RunStatus.PLANNED)
        tables = databases.state.tables
        rows = {}
        with databases.state.engine.connect() as connection:
            for name, table, order in (
                    ("items", tables.staged_items, ("source_row", "item_key")),
                    ("subitems", tables.staged_subitems, ("item_key", "size")),
                    ("errors", tables.errors, ("source_row", "item_key", "message"))):
                columns = [column for column in table.columns if column.name not in ("run_id", "error_id", "created_at")]
                rows[name] = [tuple(row) for row in connection.execute(
                    sa.select(*columns).where(table.c.run_id == prepared.run_id).order_by(*(table.c[o] for o in order)))]
        discard_staged_rows(databases.state, prepared.run_id)
        return rows
    finally:
        databases.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sample_url(request, tmp_path):
    url = request.getfixturevalue("sqlite_url") if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    write_sample_data(url, rows=3000, seed=11, force=True)
    return url


def test_worker_processes_stage_exactly_what_one_process_stages(sample_url):
    alone = staged(sample_url, 1)
    shared = staged(sample_url, 3)
    assert len(alone["items"]) > 2900 and len(alone["subitems"]) > 9000
    assert any("duplicate business key" in str(row) for row in alone["errors"])
    assert any("is negative" in str(row) or "not a number" in str(row) for row in alone["errors"])
    for name in ("items", "subitems", "errors"):
        assert shared[name] == alone[name], name
    assert staged(sample_url, 2, full=True) == alone


def test_a_line_holding_a_blob_leaves_the_workers_lines_without_a_fingerprint(sqlite_url):
    """SQLite's json_array refuses a blob: the key read then fingerprints every line in Python, and the worker
    that meets the blob its own lines — not the other workers, which fingerprinted theirs in SQL. Their lines
    are staged as one process stages them but with no fingerprint: the next run reads them all again (a
    fingerprint read again now would be newer than the values staged, and a line changed in between would
    pass for unchanged). One process, its key read before its values, records them all."""
    write_sample_data(sqlite_url, rows=3000, seed=11, force=True)
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql('UPDATE "ORDERS_UNIFIED" SET "CUSTOMER COLOUR DESCRIPTION" = x\'00ff\' '
                                   'WHERE rowid = 7')
    engine.dispose()
    alone, shared = staged(sqlite_url, 1), staged(sqlite_url, 2)
    assert [row[:-1] for row in shared["items"]] == [row[:-1] for row in alone["items"]]
    assert (shared["subitems"], shared["errors"]) == (alone["subitems"], alone["errors"])
    assert len(alone["items"]) > 2900 and all(row[-1] for row in alone["items"])
    assert not any(row[-1] for row in shared["items"])


def test_a_worker_that_dies_fails_the_run_with_a_typed_error(sqlite_url):
    write_sample_data(sqlite_url, rows=10_000, seed=11, force=True)

    def kill_a_worker(lines: int) -> None:
        for child in multiprocessing.active_children():
            if child.name.startswith("ordersync-transform-"):
                os.kill(child.pid, signal.SIGKILL)

    with pytest.raises(SourceError, match="ordersync-transform-.* ended"):
        staged(sqlite_url, 2, progress=kill_a_worker)


def test_a_killed_run_leaves_no_worker_behind(tmp_path):
    url = f"sqlite:///{tmp_path / 'ordersync.db'}"
    write_sample_data(url, rows=5_000, seed=11, force=True)
    config = tmp_path / "ordersync.toml"
    config.write_text(sample_config_text(source_url=url).replace("[source]\n", "[source]\ntransform_processes = 2\n", 1))
    command = [str(Path(sys.executable).with_name("ordersync")), "--config", str(config), "plan"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "ORDERSYNC_LOG_LEVEL": "INFO"})
    workers = _wait_for_children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "a transform process outlived the run that started it"


def _wait_for_children(pid: int) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
                    for child in (task / "children").read_text().split()]
        named = [child for child in children if "ordersync-transform" in _command_line(child)
                 or "multiprocessing" in _command_line(child)]
        if len(named) >= 2:
            return named
        time.sleep(0.05)
    raise AssertionError("the run started no transform process")


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _processes_for_a_million_lines(url: str) -> int:
    return transform_processes(config_with(url, "auto"), sa.create_engine(url).dialect, 1_000_000)


def test_a_daemon_process_transforms_in_itself_and_auto_uses_the_cores(sqlite_url):
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # a Pool's workers are daemons: they may start none
        assert pool.apply(_processes_for_a_million_lines, (sqlite_url,)) == 1
    assert _processes_for_a_million_lines(sqlite_url) == min(os.cpu_count() or 1, 4)
    assert transform_processes(config_with(sqlite_url, "auto"), sa.create_engine(sqlite_url).dialect, 19_999) == 1


def test_the_share_of_a_line_is_hashed_by_the_database_on_postgresql_and_sql_server(sqlite_url):
    """Compiled, not run, for SQL Server: a hash of the business-key columns modulo the shares (CHECKSUM is
    fine here, unlike for fingerprints: a collision only puts two keys in one share)."""
    from sqlalchemy.dialects import mssql, postgresql

    from ordersync.engine.parallel import share_filter
    from ordersync.engine.source import SourceTable

    config = config_with(sqlite_url, 2)
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), *(sa.Column(name, sa.Unicode(40))
                                                        for name in config.source.business_key))
    source = SourceTable(table=table, columns=tuple(config.source.business_key), size_columns=())
    on_sql_server = str(share_filter(source, config, mssql.dialect(), 1, 3).compile(
        dialect=mssql.dialect(), compile_kwargs={"literal_binds": True}))
    assert on_sql_server.startswith("abs(CAST(checksum([ORDERS_UNIFIED].[AAG ORDER NUMBER], ") and \
        on_sql_server.endswith("AS BIGINT)) % 3 = 1")
    on_postgresql = str(share_filter(source, config, postgresql.dialect(), 0, 2).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})).replace("%%", "%")
    assert on_postgresql.startswith("abs(CAST(hashtext(concat_ws(chr(31), CAST(") and on_postgresql.endswith(" % 2 = 0")
