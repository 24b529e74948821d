"""The global --profile option and the guards around an unfiltered sync, through the real entry point."""

from __future__ import annotations

import pytest

from cli_project import run_cli


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "ordersync.toml"
    assert run_cli("init", str(path), "--source-url", f"sqlite:///{tmp_path / 'orders.db'}").exit_code == 0
    return path


def test_a_profile_overrides_the_monday_section(config):
    plain = run_cli("--config", str(config), "status", "--json").json()
    prod = run_cli("--config", str(config), "--profile", "prod", "status", "--json").json()
    assert plain["profile"] is None and plain["production"] is False and plain["board_id"] is None
    assert prod["profile"] == "prod" and prod["production"] is True and prod["board_id"] == "9609317401"


def test_the_profile_can_come_from_the_environment(config):
    shown = run_cli("--config", str(config), "status", "--json", env={"ORDERSYNC_PROFILE": "prod"})
    assert shown.json()["profile"] == "prod"


def test_an_unknown_profile_exits_2_naming_the_ones_there_are(config):
    answer = run_cli("--config", str(config), "--profile", "staging", "status")
    assert answer.exit_code == 2
    assert "has no profile 'staging' (profiles: dev, prod)" in answer.stderr


@pytest.mark.parametrize("profile", [[], ["--profile", "prod"]])
def test_an_unfiltered_sync_refuses_without_all(config, profile):
    answer = run_cli("--config", str(config), *profile, "sync", "--json", env={"MONDAY_API_TOKEN": "x" * 20})
    assert answer.exit_code == 2 and answer.json()["error"]["type"] == "UsageError"
    assert "refusing to sync every customer without --all" in answer.stderr


def test_a_production_sync_without_a_token_exits_2_before_calling_anything(config, monkeypatch):
    monkeypatch.delenv("MONDAY_API_TOKEN", raising=False)
    answer = run_cli("--config", str(config), "--profile", "prod", "sync", "--all")
    assert answer.exit_code == 2
    assert "no Monday API token" in answer.stderr


def test_init_refuses_to_overwrite_a_config_unless_forced(config):
    again = run_cli("init", str(config))
    assert again.exit_code == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert run_cli("init", str(config), "--force").exit_code == 0
