"""`ordersync pull`: what changed on the board since the last pull, into the warehouse — the scheduled backstop
for webhooks (Monday retries a delivery for 30 minutes only).

Items are read most recently updated first (`items_page` ordered by `__last_updated__`) down to the watermark
the last pull left (the newest `updated_at` it read, kept in the state database's meta table, re-read from
that second on: recording the same cell twice is no change), and attributed through the board's activity log
from there. The subitem board is read the same way: its board-owned columns, and the sizes' quantities.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from ordersync.config import Config, load_token
from ordersync.engine.clients import client_for, http_for
from ordersync.engine.pipeline import Databases
from ordersync.errors import ConfigError
from ordersync.monday.board import subitem_board_of
from ordersync.monday.client import MondayClient
from ordersync.twoway.record import Attribution, BoardRecorder, Recorded, monday_time
from ordersync.twoway.warehouse import Warehouse

# The activity log is read from a little before the watermark: its times and `updated_at` are not one clock.
LOG_SLACK = timedelta(minutes=1)


@dataclass
class PullResult:
    board_id: str
    since: dict[str, str] = field(default_factory=dict)  # the watermark the pull started from
    until: dict[str, str] = field(default_factory=dict)  # the one it leaves
    recorded: Recorded = field(default_factory=Recorded)

    def as_dict(self) -> dict[str, Any]:
        return {"board_id": self.board_id, "since": self.since, "until": self.until, **self.recorded.as_dict()}


def warehouse_for(config: Config, databases: Databases) -> Warehouse:
    return Warehouse(databases.source, config.state.table_prefix, config.source.db_schema)


def _log_since(watermark: str) -> str | None:
    at = monday_time(watermark)
    return (at - LOG_SLACK).strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


def _newest(items: Sequence[dict[str, Any]], before: str) -> str:
    return max([before, *(str(item.get("updated_at") or "") for item in items)])


async def pull_board(config: Config, databases: Databases, client: MondayClient, *, full: bool = False) -> PullResult:
    """Record what changed on `config`'s board since its watermark (everything with `full`)."""
    board_id = config.monday.board_id or ""
    store = databases.state
    mark = {} if full else json.loads(store.pull_mark(board_id) or "{}")
    result = PullResult(board_id, since=dict(mark))
    me = await client.me_id()
    recorder = BoardRecorder(config, store, warehouse_for(config, databases), me)
    items = await client.items_updated_since(board_id, mark.get("items", ""))
    attribution = Attribution(await client.activity_logs(board_id, since=_log_since(mark.get("items", ""))))
    subitems: list[dict[str, Any]] = []
    # the sizes' quantities are the source's (a person's edit is a conflict), their other columns the board's
    subitem_board = subitem_board_of(await client.board_schema(board_id)) \
        if config.subitems.enabled or config.subitems.columns else None
    if subitem_board:
        subitems = await client.items_updated_since(subitem_board, mark.get("subitems", ""))
        attribution.merge(Attribution(await client.activity_logs(
            subitem_board, since=_log_since(mark.get("subitems", "")))))
    result.recorded = recorder.record(items, subitems, attribution, via="pull")
    result.until = {"items": _newest(items, mark.get("items", ""))}
    if subitem_board:
        result.until["subitems"] = _newest(subitems, mark.get("subitems", ""))
    store.record_pull_mark(board_id, json.dumps(result.until, sort_keys=True))
    return result


async def pull_async(config: Config, *, full: bool = False, http: httpx.AsyncClient | None = None,
                     token: SecretStr | None = None) -> PullResult:
    """`ordersync pull` for one board, from Python."""
    if not config.monday.board_id:
        raise ConfigError("nothing to pull: [monday] board_id is not set", problems=["monday.board_id: missing"])
    token = token or load_token(config.monday)
    databases = Databases.open(config)
    try:
        async with http_for(config, http) as own:
            client = client_for(config, own, token, databases.state)
            return await pull_board(config, databases, client, full=full)
    finally:
        databases.close()
