"""Two state databases, one token (issue 10, point 1): staging and production folders, a second
checkout or a recreated database must never send each other's Idempotency-Keys — Monday replays
the first answer for a key it has seen, so the second board would be recorded as synced and stay empty."""

from __future__ import annotations

import asyncio

from cli_project import _create_board, cli_project, project_config_text, run_cli
from ordersync.sample_data import write_sample_data


def test_two_folders_with_one_token_each_fill_their_own_board(tmp_path):
    with cli_project(tmp_path / "staging", rows=150) as staging:
        production = tmp_path / "production"
        production.mkdir()
        write_sample_data(f"sqlite:///{production / 'ordersync.db'}", rows=150)
        board = asyncio.run(_create_board(staging.base_url))
        config = production / "ordersync.toml"
        config.write_text(project_config_text(staging.base_url, board), encoding="utf-8")

        first = staging.run("sync", "--customer", "GREYSON", "--json")
        second = run_cli("--config", str(config), "sync", "--customer", "GREYSON", "--json", env=staging.env)
        assert first.exit_code == 0 and second.exit_code == 0, second.stderr
        created = second.json()["totals"]["items"]["create"]
        assert created > 0 and created == first.json()["totals"]["items"]["create"]

        drift = run_cli("--config", str(config), "reconcile", "--customer", "GREYSON", "--json", env=staging.env)
        assert drift.exit_code == 0, drift.stdout
        assert drift.json()["clean"] is True
        board_items = staging.graphql("query ($ids: [ID!]) { boards(ids: $ids) { items_count } }", ids=[board])
        assert board_items["boards"][0]["items_count"] == created
