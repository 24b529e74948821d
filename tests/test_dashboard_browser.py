"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright) while a real
`ordersync sync` runs in another process: what a person watching the page would see.

`make test` installs Debian's chromium when it is missing. Without it this test is skipped with
the reason, except in CI (`ORDERSYNC_REQUIRE_BROWSER=1`), where a missing browser fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn

from cli_project import cli_project
from ordersync.dashboard import dashboard_app
from ordersync.dashboard.data import dashboard_state
from ordersync.state import StateStore
from ordersync.state.conflicts import Conflict, Conflicts
from routed_boards import routed_project, synced_with_cap

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("ORDERSYNC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ORDERSYNC = Path(sys.executable).with_name("ordersync")
# Screenshots a person can look at after the run (test-artifacts/ is gitignored; CI may keep it)
ARTIFACTS = Path(os.environ.get("ORDERSYNC_TEST_ARTIFACTS", Path(__file__).parents[1] / "test-artifacts")) / "dashboard"
# One GREYSON line with a price that is not a number: refused with its reason, the run still completes.
BAD_PRICE = ("UPDATE \"ORDERS_UNIFIED\" SET \"CUSTOMER PRICE\" = 'twelve' WHERE rowid = "
             "(SELECT min(rowid) FROM \"ORDERS_UNIFIED\" WHERE \"CUSTOMER NAME\" LIKE 'GREYSON%')")

# The running run's row and the customers it is focused on, read at once: verdicts shown, progress shown, its
# colour, each customer's failed and progress, and the sections too wide for the screen.
RUNNING_ROW = """() => {
  const row = [...document.querySelectorAll('#runs-table tr[data-run]')].find(row => row.textContent.includes('RUNNING'));
  if (!row) return null;
  const progress = row.querySelector('.run-progress');
  const customers = document.querySelector('#customers h2')?.textContent.includes('RUNNING') ? '#customers ' : '#none ';
  return {verdicts: [...row.querySelectorAll('.verdict'), ...document.querySelectorAll(customers + '.verdict')]
            .map(verdict => verdict.textContent.trim()),
          progress: progress ? progress.textContent.trim() : null,
          progress_colour: progress ? getComputedStyle(progress).color : null,
          wider: [...document.querySelectorAll('main section')].filter(section => section.scrollWidth > section.clientWidth)
            .map(section => section.id),
          customers: [...document.querySelectorAll(customers + 'tr[data-customer]')].map(customer => ({
            failed: customer.querySelector('td.failed').textContent.trim(),
            progress: customer.querySelector('.run-progress')?.textContent.trim() ?? null}))};
}"""
NEUTRAL = "rgb(9, 105, 218)"  # the stylesheet's --neutral: neither ok's green nor critical's red


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; `make test` installs it when run as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@contextlib.contextmanager
def chromium() -> Iterator:
    """Headless Chromium under Playwright. Started only after the test's own asyncio work is done:
    Playwright's sync API keeps an event loop running in this thread while it is open."""
    reason = _browser_missing()
    if reason:
        if os.environ.get("ORDERSYNC_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (ORDERSYNC_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """The dashboard on a free loopback port, uvicorn in a thread."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def _watch_while_it_runs(page, sync: subprocess.Popen, screenshot: Path) -> tuple[list[int], list[dict]]:
    """Until the sync ends: the progress bar's values as they change, and the running run's row (RUNNING_ROW);
    a screenshot of the page mid-run."""
    seen: list[int] = []
    while_running: list[dict] = []
    deadline = time.monotonic() + 120
    while sync.poll() is None and time.monotonic() < deadline:
        # read in one step: the bar leaves the page when the run ends
        shown = page.evaluate("document.querySelector('#progress-done')?.textContent ?? null")
        if shown is not None and (not seen or int(shown) != seen[-1]):
            seen.append(int(shown))
        running = page.evaluate(RUNNING_ROW)
        if running is not None:
            while_running.append(running)
            if not screenshot.exists() and not (running["progress"] or "0 /").startswith("0 /"):  # mid-run
                page.screenshot(path=str(screenshot), full_page=True)
        page.wait_for_timeout(100)
    return seen, while_running


@pytest.mark.parametrize("width", [1280, 390])  # a desk, and a phone in the warehouse
def test_a_person_watches_a_sync_on_the_dashboard(tmp_path, width):
    if _browser_missing() and os.environ.get("ORDERSYNC_REQUIRE_BROWSER") != "1":
        pytest.skip(_browser_missing())
    with cli_project(tmp_path, rows=150) as project:
        project.edit_config("max_mutations_per_request = 1000", "max_mutations_per_request = 20")
        engine = sa.create_engine(project.source_url)
        with engine.begin() as connection:
            connection.execute(sa.text(BAD_PRICE))
        engine.dispose()
        project.emulator("PATCH", "/emulator/config", json={"faults": {"latency_ms": 60}})  # a few seconds' sync

        with serving(dashboard_app(project.config(), refresh_seconds=0.25)) as url, chromium() as browser:
            from playwright.sync_api import expect

            page = browser.new_page(viewport={"width": width, "height": 1600})
            page.goto(url)
            expect(page.locator("#current")).to_contain_text("No runs yet")
            expect(page.locator("#trend")).to_contain_text("No sync has run yet")

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / f"dashboard-while-running-{width}.png").unlink(missing_ok=True)
            sync = subprocess.Popen(
                [str(ORDERSYNC), "--config", str(project.config_path), "sync", "--all", "--json"],
                env={**os.environ, **project.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                expect(page.locator("#current")).to_contain_text("RUNNING", timeout=60_000)
                expect(page.locator("#runs-table tbody tr").first).to_contain_text("RUNNING")
                seen, while_running = _watch_while_it_runs(page, sync, ARTIFACTS / f"dashboard-while-running-{width}.png")
                stdout, stderr = sync.communicate(timeout=120)
            finally:
                if sync.poll() is None:
                    sync.kill()
            assert sync.returncode == 1, stderr  # one line failed: "some rows failed"
            assert len(seen) >= 3 and seen == sorted(seen), seen  # the bar moved forward while the sync ran
            # while it ran, the run's row and its customers said how far it was, never a (red) success rate
            assert any(shown["progress"] and shown["progress"].split(" / ")[0] != "0" for shown in while_running)
            for shown in while_running:
                assert shown["verdicts"] == [] and re.fullmatch(r"\d+ / \d+", shown["progress"] or ""), shown
                assert shown["progress_colour"] == NEUTRAL, shown
                assert shown["wider"] == [], shown  # nothing to scroll sideways, at either width
                for customer in shown["customers"]:  # rows not written yet are not counted as failed
                    done = re.fullmatch(r"(\d+) / \d+", customer["progress"] or "")
                    assert done and int(customer["failed"]) <= int(done.group(1)), customer

            expect(page.locator("#current")).to_contain_text("No run in progress", timeout=30_000)
            first_run = page.locator("#runs-table tbody tr").first
            expect(first_run).to_contain_text("COMPLETED")
            expect(first_run).not_to_contain_text("RUNNING")
            greyson = page.locator('#customers-table tr[data-customer="GREYSON"]')
            expect(greyson).to_be_visible()
            assert int(greyson.locator("td").nth(1).inner_text()) > 300  # its items and sizes created
            assert int(greyson.locator("td.failed").inner_text()) == 1  # the line with the bad price
            expect(page.locator('#customers-table tr[data-customer="TITLE NINE"]')).to_be_visible()
            errors = page.locator("#errors-table")
            expect(errors).to_contain_text("GREYSON")
            expect(errors).to_contain_text("'twelve' is not a number")
            chart = page.locator("#trend-chart")
            expect(chart).to_be_visible()
            assert chart.locator(".run").count() == 1
            assert chart.locator(".bar.synced").first.bounding_box()["width"] > 0
            page.screenshot(path=str(ARTIFACTS / f"dashboard-after-a-sync-{width}.png"), full_page=True)
            page.close()

THREE_LINES = ("UPDATE \"ORDERS_UNIFIED\" SET \"STYLE DESCRIPTION\" = 'RUNNING TEE - REVISED' "
               "WHERE rowid IN (SELECT min(rowid) FROM \"ORDERS_UNIFIED\" GROUP BY \"AAG SEASON\" LIMIT 3)")
# Every element of `selector` that shows text (hover titles have no box), with its box and its container's.
TEXT_BOXES = """selector => {
  const chart = document.querySelector(selector).getBoundingClientRect();
  return [...document.querySelectorAll(selector + ' *')]
    .filter(el => el.children.length === 0 && el.textContent.trim() && el.getBoundingClientRect().width > 0)
    .map(el => { const box = el.getBoundingClientRect();
      return {text: el.textContent.trim(), left: box.left, right: box.right, top: box.top, bottom: box.bottom,
              cut: el.scrollWidth > el.clientWidth,
              chart_left: chart.left, chart_right: chart.right}; });
}"""


def _overlap(one: dict, other: dict) -> bool:
    return (min(one["right"], other["right"]) - max(one["left"], other["left"]) > 0.5
            and min(one["bottom"], other["bottom"]) - max(one["top"], other["top"]) > 0.5)


def test_boards_runs_and_a_small_run_read_at_1280_and_390_pixels(tmp_path):
    if _browser_missing() and os.environ.get("ORDERSYNC_REQUIRE_BROWSER") != "1":
        pytest.skip(_browser_missing())
    with routed_project(tmp_path / "project") as project:
        items, cap = synced_with_cap(project)  # every board synced; the fullest one at 100% of the cap
        engine = sa.create_engine(project.source_url)
        with engine.begin() as connection:
            connection.execute(sa.text(THREE_LINES))
        engine.dispose()
        for _ in range(6):  # then runs of a few writes or none: 21 runs, enough to fill the chart's width
            small = project.run("sync", "--all", "--json")
            assert small.exit_code == 0, small.stderr
        config = project.config()
        store = StateStore.from_url(project.source_url)
        try:
            record_conflicts(store, project.boards[0])
            state = dashboard_state(store, None, boards=project.boards, items_per_board=cap)
        finally:
            store.engine.dispose()
        trend = {point["run_id"]: point for point in state["trend"]}
        big = max(point["synced"] for point in trend.values())
        small_runs = [run_id for run_id, point in trend.items() if 0 < point["synced"] <= 10]
        assert big > 300 and small_runs, trend  # a first sync of hundreds of writes, then runs of a few

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with serving(dashboard_app(config)) as url, chromium() as browser:
            for width in (1280, 390):
                page = browser.new_page(viewport={"width": width, "height": 900})
                refused: list[str] = []
                page.on("response", lambda answer, refused=refused: answer.status >= 400 and refused.append(
                    f"{answer.status} {answer.url}"))
                page.goto(url)
                page.locator("#trend-chart").wait_for()
                _check_the_icon(page, url)
                assert refused == [], refused
                assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than a phone
                wider = page.evaluate("[...document.querySelectorAll('main section')]"
                                      ".filter(section => section.scrollWidth > section.clientWidth).map(section => section.id)")
                assert wider == [], (width, wider)  # no table to scroll sideways: narrow screens leave columns out
                _check_the_trend(page, width, trend, small_runs)
                for board_id in project.boards:
                    _check_the_board(page, width, board_id, items[board_id], cap)
                _check_the_conflicts(page, width, project.boards[0])
                page.screenshot(path=str(ARTIFACTS / f"dashboard-{width}.png"), full_page=True)
                page.close()


LONG_VALUE = "SHIP BY AIR, PLANNER CONFIRMED WITH THE FACTORY ON THE PHONE, PACKED EARLY " * 2


def record_conflicts(store: StateStore, board_id: str) -> None:
    """A planner's edits of source-owned columns, one with a long value: the board's conflicts table."""
    conflicts = Conflicts(store.tables, board_id)
    with store.engine.begin() as connection:
        for number, (policy, text) in enumerate([("restore", "PLANNER-PO"), ("keep", LONG_VALUE)]):
            conflicts.record(connection, Conflict(f"AAG-{number:05} | EXPRESS | BBWD145-391-LONG-STYLE", str(number),
                                                  "text_mkrh94rx", policy, "ALT-PO " * 8, text, None, "71000001", None))


def _check_the_conflicts(page, width: int, board_id: str) -> None:
    """The count per policy and the latest; on a phone the source's value, who and when are left out."""
    from playwright.sync_api import expect

    board = page.locator(f'#boards li[data-board="{board_id}"]')
    expect(board.locator(".conflict-count")).to_contain_text("2 conflicts (1 restore · 1 keep)")
    table = board.locator("table.conflicts")
    expect(table).to_contain_text("PLANNER-PO")
    expect(table.locator("th", has_text="person's value")).to_be_visible()
    for hidden in ("source's value", "who", "when"):
        header = table.locator("th", has_text=hidden)
        if width > 640:
            expect(header).to_be_visible()
        else:
            expect(header).to_be_hidden()
    box = table.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width, (width, box)


def _check_the_icon(page, url: str) -> None:
    # headless Chromium asks for no icon by itself; a browser with a tab asks for the page's, or /favicon.ico
    icon = page.evaluate("document.querySelector('link[rel~=icon]')?.href ?? null")
    assert icon is not None
    for address in (icon, f"{url}/favicon.ico"):
        answer = page.request.get(address)
        assert answer.ok and answer.headers["content-type"].startswith("image/"), (address, answer.status)


def _check_the_trend(page, width: int, trend: dict[int, dict], small_runs: list[int]) -> None:
    from playwright.sync_api import expect

    for run_id in small_runs:  # a run of a few writes beside one of hundreds: a bar you can see
        run = page.locator(f'#trend-chart [data-run="{run_id}"]')
        bar = run.locator(".synced").first.bounding_box()
        assert bar is not None and min(bar["width"], bar["height"]) >= 3, (width, run_id, bar)
        expect(run.locator(".value.synced")).to_have_text(str(trend[run_id]["synced"]))
        expect(run.locator(".synced").first).to_have_attribute("title", re.compile(
            rf"run {run_id}\b.*\b{trend[run_id]['synced']} synced"))
    labels = page.evaluate(TEXT_BOXES, "#trend-chart")
    for label in labels:  # dates and numbers whole, inside the chart, none over another
        assert label["chart_left"] - 0.5 <= label["left"] and label["right"] <= label["chart_right"] + 0.5, label
        assert not label["cut"], label
        overlapping = [other["text"] for other in labels if other is not label and _overlap(label, other)]
        assert overlapping == [], (width, label, overlapping)


def _check_the_board(page, width: int, board_id: str, items: int, cap: int) -> None:
    """Its items against the cap as a bar as long as its share, nearly full from 90%, its last run, pending, failed."""
    from playwright.sync_api import expect

    board = page.locator(f'#boards [data-board="{board_id}"]')
    expect(board).to_be_visible()
    expect(board).to_contain_text(f"{items} / {cap}")
    used = board.locator(".capacity .used").bounding_box()
    whole = board.locator(".capacity").bounding_box()
    assert used is not None and whole is not None
    assert abs(used["width"] / whole["width"] - items / cap) < 0.02, (board_id, used, whole)
    assert whole["x"] + whole["width"] <= width
    assert ("nearly-full" in (board.get_attribute("class") or "")) == (items >= 0.9 * cap), board_id
    expect(board.locator(".last-run")).to_contain_text("COMPLETED")
    expect(board.locator(".pending")).to_contain_text("0 pending")
    expect(board.locator(".failed")).to_contain_text("failed")
