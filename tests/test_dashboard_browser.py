"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright) while a real
`ordersync sync` runs in another process: what a person watching the page would see.

`make test` installs Debian's chromium when it is missing. Without it this test is skipped with
the reason, except in CI (`ORDERSYNC_REQUIRE_BROWSER=1`), where a missing browser fails.
"""

from __future__ import annotations

import contextlib
import os
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

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("ORDERSYNC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ORDERSYNC = Path(sys.executable).with_name("ordersync")
# One GREYSON line with a price that is not a number: refused with its reason, the run still completes.
BAD_PRICE = ("UPDATE \"ORDERS_UNIFIED\" SET \"CUSTOMER PRICE\" = 'twelve' WHERE rowid = "
             "(SELECT min(rowid) FROM \"ORDERS_UNIFIED\" WHERE \"CUSTOMER NAME\" LIKE 'GREYSON%')")


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


def test_a_person_watches_a_sync_on_the_dashboard(tmp_path):
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

            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(url)
            expect(page.locator("#current")).to_contain_text("No runs yet")
            expect(page.locator("#trend")).to_contain_text("No sync has run yet")

            sync = subprocess.Popen(
                [str(ORDERSYNC), "--config", str(project.config_path), "sync", "--all", "--json"],
                env={**os.environ, **project.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                expect(page.locator("#current")).to_contain_text("RUNNING", timeout=60_000)
                expect(page.locator("#runs-table tbody tr").first).to_contain_text("RUNNING")
                seen: list[int] = []
                deadline = time.monotonic() + 120
                while sync.poll() is None and time.monotonic() < deadline:
                    # read in one step: the bar leaves the page when the run ends
                    shown = page.evaluate("document.querySelector('#progress-done')?.textContent ?? null")
                    if shown is not None:
                        value = int(shown)
                        if not seen or value != seen[-1]:
                            seen.append(value)
                    page.wait_for_timeout(100)
                stdout, stderr = sync.communicate(timeout=120)
            finally:
                if sync.poll() is None:
                    sync.kill()
            assert sync.returncode == 1, stderr  # one line failed: "some rows failed"
            assert len(seen) >= 3 and seen == sorted(seen), seen  # the bar moved forward while the sync ran

            expect(page.locator("#current")).to_contain_text("No run in progress", timeout=30_000)
            first_run = page.locator("#runs-table tbody tr").first
            expect(first_run).to_contain_text("COMPLETED")
            expect(first_run).not_to_contain_text("RUNNING")
            greyson = page.locator('#customers-table tr[data-customer="GREYSON"]')
            expect(greyson).to_be_visible()
            assert int(greyson.locator("td").nth(1).inner_text()) > 300  # its items and sizes created
            assert int(greyson.locator("td").nth(5).inner_text()) == 1  # the line with the bad price
            expect(page.locator('#customers-table tr[data-customer="TITLE NINE"]')).to_be_visible()
            errors = page.locator("#errors-table")
            expect(errors).to_contain_text("GREYSON")
            expect(errors).to_contain_text("'twelve' is not a number")
            chart = page.locator("#trend-chart")
            expect(chart).to_be_visible()
            assert chart.locator("g.run").count() == 1
            assert float(chart.locator("rect.synced").first.get_attribute("height")) > 0
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            page.close()
