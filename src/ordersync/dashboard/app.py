"""The dashboard's web app: server-rendered pages (Jinja2), live updates as server-sent events that
htmx swaps into the page, no JavaScript build. It only reads the state tables.

    GET /                  runs, the run in progress, each board against its cap, per-customer outcome,
                           errors, trend
    GET /runs/<id>         the same page focused on one run
    GET /events[?run=<id>] text/event-stream: `current`, `boards`, `runs`, `customers`, `errors`, `trend`
                           fragments, each sent when it changes (`?once=1`: one snapshot, then end)
    GET /api/state[?run=]  the same data as JSON
    GET /static/…          htmx and its SSE extension (vendored, pinned), the stylesheet, the icon
    GET /favicon.ico       the icon (an SVG) for browsers that ask for it by that name
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ordersync.dashboard.data import dashboard_state
from ordersync.engine.report import ITEMS_PER_BOARD, line_words
from ordersync.state import StateStore

HERE = Path(__file__).parent
FRAGMENTS = ("current", "boards", "runs", "customers", "errors", "trend")
FAVICON = HERE / "static" / "favicon.svg"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                     autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True,
                                     lstrip_blocks=True)
    environment.filters["percent"] = lambda rate: f"{rate * 100:.1f}%" if rate is not None else ""
    environment.filters["short_time"] = short_time
    environment.filters["line_words"] = line_words  # a keyless line's PO, style, colour, as the reports say it
    return environment


def short_time(value: Any) -> str:
    """A run's start as the chart labels it: `12-03 17:05` (UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%m-%d %H:%M") if isinstance(value, datetime) else ""


class Dashboard:
    """Renders the state of one board's syncs (or every routed board's); one per served app."""

    def __init__(self, store: StateStore, board_id: str | None, *, refresh_seconds: float = 1.0,
                 boards: Sequence[str] = (), items_per_board: int = ITEMS_PER_BOARD,
                 titles: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.titles = dict(titles or {})
        self.board_id = board_id
        self.boards = tuple(boards)
        self.items_per_board = items_per_board
        self.refresh_seconds = refresh_seconds
        self.templates = _environment()

    async def state(self, focus: int | None) -> dict[str, Any]:
        return await run_in_threadpool(dashboard_state, self.store, self.board_id, focus=focus, boards=self.boards,
                                       items_per_board=self.items_per_board, titles=self.titles)

    def fragment(self, name: str, state: dict[str, Any], focus: int | None) -> str:
        return self.templates.get_template(f"_{name}.html").render(**state, pinned=focus)

    # -- routes -------------------------------------------------------------------------------
    async def page(self, request: Request) -> Response:
        focus = _run_id(request.path_params.get("run_id"))
        state = await self.state(focus)
        if focus is not None and state["focus"] is None:
            return HTMLResponse(f"<p>There is no run {focus}. <a href='/'>All runs</a></p>", status_code=404)
        html = self.templates.get_template("index.html").render(
            **state, pinned=focus, fragments={name: self.fragment(name, state, focus) for name in FRAGMENTS},
            events_url="/events" + (f"?run={focus}" if focus is not None else ""))
        return HTMLResponse(html)

    async def favicon(self, request: Request) -> Response:
        return FileResponse(FAVICON, media_type="image/svg+xml")

    async def api_state(self, request: Request) -> Response:
        state = await self.state(_run_id(request.query_params.get("run")))
        return JSONResponse(json.loads(json.dumps(state, default=str)))

    async def events(self, request: Request) -> Response:
        focus = _run_id(request.query_params.get("run"))
        once = request.query_params.get("once") == "1"
        return StreamingResponse(self._stream(request, focus, once), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def _stream(self, request: Request, focus: int | None, once: bool) -> AsyncIterator[str]:
        sent: dict[str, str] = {}
        yield f"retry: {int(self.refresh_seconds * 1000)}\n\n"
        while True:
            state = await self.state(focus)
            for name in FRAGMENTS:
                html = self.fragment(name, state, focus)
                if sent.get(name) != html:
                    sent[name] = html
                    yield sse_event(name, html)
            if once or await request.is_disconnected():
                return
            await asyncio.sleep(self.refresh_seconds)
            yield ": keep-alive\n\n"


def sse_event(name: str, data: str) -> str:
    """One server-sent event; every line of a multi-line payload gets its own `data:` field."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n"


def _run_id(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def create_dashboard_app(store: StateStore, board_id: str | None, *, refresh_seconds: float = 1.0,
                         boards: Sequence[str] = (), items_per_board: int = ITEMS_PER_BOARD,
                         titles: Mapping[str, str] | None = None) -> Starlette:
    dashboard = Dashboard(store, board_id, refresh_seconds=refresh_seconds, boards=boards,
                          items_per_board=items_per_board, titles=titles)
    app = Starlette(routes=[
        Route("/", dashboard.page),
        Route("/runs/{run_id:int}", dashboard.page),
        Route("/events", dashboard.events),
        Route("/api/state", dashboard.api_state),
        Route("/favicon.ico", dashboard.favicon),  # what a browser asks for without a <link rel=icon>
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ])
    app.state.dashboard = dashboard
    return app
