"""`ordersync validate`: the config against the live board (over HTTP, the emulator standing in for Monday)."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from cli_project import TOKEN, cli_project, run_cli
from test_report import ON_HOLD


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    with cli_project(tmp_path_factory.mktemp("validate"), rows=150) as project:
        yield project


def variant(project, tmp_path, *edits: tuple[str, str]):
    """A copy of the project's config with text replaced; commands run with it see the same board and source."""
    text = project.config_path.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = project.directory / f"variant-{tmp_path.name}.toml"
    path.write_text(text)
    return path


def test_validate_passes_on_the_board_the_config_was_written_for(project):
    checked = project.run("validate")
    assert checked.exit_code == 0, checked.stderr
    assert "the config matches the board" in checked.stdout
    result = project.run("validate", "--json").json()
    assert result["ok"] is True and result["mismatches"] == []
    assert result["checked"]["columns"] == len(project.config().columns) + 2  # and Size, Order Qty
    assert result["checked"]["label_columns"] == 3  # CUSTOMER, ORDER TYPE, UNIT OF MEASURE may not create labels
    assert result["checked"]["order_lines"] == 150
    assert result["subitem_board_id"]


def test_validate_lists_every_mismatch_with_its_key_and_exits_2(project, tmp_path):
    config = variant(
        project, tmp_path,
        ('id = "text_mkr5wya6"', 'id = "text_gone01"'),  # a column the board does not have
        ('id = "numeric_mkr5cact"   # CUSTOMER PRICE\ntype = "numbers"', 'id = "numeric_mkr5cact"   # CUSTOMER PRICE\ntype = "text"'),
        ('key_column = "text_ordersync_key"', 'key_column = "pulse_id_mkr5pb5q"'),
        ('quantity_column = "numeric_mkra7j8e"', 'quantity_column = "numeric_nope"'),
    )
    engine = sa.create_engine(project.source_url)
    with engine.begin() as connection:
        connection.execute(sa.text(ON_HOLD))
    try:
        checked = run_cli("--config", str(config), "validate", "--json", env=project.env)
        printed = run_cli("--config", str(config), "validate", env=project.env)
        narrowed = run_cli("--config", str(config), "validate", "--customer", "TITLE 9", "--json", env=project.env)
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE \"ORDERS_UNIFIED\" SET \"ORDER TYPE\" = 'RECEIVED' "
                                       "WHERE \"ORDER TYPE\" = 'ON HOLD'"))
        engine.dispose()
    assert checked.exit_code == 2, checked.stderr
    problems = {mismatch["path"]: mismatch["problem"] for mismatch in checked.json()["mismatches"]}
    text_column = next(path for path in problems if path.endswith(".id"))
    assert "the board has no column 'text_gone01'" in problems[text_column]
    price = next(path for path in problems if path.endswith(".type"))
    assert "is a numbers column, the config says text" in problems[price]
    assert "it must be text" in problems["monday.key_column"]
    assert "has no column 'numeric_nope'" in problems["subitems.quantity_column"]
    labels = next(path for path in problems if path.endswith(".create_labels_if_missing"))
    assert "'ON HOLD'" in problems[labels] and "ORDER TYPE" in problems[labels]
    assert len(problems) == 5
    assert printed.exit_code == 2
    assert printed.stdout.count("✗") == 5 and "5 mismatch(es)" in printed.stdout
    assert narrowed.exit_code == 2 and len(narrowed.json()["mismatches"]) == 4  # TITLE NINE uses no 'ON HOLD'


def test_validate_with_a_refused_token_exits_3_and_never_prints_it(project):
    refused = project.run("validate", env={"MONDAY_API_TOKEN": "wrong-token-123456"})
    assert refused.exit_code == 3
    assert "wrong-token-123456" not in refused.stdout + refused.stderr
    assert TOKEN not in refused.stdout + refused.stderr


def test_validate_without_a_token_exits_2_naming_where_to_put_it(project, monkeypatch):
    monkeypatch.delenv("MONDAY_API_TOKEN", raising=False)
    missing = run_cli("--config", str(project.config_path), "validate")
    assert missing.exit_code == 2
    assert "no Monday API token: set the environment variable MONDAY_API_TOKEN" in missing.stderr


def test_validate_of_a_board_that_does_not_exist_exits_3(project, tmp_path):
    config = variant(project, tmp_path, (f'board_id = "{project.board_id}"', 'board_id = "4242424242"'))
    answer = run_cli("--config", str(config), "validate", env=project.env)
    assert answer.exit_code == 3
    assert "board 4242424242 does not exist or the token cannot see it" in answer.stderr


def test_validate_when_the_api_cannot_be_reached_exits_3(project, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = variant(project, tmp_path, (f'api_url = "{project.base_url}/v2"', f'api_url = "http://127.0.0.1:{port}/v2"'),
                     ("max_mutations_per_request = 1000", "max_attempts = 2\nmax_mutations_per_request = 1000"))
    answer = run_cli("--config", str(config), "validate", env=project.env)
    assert answer.exit_code == 3, answer.stderr
    assert "the connection to http://127.0.0.1:" in answer.stderr and "failed" in answer.stderr
