"""The public surface is what `ordersync` exports, and nothing else by accident (as httpx pins its own)."""

import json
import subprocess
import sys
from types import ModuleType

import ordersync
from ordersync import api, errors

PUBLIC_PRIVATE_NAMES = ["__version__"]


def test_all_is_every_public_name_of_the_package_and_nothing_more():
    exported = sorted(name for name in dir(ordersync)  # the API's names too, imported on first use
                      if not isinstance(getattr(ordersync, name), ModuleType)
                      and (not name.startswith("_") or name in PUBLIC_PRIVATE_NAMES))
    assert ordersync.__all__ == sorted(exported)


def test_importing_the_package_leaves_the_api_unimported_until_a_name_of_it_is_asked_for():
    """A transform process (`engine.parallel`) imports `ordersync`, never the API and what it carries."""
    code = ("import sys, ordersync; print('ordersync.api' in sys.modules, 'httpx' in sys.modules); "
            "ordersync.sync; print('ordersync.api' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["False", "False", "True"]


def test_the_api_mirrors_every_cli_command_with_an_async_twin_where_the_work_is_async():
    commands = {"load_config", "plan", "sync", "retry", "validate", "reconcile", "status", "report"}
    async_twins = {"sync_async", "retry_async", "validate_async", "reconcile_async"}
    assert commands | async_twins <= set(ordersync.__all__)
    for name in commands | async_twins:
        assert getattr(ordersync, name) is getattr(api, name)
        assert getattr(ordersync, name).__doc__, f"ordersync.{name} has no docstring"


def test_every_error_of_the_tree_is_exported():
    tree = {name for name, value in vars(errors).items()
            if isinstance(value, type) and issubclass(value, errors.OrdersyncError)}
    assert tree <= set(ordersync.__all__)
    for name in tree:
        assert getattr(ordersync, name) is getattr(errors, name)


def test_exported_members_belong_to_ordersync():
    for name in ordersync.__all__:
        if name == "__version__":
            continue
        assert getattr(ordersync, name).__module__.startswith("ordersync."), name


def test_the_readme_python_section_uses_only_exported_members():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("\n## Python API\n")[1].split("\n## ")[0]
    used = set(re.findall(r"\bordersync\.([A-Za-z_]+)", section)) - {"toml"}  # ordersync.toml: the file
    assert {"load_config", "plan", "sync", "retry", "report", "status", "validate", "reconcile"} <= used
    assert used <= set(ordersync.__all__), f"the README uses unexported names: {used - set(ordersync.__all__)}"


def test_the_api_plan_returns_what_plan_json_prints_and_status_reads_its_summary(tmp_path):
    from typer.testing import CliRunner

    from ordersync.cli import app

    runner = CliRunner()
    config_path = tmp_path / "ordersync.toml"
    assert runner.invoke(app, ["init", str(config_path), "--source-url", f"sqlite:///{tmp_path / 'orders.db'}"]
                         ).exit_code == 0
    assert runner.invoke(app, ["--config", str(config_path), "sample-data", "--rows", "200", "--json"]).exit_code == 0
    printed = runner.invoke(app, ["--config", str(config_path), "plan", "--customer", "GREYSON", "--json"])
    assert printed.exit_code == 0, printed.output

    config = ordersync.load_config(config_path)
    planned = ordersync.plan(config, customers=["GREYSON"])
    assert isinstance(planned, ordersync.PlanResult)
    assert {**planned.as_dict(), "run_id": None} == {**json.loads(printed.stdout), "run_id": None}

    last = ordersync.status(config, runs=1).runs[0]
    assert last["run_id"] == planned.run_id
    assert last["items"] == planned.totals.items


def test_a_run_summary_reads_plans_and_older_summaries_and_writes_back_only_what_it_read():
    from ordersync.engine.summary import RunSummary

    plan_shaped = {"run_id": 3, "totals": {"groups": {"create": 1}, "items": {"create": 2}, "subitems": {}},
                   "customers": {"GREYSON": {"groups": {"create": 1, "names": ["GREYSON 2025 FALL"]},
                                             "items": {"create": 2}, "subitems": {}}}}
    summary = RunSummary.from_stored(json.dumps(plan_shaped))
    assert summary is not None and summary.api is None and summary.status is None
    assert summary.as_dict() == plan_shaped
    older = RunSummary.from_stored('{"status": "COMPLETED", "api": {"requests": 4}, "dropped_field": 1}')
    assert older is not None and older.api is not None and older.api.requests == 4 and older.api.mutations == 0
    assert RunSummary.from_stored(None) is None
    assert RunSummary.from_stored('{"totals": "not counts"}') is None  # unreadable: counted from the rows

