"""A source database, an in-process Monday emulator with a demo board, and ordersync between them.

Tests drive real syncs through `World.sync` and compare the board, read back through the API,
with the source (`World.drift`).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from ordersync.config import Config, parse_config
from ordersync.emulator import EmulatorSettings, create_app
from ordersync.engine.filters import Filters
from ordersync.engine.pipeline import Databases
from ordersync.engine.sync import SyncOptions, SyncResult, sync_async
from ordersync.monday.board_setup import create_demo_board
from ordersync.monday.client import MondayClient
from ordersync.monday.connect import make_client
from ordersync.ops.reconcile import BoardItem, Drift, compare, expected_items, read_board
from ordersync.sample_data import SAMPLE_CUSTOMERS, write_sample_data
from ordersync.sample_data.config import sample_config_text

TOKEN = "test-token-4b1d"
API_URL = "http://emulator.test/v2"


def reports_directory(source_url: str) -> Path:
    """Reports land next to a test's SQLite file, never in the work tree. A PostgreSQL source's go to a
    temporary folder named after its database: one per test session (one per xdist worker), so two
    workers' run 1 never write the same folder."""
    if source_url.startswith("sqlite:///"):
        return Path(source_url.removeprefix("sqlite:///")).parent / "reports"
    return Path(tempfile.gettempdir()) / "ordersync-test-reports" / source_url.rsplit("/", 1)[-1]


def world_config(source_url: str, board_id: str, **overrides: Any) -> Config:
    """The sample config pointed at the test source and board; `section__key=value` overrides a key."""
    text = sample_config_text(source_url=source_url, board_id=board_id)
    config = parse_config(text.replace('api_url = "http://127.0.0.1:8765/v2"', f'api_url = "{API_URL}"', 1))
    sections: dict[str, dict[str, Any]] = {"monday": {"max_backoff_seconds": 0.1},  # tests need no long waits
                                           "reports": {"directory": str(reports_directory(source_url))}}
    for key, value in overrides.items():
        section, name = key.split("__")
        sections.setdefault(section, {})[name] = value
    updates = {section: getattr(config, section).model_copy(update=values) for section, values in sections.items()}
    return config.model_copy(update=updates)


@dataclass
class World:
    source_url: str
    settings: EmulatorSettings
    app: Any
    http: httpx.AsyncClient
    board_id: str = ""
    config: Config = field(default=None)  # type: ignore[assignment]

    @property
    def token(self) -> SecretStr:
        return SecretStr(TOKEN)

    def client(self) -> MondayClient:
        return make_client(self.config, self.http, self.token)

    async def sync(self, **options: Any) -> SyncResult:
        options.setdefault("all_customers", True)
        return await sync_async(self.config, SyncOptions(**options), http=self.http, token=self.token)

    async def board(self) -> list[BoardItem]:
        return await read_board(self.client(), self.board_id, key_column=self.config.monday.key_column,
                                quantity_column=self.config.subitems.quantity_column)

    async def drift(self, filters: Filters | None = None) -> Drift:
        databases = Databases.open(self.config)
        try:
            expected = expected_items(self.config, databases, filters)
        finally:
            databases.close()
        return compare(self.config, expected, await self.board())

    def execute(self, sql: str, **params: Any) -> int:
        """Edit the source table (the tests' stand-in for the warehouse changing)."""
        engine = sa.create_engine(self.source_url)
        with engine.begin() as connection:
            count = connection.execute(sa.text(sql), params).rowcount
        engine.dispose()
        return count

    def query(self, sql: str, **params: Any) -> list[tuple]:
        engine = sa.create_engine(self.source_url)
        with engine.connect() as connection:
            rows = [tuple(row) for row in connection.execute(sa.text(sql), params)]
        engine.dispose()
        return rows

    def reconfigure(self, **overrides: Any) -> None:
        self.config = world_config(self.source_url, self.board_id, **overrides)


@contextlib.asynccontextmanager
async def make_world(source_url: str, *, rows: int = 300, settings: EmulatorSettings | None = None,
                     **overrides: Any):
    settings = settings or EmulatorSettings(tokens=[TOKEN], complexity_budget=1_000_000_000,
                                            mutations_per_window=1_000_000, requests_per_minute=1_000_000)
    write_sample_data(source_url, rows=rows)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=60) as http:
        world = World(source_url, settings, app, http)
        world.config = world_config(source_url, "1", **overrides)
        board_id = await create_demo_board(world.client(), customers=[c.name for c in SAMPLE_CUSTOMERS])
        world.board_id = board_id
        world.reconfigure(**overrides)
        yield world


class SimulatedCrash(BaseException):
    """Stops a sync the way a kill would: not an Exception, so nothing in ordersync catches it."""


def crash_at(point: str, nth: int = 1) -> Iterator[None] | Any:
    """A checkpoint hook that raises SimulatedCrash the nth time `point` is reached."""
    seen = {"count": 0}

    def hook(name: str) -> None:
        if name == point:
            seen["count"] += 1
            if seen["count"] == nth:
                raise SimulatedCrash(f"{point} #{nth}")

    return hook
