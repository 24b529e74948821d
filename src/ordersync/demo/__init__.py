"""`ordersync demo`: the main job end to end on the embedded defaults.

Sample order lines into SQLite → a local Monday emulator (over real HTTP) → a board shaped like
the real Customer Master Schedule → a sync of every customer → the board read back through the
API and compared with the source. Everything lands in one folder (default `.ordersync/demo`):
the SQLite database, the emulator's board file, the token file and an `ordersync.toml` that
points at them, so every other command can be tried on the demo afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from ordersync.config import Config, parse_config
from ordersync.emulator import EmulatorSettings, running_emulator
from ordersync.engine.apply import Progress
from ordersync.engine.clients import client_for, token_budget
from ordersync.engine.filters import Filters
from ordersync.engine.pipeline import Databases
from ordersync.engine.sync import SyncOptions, SyncResult, sync_async
from ordersync.monday.board_setup import create_demo_board
from ordersync.ops.reconcile import Drift, compare, expected_items, read_board
from ordersync.sample_data import SAMPLE_CUSTOMERS, write_sample_data
from ordersync.sample_data.config import sample_config_text

DEFAULT_DIRECTORY = Path(".ordersync") / "demo"
DEFAULT_PORT = 8765


@dataclass
class DemoOptions:
    directory: Path = DEFAULT_DIRECTORY
    rows: int = 3000
    seed: int = 4755
    port: int = DEFAULT_PORT
    speedup: float = 20.0  # Monday's per-minute limits, run in a window this many times shorter


@dataclass
class DemoResult:
    config_path: Path
    base_url: str
    board_id: str
    sync: SyncResult
    drift: Drift
    source: dict[str, int]
    emulator: dict[str, Any] = field(default_factory=dict)

    @property
    def board_url(self) -> str:
        return f"{self.base_url}/boards/{self.board_id}"

    def as_dict(self) -> dict[str, Any]:
        summary = self.sync.as_dict()
        return {
            "run_id": summary["run_id"], "status": summary["status"], "board_id": self.board_id,
            "board_url": self.board_url, "totals": summary["totals"], "customers": summary["customers"],
            "board": {"items": self.drift.board_items, "subitems": self.drift.board_subitems},
            "source": self.source,
            "board_equals_source": self.drift.clean,
            "drift": {name: len(found) for name, found in self.drift.findings.items() if found},
            "api": summary["api"], "emulator": self.emulator, "config": str(self.config_path),
        }


def _free_port(preferred: int) -> int:
    """The preferred port if nothing listens there, else any free one."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return 0


def demo_emulator_settings(token: str, directory: Path, speedup: float) -> EmulatorSettings:
    """Monday's documented Pro-plan limits, with every per-minute window `speedup` times shorter."""
    return EmulatorSettings(tokens=[token], window_seconds=60.0 / speedup, db_path=directory / "emulator.db")


def demo_config(directory: Path, base_url: str, board_id: str) -> Config:
    """Write the demo's ordersync.toml (the sample config aimed at this database and board) and load it."""
    text = sample_config_text(source_url="sqlite:///ordersync.db", board_id=board_id)
    text = text.replace('api_url = "http://127.0.0.1:8765/v2"', f'api_url = "{base_url}/v2"', 1)
    text = text.replace('# token_file = "~/.config/ordersync/token"', 'token_file = "token"', 1)
    path = directory / "ordersync.toml"
    path.write_text(text, encoding="utf-8")
    return parse_config(text, origin=str(path), base_dir=directory.resolve())


def _fresh_directory(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("ordersync.db", "ordersync.db-wal", "ordersync.db-shm", "emulator.db", "ordersync.toml"):
        (directory / name).unlink(missing_ok=True)


def _token(directory: Path) -> SecretStr:
    """A fresh random token for this demo's emulator, kept in a file only its owner can read."""
    value = secrets.token_urlsafe(24)
    path = directory / "token"
    path.write_text(value + "\n", encoding="utf-8")
    os.chmod(path, 0o600)
    return SecretStr(value)


@contextlib.contextmanager
def demo_emulator(options: DemoOptions, token: SecretStr) -> Iterator[str]:
    settings = demo_emulator_settings(token.get_secret_value(), options.directory, options.speedup)
    with running_emulator(settings, port=_free_port(options.port)) as base_url:
        yield base_url


async def run_demo_against(options: DemoOptions, base_url: str, token: SecretStr,
                           on_progress: Callable[[Progress], None] | None = None) -> DemoResult:
    """Everything after the emulator is up: board, config, sync, read-back."""
    source = write_sample_data(f"sqlite:///{options.directory / 'ordersync.db'}", rows=options.rows,
                               seed=options.seed)
    async with httpx.AsyncClient(timeout=60) as http:
        bootstrap = demo_config(options.directory, base_url, "1")
        databases = Databases.open(bootstrap)
        try:  # every client on the token's one budget, as a sync's (engine/clients.py)
            budget = token_budget(bootstrap, databases.state, token)
            board_id = await create_demo_board(client_for(bootstrap, http, token, databases.state, budget=budget),
                                               customers=[customer.name for customer in SAMPLE_CUSTOMERS])
            config = demo_config(options.directory, base_url, board_id)
            result = await sync_async(config, SyncOptions(all_customers=True), http=http, token=token,
                                      budget=budget, on_progress=on_progress)
            board = await read_board(client_for(config, http, token, databases.state, budget=budget), board_id,
                                     key_column=config.monday.key_column,
                                     quantity_column=config.subitems.quantity_column)
            expected = expected_items(config, databases, Filters())
        finally:
            databases.close()
        stats = (await http.get(f"{base_url}/emulator/stats")).json()
        stats.pop("usage", None)  # keyed by token: not something to print
    return DemoResult(
        config_path=options.directory / "ordersync.toml", base_url=base_url, board_id=board_id, sync=result,
        drift=compare(config, expected, board),
        source={"order_lines": source.rows, "size_pairs": source.size_pairs, "bad_rows": source.bad_rows},
        emulator=stats,
    )


def run_demo(options: DemoOptions, *, serve: Callable[[DemoResult], None] | None = None,
             on_progress: Callable[[Progress], None] | None = None) -> DemoResult:
    """Run the demo; `serve(result)` is called while the emulator still runs (the CLI waits there for Ctrl-C)."""
    _fresh_directory(options.directory)
    token = _token(options.directory)
    with demo_emulator(options, token) as base_url:
        result = asyncio.run(run_demo_against(options, base_url, token, on_progress))
        if serve:
            serve(result)
    return result
