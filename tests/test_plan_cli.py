"""`ordersync plan` through the command line, on generated sample data in SQLite and PostgreSQL.

The commands are the ones a user types: `ordersync init`, `ordersync sample-data`, then
`ordersync plan [filters] --json`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ordersync.cli import app
from ordersync.errors import UsageError
from ordersync.state import build_tables

COUNTS = {"create", "update", "archive", "unchanged", "failed"}
runner = CliRunner()


def ordersync(*args: str, config: Path) -> dict:
    """Run `ordersync --config CONFIG ARGS…` and return its JSON output."""
    result = runner.invoke(app, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def make_project(directory: Path, url: str, rows: int) -> Path:
    """`ordersync init` then `ordersync sample-data`: a config and a sample table at `url`."""
    config = directory / "ordersync.toml"
    result = runner.invoke(app, ["init", str(config), "--source-url", url])
    assert result.exit_code == 0, result.output
    written = ordersync("sample-data", "--rows", str(rows), "--json", config=config)
    assert written["rows"] == rows
    return config


@pytest.fixture
def project(tmp_path, database_url) -> Path:
    return make_project(tmp_path, database_url, rows=300)


def state_counts(url: str) -> dict[str, int]:
    tables = build_tables()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        counts = {table.name.removeprefix("ordersync_"): connection.execute(
            sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (tables.staged_items, tables.staged_subitems, tables.synced_items, tables.synced_subitems,
                          tables.groups, tables.write_intents, tables.runs)}
    engine.dispose()
    return counts


def test_plan_for_greyson_po_4755_creates_264_subitems_under_69_items_in_one_group(project):
    plan = ordersync("plan", "--customer", "GREYSON", "--po", "4755", "--json", config=project)

    assert plan["totals"]["subitems"]["create"] == 264
    assert plan["totals"]["items"]["create"] == 69
    assert plan["totals"]["groups"] == {"create": 1}
    assert list(plan["customers"]) == ["GREYSON"]
    assert plan["customers"]["GREYSON"]["groups"] == {"create": 1, "names": ["GREYSON 2025 FALL"]}


def test_plan_json_gives_totals_and_each_customer_with_every_count(project):
    plan = ordersync("plan", "--json", config=project)

    assert set(plan) == {"run_id", "totals", "customers", "guards"}
    assert plan["guards"] == []  # nothing synced yet: no guard a sync would meet
    assert set(plan["totals"]) == {"groups", "items", "subitems"}
    assert set(plan["totals"]["groups"]) == {"create"}
    assert set(plan["totals"]["items"]) == set(plan["totals"]["subitems"]) == COUNTS
    assert len(plan["customers"]) > 10
    for customer in plan["customers"].values():
        assert set(customer) == {"groups", "items", "subitems"}
        assert set(customer["groups"]) == {"create", "names"}
        assert set(customer["items"]) == set(customer["subitems"]) == COUNTS
    for kind in ("items", "subitems"):
        for count in COUNTS:
            assert plan["totals"][kind][count] == sum(customer[kind][count] for customer in plan["customers"].values())
    assert sum(plan["totals"]["items"].values()) == 300


def test_plan_changes_nothing_a_sync_relies_on_and_a_second_plan_gives_the_same_numbers(project, database_url):
    first = ordersync("plan", "--customer", "GREYSON", "--json", config=project)
    after_first = state_counts(database_url)
    second = ordersync("plan", "--customer", "GREYSON", "--json", config=project)

    assert after_first == {"staged_items": 0, "staged_subitems": 0, "synced_items": 0, "synced_subitems": 0,
                           "groups": 0, "write_intents": 0, "runs": 1}
    assert second["run_id"] != first["run_id"]
    assert {**second, "run_id": None} == {**first, "run_id": None}
    runs = build_tables().runs
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        recorded = connection.execute(sa.select(runs.c.kind, runs.c.status, runs.c.summary)
                                      .order_by(runs.c.run_id)).all()
    engine.dispose()
    assert [(kind, status) for kind, status, _ in recorded] == [("plan", "PLANNED"), ("plan", "PLANNED")]
    assert json.loads(recorded[0].summary)["totals"] == first["totals"]


def test_plan_limit_counts_at_most_that_many_lines_across_all_customers(project):
    plan = ordersync("plan", "--limit", "25", "--json", config=project)

    assert sum(plan["totals"]["items"].values()) == 25
    assert len(plan["customers"]) > 1
    assert plan["totals"]["items"]["archive"] == 0


def test_plan_with_customer_aliases_and_exclusions_counts_the_same_lines(project):
    by_name = ordersync("plan", "--customer", "GREYSON", "--customer", "TITLE NINE", "--json", config=project)
    by_alias = ordersync("plan", "--customer", "greyson clothiers", "--customer", "TITLE 9", "--json",
                         config=project)
    everyone = ordersync("plan", "--json", config=project)
    others = ordersync("plan", "--exclude-customer", "GREYSON CLOTHIERS", "--exclude-customer", "TITLE 9",
                       "--json", config=project)

    assert {**by_alias, "run_id": None} == {**by_name, "run_id": None}
    assert list(by_name["customers"]) == ["GREYSON", "TITLE NINE"]
    assert set(others["customers"]) == set(everyone["customers"]) - {"GREYSON", "TITLE NINE"}
    lines = {name: sum(plan["totals"]["items"].values()) for name, plan in
             (("by_name", by_name), ("everyone", everyone), ("others", others))}
    assert lines["by_name"] + lines["others"] == lines["everyone"]


def test_plan_with_filters_carrying_sql_finds_nothing_and_harms_nothing(project):
    before = ordersync("plan", "--json", config=project)
    injected = "x' OR 1=1 --"

    refused = runner.invoke(app, ["--config", str(project), "plan", "--customer", injected, "--po", injected,
                                  "--aag-season", injected, "--customer-season", '\'; DROP TABLE "ORDERS_UNIFIED"; --',
                                  "--json"])

    # the values travelled as data: no line has them, and a filter that matches nothing is refused
    assert isinstance(refused.exception, UsageError) and refused.exception.exit_code == 2
    assert refused.exception.message.startswith("no order line matches --customer")
    assert {**ordersync("plan", "--json", config=project), "run_id": None} == {**before, "run_id": None}


def test_plan_of_a_sample_with_bad_rows_counts_them_as_failed_with_their_reasons(tmp_path, database_url):
    config = make_project(tmp_path, database_url, rows=1000)  # one bad row of each kind per thousand

    plan = ordersync("plan", "--json", config=config)

    items = plan["totals"]["items"]
    assert items["failed"] == 4  # no AAG ORDER NUMBER, two lines sharing a key, a price that is not a number
    assert items["create"] == 996
    errors = build_tables().errors
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        recorded = connection.execute(sa.select(errors.c.item_key, errors.c.field, errors.c.message)
                                      .where(errors.c.run_id == plan["run_id"])).all()
    engine.dispose()
    assert len(recorded) == 4
    assert sum(message.startswith("duplicate business key") for _, _, message in recorded) == 2
    assert sum(message.startswith("no business key") for _, _, message in recorded) == 1
    assert sum("is not a number" in message for _, _, message in recorded) == 1
    assert all(key for key, _, message in recorded if not message.startswith("no business key"))


# -- the installed command --------------------------------------------------------------------------

ORDERSYNC = Path(sys.executable).with_name("ordersync")


def run_installed(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "ORDERSYNC_CONFIG"}
    return subprocess.run([str(ORDERSYNC), *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=environment)


def test_the_documented_264_command_works_from_a_project_directory(tmp_path, sqlite_url):
    make_project(tmp_path, sqlite_url, rows=300)

    finished = run_installed("plan", "--customer", "GREYSON", "--po", "4755", "--json", cwd=tmp_path)

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["totals"]["subitems"]["create"] == 264


def test_a_config_mistake_exits_2_naming_the_key_before_anything_runs(tmp_path, sqlite_url):
    config = make_project(tmp_path, sqlite_url, rows=300)
    config.write_text(config.read_text().replace('type = "date"', 'type = "calendar"', 1))

    finished = run_installed("plan", "--json", cwd=tmp_path)

    assert finished.returncode == 2
    assert "columns[" in finished.stderr and "].type (line " in finished.stderr
    error = json.loads(finished.stdout)["error"]  # --json: a scheduler reading stdout gets the error too
    assert error["type"] == "ConfigError" and error["exit_code"] == 2
    assert any(problem.startswith("columns[") and "].type (line " in problem for problem in error["problems"])
    engine = sa.create_engine(sqlite_url)
    assert not sa.inspect(engine).has_table(build_tables().runs.name)  # not even the state tables were made
    engine.dispose()
