"""`ordersync board create` and `ordersync board describe` through the CLI, against `ordersync emulator`
running in its own process: a board shaped like the config, its id written into the user's file (one
line), found by its name the second time and nothing created."""

from __future__ import annotations

import difflib
from pathlib import Path

import httpx
import pytest

from cli_project import run_cli
from emulator_process import emulator_process
from ordersync.config import parse_config
from ordersync.ops.board import config_text_with_board

TOKEN = "board-test-token-7c1d"


@pytest.fixture(scope="module")
def emulator() -> str:
    with emulator_process(token=TOKEN) as base_url:
        yield base_url


def new_project(directory: Path, base_url: str) -> Path:
    """`ordersync init` and `ordersync sample-data` in an empty folder, the config pointed at the emulator."""
    directory.mkdir()
    config = directory / "ordersync.toml"
    assert run_cli("init", str(config), "--source-url", "sqlite:///ordersync.db").exit_code == 0
    text = config.read_text().replace("http://127.0.0.1:8765/v2", f"{base_url}/v2")
    config.write_text(text)
    assert run_cli("--config", str(config), "sample-data", "--rows", "100").exit_code == 0
    return config


def board(config: Path, *args: str):
    return run_cli("--config", str(config), "board", *args, env={"MONDAY_API_TOKEN": TOKEN})


def boards_named(base_url: str, name: str) -> list[str]:
    answer = httpx.post(f"{base_url}/v2", json={"query": "{ boards(limit: 500) { id name } }"},
                        headers={"Authorization": TOKEN}, timeout=30).json()
    return [entry["id"] for entry in answer["data"]["boards"] if entry["name"] == name]


def test_board_create_shapes_a_board_like_the_config_and_writes_only_its_id_into_the_file(tmp_path, emulator):
    config = new_project(tmp_path / "shop", emulator)
    before = config.read_text()
    created = board(config, "create", "--name", "Shop orders", "--json")
    assert created.exit_code == 0, created.stderr
    made = created.json()
    loaded = parse_config(config.read_text())
    assert made["created_board"] and loaded.monday.board_id == made["board_id"]
    assert len(made["columns_created"]) == len(loaded.columns) + 1  # every mapped column and the key column
    assert sorted(made["subitem_columns_created"]) == sorted([loaded.subitems.size_column,
                                                             loaded.subitems.quantity_column])
    changed = [line for line in difflib.ndiff(before.splitlines(), config.read_text().splitlines())
               if line.startswith(("+ ", "- "))]
    assert changed == [f'+ board_id = "{made["board_id"]}"']  # the user's file kept, one line added
    validated = run_cli("--config", str(config), "validate", "--json", env={"MONDAY_API_TOKEN": TOKEN})
    assert validated.exit_code == 0, validated.stdout
    assert validated.json()["ok"]


def test_a_second_board_create_finds_the_board_by_its_name_and_creates_nothing(tmp_path, emulator):
    config = new_project(tmp_path / "twice", emulator)
    first = board(config, "create", "--name", "Twice", "--json").json()
    after_first = config.read_text()
    again = board(config, "create", "--name", "Twice")
    assert again.exit_code == 0, again.stderr
    assert "found by its name" in again.stderr + again.stdout
    assert "nothing created" in again.stdout
    second = board(config, "create", "--name", "Twice", "--json").json()
    assert second["board_id"] == first["board_id"]
    assert not second["created_anything"] and not second["config_changed"]
    assert config.read_text() == after_first
    assert boards_named(emulator, "Twice") == [first["board_id"]]


def test_board_create_from_a_template_copies_its_structure(tmp_path, emulator):
    template = board(new_project(tmp_path / "template", emulator), "create", "--name", "Template", "--json").json()
    config = new_project(tmp_path / "copy", emulator)
    copied = board(config, "create", "--name", "From template", "--from-template", template["board_id"], "--json")
    assert copied.exit_code == 0, copied.stderr
    made = copied.json()
    assert made["created_board"] and made["from_template"] == template["board_id"]
    assert made["board_id"] != template["board_id"]
    assert made["columns_created"] == []  # the template had every column
    assert run_cli("--config", str(config), "validate", env={"MONDAY_API_TOKEN": TOKEN}).exit_code == 0


def test_board_create_refuses_to_replace_the_board_the_config_names(tmp_path, emulator):
    config = new_project(tmp_path / "named", emulator)
    assert board(config, "create", "--name", "First").exit_code == 0
    before = config.read_text()
    refused = board(config, "create", "--name", "Another")
    assert refused.exit_code == 2
    assert "would replace it" in refused.stderr and "--name 'First'" in refused.stderr
    assert config.read_text() == before and boards_named(emulator, "Another") == []


def test_board_describe_names_the_config_key_of_each_column_and_what_the_board_lacks(tmp_path, emulator):
    config = new_project(tmp_path / "described", emulator)
    assert board(config, "create", "--name", "Described").exit_code == 0
    loaded = parse_config(config.read_text())
    described = board(config, "describe", "--json").json()
    by_id = {column["id"]: column for column in described["columns"]}
    assert by_id[loaded.monday.key_column]["config"] == ["monday.key_column"]
    first = loaded.columns[0]
    assert by_id[first.id]["config"] == ["columns[0].id"] and by_id[first.id]["source"] == first.source
    assert by_id["name"]["config"] == []
    subitems = {column["id"]: column["config"] for column in described["subitem_columns"]}
    assert subitems[loaded.subitems.size_column] == ["subitems.size_column"]
    assert described["missing"] == []

    config.write_text(config.read_text().replace(f'id = "{first.id}"', 'id = "text_not_on_board"', 1))
    missing = board(config, "describe", "--json").json()["missing"]
    assert missing == [{"config": "columns[0].id", "column": "text_not_on_board", "board": "items"}]


def test_board_describe_prints_every_column_id_whole_at_80_columns(tmp_path, emulator):
    config = new_project(tmp_path / "narrow", emulator)
    assert board(config, "create", "--name", "Narrow").exit_code == 0
    shown = run_cli("--config", str(config), "board", "describe",
                    env={"MONDAY_API_TOKEN": TOKEN, "COLUMNS": "80"})
    assert shown.exit_code == 0, shown.stderr
    assert all(len(line) <= 80 for line in shown.stdout.splitlines())
    for mapping in parse_config(config.read_text()).columns:
        assert mapping.id in shown.stdout


@pytest.mark.parametrize(("text", "expected"), [
    ('[monday]\nboard_id = "1"   # ours\nkey_column = "k"\n', '[monday]\nboard_id = "42"   # ours\nkey_column = "k"\n'),
    ('[monday]\n# board_id = "9"   # set me\nkey_column = "k"\n',
     '[monday]\n# board_id = "9"   # set me\nboard_id = "42"\nkey_column = "k"\n'),
    ('[monday]  # the API\nkey_column = "k"\n[groups]\n', '[monday]  # the API\nboard_id = "42"\nkey_column = "k"\n[groups]\n'),
    ('[source]\nurl = "x"', '[source]\nurl = "x"\n\n[monday]\nboard_id = "42"\n'),
])
def test_the_board_id_is_written_into_the_monday_table_keeping_the_rest_of_the_file(text, expected):
    assert config_text_with_board(text, "42") == expected


def test_a_profile_gets_the_board_id_in_its_own_monday_table():
    text = '[monday]\nboard_id = "1"\n\n[profiles.prod.monday]\nproduction = true\n'
    assert config_text_with_board(text, "42", profile="prod") == \
        '[monday]\nboard_id = "1"\n\n[profiles.prod.monday]\nboard_id = "42"\nproduction = true\n'
