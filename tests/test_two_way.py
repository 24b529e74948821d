"""Two-way (issue 13): board-owned columns are never sent after create, and what people change on the board
comes back to the warehouse (`ordersync pull`, `ordersync webhooks`) — through the CLI, against the emulator."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli_project import TOKEN, Project, cli_project
from emulator_process import ORDERSYNC, free_port
from ordersync.emulator import EmulatorSettings

PLANNER = 71000001  # the emulator's first member: a person without a token
EX_FACTORY = "date_mkr57811"
NOTES = "long_text_mkr5hass"
PO_ALT = "text_mkrh94rx"  # CUSTOMER ALT PO: stays source-owned
CUT_QTY = "numeric_mkrbgdat"  # the subitem board's Cut Qty: people fill it, per size


def two_way_config(project: Project) -> None:
    """EX FACTORY DATE owned by the board (no source: people fill it), NOTES by the board with the source's
    value on create."""
    project.edit_config('source = "EX FACTORY DATE"\nid = "date_mkr57811"   # CUSTOMER EX FACTORY DATE\n',
                        'id = "date_mkr57811"   # CUSTOMER EX FACTORY DATE\nowner = "board"\n')
    project.edit_config('source = "NOTES"\nid = "long_text_mkr5hass"   # NOTES\n',
                        'source = "NOTES"\nid = "long_text_mkr5hass"   # NOTES\nowner = "board"\ninitial = true\n')


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=1_000_000_000, mutations_per_window=1_000_000,
                                requests_per_minute=1_000_000, members=["Pat Planner"])
    with cli_project(tmp_path / "project", rows=100, settings=settings) as made:
        two_way_config(made)
        yield made


def board_items(project: Project) -> dict[str, dict[str, Any]]:
    """item key → {id, name, column id → text} of every item on the board."""
    data = project.graphql("""query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 500) { items {
        id name column_values { id text } } } } }""", b=[project.board_id])
    key_column = project.config().monday.key_column
    found = {}
    for item in data["boards"][0]["items_page"]["items"]:
        texts = {value["id"]: value["text"] or "" for value in item["column_values"]}
        found[texts[key_column]] = {"id": item["id"], "name": item["name"], **texts}
    return found


def edit_as_planner(project: Project, item_id: str, column_id: str, value: Any) -> None:
    project.emulator("POST", "/operator/edit", json={"board_id": project.board_id, "item_id": item_id,
                                                     "column_id": column_id, "value": value, "user_id": PLANNER})


def change_source(project: Project, key: str, **columns: str) -> None:
    """Set source columns of the order line with business key `key` (its parts joined by ` | `)."""
    parts = key.split(" | ")
    business_key = project.config().source.business_key
    assignments = ", ".join(f'"{name}" = ?' for name in columns)
    where = " AND ".join(f'"{name}" = ?' for name in business_key)
    with sqlite3.connect(project.directory / "ordersync.db") as connection:
        changed = connection.execute(f'UPDATE "ORDERS_UNIFIED" SET {assignments} WHERE {where}',
                                     [*columns.values(), *parts]).rowcount
    assert changed == 1


def test_config_refuses_ownership_keys_that_do_not_fit(project: Project) -> None:
    project.edit_config('owner = "board"\ninitial = true\n', 'owner = "board"\ninitial = true\non_edit = "keep"\n')
    result = project.run("plan")
    assert result.exit_code != 0
    assert "on_edit" in result.stderr + result.stdout


def test_board_owned_values_survive_a_resync_and_initial_is_sent_on_create_only(project: Project) -> None:
    assert project.run("sync", "--all").exit_code == 0
    items = board_items(project)
    key, item = next((key, item) for key, item in items.items() if item[NOTES])
    assert item[EX_FACTORY] == ""  # board-owned without a source: nothing sent
    edit_as_planner(project, item["id"], EX_FACTORY, {"date": "2026-02-10"})
    edit_as_planner(project, item["id"], NOTES, "packed early, ship by air")
    change_source(project, key, **{"NOTES": "a new note in the warehouse", "CUSTOMER ALT PO": "ALT-77"})

    result = project.run("sync", "--all", "--json")
    assert result.exit_code == 0, result.stderr

    after = board_items(project)[key]
    assert after[EX_FACTORY] == "2026-02-10"
    assert after[NOTES] == "packed early, ship by air"
    assert after[PO_ALT] == "ALT-77"  # the line was updated: its source-owned column went


PATTERN = "text_mkr5cz8m"  # PATTERN ID: source-owned, a person's edit kept


def warehouse_rows(project: Project, table: str) -> list[dict[str, Any]]:
    with sqlite3.connect(project.directory / "ordersync.db") as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(f'SELECT * FROM "ordersync_{table}" ORDER BY 1')]


def test_pull_brings_board_owned_edits_back_once_and_settles_conflicts_by_policy(project: Project) -> None:
    project.edit_config('id = "text_mkr5cz8m"   # PATTERN ID\n', 'id = "text_mkr5cz8m"   # PATTERN ID\non_edit = "keep"\n')
    assert project.run("sync", "--all").exit_code == 0
    first = project.run("pull", "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json()["edits"] == 0 and first.json()["conflicts"] == 0  # the initial NOTES were ordersync's
    assert first.json()["echoes"] > 0
    assert all(row["value_text"] for row in warehouse_rows(project, "board_current"))

    items = board_items(project)
    (key_a, a), (key_b, b), (key_c, c), (key_d, d) = list(items.items())[:4]
    edit_as_planner(project, a["id"], EX_FACTORY, {"date": "2026-02-09"})
    edit_as_planner(project, a["id"], EX_FACTORY, {"date": "2026-02-10"})  # changed again before the pull
    edit_as_planner(project, b["id"], NOTES, "needs a second fitting")
    edit_as_planner(project, c["id"], PO_ALT, "PERSON-ALT")  # source-owned, restore
    edit_as_planner(project, d["id"], PATTERN, "PERSON-PATTERN")  # source-owned, keep

    pulled = project.run("pull", "--json").json()
    assert (pulled["edits"], pulled["conflicts"], pulled["restore"], pulled["keep"]) == (3, 2, 1, 1)
    edits = [(row["item_key"], row["column_id"], row["value_text"], row["value_date"], row["user_id"])
             for row in warehouse_rows(project, "board_edits")]
    assert sorted(edits) == sorted([
        (key_a, EX_FACTORY, "2026-02-09", "2026-02-09", str(PLANNER)),
        (key_a, EX_FACTORY, "2026-02-10", "2026-02-10", str(PLANNER)),
        (key_b, NOTES, "needs a second fitting", None, str(PLANNER))])
    current = {(row["item_key"], row["column_id"]): row["value_text"] for row in warehouse_rows(project, "board_current")}
    assert current[(key_a, EX_FACTORY)] == "2026-02-10"

    again = project.run("pull", "--json").json()
    assert (again["edits"], again["conflicts"]) == (0, 0)
    assert len(warehouse_rows(project, "board_edits")) == 3

    assert project.run("sync", "--all").exit_code == 0
    after = board_items(project)
    assert after[key_c][PO_ALT] == c[PO_ALT]  # restored
    assert after[key_d][PATTERN] == "PERSON-PATTERN"  # kept
    assert after[key_a][EX_FACTORY] == "2026-02-10" and after[key_b][NOTES] == "needs a second fitting"
    quiet = project.run("pull", "--json").json()
    assert (quiet["edits"], quiet["conflicts"]) == (0, 0)  # the restore was ordersync's own write

    change_source(project, key_d, **{"PATTERN ID": "PAT-NEW"})
    assert project.run("sync", "--all").exit_code == 0
    assert board_items(project)[key_d][PATTERN] == "PAT-NEW"  # the source changed: the person's value goes


# -- webhooks ---------------------------------------------------------------------------------------

SECRET = "app-signing-secret-5c1d"


@contextlib.contextmanager
def webhook_receiver(project: Project, secret: str | None = SECRET) -> Iterator[str]:
    """`ordersync webhooks serve` in a process of its own, as a person starts it (with the app's signing
    secret when given); yields its URL."""
    port = free_port()
    signing = {"MONDAY_SIGNING_SECRET": secret} if secret else {}
    process = subprocess.Popen([ORDERSYNC, "--config", str(project.config_path), "webhooks", "serve", "--port",
                                str(port)], env={**os.environ, **project.env, **signing},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr and process.stderr.read()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.1)
        yield url + "/"
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    """Poll until `condition()` is truthy (a webhook arrives off the request path)."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


@pytest.fixture
def signed_project(tmp_path: Path) -> Iterator[Project]:
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=1_000_000_000, mutations_per_window=1_000_000,
                                requests_per_minute=1_000_000, members=["Pat Planner"],
                                webhook_signing_secret=SECRET)
    with cli_project(tmp_path / "project", rows=100, settings=settings) as made:
        two_way_config(made)
        yield made


def test_webhooks_record_a_planners_edit_once_without_echoes_or_duplicates(signed_project: Project) -> None:
    project = signed_project
    add_cut_qty(project)
    assert project.run("sync", "--all").exit_code == 0
    assert project.run("pull").exit_code == 0  # the current view starts from the board as the sync left it
    with webhook_receiver(project) as url:
        assert httpx.post(url, json={"challenge": "x"}).status_code == 401  # unsigned: not Monday's
        installed = project.run("webhooks", "install", url, "--json")
        assert installed.exit_code == 0, installed.stderr
        assert len(installed.json()["created"]) == 10
        assert project.run("webhooks", "install", url, "--json").json()["created"] == []  # kept

        items = list(board_items(project).items())
        (key_a, a), (key_b, b) = items[0], items[1]
        edit_as_planner(project, a["id"], EX_FACTORY, {"date": "2026-03-01"})
        wait_for(lambda: warehouse_rows(project, "board_edits"), "the first edit")
        assert [(row["item_key"], row["column_id"], row["value_date"], row["user_id"], row["via"])
                for row in warehouse_rows(project, "board_edits")] == [
            (key_a, EX_FACTORY, "2026-03-01", str(PLANNER), "webhook")]

        project.emulator("PATCH", "/emulator/config", json={"faults": {"webhook_duplicate": 1.0}})
        edit_as_planner(project, b["id"], NOTES, "hold for QC")
        wait_for(lambda: httpx.get(url + "health").json().get("duplicates"), "the duplicate delivery")
        project.emulator("PATCH", "/emulator/config", json={"faults": {"webhook_duplicate": 0.0}})

        change_source(project, key_b, **{"CUSTOMER ALT PO": "ALT-WEBHOOK"})
        assert project.run("sync", "--all").exit_code == 0  # ordersync's own write: an echo at the receiver
        wait_for(lambda: httpx.get(url + "health").json().get("echoes"), "the echo of the sync's write")

        subitem = project.graphql("query ($i: [ID!]) { items(ids: $i) { subitems { id name } } }",
                                  i=[a["id"]])["items"][0]["subitems"][0]
        project.emulator("POST", "/operator/edit", json={"item_id": subitem["id"], "column_id": CUT_QTY,
                                                         "value": "12", "user_id": PLANNER})
        wait_for(lambda: len(warehouse_rows(project, "board_edits")) == 3, "the subitem's edit")

        edits = warehouse_rows(project, "board_edits")
        assert [(row["item_key"], row["size"], row["column_id"]) for row in edits] == [
            (key_a, None, EX_FACTORY), (key_b, None, NOTES), (key_a, subitem["name"].removeprefix("Size "), CUT_QTY)]
        assert project.run("pull", "--json").json()["edits"] == 0  # the webhooks left nothing for the backstop
        assert project.run("webhooks", "uninstall", "--json").json()["deleted"] != []
    assert project.graphql("query ($b: ID!) { webhooks(board_id: $b) { id } }", b=project.board_id)["webhooks"] == []


def test_the_receiver_accepts_only_an_unexpired_jwt_signed_with_the_secret() -> None:
    from ordersync.emulator.webhooks import signed_jwt
    from ordersync.twoway.webhooks import verify_jwt

    claims = {"accountId": 1, "userId": 2, "aud": "https://sync.example.com/", "iat": 1000, "exp": 1300}
    token = signed_jwt(SECRET, claims)
    assert verify_jwt(token, SECRET, now=1200) == claims
    assert verify_jwt("Bearer " + token, SECRET, now=1200) == claims
    assert verify_jwt(token, SECRET, now=1301) is None  # expired
    assert verify_jwt(token, "another-secret", now=1200) is None
    assert verify_jwt(token[:-2] + "AA", SECRET, now=1200) is None
    assert verify_jwt("not.a.jwt", SECRET) is None


def test_log_values_read_as_monday_shows_them() -> None:
    from ordersync.twoway.record import log_text

    assert log_text("status", {"label": {"index": 1, "text": "Done"}, "post_id": None}) == "Done"
    assert log_text("dropdown", {"chosenValues": [{"id": 1, "name": "S"}, {"id": 2, "name": "M"}]}) == "S, M"
    assert log_text("date", {"date": "2026-02-10", "icon": None, "time": None}) == "2026-02-10"
    assert log_text("numbers", {"value": 12.0}) == "12"
    assert log_text("text", {"value": "ALT-1"}) == "ALT-1"
    assert log_text("long_text", {"text": "hold"}) == "hold"
    assert log_text("text", None) == ""


def add_cut_qty(project: Project) -> None:
    project.edit_config('create_labels_if_missing = true\n\n[hash]',
                        'create_labels_if_missing = true\n\n[[subitems.columns]]\nid = "numeric_mkrbgdat"\n'
                        'type = "numbers"\n\n[hash]')


def test_pull_brings_a_board_owned_subitem_column_back_with_the_lines_key_and_size(project: Project) -> None:
    add_cut_qty(project)
    assert project.run("sync", "--all").exit_code == 0
    assert project.run("pull", "--json").json()["edits"] == 0
    data = project.graphql("""query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 1) { items {
        column_values(ids: ["text_ordersync_key"]) { text } subitems { id name } } } } }""", b=[project.board_id])
    item = data["boards"][0]["items_page"]["items"][0]
    subitem = item["subitems"][0]
    project.emulator("POST", "/operator/edit", json={"item_id": subitem["id"], "column_id": CUT_QTY, "value": "40",
                                                     "user_id": PLANNER})

    pulled = project.run("pull", "--json").json()
    assert pulled["edits"] == 1, pulled
    [edit] = warehouse_rows(project, "board_edits")
    assert (edit["item_key"], edit["size"], edit["column_id"], edit["value_number"], edit["user_id"]) == (
        item["column_values"][0]["text"], subitem["name"].removeprefix("Size "), CUT_QTY, 40.0, str(PLANNER))
    assert project.run("pull", "--json").json()["edits"] == 0


def conflicts(project: Project) -> list[tuple[str, str, str, str | None]]:
    with sqlite3.connect(project.directory / "ordersync.db") as connection:
        return [tuple(row) for row in connection.execute(
            "SELECT item_key, column_id, board_text, user_id FROM ordersync_board_conflicts ORDER BY conflict_id")]


def test_a_sync_before_any_pull_keeps_or_restores_by_policy_and_every_edit_is_a_conflict(project: Project) -> None:
    project.edit_config('id = "text_mkr5cz8m"   # PATTERN ID\n', 'id = "text_mkr5cz8m"   # PATTERN ID\non_edit = "keep"\n')
    assert project.run("sync", "--all").exit_code == 0
    assert project.run("pull").exit_code == 0
    (key_c, c), (key_d, d) = list(board_items(project).items())[:2]
    edit_as_planner(project, c["id"], PO_ALT, "FIRST-TRY")
    edit_as_planner(project, c["id"], PO_ALT, "SECOND-TRY")  # restore: changed twice before anything read it
    edit_as_planner(project, d["id"], PATTERN, "KEEP-ME")  # keep

    synced = project.run("sync", "--all", "--json")  # no pull in between: the sync meets the edits itself
    assert synced.exit_code == 0 and synced.json()["adopted"]["conflicts"] == 2
    after = board_items(project)
    assert after[key_c][PO_ALT] == c[PO_ALT] and after[key_d][PATTERN] == "KEEP-ME"
    assert sorted(conflicts(project)) == [(key_c, PO_ALT, "SECOND-TRY", None), (key_d, PATTERN, "KEEP-ME", None)]

    pulled = project.run("pull", "--json").json()
    assert (pulled["conflicts"], pulled["edits"]) == (1, 0)  # the first try, which only the log still shows
    assert sorted(conflicts(project)) == [(key_c, PO_ALT, "FIRST-TRY", str(PLANNER)),
                                          (key_c, PO_ALT, "SECOND-TRY", str(PLANNER)),
                                          (key_d, PATTERN, "KEEP-ME", str(PLANNER))]  # who, once the log tells
    assert project.run("sync", "--all").exit_code == 0
    assert board_items(project)[key_d][PATTERN] == "KEEP-ME"
    reconciled = project.run("reconcile", "--json")  # a kept value is the people's, not drift
    assert reconciled.exit_code == 0, reconciled.json()["drift"]["findings"]
    status = project.run("status", "--json").json()["conflicts"]
    assert (status["count"], status["restore"], status["keep"]) == (3, 2, 1)
    assert status["latest"][0]["board_text"] in {"FIRST-TRY", "SECOND-TRY", "KEEP-ME"}
    assert {row["column"] for row in status["latest"]} == {"CUSTOMER ALT PO", "PATTERN ID"}  # by their names
    text = project.run("status").stdout
    assert "conflicts (people's edits of source-owned columns): 3 (2 by restore, 1 by keep)" in text
    assert "PATTERN ID: 'KEEP-ME' (the source's" in " ".join(text.split())


def test_the_run_report_lists_the_conflicts_its_sync_met_by_column_name(project: Project) -> None:
    assert project.run("sync", "--all").exit_code == 0
    assert project.run("pull").exit_code == 0  # as a day starts: the board as the last sync and pull left it
    key, item = next(iter(board_items(project).items()))
    edit_as_planner(project, item["id"], PO_ALT, "PLANNER-PO")
    synced = project.run("sync", "--all", "--json")
    assert synced.exit_code == 0 and synced.json()["adopted"]["conflicts"] == 1

    report = project.run("report", "--json").json()
    assert report["run_id"] == synced.json()["run_id"]
    assert (report["conflicts"]["count"], report["conflicts"]["restore"], report["conflicts"]["keep"]) == (1, 1, 0)
    [conflict] = report["conflicts"]["during_run"]
    assert (conflict["item_key"], conflict["column_id"], conflict["column"], conflict["board_text"],
            conflict["source_text"], conflict["policy"]) == (key, PO_ALT, "CUSTOMER ALT PO", "PLANNER-PO",
                                                             item[PO_ALT], "restore")
    written = (project.directory / "reports" / f"run-{report['run_id']}" / "summary.md").read_text()
    assert "## Conflicts (1 during this run)" in written and "| CUSTOMER ALT PO | PLANNER-PO |" in written
    earlier = project.run("report", str(report["run_id"] - 1), "--json").json()["conflicts"]
    assert earlier["count"] == 1 and earlier["during_run"] == []  # the board's, but not met by that run


def test_validate_checks_board_owned_subitem_columns_and_board_owned_columns_pass(project: Project) -> None:
    add_cut_qty(project)
    assert project.run("validate", "--json").exit_code == 0  # EX FACTORY (no source), NOTES, Cut Qty on the board
    project.edit_config('id = "numeric_mkrbgdat"\ntype = "numbers"', 'id = "numeric_mkrbgdat"\ntype = "text"')
    checked = project.run("validate", "--json")
    assert checked.exit_code == 2
    problems = {mismatch["path"]: mismatch["problem"] for mismatch in checked.json()["mismatches"]}
    assert "is a numbers column, the config says text" in problems["subitems.columns[0].type"]


@pytest.mark.parametrize("ordersync_exit", [0, 3])
def test_the_pull_cron_line_runs_a_pull_with_the_token_and_reports_exit_codes_above_1(tmp_path: Path,
                                                                                      ordersync_exit: int) -> None:
    cron = Path(__file__).parents[1] / "deploy" / "cron" / "ordersync-pull.cron"
    [entry] = [line for line in cron.read_text().splitlines() if line and not line.startswith("#")]
    minute, _, _, _, _, user, command = entry.split(maxsplit=6)
    assert (minute, user) == ("*/10", "ordersync")
    assert ".venv/bin/ordersync --profile prod pull --json >>" in command
    assert "`ordersync --profile prod pull --json`" in (Path(__file__).parents[1] / "README.md").read_text()
    home, logs, etc, bin_dir = (tmp_path / name for name in ("srv", "log", "etc", "bin"))
    for folder in (home / ".venv" / "bin", logs, etc, bin_dir):
        folder.mkdir(parents=True)
    stub = home / ".venv" / "bin" / "ordersync"
    stub.write_text(f"""#!/bin/sh
[ "$MONDAY_API_TOKEN" = "token-from-a-file" ] || {{ echo "no token" >&2; exit 99; }}
[ "$*" = "--profile prod pull --json" ] || {{ echo "unexpected arguments: $*" >&2; exit 98; }}
echo '{{"board_id": "1", "edits": 2, "exit": {ordersync_exit}}}'
exit {ordersync_exit}
""")
    stub.chmod(0o755)
    (etc / "monday-token").write_text("token-from-a-file\n")
    (bin_dir / "logger").write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'syslog'}\n")
    (bin_dir / "logger").chmod(0o755)
    command = (command.replace("/srv/ordersync", str(home)).replace("/var/log/ordersync", str(logs))
               .replace("/etc/ordersync", str(etc)))
    finished = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=30,
                              env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert finished.returncode == 0, finished.stderr
    assert json.loads((logs / "pull.json.log").read_text())["exit"] == ordersync_exit
    syslog = tmp_path / "syslog"
    assert syslog.exists() == (ordersync_exit > 1)


# -- the item's name and a size's quantity: source-owned, a person's edit is a conflict -------------------

ORDER_QTY = "numeric_mkra7j8e"  # the subitem board's Order Qty: the source's, per size


def rename_as_planner(project: Project, item_id: str, name: str) -> None:
    project.emulator("POST", "/operator/edit", json={"board_id": project.board_id, "item_id": item_id,
                                                     "name": name, "user_id": PLANNER})


def first_size(project: Project, item_id: str) -> dict[str, Any]:
    """The item's first subitem: id, name, Order Qty text."""
    [item] = project.graphql("query ($i: [ID!]) { items(ids: $i) { subitems { id name column_values { id text } } } }",
                             i=[item_id])["items"]
    subitem = item["subitems"][0]
    texts = {value["id"]: value["text"] or "" for value in subitem["column_values"]}
    return {"id": subitem["id"], "size": subitem["name"].removeprefix("Size "), "quantity": texts[ORDER_QTY]}


def edit_quantity_as_planner(project: Project, subitem_id: str, quantity: str) -> None:
    project.emulator("POST", "/operator/edit", json={"item_id": subitem_id, "column_id": ORDER_QTY,
                                                     "value": quantity, "user_id": PLANNER})


def name_and_quantity_conflicts(project: Project) -> list[tuple[Any, ...]]:
    """(item key, column, size, the person's value, the source's as the sync wrote it, who, dated) of every
    conflict, in the order recorded."""
    with sqlite3.connect(project.directory / "ordersync.db") as connection:
        return [(key, column, size, text, json.loads(source), user, changed_at is not None)
                for key, column, size, text, source, user, changed_at in connection.execute(
                    "SELECT item_key, column_id, size, board_text, source_value, user_id, changed_at "
                    "FROM ordersync_board_conflicts ORDER BY conflict_id")]


def test_a_rename_and_a_quantity_edit_are_conflicts_by_pull_and_the_next_sync_restores_them(project: Project) -> None:
    assert project.run("sync", "--all").exit_code == 0
    assert project.run("pull").exit_code == 0
    (key_a, a), (key_b, b) = list(board_items(project).items())[:2]
    size = first_size(project, b["id"])
    rename_as_planner(project, a["id"], "RUSH - " + a["name"])
    edit_quantity_as_planner(project, size["id"], str(int(size["quantity"]) + 900))

    pulled = project.run("pull", "--json").json()
    assert (pulled["conflicts"], pulled["restore"], pulled["keep"], pulled["edits"]) == (2, 2, 0, 0), pulled
    assert name_and_quantity_conflicts(project) == [
        (key_a, "name", None, "RUSH - " + a["name"], a["name"], str(PLANNER), True),
        (key_b, ORDER_QTY, size["size"], str(int(size["quantity"]) + 900), int(size["quantity"]), str(PLANNER), True)]
    assert project.run("pull", "--json").json()["conflicts"] == 0  # read again: the same two

    assert project.run("sync", "--all").exit_code == 0
    assert board_items(project)[key_a]["name"] == a["name"]  # restored
    assert first_size(project, b["id"])["quantity"] == size["quantity"]
    quiet = project.run("pull", "--json").json()
    assert quiet["conflicts"] == 0 and len(name_and_quantity_conflicts(project)) == 2  # the restores: ordersync's


def test_a_rename_and_a_quantity_edit_met_first_by_a_sync_are_recorded_once(project: Project) -> None:
    assert project.run("sync", "--all").exit_code == 0
    assert project.run("pull").exit_code == 0
    (key_a, a), (key_b, b) = list(board_items(project).items())[:2]
    size = first_size(project, b["id"])
    rename_as_planner(project, a["id"], "RENAMED BY PAT")
    edit_quantity_as_planner(project, size["id"], str(int(size["quantity"]) + 7))

    synced = project.run("sync", "--all", "--json")  # no pull in between: the sync's adopt meets them
    assert synced.exit_code == 0 and synced.json()["adopted"]["conflicts"] == 2, synced.stderr
    assert board_items(project)[key_a]["name"] == a["name"]
    assert first_size(project, b["id"])["quantity"] == size["quantity"]
    assert name_and_quantity_conflicts(project) == [
        (key_a, "name", None, "RENAMED BY PAT", a["name"], None, False),
        (key_b, ORDER_QTY, size["size"], str(int(size["quantity"]) + 7), int(size["quantity"]), None, False)]

    pulled = project.run("pull", "--json").json()
    assert pulled["conflicts"] == 0, pulled  # the pull dates the two (who, when), it adds none
    assert name_and_quantity_conflicts(project) == [
        (key_a, "name", None, "RENAMED BY PAT", a["name"], str(PLANNER), True),
        (key_b, ORDER_QTY, size["size"], str(int(size["quantity"]) + 7), int(size["quantity"]), str(PLANNER), True)]
    assert project.run("sync", "--all", "--json").json()["adopted"]["conflicts"] == 0


def test_on_name_edit_and_on_quantity_edit_keep_the_persons_values_until_the_source_changes(project: Project) -> None:
    project.edit_config("[items]\n", '[items]\non_name_edit = "keep"\n')
    project.edit_config("[subitems]\n", '[subitems]\non_quantity_edit = "keep"\n')
    assert project.run("sync", "--all").exit_code == 0
    assert project.run("pull").exit_code == 0
    (key_a, a), (key_b, b) = list(board_items(project).items())[:2]
    size = first_size(project, b["id"])
    rename_as_planner(project, a["id"], "KEEP THIS NAME")
    edit_quantity_as_planner(project, size["id"], str(int(size["quantity"]) + 11))

    pulled = project.run("pull", "--json").json()
    assert (pulled["conflicts"], pulled["restore"], pulled["keep"]) == (2, 0, 2), pulled
    assert project.run("sync", "--all").exit_code == 0
    assert project.run("sync", "--all").exit_code == 0
    assert board_items(project)[key_a]["name"] == "KEEP THIS NAME"
    assert first_size(project, b["id"])["quantity"] == str(int(size["quantity"]) + 11)
    assert len(name_and_quantity_conflicts(project)) == 2

    change_source(project, key_b, **{size["size"]: str(int(size["quantity"]) + 3)})
    assert project.run("sync", "--all").exit_code == 0
    assert first_size(project, b["id"])["quantity"] == str(int(size["quantity"]) + 3)  # the source changed


def test_config_refuses_an_unknown_policy_for_renames_and_quantity_edits(project: Project) -> None:
    project.edit_config("[items]\n", '[items]\non_name_edit = "ignore"\n')
    result = project.run("plan")
    assert result.exit_code != 0
    assert "on_name_edit" in result.stderr + result.stdout and "'restore' or 'keep'" in result.stderr + result.stdout
    project.edit_config('on_name_edit = "ignore"\n', "")
    project.edit_config("[subitems]\n", '[subitems]\non_quantity_edit = "sometimes"\n')
    result = project.run("plan")
    assert result.exit_code != 0
    assert "on_quantity_edit" in result.stderr + result.stdout and "'restore' or 'keep'" in result.stderr + result.stdout


def test_webhooks_record_a_rename_and_a_quantity_edit_as_conflicts_once(signed_project: Project) -> None:
    project = signed_project
    assert project.run("sync", "--all").exit_code == 0
    assert project.run("pull").exit_code == 0
    with webhook_receiver(project) as url:
        assert project.run("webhooks", "install", url).exit_code == 0
        (key_a, a), (key_b, b) = list(board_items(project).items())[:2]
        size = first_size(project, b["id"])
        rename_as_planner(project, a["id"], "RENAMED ON THE BOARD")
        edit_quantity_as_planner(project, size["id"], str(int(size["quantity"]) + 55))
        wait_for(lambda: len(name_and_quantity_conflicts(project)) == 2, "the two conflicts")
        assert name_and_quantity_conflicts(project) == [
            (key_a, "name", None, "RENAMED ON THE BOARD", a["name"], str(PLANNER), True),
            (key_b, ORDER_QTY, size["size"], str(int(size["quantity"]) + 55), int(size["quantity"]), str(PLANNER), True)]
        assert project.run("pull", "--json").json()["conflicts"] == 0  # nothing left for the backstop
        assert project.run("sync", "--all", "--json").json()["adopted"]["conflicts"] == 0
        assert board_items(project)[key_a]["name"] == a["name"]
        assert first_size(project, b["id"])["quantity"] == size["quantity"]


def test_an_edit_in_the_second_of_the_syncs_last_write_is_still_met_by_the_next_sync(project: Project,
                                                                                      monkeypatch) -> None:
    """Monday's times have whole seconds: an item edited in the second a sync last wrote it keeps its time, so
    the mark that sync recorded cannot tell. Here the emulator's clock stands still (a second that has not
    passed when the sync records its mark, as far as this machine's clock can tell): the sync must not
    record a mark that vouches for the board, and the next one meets the edit."""
    frozen = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)

    def still(*, millis: bool = False) -> str:
        return frozen.strftime("%Y-%m-%dT%H:%M:%S") + (".000Z" if millis else "Z")

    for module in ("model", "account", "jobs", "values", "store"):
        monkeypatch.setattr(f"ordersync.emulator.{module}.now_iso", still)
    assert project.run("sync", "--all").exit_code == 0
    (key_a, a), _ = list(board_items(project).items())[:2]
    rename_as_planner(project, a["id"], "RENAMED IN THE SAME SECOND")

    synced = project.run("sync", "--all", "--json")
    assert synced.exit_code == 0 and synced.json()["adopted"]["conflicts"] == 1, synced.stdout
    assert board_items(project)[key_a]["name"] == a["name"]
