"""The Monday client for a config, paced on its token's one complexity budget.

Every command that talks to Monday (sync, reconcile, validate, demo) builds its clients here, so each
paces on the budget the same way: with the shared ledger (`[monday] shared_budget`, on by default on
PostgreSQL) it shares the token's budget with every other process on the state database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from pydantic import SecretStr

from ordersync.config import Config
from ordersync.monday.budget import ComplexityBudget
from ordersync.monday.client import MondayClient
from ordersync.monday.connect import make_client
from ordersync.state import StateStore
from ordersync.state.budget_ledger import shared_budget_ledger


def token_budget(config: Config, store: StateStore, token: SecretStr) -> ComplexityBudget:
    """One complexity budget for the token: every board of a command paces on it, and with the shared
    ledger so do the other processes using the token."""
    return ComplexityBudget(shared=shared_budget_ledger(config.monday, store.engine, store.tables,
                                                        token.get_secret_value()))


def client_for(config: Config, http: httpx.AsyncClient, token: SecretStr, store: StateStore, *,
               budget: ComplexityBudget | None = None) -> MondayClient:
    """The client for `config` (its `[monday]` limits and retries) on `budget`, else on a new budget
    for its token (`token_budget`)."""
    return make_client(config, http, token, budget=budget or token_budget(config, store, token))


@asynccontextmanager
async def http_for(config: Config, http: httpx.AsyncClient | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client a command's requests go through: the caller's `http` (left open), else one made
    here with `[monday] timeout_seconds` and closed when the block ends."""
    if http is not None:
        yield http
        return
    async with httpx.AsyncClient(timeout=config.monday.timeout_seconds) as own:
        yield own
