"""Dead, locked or wrong infrastructure ends a command with a typed error, its exit code, a one-line
message with a hint and the `--json` error object — never a traceback, never a hang (issue 10,
point 10); `sample-data` never replaces a table it did not create (point 6)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from cli_project import config_file_for, run_cli
from ordersync.sample_data import orders_unified_table

BOARD = "4242"
CLOSED_API = "http://127.0.0.1:9/v2"  # nothing listens: a command that got past the database would say so


def project(directory: Path, *, state_url: str | None = None, lock_timeout: float | None = None) -> Path:
    """An ordersync.toml over 100 sample order lines in directory/ordersync.db, its state tables made."""
    source_url = f"sqlite:///{directory / 'ordersync.db'}"
    config = config_file_for(source_url, BOARD, directory / "ordersync.toml")
    text = config.read_text().replace("http://127.0.0.1:8765/v2", CLOSED_API, 1)
    state = [f'url = "{state_url}"'] if state_url else []
    if lock_timeout is not None:
        state.append(f"lock_timeout_seconds = {lock_timeout}")
    config.write_text(text.replace('table_prefix = "ordersync_"', "\n".join([*state, 'table_prefix = "ordersync_"']), 1))
    written = run_cli("--config", str(config), "sample-data", "--rows", "100", "--json")
    assert written.exit_code == 0, written.stderr
    made = run_cli("--config", str(config), "status", "--json")  # creates the state tables
    assert made.exit_code == 0, made.stderr
    return config


def ordersync(config: Path, *args: str):
    return run_cli("--config", str(config), *args, env={"MONDAY_API_TOKEN": "infrastructure-test-token"})


def typed_error(result, kind: str, exit_code: int) -> dict:
    """The command failed the way a scheduler can read: its exit code, one JSON error, no traceback."""
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "sqlalchemy" not in result.stderr.lower(), result.stderr
    error = result.json()["error"]
    assert error["type"] == kind and error["exit_code"] == exit_code, error
    assert "\n" not in error["message"] and error["hint"], error
    return error


# -- sample-data: never over a table it did not create (point 6) ----------------------------------

def _real_table(url: str, rows: int) -> None:
    """An ORDERS_UNIFIED that some loader (not sample-data) filled with real order lines."""
    engine = sa.create_engine(url)
    table = orders_unified_table(sa.MetaData())
    with engine.begin() as connection:
        table.create(connection)
        connection.execute(table.insert(), [{"AAG ORDER NUMBER": f"REAL-{number}", "CUSTOMER NAME": "ACME"}
                                            for number in range(rows)])
    engine.dispose()


def _count(url: str, table: str = "ORDERS_UNIFIED", where: str = "1 = 1") -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(sa.text(f'SELECT count(*) FROM "{table}" WHERE {where}')).scalar_one()
    engine.dispose()
    return int(found)


def test_sample_data_refuses_to_replace_a_table_it_did_not_create_unless_forced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'real.db'}"
    _real_table(url, rows=7)

    refused = run_cli("sample-data", "--url", url, "--rows", "100", "--json")
    error = typed_error(refused, "UsageError", 2)
    assert "ORDERS_UNIFIED" in error["message"] and "--force" in error["hint"]
    assert _count(url) == 7 == _count(url, where="\"AAG ORDER NUMBER\" LIKE 'REAL-%'")  # untouched
    appended = run_cli("sample-data", "--url", url, "--rows", "100", "--json")
    assert appended.exit_code == 2 and _count(url) == 7

    forced = run_cli("sample-data", "--url", url, "--rows", "100", "--force", "--json")
    assert forced.exit_code == 0, forced.stderr
    assert _count(url) == 100 and _count(url, where="\"AAG ORDER NUMBER\" LIKE 'REAL-%'") == 0


def test_sample_data_writes_its_own_table_again_but_not_one_changed_since(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'sample.db'}"
    for rows in ("100", "120"):  # the README's tour and the demo rerun it over its own table
        written = run_cli("sample-data", "--url", url, "--rows", rows, "--json")
        assert written.exit_code == 0, written.stderr
        assert _count(url) == int(rows)
    another = run_cli("sample-data", "--url", url, "--table", "OTHER_ORDERS", "--rows", "100", "--json")
    assert another.exit_code == 0 and _count(url, "OTHER_ORDERS") == 100 and _count(url) == 120

    engine = sa.create_engine(url)
    with engine.begin() as connection:  # someone loads real lines into the sample table
        connection.execute(sa.text('INSERT INTO "ORDERS_UNIFIED" ("AAG ORDER NUMBER") VALUES (\'REAL-1\')'))
    engine.dispose()
    refused = run_cli("sample-data", "--url", url, "--rows", "100", "--json")
    assert typed_error(refused, "UsageError", 2) and _count(url) == 121


# -- databases that cannot be used (point 10) -----------------------------------------------------

def test_a_locked_sqlite_state_database_ends_in_a_state_error_after_the_configured_wait(tmp_path):
    config = project(tmp_path, lock_timeout=0.3)
    holder = sqlite3.connect(tmp_path / "ordersync.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another process writing, and not letting go
        error = typed_error(ordersync(config, "sync", "--customer", "GREYSON", "--json"), "StateError", 3)
        assert "locked by another process" in error["message"] and "0.3" in error["message"]
        assert "lock_timeout_seconds" in error["hint"]
    finally:
        holder.close()
    assert ordersync(config, "plan", "--customer", "GREYSON", "--json").exit_code == 0  # free again: it works


def test_a_read_only_state_database_is_a_state_error(tmp_path):
    project(tmp_path)
    read_only = f"sqlite:///file:{tmp_path / 'ordersync.db'}?mode=ro&uri=true"  # as an immutable file opens
    config = config_file_for(read_only, BOARD, tmp_path / "read-only.toml")
    error = typed_error(ordersync(config, "plan", "--customer", "GREYSON", "--json"), "StateError", 3)
    assert "read-only" in error["message"]
    assert ordersync(config, "status", "--json").exit_code == 0  # reading it still works


def test_a_full_state_database_is_a_state_error(tmp_path):
    config = project(tmp_path)
    path = str(tmp_path / "ordersync.db")

    def no_room_to_grow(dbapi_connection, _record) -> None:  # as a full disk answers every write that grows
        files = [row[2] for row in dbapi_connection.execute("PRAGMA database_list")]
        if path in files:
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    sa.event.listen(sa.pool.Pool, "connect", no_room_to_grow)
    try:
        error = typed_error(ordersync(config, "plan", "--customer", "GREYSON", "--json"), "StateError", 3)
    finally:
        sa.event.remove(sa.pool.Pool, "connect", no_room_to_grow)
    assert "full" in error["message"] and "disk" in error["hint"]


def test_sample_data_to_a_database_that_does_not_exist_is_a_source_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = f"sqlite:///{tmp_path / 'no-such-folder' / 'orders.db'}"
    error = typed_error(run_cli("sample-data", "--url", missing, "--rows", "100", "--json"), "SourceError", 3)
    assert "no-such-folder" in error["message"]


@pytest.mark.postgres
def test_sample_data_to_a_postgresql_database_that_does_not_exist_is_a_source_error(
        tmp_path, monkeypatch, postgres_server_url):
    monkeypatch.chdir(tmp_path)
    missing = postgres_server_url.rsplit("/", 1)[0] + "/ordersync_no_such_database"
    error = typed_error(run_cli("sample-data", "--url", missing, "--rows", "100", "--json"), "SourceError", 3)
    assert "ordersync_no_such_database" in error["message"] and "does not exist" in error["message"]
    assert "createdb" in error["hint"]


@pytest.mark.postgres
@pytest.mark.timeout(120)  # before the fix both commands waited forever
def test_a_postgresql_lock_on_a_state_table_ends_status_and_sync_with_a_state_error(tmp_path, postgres_url):
    config = project(tmp_path, state_url=postgres_url, lock_timeout=0.3)
    holder = sa.create_engine(postgres_url).connect()
    try:
        holder.execute(sa.text("LOCK TABLE ordersync_runs, ordersync_locks, ordersync_meta IN ACCESS EXCLUSIVE MODE"))
        for command in (("status", "--json"), ("sync", "--customer", "GREYSON", "--json")):
            error = typed_error(ordersync(config, *command), "StateError", 3)
            assert "locked by another" in error["message"] and "lock_timeout_seconds" in error["hint"], command
    finally:
        holder.rollback()
        holder.close()
        holder.engine.dispose()
    assert ordersync(config, "status", "--json").exit_code == 0


# -- the config file ----------------------------------------------------------------------------

def test_a_config_path_that_is_a_folder_is_a_config_error(tmp_path):
    error = typed_error(run_cli("--config", str(tmp_path), "status", "--json"), "ConfigError", 2)
    assert str(tmp_path) in error["message"] and "folder" in error["message"]


def test_a_config_saved_with_a_byte_order_mark_loads(tmp_path):
    config = project(tmp_path)
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())  # as editors on Windows save it
    shown = ordersync(config, "status", "--json")
    assert shown.exit_code == 0, shown.stdout + shown.stderr
    assert shown.json()["board_id"] == BOARD


def test_a_config_that_is_not_utf8_names_the_file_and_the_line(tmp_path):
    config = config_file_for(f"sqlite:///{tmp_path / 'ordersync.db'}", BOARD, tmp_path / "ordersync.toml")
    text = config.read_bytes()
    config.write_bytes(text.replace(b'"GREYSON"', b'"GR\xc9YSON"', 1))  # saved as Latin-1
    line = text[:text.index(b'"GREYSON"')].count(b"\n") + 1
    error = typed_error(run_cli("--config", str(config), "status", "--json"), "ConfigError", 2)
    assert str(config) in error["message"] and f"line {line}" in error["message"] and "UTF-8" in error["message"]
