"""A Monday client set up from the config, and the board's schema read through it.

Every command that talks to Monday (sync, validate, reconcile, demo) starts here, so the client's
limits and retries come from one reading of `[monday]`.
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from ordersync.config import Config, token_source
from ordersync.monday.board import BoardInfo, board_info, subitem_board_of
from ordersync.monday.budget import ComplexityBudget
from ordersync.monday.client import MondayClient, RetryPolicy


def make_client(config: Config, http: httpx.AsyncClient, token: SecretStr, *,
                budget: ComplexityBudget | None = None) -> MondayClient:
    monday = config.monday
    client = MondayClient(
        http, url=monday.api_url, token=token, api_version=monday.api_version, budget=budget,
        retry=RetryPolicy(max_attempts=monday.max_attempts, max_delay=monday.max_backoff_seconds,
                          max_outage=monday.max_outage_seconds),
        max_mutations_per_request=monday.max_mutations_per_request,
        max_complexity_per_request=monday.max_complexity_per_request,
        estimated_mutation_cost=monday.estimated_mutation_cost,
    )
    client.token_hint = (f"check the token in the {token_source(monday)}: it may be revoked or expired, or its "
                         f"user may not see board {monday.board_id}; then run again")
    return client


async def read_board_schema(client: MondayClient, board_id: str) -> BoardInfo:
    """The board's columns and groups, and its subitem board's columns when it has one."""
    raw = await client.board_schema(board_id)
    subitem_board = subitem_board_of(raw)
    raw_subitems = await client.board_schema(subitem_board) if subitem_board else None
    return board_info(raw, raw_subitems)
