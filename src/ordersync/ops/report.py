"""`ordersync report [RUN_ID]`: a past run's report (default: the last sync), or one customer's part of it.

The report itself — built from the state tables, rendered as Markdown and JSON — is the run's last
stage, `ordersync.engine.report`; every sync has already written it to its reports folder.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersync.config import Config
from ordersync.engine.report import (
    column_titles,
    customer_report,
    render_customer_markdown,
    render_markdown,
    run_report,
)
from ordersync.errors import UsageError
from ordersync.state import RunKind, StateStore

__all__ = ["last_run_id", "render_customer_markdown", "render_markdown", "report"]


def report(config: Config, run_id: int | None = None, *, customer: str | None = None) -> dict[str, Any]:
    """`ordersync report [RUN_ID]` from Python: the report of a run (default: the last sync), or one customer's."""
    from ordersync.engine.pipeline import Databases

    databases = Databases.open(config)
    try:
        store = databases.state
        if run_id is None:
            run_id = last_run_id(store, config.monday.board_id)
        result = run_report(store, run_id, items_per_board=config.monday.items_per_board,
                            titles=column_titles(config))
    finally:
        databases.close()
    if customer is None:
        return result
    from ordersync.engine.filters import canonical_customer, canonical_customers

    return customer_report(result, canonical_customer(customer, canonical_customers(config.customers)))


def last_run_id(store: StateStore, board_id: str | None) -> int:
    runs = store.tables.runs
    query = sa.select(runs.c.run_id).where(runs.c.kind != RunKind.PLAN.value)
    if board_id:
        query = query.where(runs.c.board_id == board_id)
    with store.engine.connect() as connection:
        found = connection.execute(query.order_by(runs.c.run_id.desc()).limit(1)).scalar_one_or_none()
    if found is None:
        raise UsageError("no sync has run yet, so there is no report", hint="run `ordersync sync` first")
    return int(found)
