"""Reports: every sync writes Markdown and JSON per run and per customer; `ordersync report` prints any run."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from cli_project import TOKEN as CLI_TOKEN
from cli_project import cli_project, run_cli
from ordersync.engine.report import render_markdown, run_report, slug, success, verdict
from ordersync.state import RunKind, RunStatus, StateStore
from ordersync.state.conflicts import Conflict, Conflicts
from sync_world import TOKEN, SimulatedCrash, crash_at, make_world

ON_HOLD = "UPDATE \"ORDERS_UNIFIED\" SET \"ORDER TYPE\" = 'ON HOLD' WHERE \"CUSTOMER NAME\" LIKE 'GREYSON%' " \
          "AND rowid = (SELECT min(rowid) FROM \"ORDERS_UNIFIED\" WHERE \"CUSTOMER NAME\" LIKE 'GREYSON%')"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.parametrize(("rate", "expected"), [
    (1.0, "ok"), (0.95, "ok"), (0.9499, "needs attention"), (0.8, "needs attention"), (0.7999, "critical"),
    (0.0, "critical"),
])
def test_success_verdict_follows_the_95_and_80_percent_thresholds(rate, expected):
    assert verdict(rate) == expected


def test_success_rate_counts_confirmed_writes_against_failed_and_pending_rows_not_unchanged_ones():
    counts = {"items": {"create": 90, "update": 5, "archive": 0, "unchanged": 1000, "failed": 3},
              "subitems": {"create": 0, "update": 0, "archive": 0, "unchanged": 0, "failed": 0, "pending": 2}}
    assert success(counts) == {"ok": 95, "failed": 5, "rate": 0.95, "verdict": "ok"}
    nothing = {kind: {"create": 0, "update": 0, "archive": 0, "unchanged": 7, "failed": 0}
               for kind in ("items", "subitems")}
    assert success(nothing)["rate"] == 1.0


def test_customer_file_names_are_slugs():
    assert slug("TITLE NINE") == "title-nine"
    assert slug("(no customer)") == "no-customer"
    assert slug("L'ESTRANGE & CO.") == "l-estrange-co"


@pytest.mark.anyio
async def test_every_sync_writes_markdown_and_json_per_run_and_per_customer(sqlite_url, tmp_path):
    async with make_world(sqlite_url, rows=150) as world:
        world.execute(ON_HOLD)
        result = await world.sync()
        folder = tmp_path / "reports" / f"run-{result.run_id}"
        assert result.reports == str(folder)
        assert result.as_dict()["reports"] == str(folder)

        summary = json.loads((folder / "summary.json").read_text())
        done = result.as_dict()
        assert summary["status"] == result.status.value == "COMPLETED"  # with failed rows: the refused line
        for kind in ("items", "subitems"):
            assert {key: summary["totals"][kind][key] for key in done["totals"][kind]} == done["totals"][kind]
        assert summary["totals"]["items"]["failed"] == 1
        assert summary["success"]["verdict"] == "ok"
        assert set(summary["customers"]) == set(done["customers"])

        greyson = json.loads((folder / "customers" / "greyson.json").read_text())
        assert greyson["customer"] == "GREYSON" and greyson["run_id"] == result.run_id
        [error] = [error for error in greyson["errors"] if error["category"] == "validation"]
        assert "'ON HOLD' does not exist in column ORDER TYPE" in error["message"]
        assert error["item_key"] and error["stage"] == "apply"
        sizes = [other for other in greyson["errors"] if other is not error]  # the refused line's sizes
        assert sizes and all(other["category"] == "dependency" and other["item_key"] == error["item_key"]
                             for other in sizes)
        created = {group["name"]: group["id"] for group in greyson["groups_created"]}
        assert created and created == {group["name"]: group["id"]
                                       for group in result.customers["GREYSON"].groups_created}
        markdown = (folder / "customers" / "greyson.md").read_text()
        assert "'ON HOLD' does not exist in column ORDER TYPE" in markdown
        assert all(f"`{group_id}`" in markdown for group_id in created.values())

        run_markdown = (folder / "summary.md").read_text()
        assert run_markdown.startswith(f"# ordersync sync run {result.run_id}: COMPLETED")
        assert "## Per customer" in run_markdown and "## Groups created" in run_markdown
        assert "**Success rate" in run_markdown and f"## Errors ({1 + len(sizes)})" in run_markdown

        customer_files = {path.name for path in (folder / "customers").iterdir()}
        assert customer_files == {f"{slug(name)}.{ext}" for name in done["customers"] for ext in ("md", "json")}
        for path in folder.rglob("*"):
            if path.is_file():
                assert TOKEN not in path.read_text()


@pytest.mark.anyio
async def test_a_run_stopped_midway_still_leaves_a_report_with_its_reason(sqlite_url, tmp_path):
    async with make_world(sqlite_url, rows=150) as world:
        with pytest.raises(SimulatedCrash):
            await world.sync(checkpoint=crash_at("between_items_and_subitems"))
        summary = json.loads(next((tmp_path / "reports").glob("run-*/summary.json")).read_text())
        assert summary["status"] == "FAILED"
        assert "SimulatedCrash" in summary["message"]
        assert summary["totals"]["items"]["create"] > 0
        assert summary["totals"]["subitems"].get("pending", 0) > 0
        assert summary["success"]["verdict"] == "critical"


def test_render_markdown_escapes_table_cells(sqlite_url):
    report = {"run_id": 1, "kind": "sync", "status": "COMPLETED", "board_id": "1", "filters": {},
              "started_at": "2026-01-01 00:00:00", "finished_at": None, "duration_seconds": None,
              "message": None, "api": {}, "success": success({"items": {}, "subitems": {}}),
              "totals": {kind: dict.fromkeys(("create", "update", "archive", "unchanged", "failed"), 0)
                         for kind in ("items", "subitems")},
              "customers": {"A|B": {"items": dict.fromkeys(("create", "update", "archive", "unchanged", "failed"), 0),
                                    "subitems": dict.fromkeys(("create", "update", "archive", "unchanged", "failed"),
                                                              0),
                                    "success": success({"items": {}, "subitems": {}}), "groups_created": [],
                                    "errors": [{"customer": "A|B", "item_key": "k|1", "size": None, "source_row": 3,
                                                "stage": "apply", "category": "validation", "field": None,
                                                "message": "bad\nvalue | here", "attempts": 1}]}}}
    text = render_markdown(report)
    assert "| A\\|B |" in text and "bad value \\| here" in text


def edit(key: str, column_id: str, policy: str, source_value, board_text: str, user_id: str | None = None,
         changed_at: datetime | None = None, size: str | None = None) -> Conflict:
    return Conflict(key, "101", column_id, policy, source_value, board_text, json.dumps(board_text), user_id,
                    changed_at, size)


def record_conflict(store: StateStore, board_id: str, conflict: Conflict, *, shift: timedelta | None = None) -> None:
    """A person's edit recorded as the pull, the webhook receiver or a sync's adopt records it; `shift` moves
    its recorded_at (before or after a run) so the run's window does not hang on the clock's resolution."""
    table = store.tables.board_conflicts
    with store.engine.begin() as connection:
        assert Conflicts(store.tables, board_id).record(connection, conflict)
        if shift is not None:
            newest, recorded_at = connection.execute(sa.select(table.c.conflict_id, table.c.recorded_at).order_by(
                table.c.conflict_id.desc()).limit(1)).one()
            connection.execute(sa.update(table).where(table.c.conflict_id == newest).values(
                recorded_at=recorded_at + shift))


def test_a_run_report_counts_the_boards_conflicts_and_lists_those_recorded_while_it_ran(tmp_path):
    store = StateStore.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    store.ensure_schema()
    titles = {"text_mkrh94rx": "CUSTOMER ALT PO", "date_mkr5x": "EX FACTORY DATE", "numeric_qty": "size quantity"}
    try:
        record_conflict(store, "1", edit("PO-0 | OCEAN | ST-0", "text_mkrh94rx", "restore", "ALT-0", "EARLIER"),
                        shift=timedelta(hours=-1))
        run_id = store.start_run(RunKind.SYNC, "1", {})
        record_conflict(store, "1", edit("PO-1 | OCEAN | ST-1", "text_mkrh94rx", "restore", "ALT-1", "A|B",
                                         "71000001", datetime(2026, 12, 3, 12, 0, 0)))
        record_conflict(store, "1", edit("PO-2 | AIR | ST-2", "date_mkr5x", "keep", {"date": "2026-01-05"}, "2026-02-10"))
        record_conflict(store, "1", edit("PO-2 | AIR | ST-2", "numeric_qty", "restore", "24", "30", size="M"))
        record_conflict(store, "2", edit("PO-3 | AIR | ST-3", "text_mkrh94rx", "keep", "ALT-3", "OTHER BOARD"))
        store.set_run_status(run_id, RunStatus.COMPLETED)
        record_conflict(store, "1", edit("PO-4 | AIR | ST-4", "text_mkrh94rx", "keep", "ALT-4", "LATER"),
                        shift=timedelta(hours=1))

        report = run_report(store, run_id, titles=titles)
    finally:
        store.engine.dispose()
    conflicts = report["conflicts"]
    assert (conflicts["count"], conflicts["restore"], conflicts["keep"]) == (5, 3, 2)  # board 1's, in all
    assert [(entry["item_key"], entry["column_id"], entry["column"], entry["board_text"], entry["source_value"],
             entry["source_text"], entry["policy"], entry["user_id"], entry["changed_at"])
            for entry in conflicts["during_run"]] == [
        ("PO-1 | OCEAN | ST-1", "text_mkrh94rx", "CUSTOMER ALT PO", "A|B", "ALT-1", "ALT-1", "restore", "71000001",
         "2026-12-03 12:00:00"),
        ("PO-2 | AIR | ST-2", "date_mkr5x", "EX FACTORY DATE", "2026-02-10", {"date": "2026-01-05"}, "2026-01-05",
         "keep", None, None),
        ("PO-2 | AIR | ST-2", "numeric_qty", "size quantity", "30", "24", "24", "restore", None, None)]
    assert [entry["size"] for entry in conflicts["during_run"]] == [None, None, "M"]
    assert all(entry["recorded_at"] for entry in conflicts["during_run"])
    json.dumps(report)  # the JSON report holds it as it is

    markdown = render_markdown(report)
    section = markdown[markdown.index("## Conflicts"):]
    assert section.startswith("## Conflicts (3 during this run)")
    assert "5 in all (3 restore" in section and "2 keep" in section
    assert "| PO-1 \\| OCEAN \\| ST-1 | CUSTOMER ALT PO | A\\|B | ALT-1 | restore | 71000001 | 2026-12-03 12:00:00 |" \
        in section
    assert "| PO-2 \\| AIR \\| ST-2 | EX FACTORY DATE | 2026-02-10 | 2026-01-05 | keep | — | met " in section
    assert "| PO-2 \\| AIR \\| ST-2 size M | size quantity | 30 | 24 | restore | — | met " in section
    assert "EARLIER" not in section and "LATER" not in section and "OTHER BOARD" not in section


# -- through the command line ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def synced_project(tmp_path_factory):
    """A project after one `ordersync sync --all` in which one GREYSON line was refused."""
    with cli_project(tmp_path_factory.mktemp("report"), rows=150) as project:
        engine = sa.create_engine(project.source_url)
        with engine.begin() as connection:
            connection.execute(sa.text(ON_HOLD))
        engine.dispose()
        result = project.run("sync", "--all", "--json")
        assert result.exit_code == 1, result.stderr
        yield project, result.json()


def test_report_json_prints_the_report_the_sync_wrote(synced_project):
    project, sync = synced_project
    printed = project.run("report", str(sync["run_id"]), "--json")
    assert printed.exit_code == 0, printed.stderr
    written = json.loads((project.directory / "reports" / f"run-{sync['run_id']}" / "summary.json").read_text())
    assert printed.json() == written
    assert sync["reports"] == str(project.directory / "reports" / f"run-{sync['run_id']}")


def test_report_without_a_run_id_prints_the_last_sync_as_markdown(synced_project):
    project, sync = synced_project
    printed = project.run("report")
    assert printed.exit_code == 0, printed.stderr
    assert printed.stdout.startswith(f"# ordersync sync run {sync['run_id']}: COMPLETED")
    assert "finished: —" not in printed.stdout
    assert "does not exist in column ORDER TYPE" in printed.stdout
    assert CLI_TOKEN not in printed.stdout + printed.stderr


def test_report_for_one_customer_accepts_an_alias(synced_project):
    project, sync = synced_project
    printed = project.run("report", str(sync["run_id"]), "--customer", "greyson clothiers", "--json")
    assert printed.exit_code == 0, printed.stderr
    part = printed.json()
    assert part["customer"] == "GREYSON" and part["items"]["failed"] == 1
    assert project.run("report", "--customer", "NOBODY").exit_code == 2


def test_report_of_an_unknown_run_exits_2_and_says_where_to_look(synced_project):
    project, _ = synced_project
    printed = project.run("report", "9999")
    assert printed.exit_code == 2
    assert printed.stdout == ""
    assert "there is no run 9999" in printed.stderr and "ordersync status" in printed.stderr


def test_report_before_any_sync_exits_2(tmp_path):
    run_cli("init", str(tmp_path / "ordersync.toml"), "--source-url", f"sqlite:///{tmp_path / 'o.db'}")
    printed = run_cli("--config", str(tmp_path / "ordersync.toml"), "report")
    assert printed.exit_code == 2
    assert "no sync has run yet" in printed.stderr


def test_report_exits_1_when_a_run_needs_attention(tmp_path, synced_project):
    project, sync = synced_project
    store = StateStore.from_url(project.source_url)
    report = run_report(store, sync["run_id"])
    store.engine.dispose()
    assert report["success"]["verdict"] == "ok"  # one refused line among hundreds of writes
    engine = sa.create_engine(project.source_url)
    run = {"run": sync["run_id"]}
    with engine.begin() as connection:  # make this run look as if most of its writes had failed
        summary = connection.execute(sa.text("SELECT summary FROM ordersync_runs WHERE run_id = :run"), run).scalar()
        connection.execute(sa.text("UPDATE ordersync_staged_subitems SET status = 'ERROR', attempts = attempts + 1000 "
                                   "WHERE run_id = :run AND status = 'DONE'"), run)
        connection.execute(sa.text("UPDATE ordersync_runs SET summary = NULL WHERE run_id = :run"), run)
    try:
        printed = project.run("report", str(sync["run_id"]), "--json")
        assert printed.exit_code == 1
        assert printed.json()["success"]["verdict"] == "critical"
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE ordersync_staged_subitems SET status = 'DONE', attempts = attempts - 1000 "
                                       "WHERE run_id = :run AND attempts >= 1000"), run)
            connection.execute(sa.text("UPDATE ordersync_runs SET summary = :summary WHERE run_id = :run"),
                               {**run, "summary": summary})
        engine.dispose()


def test_retry_sends_again_only_the_failed_line_once_its_data_is_fixed(synced_project):
    """Last in this module: it adds a run."""
    project, sync = synced_project
    engine = sa.create_engine(project.source_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE \"ORDERS_UNIFIED\" SET \"ORDER TYPE\" = 'RECEIVED' "
                                   "WHERE \"ORDER TYPE\" = 'ON HOLD'"))
    engine.dispose()
    retried = project.run("retry", "--json")
    assert retried.exit_code == 0, retried.stderr
    result = retried.json()
    assert result["run_id"] > sync["run_id"] and result["status"] == "COMPLETED"
    assert result["totals"]["items"]["create"] == 1 and result["totals"]["items"]["failed"] == 0
    assert result["totals"]["subitems"]["create"] == sync["totals"]["subitems"]["failed"]
    assert project.run("report", "--json").json()["run_id"] == result["run_id"]
    nothing = project.run("retry")
    assert nothing.exit_code == 2
    assert f"nothing to retry: every order line that failed has synced since (last run {result['run_id']})" \
        in nothing.stderr
