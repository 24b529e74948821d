"""The dashboard's pages, events and JSON over HTTP (Starlette's test client), and `ordersync dashboard`."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from cli_project import config_file_for, run_cli
from ordersync.config import parse_config
from ordersync.dashboard import dashboard_app
from ordersync.dashboard.app import sse_event
from ordersync.dashboard.data import dashboard_state, progress, scaled
from ordersync.engine.report import column_titles
from ordersync.state import RunKind, StateStore
from ordersync.state.conflicts import Conflict, Conflicts
from sync_world import make_world
from test_dashboard_browser import BAD_PRICE

STATIC = Path(__file__).parents[1] / "src" / "ordersync" / "dashboard" / "static"


def TestClient(app):  # noqa: N802 - Starlette's client, imported without its notice about httpx2
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient as StarletteClient
    return StarletteClient(app)


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{directory / 'ordersync.db'}"

    async def one_sync() -> tuple[str, int]:
        async with make_world(url, rows=150) as world:
            world.execute(BAD_PRICE)
            return world.board_id, (await world.sync()).run_id

    board_id, run_id = asyncio.run(one_sync())
    config = config_file_for(url, board_id, directory / "ordersync.toml")
    return parse_config(config.read_text()), config, url, run_id


def test_before_any_run_the_page_says_so_and_creates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    config = parse_config(config_file_for(url, "123", tmp_path / "ordersync.toml").read_text())
    with TestClient(dashboard_app(config)) as client:
        page = client.get("/")
        state = client.get("/api/state").json()
    assert page.status_code == 200
    assert "No runs yet" in page.text and "No sync has run yet" in page.text
    assert state == {"board_id": "123", "boards": [], "current": None, "runs": [], "focus": None, "trend": []}
    engine = sa.create_engine(url)
    assert sa.inspect(engine).get_table_names() == []  # it only reads
    engine.dispose()


def test_the_page_shows_runs_customers_errors_and_the_trend(synced):
    config, _, _, run_id = synced
    with TestClient(dashboard_app(config)) as client:
        page = client.get("/").text
        focused = client.get(f"/runs/{run_id}")
        missing = client.get("/runs/999")
    assert f'<tr data-run="{run_id}" class="focus">' in page
    assert "COMPLETED" in page and 'data-customer="GREYSON"' in page
    assert "&#39;twelve&#39; is not a number" in page
    assert '<ol id="trend-chart"' in page and f'<li class="run" data-run="{run_id}">' in page
    assert 'class="bar synced" style="--share: 1.0"' in page  # the only run: the longest bar
    assert 'sse-connect="/events"' in page
    assert focused.status_code == 200 and f'sse-connect="/events?run={run_id}"' in focused.text
    assert missing.status_code == 404


def test_a_run_in_progress_shows_its_progress_and_live_outcome(synced):
    config, _, url, _ = synced
    store = StateStore.from_url(url)
    run_id = store.start_run(RunKind.SYNC, config.monday.board_id, {"customers": ["GREYSON"]})
    try:
        store.record_progress(run_id, {"total": 300, "done": 75, "customer": "GREYSON", "phase": "create subitems"})
        with TestClient(dashboard_app(config)) as client:
            page = client.get("/").text
            state = client.get("/api/state").json()
        assert '<progress id="progress" value="75" max="300">' in page
        assert "GREYSON" in page and "create subitems" in page
        assert state["current"]["run_id"] == run_id and state["focus"]["run_id"] == run_id
        assert state["runs"][0]["status"] == "RUNNING"
        # progress while it runs, never a success rate that counts what is still to do as failed
        assert state["runs"][0]["progress"] == {"done": 75, "total": 300}
        assert "success" not in state["runs"][0] and "success" not in state["focus"]
        assert state["focus"]["progress"] == {"done": 75, "total": 300}
        row = re.search(rf'<tr data-run="{run_id}".*?</tr>', page, flags=re.DOTALL).group(0)
        assert 'class="run-progress"' in row and "75 / 300" in row and "verdict" not in row
        heading = re.search(r'<section id="customers".*?</h2>', page, flags=re.DOTALL).group(0)
        assert "75 / 300" in heading and "verdict" not in heading
    finally:
        with store.engine.begin() as connection:
            connection.execute(sa.delete(store.tables.runs).where(store.tables.runs.c.run_id == run_id))
        store.engine.dispose()


def test_an_error_for_a_line_without_a_key_names_its_po_style_and_colour(tmp_path):
    url = f"sqlite:///{tmp_path / 'ordersync.db'}"

    async def one_sync() -> str:
        async with make_world(url, rows=100) as world:
            world.execute("UPDATE \"ORDERS_UNIFIED\" SET \"AAG ORDER NUMBER\" = NULL WHERE rowid = "
                          "(SELECT min(rowid) FROM \"ORDERS_UNIFIED\")")
            await world.sync()
            return world.board_id

    board_id = asyncio.run(one_sync())
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        po, style = connection.execute(sa.text(
            "SELECT \"PO NUMBER\", \"CUSTOMER STYLE\" FROM \"ORDERS_UNIFIED\" WHERE \"AAG ORDER NUMBER\" IS NULL")).one()
    engine.dispose()
    config = parse_config(config_file_for(url, board_id, tmp_path / "ordersync.toml").read_text())
    with TestClient(dashboard_app(config)) as client:
        errors = re.search(r'<table id="errors-table">.*?</table>', client.get("/").text, flags=re.DOTALL).group(0)
    assert "source row" not in errors  # no one finds a source row number in SQL
    assert f"PO NUMBER {po} · " in errors and f"CUSTOMER STYLE {style}" in errors


def test_each_board_shows_its_conflicts_per_policy_and_the_latest_ones(synced):
    config, _, url, _ = synced
    store = StateStore.from_url(url)
    board_id = config.monday.board_id
    conflicts = Conflicts(store.tables, board_id)
    try:
        with store.engine.begin() as connection:
            conflicts.record(connection, Conflict("PO-1 | OCEAN | ST-1", "101", "text_mkrh94rx", "restore", "ALT-1",
                                                  "PLANNER'S PO", '"PLANNER\'S PO"', "71000001", datetime(2026, 12, 3, 12)))
            conflicts.record(connection, Conflict("PO-2 | AIR | ST-2", "102", "text_mkrh94rx", "keep", "ALT-2",
                                                  "KEEP-ME", '"KEEP-ME"', None, None))
        state = dashboard_state(store, board_id, boards=[board_id], titles=column_titles(config))
        with TestClient(dashboard_app(config)) as client:
            page = client.get("/").text
            api = client.get("/api/state").json()
    finally:
        with store.engine.begin() as connection:
            connection.execute(sa.delete(store.tables.board_conflicts))
        store.engine.dispose()
    [board] = state["boards"]
    assert (board["conflicts"]["count"], board["conflicts"]["restore"], board["conflicts"]["keep"]) == (2, 1, 1)
    assert [(row["item_key"], row["column"], row["board_text"], row["source_text"], row["policy"], row["user_id"])
            for row in board["conflicts"]["latest"]] == [
        ("PO-2 | AIR | ST-2", "CUSTOMER ALT PO", "KEEP-ME", "ALT-2", "keep", None),  # newest first
        ("PO-1 | OCEAN | ST-1", "CUSTOMER ALT PO", "PLANNER'S PO", "ALT-1", "restore", "71000001")]
    assert api["boards"][0]["conflicts"]["count"] == 2
    boards = re.search(r'<section id="boards".*?</section>', page, flags=re.DOTALL).group(0)
    assert "2 conflicts (1 restore · 1 keep)" in boards
    table = re.search(r'<table class="conflicts">.*?</table>', boards, flags=re.DOTALL).group(0)
    assert "PLANNER&#39;S PO" in table and "KEEP-ME" in table and "CUSTOMER ALT PO" in table
    # on a phone the source's value, who and when are left out, as the other tables' lower-value columns
    assert re.findall(r'<th class="wide">([^<]+)</th>', table) == ["source's value", "who", "when"]


def test_progress_is_what_the_run_recorded_else_its_rows_written_or_failed_of_all_it_has_to_write():
    counts = {"items": {"create": 2, "failed": 1, "pending": 3, "unchanged": 50}, "subitems": {"update": 4, "pending": 10}}
    assert progress(counts) == {"done": 7, "total": 20}  # unchanged rows are not work
    assert progress(counts, {"done": 75, "total": 300, "phase": "create items"}) == {"done": 75, "total": 300}
    assert progress(counts, {"done": 0, "total": 0, "phase": "planning"}) == {"done": 7, "total": 20}


def test_a_run_of_a_few_writes_gets_a_bar_you_can_see_beside_one_of_thousands():
    points = [{"run_id": run_id, "status": "COMPLETED", "started_at": None, "synced": synced, "failed": failed}
              for run_id, synced, failed in [(1, 7224, 12), (2, 3, 0), (3, 0, 0), (4, 1, 1), (5, 400, 0)]]
    bars = {point["run_id"]: point for point in scaled(points)}
    assert bars[1]["synced_share"] == 1.0 and bars[3]["synced_share"] == 0.0 and bars[3]["failed_share"] == 0.0
    assert bars[2]["synced_share"] >= 0.1  # a linear scale drew it 3/7224 of the way: 0 pixels
    assert 0 < bars[4]["synced_share"] < bars[2]["synced_share"] < bars[5]["synced_share"] < 1
    assert bars[4]["failed_share"] == bars[4]["synced_share"]  # one scale for both marks
    assert [point["synced"] for point in bars.values()] == [7224, 3, 0, 1, 400]  # the numbers themselves kept


def test_the_page_has_an_icon_and_favicon_ico_answers(synced):
    config, *_ = synced
    with TestClient(dashboard_app(config)) as client:
        page = client.get("/").text
        link = re.search(r'<link rel="icon" href="([^"]+)"', page)
        assert link is not None
        for address in (link.group(1), "/favicon.ico"):
            icon = client.get(address)
            assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml"), address
            assert icon.text.startswith("<svg")


def test_events_send_each_fragment_as_a_named_server_sent_event(synced):
    config, *_ = synced
    with TestClient(dashboard_app(config)) as client:
        answer = client.get("/events?once=1")
    assert answer.headers["content-type"].startswith("text/event-stream")
    names = re.findall(r"^event: (\w+)$", answer.text, flags=re.MULTILINE)
    assert names == ["current", "boards", "runs", "customers", "errors", "trend"]
    for block in answer.text.strip().split("\n\n")[1:]:
        assert all(line.startswith(("event: ", "data: ")) for line in block.splitlines()), block
    assert sse_event("x", "a\nb") == "event: x\ndata: a\ndata: b\n\n"


def test_vendored_htmx_is_served_and_matches_its_pinned_hash():
    pinned = dict(re.findall(r"\| `([^`]+\.js)` \|[^|]+\|[^|]+\| ([0-9a-f]{64}) \|", (STATIC / "VENDORED.md").read_text()))
    assert set(pinned) == {"htmx-2.0.4.min.js", "htmx-ext-sse-2.2.2.js"}
    config = parse_config("[monday]\nboard_id = \"1\"\n[source]\nurl = \"sqlite://\"\n")
    with TestClient(dashboard_app(config)) as client:
        for name, digest in pinned.items():
            served = client.get(f"/static/{name}")
            assert served.status_code == 200
            assert hashlib.sha256(served.content).hexdigest() == digest
        assert client.get("/static/dashboard.css").status_code == 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ordersync_dashboard_serves_until_interrupted(synced):
    _, config_path, _, run_id = synced
    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("ordersync")), "--config", str(config_path),
                               "dashboard", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={k: v for k, v in os.environ.items() if k != "ORDERSYNC_CONFIG"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.1)
        assert page.status_code == 200 and f'data-run="{run_id}"' in page.text
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=20)
    assert server.returncode == 0, stderr
    assert f"dashboard: http://127.0.0.1:{port}" in stderr


def test_ordersync_dashboard_on_a_busy_port_exits_2(synced):
    _, config_path, _, _ = synced
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        answer = run_cli("--config", str(config_path), "dashboard", "--port", str(busy.getsockname()[1]))
    assert answer.exit_code == 2
    assert "cannot listen on 127.0.0.1:" in answer.stderr and "--port" in answer.stderr


def test_ordersync_dashboard_exits_3_when_the_state_database_cannot_be_reached(tmp_path):
    port = _free_port()  # nothing listens there
    (tmp_path / "ordersync.toml").write_text(
        f'[source]\nurl = "postgresql+psycopg://nobody@127.0.0.1:{port}/orders?connect_timeout=2"\n')
    answer = run_cli("--config", str(tmp_path / "ordersync.toml"), "dashboard", "--port", str(_free_port()))
    assert answer.exit_code == 3
    assert "cannot reach the state database" in answer.stderr
