"""`ordersync dashboard`: a local web page over the state tables — runs and their status, the
run in progress live, each routed board against its item cap, per-customer outcomes, errors with
reasons, items synced and failures over time.

    app = dashboard_app(config)                   # a Starlette app (tests: TestClient, or uvicorn in a thread)
    serve_dashboard(config, port=8780)            # serve until Ctrl-C
"""

from __future__ import annotations

import sqlalchemy as sa
from starlette.applications import Starlette

from ordersync.config import Config, state_url
from ordersync.dashboard.app import create_dashboard_app
from ordersync.engine.report import column_titles
from ordersync.engine.rollover import registered_boards
from ordersync.errors import StateError
from ordersync.serving import serve
from ordersync.state import StateStore

DEFAULT_PORT = 8780


def open_state(config: Config) -> StateStore:
    """The state tables, read-only: the dashboard creates nothing; with no tables yet it shows no runs."""
    return StateStore.from_url(state_url(config), config.state.table_prefix, timeouts=config.state.timeouts())


def dashboard_app(config: Config, *, refresh_seconds: float = 1.0) -> Starlette:
    store = open_state(config)
    return create_dashboard_app(store, config.monday.board_id, refresh_seconds=refresh_seconds,
                                boards=registered_boards(config, store), items_per_board=config.monday.items_per_board,
                                titles=column_titles(config))


def serve_dashboard(config: Config, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                    refresh_seconds: float = 1.0, on_ready=None) -> None:
    """Serve in the foreground until interrupted. `on_ready(url)` is called once it listens."""
    from ordersync.dashboard.data import dashboard_state

    app = dashboard_app(config, refresh_seconds=refresh_seconds)
    try:  # an unreachable database fails here, not in the first page
        dashboard_state(app.state.dashboard.store, config.monday.board_id)
    except sa.exc.OperationalError as error:
        raise StateError(f"cannot reach the state database: {error.orig}",
                         hint="is the database server running and [state] url (or [source] url) right?") from None
    serve(app, host=host, port=port, on_ready=on_ready)


__all__ = ["DEFAULT_PORT", "dashboard_app", "serve_dashboard"]
