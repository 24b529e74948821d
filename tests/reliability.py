"""A project for the reliability tests: a Monday emulator served over HTTP by the test process, a
SQLite source and state next to an ordersync.toml, and real `ordersync` processes — the installed
console script — that can be killed, run side by side, and rerun.

The emulator lives in the test process, so it outlives every client process killed under it;
the board is always read back through the API and compared with the source (`reconcile`).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from ordersync.config import Config, parse_config
from ordersync.engine.filters import Filters
from ordersync.engine.pipeline import Databases
from ordersync.monday.board_setup import create_demo_board
from ordersync.monday.connect import make_client
from ordersync.ops.reconcile import Drift, compare, expected_items, read_board
from ordersync.sample_data import SAMPLE_CUSTOMERS, SIZE_COLUMNS
from ordersync.sample_data.config import sample_config_text
from ordersync.state import IntentStatus, StateStore

ORDERSYNC = Path(sys.executable).with_name("ordersync")
TOKEN = "reliability-token-7a2c"
TABLE = "ORDERS_UNIFIED"


@dataclass
class Finished:
    """An ordersync process that ended: by itself (its exit code) or by a signal (negative code)."""

    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class ProcessProject:
    directory: Path
    base_url: str
    board_id: str = ""
    monday: dict[str, Any] = field(default_factory=dict)  # extra [monday] keys for the config
    token: str = TOKEN

    @property
    def source_url(self) -> str:
        return f"sqlite:///{self.directory / 'ordersync.db'}"

    @property
    def config_path(self) -> Path:
        return self.directory / "ordersync.toml"

    @property
    def env(self) -> dict[str, str]:
        environment = {key: value for key, value in os.environ.items() if key != "ORDERSYNC_CONFIG"}
        return {**environment, "MONDAY_API_TOKEN": self.token}

    # -- the board and the config ----------------------------------------------------------------
    def config_text(self, board_id: str) -> str:
        text = sample_config_text(source_url="sqlite:///ordersync.db", board_id=board_id)
        text = text.replace('api_url = "http://127.0.0.1:8765/v2"', f'api_url = "{self.base_url}/v2"', 1)
        for key, value in self.monday.items():
            line = f"{key} = {json.dumps(value)}"
            text, replaced = re.subn(rf"(?m)^{key} = .*$", line, text, count=1)
            if not replaced:
                text = text.replace("[monday]\n", f"[monday]\n{line}\n", 1)
        return text

    def config(self) -> Config:
        return parse_config(self.config_path.read_text(encoding="utf-8"), base_dir=self.directory)

    def new_board(self) -> str:
        """A fresh demo board (its setup not slowed by injected latency), and the config pointed at it."""
        latency = self.emulator_config()["faults"]["latency_ms"]
        self.set_faults(latency_ms=0)
        try:
            self.board_id = asyncio.run(self._create_board())
        finally:
            self.set_faults(latency_ms=latency)
        self.config_path.write_text(self.config_text(self.board_id), encoding="utf-8")
        return self.board_id

    async def _create_board(self) -> str:
        config = parse_config(self.config_text("1"))
        async with httpx.AsyncClient(timeout=60) as http:
            return await create_demo_board(make_client(config, http, SecretStr(self.token)),
                                           customers=[customer.name for customer in SAMPLE_CUSTOMERS])

    def emulator_config(self) -> dict[str, Any]:
        return httpx.get(f"{self.base_url}/emulator/config", timeout=30).json()

    def set_faults(self, **faults: Any) -> None:
        httpx.patch(f"{self.base_url}/emulator/config", json={"faults": faults}, timeout=30).raise_for_status()

    def mutations_received(self) -> int:
        """Mutations the emulator has counted in its current window (make the window long to count them all)."""
        usage = httpx.get(f"{self.base_url}/emulator/stats", timeout=30).json()["usage"]
        return int(sum(account["mutations_in_window"] for account in usage.values()))

    # -- ordersync processes ---------------------------------------------------------------------
    def command(self, *args: str) -> list[str]:
        return [str(ORDERSYNC), "--config", str(self.config_path), *args]

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), cwd=self.directory, env={**self.env, **(env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> Finished:
        done = subprocess.run(self.command(*args), cwd=self.directory, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)
        return Finished(done.returncode, done.stdout, done.stderr)

    @staticmethod
    def finish(process: subprocess.Popen, timeout: float = 300) -> Finished:
        stdout, stderr = process.communicate(timeout=timeout)
        return Finished(process.returncode, stdout, stderr)

    # -- what is on the board, and in the state tables ------------------------------------------
    def drift(self, filters: Filters | None = None) -> Drift:
        config = self.config()
        databases = Databases.open(config)
        try:
            expected = expected_items(config, databases, filters)
        finally:
            databases.close()
        return compare(config, expected, asyncio.run(self._board(config)))

    async def _board(self, config: Config):
        async with httpx.AsyncClient(timeout=60) as http:
            return await read_board(make_client(config, http, SecretStr(self.token)), self.board_id,
                                    key_column=config.monday.key_column,
                                    quantity_column=config.subitems.quantity_column)

    def store(self) -> StateStore:
        return StateStore.from_url(self.source_url)

    def open_intents(self) -> int:
        store = self.store()
        intents = store.tables.write_intents
        try:
            with store.engine.connect() as connection:
                return connection.execute(sa.select(sa.func.count()).select_from(intents).where(
                    intents.c.board_id == self.board_id, intents.c.status == IntentStatus.OPEN.value)).scalar_one()
        finally:
            store.engine.dispose()

    def lock_holders(self) -> list[str]:
        store = self.store()
        locks = store.tables.locks
        try:
            with store.engine.connect() as connection:
                if not sa.inspect(connection).has_table(locks.name):
                    return []
                return list(connection.execute(sa.select(locks.c.owner).where(
                    locks.c.board_id == self.board_id)).scalars())
        finally:
            store.engine.dispose()

    def runs(self) -> list[dict[str, Any]]:
        """This board's runs, oldest first."""
        store = self.store()
        runs = store.tables.runs
        try:
            with store.engine.connect() as connection:
                if not sa.inspect(connection).has_table(runs.name):
                    return []
                return [dict(row) for row in connection.execute(
                    sa.select(runs).where(runs.c.board_id == self.board_id).order_by(runs.c.run_id)).mappings()]
        finally:
            store.engine.dispose()


def assert_board_equals_source(project: ProcessProject, filters: Filters | None = None) -> Drift:
    drift = project.drift(filters)
    assert drift.clean, {name: found[:5] for name, found in drift.findings.items() if found}
    assert (drift.board_items, drift.board_subitems) == (drift.source_items, drift.source_subitems)
    assert drift.source_items > 0
    return drift


def edit_source(url: str, rng: random.Random, *, changed: float = 0.2, removed: float = 0.08) -> None:
    """The warehouse moves on: lines removed by the last edit come back (creates), a share of the
    others is removed (archives), and a share gets one more piece of its first ordered size
    (an item update and a subitem update each)."""
    engine = sa.create_engine(url)
    table = sa.Table(TABLE, sa.MetaData(), autoload_with=engine)
    parked = sa.Table("parked_order_lines", sa.MetaData(), *(sa.Column(column.name, column.type) for column in table.columns))
    sizes = [name for name in SIZE_COLUMNS if name in table.c]
    with engine.begin() as connection:
        if sa.inspect(connection).has_table(parked.name):
            connection.execute(sa.insert(table).from_select([c.name for c in parked.columns], sa.select(parked)))
            parked.drop(connection)
        uuids = sorted(connection.execute(sa.select(table.c.record_uuid)).scalars())
        chosen = rng.sample(uuids, int(len(uuids) * (changed + removed)))
        removing, changing = chosen[:int(len(uuids) * removed)], chosen[int(len(uuids) * removed):]
        parked.create(connection)
        connection.execute(sa.insert(parked).from_select(
            [c.name for c in table.columns], sa.select(table).where(table.c.record_uuid.in_(removing))))
        connection.execute(sa.delete(table).where(table.c.record_uuid.in_(removing)))
        for row in connection.execute(sa.select(table.c.record_uuid, table.c["TOTAL QTY"], *(table.c[size] for size in sizes))
                                      .where(table.c.record_uuid.in_(changing))).mappings().all():
            size = next((name for name in sizes if (row[name] or 0) > 0), None)
            if size is None:
                continue
            connection.execute(sa.update(table).where(table.c.record_uuid == row["record_uuid"]).values(
                {size: row[size] + 1, "TOTAL QTY": (row["TOTAL QTY"] or 0) + 1}))
    engine.dispose()
