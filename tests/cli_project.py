"""A project folder a person would have: ordersync.toml, a SQLite source with sample orders, and a
Monday emulator serving a demo board over loopback HTTP — so tests run the real `ordersync`
entry point (`ordersync.cli.main`) exactly as typed at a prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from ordersync.cli import main
from ordersync.config import parse_config
from ordersync.emulator import EmulatorSettings, running_emulator
from ordersync.monday.board_setup import create_demo_board
from ordersync.monday.connect import make_client
from ordersync.sample_data import SAMPLE_CUSTOMERS, write_sample_data
from ordersync.sample_data.config import sample_config_text

TOKEN = "cli-test-token-9f3e"


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """`ordersync ARGS…` through the console entry point, in-process: exit code, stdout and stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    saved = {name: os.environ.get(name) for name in (env or {})}
    os.environ.update(env or {})
    code = 0
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                main(list(args))
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return CliResult(code, stdout.getvalue(), stderr.getvalue())


@dataclass
class Project:
    directory: Path
    config_path: Path
    base_url: str
    board_id: str
    settings: EmulatorSettings
    env: dict[str, str] = field(default_factory=lambda: {"MONDAY_API_TOKEN": TOKEN})

    @property
    def source_url(self) -> str:
        return f"sqlite:///{self.directory / 'ordersync.db'}"

    def run(self, *args: str, env: dict[str, str] | None = None) -> CliResult:
        return run_cli("--config", str(self.config_path), *args, env={**self.env, **(env or {})})

    def config(self):
        return parse_config(self.config_path.read_text(), base_dir=self.directory)

    def edit_config(self, old: str, new: str) -> None:
        text = self.config_path.read_text()
        assert old in text, old
        self.config_path.write_text(text.replace(old, new, 1))

    def client(self, http: httpx.AsyncClient):
        return make_client(self.config(), http, SecretStr(TOKEN))

    def emulator(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.base_url}{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.emulator("POST", "/v2", json={"query": query, "variables": variables},
                               headers={"Authorization": TOKEN})
        assert not answer.get("errors"), answer
        return answer["data"]


def project_config_text(base_url: str, board_id: str) -> str:
    text = sample_config_text(source_url="sqlite:///ordersync.db", board_id=board_id)
    text = text.replace('api_url = "http://127.0.0.1:8765/v2"', f'api_url = "{base_url}/v2"', 1)
    return text.replace("max_mutations_per_request = 1000", "max_mutations_per_request = 1000\nmax_backoff_seconds = 0.2", 1)


async def _create_board(base_url: str) -> str:
    config = parse_config(project_config_text(base_url, "1"))
    async with httpx.AsyncClient(timeout=60) as http:
        return await create_demo_board(make_client(config, http, SecretStr(TOKEN)),
                                       customers=[customer.name for customer in SAMPLE_CUSTOMERS])


@contextlib.contextmanager
def cli_project(directory: Path, *, rows: int = 200, settings: EmulatorSettings | None = None) -> Iterator[Project]:
    """Sample orders in `directory/ordersync.db`, an emulator with a demo board, and an ordersync.toml for both."""
    settings = settings or EmulatorSettings(tokens=[TOKEN], complexity_budget=1_000_000_000,
                                            mutations_per_window=1_000_000, requests_per_minute=1_000_000)
    directory.mkdir(parents=True, exist_ok=True)
    write_sample_data(f"sqlite:///{directory / 'ordersync.db'}", rows=rows)
    with running_emulator(settings) as base_url:
        board_id = asyncio.run(_create_board(base_url))
        config_path = directory / "ordersync.toml"
        config_path.write_text(project_config_text(base_url, board_id), encoding="utf-8")
        yield Project(directory, config_path, base_url, board_id, settings)


def config_file_for(source_url: str, board_id: str, path: Path) -> Path:
    """An ordersync.toml for a `sync_world` World: commands that read only the state tables can run on it."""
    path.write_text(sample_config_text(source_url=source_url, board_id=board_id), encoding="utf-8")
    return path


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, as `sqlite3 SOURCE ".backup TARGET"` makes it: the
    state database runs in WAL mode, so copying the file alone can miss (or corrupt) recent commits."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(source)) as origin, contextlib.closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)
