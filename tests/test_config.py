"""ordersync.toml: loaded once into typed models; every mistake named by key path, nothing runs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ordersync.config import (
    ConfigError,
    key_lines,
    load_config,
    load_token,
    parse_config,
)
from ordersync.engine.source import create_source_engine, open_source
from ordersync.sample_data.config import sample_config_text


def problems_of(text: str, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, **kwargs)
    return caught.value.problems


def test_sample_config_maps_at_least_50_source_fields_with_every_column_type():
    config = parse_config(sample_config_text())
    assert len(config.columns) >= 50
    assert {column.type for column in config.columns} == {"text", "long_text", "numbers", "date", "status",
                                                          "dropdown"}
    assert config.source.business_key == ["AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE"]
    assert config.customers["GREYSON"] and "GREYSON CLOTHIERS" in config.customers["GREYSON"]


def test_unknown_key_is_reported_with_its_path_and_line():
    text = '[source]\ntable = "ORDERS_UNIFIED"\ntabel = "typo"\n'
    assert problems_of(text) == ["source.tabel (line 3): unknown key"]


def test_wrong_type_is_reported_with_its_path():
    text = '[monday]\nmax_mutations_per_request = "many"\n'
    [problem] = problems_of(text)
    assert problem.startswith("monday.max_mutations_per_request (line 2):")
    assert "integer" in problem


def test_every_mistake_is_reported_at_once():
    text = '[source]\nchunk_size = 0\n[items]\non_removed = "burn"\n[bogus]\nx = 1\n'
    paths = [problem.split(" ", 1)[0] for problem in problems_of(text)]
    assert sorted(paths) == ["bogus", "items.on_removed", "source.chunk_size"]


def test_duplicate_monday_column_id_names_the_second_mapping():
    text = (
        '[[columns]]\nsource = "PO NUMBER"\nid = "text_po"\ntype = "text"\n'
        '[[columns]]\nsource = "CUSTOMER ALT PO"\nid = "text_po"\ntype = "text"\n'
    )
    [problem] = problems_of(text)
    assert problem.startswith("columns[1].id (line 7): Monday column 'text_po' is already mapped by columns[0]")


def test_bad_column_type_in_an_array_of_tables_names_index_and_line():
    text = (
        '[[columns]]\nsource = "PO NUMBER"\nid = "text_po"\ntype = "text"\n'
        '[[columns]]\nsource = "AAG SEASON"\nid = "dd_season"\ntype = "dropdwn"\n'
    )
    [problem] = problems_of(text)
    assert problem.startswith("columns[1].type (line 8):")


@pytest.mark.parametrize("rule, expected", [
    ("CUSTOMER NAME", "names no source column"),
    ("{CUSTOMER NAME", "malformed template"),
])
def test_bad_group_rule_is_reported(rule, expected):
    [problem] = problems_of(f'[groups]\nrules = ["{rule}"]\n')
    assert problem.startswith("groups.rules (line 2):") and expected in problem


def test_subitem_name_must_use_the_size_field():
    [problem] = problems_of('[subitems]\nname = "Size {sz}"\n')
    assert problem.startswith("subitems.name") and "{size}" in problem


def test_key_column_cannot_also_be_mapped():
    text = '[monday]\nkey_column = "text_key"\n[[columns]]\nsource = "PO NUMBER"\nid = "text_key"\ntype = "text"\n'
    [problem] = problems_of(text)
    assert problem.startswith("monday.key_column (line 2):")


def test_a_name_claimed_by_two_customers_is_an_error():
    [problem] = problems_of('[customers]\nGREYSON = ["GREYSON CLOTHIERS"]\nOTHER = ["greyson clothiers "]\n')
    assert problem.startswith('customers.OTHER') and "GREYSON" in problem


def test_toml_syntax_error_gives_line_and_column():
    with pytest.raises(ConfigError, match=r"line 2"):
        parse_config('[source]\ntable = \n')


def test_profile_overrides_a_section_and_its_mistakes_carry_the_profile_path():
    text = ('[monday]\nboard_id = "111"\n'
            '[profiles.prod.monday]\nboard_id = "222"\nproduction = true\n')
    assert parse_config(text).monday.board_id == "111"
    prod = parse_config(text, profile="prod")
    assert (prod.monday.board_id, prod.monday.production, prod.profile) == ("222", True, "prod")
    [problem] = problems_of(text.replace('board_id = "222"', 'board_id = "not-a-number"'))
    assert problem.startswith("profiles.prod.monday.board_id (line 4):")
    with pytest.raises(ConfigError, match="no profile 'staging'"):
        parse_config(text, profile="staging")


def test_unknown_source_columns_are_reported_before_anything_runs(tmp_path):
    url = f"sqlite:///{tmp_path / 'src.db'}"
    engine = sa.create_engine(url)
    columns = ["AAG ORDER NUMBER", "CUSTOMER NAME", "PO NUMBER", "AAG SEASON", "CUSTOMER SEASON", "ORDER TYPE",
               "CUSTOMER STYLE", "CUSTOMER COLOUR DESCRIPTION", "PLANNED DELIVERY METHOD", "UNIT OF MEASURE"]
    metadata = sa.MetaData()
    sa.Table("ORDERS_UNIFIED", metadata, *(sa.Column(name, sa.UnicodeText) for name in columns),
             sa.Column("S", sa.Integer), sa.Column("TOTAL QTY", sa.Integer))
    metadata.create_all(engine)
    config = parse_config(f'[source]\nurl = "{url}"\n[groups]\nrules = ["{{CUSTOMR NAME}} {{AAG SEASON}}"]\n'
                          '[[columns]]\nsource = "FINAL FOB"\nid = "numbers_fob"\ntype = "numbers"\n')
    with pytest.raises(ConfigError) as caught:
        open_source(create_source_engine(url), config)
    assert caught.value.problems == [
        "groups.rules[0]: unknown source column 'CUSTOMR NAME' (not in table ORDERS_UNIFIED)",
        "columns[0].source: unknown source column 'FINAL FOB' (not in table ORDERS_UNIFIED)",
    ]


def test_relative_sqlite_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "ordersync.toml").write_text('[source]\nurl = "sqlite:///data/orders.db"\n')
    monkeypatch.chdir(tmp_path)
    config = load_config(tmp_path / "conf" / "ordersync.toml")
    assert config.source.url == f"sqlite:///{tmp_path / 'conf' / 'data' / 'orders.db'}"


def test_missing_config_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_config(tmp_path / "nope.toml")
    assert "ordersync init" in caught.value.hint


def test_token_comes_from_environment_then_file_and_never_shows(tmp_path, monkeypatch):
    config = parse_config(f'[monday]\ntoken_env = "TEST_TOKEN"\ntoken_file = "{tmp_path / "token"}"\n')
    monkeypatch.delenv("TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="TEST_TOKEN"):
        load_token(config.monday)
    (tmp_path / "token").write_text("file-secret-123\n")
    assert load_token(config.monday).get_secret_value() == "file-secret-123"
    monkeypatch.setenv("TEST_TOKEN", "env-secret-456")
    token = load_token(config.monday)
    assert token.get_secret_value() == "env-secret-456"
    assert "env-secret-456" not in repr(token) and "env-secret-456" not in str(token)


def test_key_lines_tracks_tables_arrays_and_dotted_keys():
    text = '[source]\nurl = "x"\n[[columns]]\nid = "a"\n[[columns]]\nid = "b"\n[profiles.prod.monday]\nboard_id = "1"\n'
    lines = key_lines(text)
    assert lines["source.url"] == 2
    assert lines["columns[1].id"] == 6
    assert lines["profiles.prod.monday.board_id"] == 8
