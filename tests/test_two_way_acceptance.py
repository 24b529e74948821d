"""Issue 13's acceptance: syncs run while a simulated team makes 200 edits across board-owned and source-owned
columns, with webhook deliveries lost for a stretch (dropped outright, and a receiver down for longer than
Monday retries). After the next `pull`: every board-owned edit is in the warehouse exactly once, no sync
overwrote a board-owned value, every source-owned edit is a recorded conflict settled by its policy, and
none of ordersync's own writes came back as an edit. Through the CLI, against the emulator over HTTP, the
receiver in a process of its own."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli_project import TOKEN, Project, cli_project
from ordersync.emulator import EmulatorSettings
from test_two_way import (
    CUT_QTY,
    EX_FACTORY,
    NOTES,
    PATTERN,
    PO_ALT,
    add_cut_qty,
    board_items,
    change_source,
    two_way_config,
    wait_for,
    webhook_receiver,
)

TEAM = [71000001, 71000002, 71000003]
ME = "70000001"  # the token's user
WINDOW = 0.2  # the emulator's minute: Monday's 30 retries, one a minute, last 6 s here
EDITS = 200
ROUNDS = 10


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=1_000_000_000, mutations_per_window=1_000_000,
                                requests_per_minute=1_000_000_000, members=["Pat Planner", "Sam Sewer", "Lee Lead"],
                                window_seconds=WINDOW)
    with cli_project(tmp_path / "project", rows=100, settings=settings) as made:
        two_way_config(made)
        add_cut_qty(made)
        made.edit_config('id = "text_mkr5cz8m"   # PATTERN ID\n',
                         'id = "text_mkr5cz8m"   # PATTERN ID\non_edit = "keep"\n')
        yield made


class Team:
    """People editing the board through the emulator's operator endpoint; what each edit was."""

    def __init__(self, project: Project, seed: int = 13) -> None:
        self.project = project
        self.random = random.Random(seed)
        found = project.graphql("""query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 500) { items {
            id column_values(ids: ["text_ordersync_key"]) { text } subitems { id name } } } } }""",
                                b=[project.board_id])["boards"][0]["items_page"]["items"]
        self.items = [(item["column_values"][0]["text"], item["id"], item["subitems"]) for item in found][:30]
        self.count = 0
        self.board_owned: list[tuple[str, str | None, str, str]] = []  # (key, size, column, text)
        self.source_owned: list[tuple[str, str, str]] = []  # (key, column, text)
        self.last: dict[tuple[str, str | None, str], str] = {}

    def edit(self) -> None:
        self.count += 1
        n = self.count
        key, item_id, subitems = self.random.choice(self.items)
        column = self.random.choice([EX_FACTORY, NOTES, PO_ALT, PATTERN, CUT_QTY])
        size = None
        text = f"{column[:4]}-{n}"
        value: Any = text
        if column == CUT_QTY:
            subitem = self.random.choice(subitems)
            item_id, size = subitem["id"], subitem["name"].removeprefix("Size ")
            value = text = str(n)
        elif column == EX_FACTORY:
            text = (date(2026, 1, 1) + timedelta(days=n)).isoformat()
            value = {"date": text}
        self.project.emulator("POST", "/operator/edit", json={
            "item_id": item_id, "column_id": column, "value": value, "user_id": self.random.choice(TEAM)})
        if column in (PO_ALT, PATTERN):
            self.source_owned.append((key, column, text))
        else:
            self.board_owned.append((key, size, column, text))
        self.last[(key, size, column)] = text


def deliveries(project: Project) -> dict[str, Any]:
    return project.emulator("GET", "/emulator/webhooks")


def set_faults(project: Project, **faults: float) -> None:
    project.emulator("PATCH", "/emulator/config", json={"faults": faults})


def settled(project: Project) -> bool:
    return deliveries(project)["pending"] == 0


def table(project: Project, name: str) -> list[dict[str, Any]]:
    with sqlite3.connect(project.directory / "ordersync.db") as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(f"SELECT * FROM ordersync_{name} ORDER BY 1")]


def source_text(project: Project, key: str, column: str) -> str:
    business_key = project.config().source.business_key
    where = " AND ".join(f'"{name}" = ?' for name in business_key)
    with sqlite3.connect(project.directory / "ordersync.db") as connection:
        [value] = connection.execute(f'SELECT "{column}" FROM "ORDERS_UNIFIED" WHERE {where}',
                                     key.split(" | ")).fetchone()
    return "" if value is None else str(value)


def test_two_hundred_edits_with_lost_webhooks_reach_the_warehouse_once_and_no_sync_tramples_them(
        project: Project) -> None:
    assert project.run("sync", "--all").exit_code == 0
    assert project.run("pull").exit_code == 0
    team = Team(project)
    source_notes = {key: None for key, _, _ in team.items}  # lines whose source changes, so syncs update them
    with webhook_receiver(project, secret=None) as url:
        assert project.run("webhooks", "install", url).exit_code == 0
        for round_number in range(ROUNDS):
            lost = round_number in (3, 4)  # dropped outright: never sent, never retried
            set_faults(project, webhook_drop=1.0 if lost else 0.0)
            for _ in range(EDITS // ROUNDS):
                team.edit()
            for key in team.random.sample(sorted(source_notes), 3):
                change_source(project, key, **{"NOTES FOR PRICE": f"price note {round_number}"})
            assert project.run("sync", "--all").exit_code == 0
        set_faults(project, webhook_drop=0.0)
        wait_for(lambda: settled(project), "the webhook deliveries")
    given_up_before = deliveries(project)["deliveries"].get("given_up", 0)
    for _ in range(EDITS // ROUNDS):  # the receiver is down for longer than Monday retries
        team.edit()
    wait_for(lambda: settled(project), "Monday to give up", seconds=60)
    assert deliveries(project)["deliveries"]["given_up"] > given_up_before
    assert team.count == EDITS + EDITS // ROUNDS

    pulled = project.run("pull", "--json")
    assert pulled.exit_code == 0, pulled.stderr

    edits = table(project, "board_edits")
    assert Counter((row["item_key"], row["size"], row["column_id"], row["value_text"]) for row in edits) == \
        Counter(team.board_owned)  # every board-owned edit exactly once
    assert not [row for row in edits if row["user_id"] == ME]  # no echo of ordersync's own writes
    recorded = Counter((row["item_key"], row["column_id"], row["board_text"]) for row in table(project, "board_conflicts"))
    assert recorded == Counter(team.source_owned)  # every source-owned edit a conflict, once
    assert all(row["user_id"] in {str(member) for member in TEAM} for row in table(project, "board_conflicts"))

    assert project.run("sync", "--all").exit_code == 0
    board = board_items(project)
    subitems = {(key, sub["name"].removeprefix("Size ")): sub["id"] for key, _, subs in team.items for sub in subs}
    cut = {item["id"]: {value["id"]: value["text"] for value in item["column_values"]} for item in project.graphql(
        "query ($i: [ID!]) { items(ids: $i) { id column_values(ids: [\"numeric_mkrbgdat\"]) { id text } } }",
        i=sorted({subitems[(key, size)] for key, size, column in team.last if column == CUT_QTY}))["items"]}
    for (key, size, column), text in team.last.items():
        if column == CUT_QTY:
            assert cut[subitems[(key, size)]][CUT_QTY] == text  # board-owned: never overwritten
        elif column in (EX_FACTORY, NOTES, PATTERN):
            assert board[key][column] == text, (key, column)  # board-owned, or source-owned kept
        else:
            assert board[key][column] == source_text(project, key, "CUSTOMER ALT PO"), key  # restored
    quiet = project.run("pull", "--json").json()
    assert (quiet["edits"], quiet["conflicts"]) == (0, 0)
