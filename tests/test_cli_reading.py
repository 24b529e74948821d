"""What an operator reads (issue 15, "Reading it"): every screen at 80 and at 200 columns, through the
real entry point; the progress shown on a real terminal (a pseudo-terminal), counts that add up, failures
in a planner's words, and a line without a key named by the columns a person finds it by in SQL."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios

import pytest
import sqlalchemy as sa

from cli_project import cli_project, run_cli
from emulator_process import ORDERSYNC
from test_report import ON_HOLD

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
HEADERS = [f"{kind} {key}" for kind in ("item", "sub") for key in ("create", "update", "archive", "unchanged",
                                                                     "failed")]


def execute(project, statement: str) -> None:
    engine = sa.create_engine(project.source_url)
    with engine.begin() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()


def at_width(project, columns: int, *args: str):
    return project.run(*args, env={"COLUMNS": str(columns)})


def in_a_terminal(project, *args: str, columns: int = 80, raw: bool = False) -> str:
    """`ordersync --config … ARGS` in a pseudo-terminal `columns` wide: what a person sees, escapes removed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {**os.environ, **project.env, "COLUMNS": str(columns), "LINES": "40", "TERM": "xterm-256color"}
    process = subprocess.Popen([ORDERSYNC, "--config", str(project.config_path), *args], stdin=follower,
                               stdout=follower, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=60)
    os.close(leader)
    text = seen.decode(errors="replace")
    return text if raw else ANSI.sub("", text)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    with cli_project(tmp_path_factory.mktemp("reading"), rows=150) as project:
        # two customers' lines without a season fall in the one fallback group, `check`
        execute(project, "UPDATE \"ORDERS_UNIFIED\" SET \"CUSTOMER SEASON\" = NULL, \"AAG SEASON\" = NULL "
                         "WHERE rowid IN (SELECT min(rowid) FROM \"ORDERS_UNIFIED\" "
                         "WHERE \"CUSTOMER NAME\" IN ('PELOTON', 'BOGGI') GROUP BY \"CUSTOMER NAME\")")
        yield project


def test_plan_numbers_are_never_cut_at_80_columns_and_every_count_shows_at_200(project):
    counts = project.run("plan", "--json").json()
    narrow = at_width(project, 80, "plan")
    assert narrow.exit_code == 0, narrow.stderr
    assert "…" not in narrow.stdout
    assert all(len(line) <= 80 for line in narrow.stdout.splitlines())
    total_line = next(line for line in narrow.stdout.splitlines() if "total" in line)
    assert str(counts["totals"]["items"]["create"]) in total_line.split()
    assert str(counts["totals"]["subitems"]["create"]) in total_line.split()
    for name in counts["customers"]:  # customers wrap on words, never cut
        assert all(word in narrow.stdout for word in name.split()), name
    assert "left out at 80 columns: item unchanged" in narrow.stdout
    wide = at_width(project, 200, "plan")
    assert all(header in wide.stdout for header in HEADERS) and "left out" not in wide.stdout
    assert "…" not in wide.stdout
    unaffected = project.run("plan", "--json", env={"COLUMNS": "80"}).json()
    assert unaffected["totals"] == counts["totals"] and unaffected["customers"] == counts["customers"]


def test_plan_counts_a_group_shared_by_customers_once(project):
    planned = project.run("plan", "--json").json()
    per_customer = {name: customer["groups"]["names"] for name, customer in planned["customers"].items()}
    assert sum(len(names) for names in per_customer.values()) == planned["totals"]["groups"]["create"]
    assert sum("check" in names for names in per_customer.values()) == 1  # PELOTON's and BOGGI's odd lines


def test_status_tables_keep_their_numbers_whole_at_80_columns(project):
    assert project.run("sync", "--customer", "BOGGI", "--customer", "PELOTON").exit_code in (0, 1)
    narrow = at_width(project, 80, "status")
    assert narrow.exit_code == 0, narrow.stderr
    assert "…" not in narrow.stdout and all(len(line) <= 80 for line in narrow.stdout.splitlines())
    run = project.run("status", "--json").json()["runs"][0]
    items = run["items"]
    assert f"{items['create']}/{items['update']}/{items['archive']}/{items['failed']}" in narrow.stdout
    wide = at_width(project, 200, "status")
    assert "finished" in wide.stdout and "left out" not in wide.stdout


@pytest.mark.parametrize("columns", [80, 200])
def test_help_shows_config_sections_in_brackets(columns):
    shown = run_cli("init", "--help", env={"COLUMNS": str(columns)})
    assert "[source] url" in " ".join(shown.stdout.split()), shown.stdout
    assert "[source] table" in " ".join(run_cli("sample-data", "--help", env={"COLUMNS": str(columns)}).stdout.split())


def test_no_help_text_holds_a_bracket_rich_would_eat():
    """Rich reads `[word]` as markup and drops it: every config section in a help text is escaped."""
    from typer.main import get_command

    from ordersync import cli

    def texts(command):
        yield command.help or ""
        for parameter in command.params:
            yield getattr(parameter, "help", None) or ""
        for child in getattr(command, "commands", {}).values():
            yield from texts(child)

    eaten = [text for text in texts(get_command(cli.app)) if re.search(r"(?<!\\)\[[a-z][a-z_.\[\]]*\]", text)]
    assert eaten == []


def test_failures_are_counted_as_order_lines_and_sizes(tmp_path):
    with cli_project(tmp_path, rows=150) as project:
        execute(project, ON_HOLD)  # one GREYSON line the board refuses, with its sizes
        synced = project.run("sync", "--customer", "GREYSON")
        assert synced.exit_code == 1
        assert "rows failed" not in synced.stderr
        assert re.search(r"1 order line (and \d+ sizes )?failed", synced.stderr), synced.stderr
        report = project.run("report").stdout
        assert "rows failed" not in report
        assert re.search(r"\d+ writes confirmed, 1 order line and \d+ sizes? failed or not sent", report), report


def test_an_error_for_a_line_without_a_key_names_its_po_style_and_colour(project):
    execute(project, "UPDATE \"ORDERS_UNIFIED\" SET \"AAG ORDER NUMBER\" = NULL WHERE rowid = "
                     "(SELECT min(rowid) FROM \"ORDERS_UNIFIED\" WHERE \"CUSTOMER NAME\" = 'ALWRLD')")
    engine = sa.create_engine(project.source_url)
    with engine.connect() as connection:
        line = connection.execute(sa.text(
            "SELECT \"PO NUMBER\", \"CUSTOMER STYLE\", \"CUSTOMER COLOUR DESCRIPTION\" FROM \"ORDERS_UNIFIED\" "
            "WHERE \"AAG ORDER NUMBER\" IS NULL AND \"CUSTOMER NAME\" = 'ALWRLD'")).one()
    engine.dispose()
    synced = project.run("sync", "--customer", "ALWRLD", "--json")
    assert synced.exit_code == 1, synced.stderr
    report = project.run("report", "--json").json()
    keyless = [error for error in report["customers"]["ALWRLD"]["errors"] if error["item_key"] is None]
    assert keyless and keyless[0]["order_line"]["PO NUMBER"] == line[0]
    text = project.run("report").stdout
    assert "source row" not in text
    assert f"PO NUMBER {line[0]} · " in text and f"CUSTOMER STYLE {line[1]}" in text
    assert f"CUSTOMER COLOUR DESCRIPTION {line[2]}" in text


def test_status_after_a_mistyped_filter_still_shows_the_last_full_run_s_failures(tmp_path):
    with cli_project(tmp_path, rows=150) as project:
        execute(project, ON_HOLD)
        assert project.run("sync", "--all").exit_code == 1
        refused = project.run("sync", "--customer", "GREYSONN")
        assert refused.exit_code == 2
        status = project.run("status", "--json").json()
        assert status["unresolved_failures"]["order_lines"] == 1
        assert status["customers"]["GREYSON"]["failed"] >= 1
        assert "unresolved failures: 1 order line" in project.run("status").stdout


def test_reconcile_shows_what_it_reads_not_a_sync_of_nothing(project):
    seen = in_a_terminal(project, "reconcile", "--customer", "BOGGI")
    assert "syncing" not in seen and "0/?" not in seen, seen[-2000:]
    assert "reading the board" in seen


def test_the_final_progress_bar_is_printed_once(project):
    execute(project, "UPDATE \"ORDERS_UNIFIED\" SET \"STYLE DESCRIPTION\" = 'CHANGED' WHERE \"CUSTOMER NAME\" = 'BOGGI'")
    seen = in_a_terminal(project, "sync", "--customer", "BOGGI", raw=True)
    after_the_bar = seen.rsplit("\x1b[2K", 1)[-1]  # what stays on screen once the bar is cleared
    assert "sync run" in after_the_bar and "0:00" not in ANSI.sub("", after_the_bar), after_the_bar
    title = next(line for line in ANSI.sub("", seen).splitlines() if "sync run" in line)
    assert "0:00" not in title, title  # the table's title on a line of its own
