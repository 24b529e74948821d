"""Extract: filtered, streamed order lines from the sample `ORDERS_UNIFIED`, on SQLite and PostgreSQL.

The expected rows come from the sample generator itself (its own customer folding), never from
the code under test.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from order_table import BOARD, CONFIG, SIZES, create_order_table, make_config
from ordersync.config import parse_config
from ordersync.engine.filters import Filters
from ordersync.engine.source import create_source_engine, extract_order_lines, open_source, read_order_lines
from ordersync.engine.transform import RowError, rules_from_config, transform_order_line
from ordersync.errors import ConfigError, SourceError
from ordersync.sample_data import (
    SIZE_COLUMNS,
    SOURCE_COLUMNS,
    canonical_names,
    fold_customer_name,
    generate_order_lines,
    orders_unified_table,
    write_sample_data,
)
from ordersync.sample_data.config import sample_config_text

ROWS = 300
SEED = 4755


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sample(request, tmp_path_factory):
    """(config, engine, source table) over a 300-line sample, written once per database for this module
    (on PostgreSQL in its own schema, which the per-test cleanup leaves alone)."""
    if request.param == "sqlite":
        url, schema = f"sqlite:///{tmp_path_factory.mktemp('extract') / 'orders.db'}", None
    else:
        url, schema = request.getfixturevalue("postgres_server_url"), "extract_sample"
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
    write_sample_data(url, rows=ROWS, seed=SEED, schema=schema)
    config = parse_config(sample_config_text(source_url=url))
    config = config.model_copy(update={"source": config.source.model_copy(update={"db_schema": schema})})
    engine = create_source_engine(url)
    yield config, engine, open_source(engine, config)
    if schema:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="module")
def generated() -> list[dict]:
    return list(generate_order_lines(SEED, ROWS))


def canonical(raw: str) -> str:
    return canonical_names()[fold_customer_name(raw)]


def extract(sample, filters: Filters | None = None, chunk_size: int | None = None) -> list[dict]:
    config, engine, source_table = sample
    chunks = extract_order_lines(engine, source_table, config, filters or Filters(), chunk_size=chunk_size)
    return [line for chunk in chunks for line in chunk]


def uuids(lines) -> list[str]:
    """Each line's record_uuid, in one spelling (SQLite keeps it as 32 hex digits)."""
    return [str(uuid.UUID(str(line["record_uuid"]))) for line in lines]


# -- chunks -------------------------------------------------------------------------------------

@pytest.mark.parametrize("chunk_size", [1, 7, 2000])
def test_chunked_extraction_reads_the_same_lines_in_the_same_order_as_one_read(sample, chunk_size):
    config, engine, source_table = sample
    whole = extract(sample, chunk_size=100_000)
    chunks = list(extract_order_lines(engine, source_table, config, Filters(), chunk_size=chunk_size))

    assert [line for chunk in chunks for line in chunk] == whole
    assert len(whole) == ROWS
    assert all(len(chunk) == chunk_size for chunk in chunks[:-1])
    assert 1 <= len(chunks[-1]) <= chunk_size


def test_chunked_extraction_of_a_filtered_limited_run_equals_one_read(sample):
    filters = Filters(customers=("GREYSON", "PELOTON"), limit=50)
    assert extract(sample, filters, chunk_size=7) == extract(sample, filters, chunk_size=2000)


def test_each_line_comes_with_every_column_by_name(sample, generated):
    [first, *_] = extract(sample)
    assert list(first) == [name for name, _ in SOURCE_COLUMNS]
    assert sorted(uuids(extract(sample))) == sorted(uuids(generated))


# -- filters ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["GREYSON", "GREYSON CLOTHIERS", "  greyson clothiers ", "Greyson"])
def test_customer_filter_takes_the_canonical_name_or_any_alias_in_any_case(sample, generated, name):
    expected = [line for line in generated if canonical(line["CUSTOMER NAME"]) == "GREYSON"]
    assert {line["CUSTOMER NAME"] for line in expected} >= {"GREYSON", "GREYSON CLOTHIERS"}

    found = extract(sample, Filters(customers=(name,)))

    assert sorted(uuids(found)) == sorted(uuids(expected))


def test_customer_filter_is_repeatable_and_matches_every_spelling(sample, generated):
    wanted = {"PELOTON", "SUN DAY RED", "TITLE NINE"}
    expected = [line for line in generated if canonical(line["CUSTOMER NAME"]) in wanted]

    found = extract(sample, Filters(customers=("Peloton Private Label", "sun day red", "TITLE 9")))

    assert sorted(uuids(found)) == sorted(uuids(expected))
    assert {line["CUSTOMER NAME"] for line in found} >= {"PELOTON", "Peloton Private Label", "PELOTON ",
                                                        "SUN DAY RED", "sun day red", "TITLE 9"}


def test_an_unknown_customer_matches_nothing(sample):
    assert extract(sample, Filters(customers=("NOBODY",))) == []


def test_exclude_customer_leaves_out_every_spelling_of_that_customer(sample, generated):
    expected = [line for line in generated if canonical(line["CUSTOMER NAME"]) not in {"GREYSON", "PELOTON"}]

    found = extract(sample, Filters(exclude_customers=("GREYSON CLOTHIERS", "peloton")))

    assert sorted(uuids(found)) == sorted(uuids(expected))


def test_exclude_customer_narrows_a_customer_filter(sample):
    found = extract(sample, Filters(customers=("GREYSON", "TITLE NINE"), exclude_customers=("GREYSON",)))
    assert {canonical(line["CUSTOMER NAME"]) for line in found} == {"TITLE NINE"}


@pytest.mark.parametrize(("filters", "matches"), [
    (Filters(po_numbers=("4755",)), lambda line: line["PO NUMBER"].strip() == "4755"),
    (Filters(po_numbers=(" 4755 ", "1289")), lambda line: line["PO NUMBER"].strip() in {"4755", "1289"}),
    (Filters(aag_seasons=("2025 HOLIDAY",)), lambda line: (line["AAG SEASON"] or "").strip() == "2025 HOLIDAY"),
    (Filters(customer_seasons=("FALL 25", "2025 Q3")),
     lambda line: (line["CUSTOMER SEASON"] or "").strip() in {"FALL 25", "2025 Q3"}),
    (Filters(customers=("GREYSON",), po_numbers=("4755",), aag_seasons=("2025 FALL",)),
     lambda line: canonical(line["CUSTOMER NAME"]) == "GREYSON" and line["PO NUMBER"] == "4755"
     and line["AAG SEASON"] == "2025 FALL"),
], ids=["po", "po-repeated-and-padded", "aag-season", "customer-season-repeated", "customer-po-season"])
def test_po_and_season_filters_select_exactly_their_lines(sample, generated, filters, matches):
    expected = [line for line in generated if matches(line)]
    assert expected

    assert sorted(uuids(extract(sample, filters))) == sorted(uuids(expected))


def test_limit_caps_the_whole_run_not_each_customer(sample):
    customers = Filters(customers=("GREYSON", "PELOTON"))
    everything = extract(sample, customers)

    limited = extract(sample, Filters(customers=("GREYSON", "PELOTON"), limit=10))

    assert limited == everything[:10]  # a stable order: the same lines every time
    assert len(extract(sample, Filters(limit=25))) == 25
    assert extract(sample, Filters(customers=("TITLE NINE",), limit=1000)) == extract(
        sample, Filters(customers=("TITLE NINE",)))


SQL_VALUES = ["x' OR 1=1 --", "4755' OR '1'='1", "'; DROP TABLE \"ORDERS_UNIFIED\"; --", "%", "4755%"]


@pytest.mark.parametrize("value", SQL_VALUES)
def test_filter_values_carrying_sql_are_data_that_matches_nothing(sample, value):
    config, engine, source_table = sample
    for filters in (Filters(customers=(value,)), Filters(po_numbers=(value,)), Filters(aag_seasons=(value,)),
                    Filters(customer_seasons=(value,)), Filters(customers=("GREYSON",), po_numbers=(value,))):
        assert extract(sample, filters) == []
    assert len(extract(sample, Filters(exclude_customers=(value,)))) == ROWS
    with engine.connect() as connection:
        table = sa.Table(config.source.table, sa.MetaData(), schema=config.source.db_schema,
                         autoload_with=connection)
        assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == ROWS


# -- size columns -------------------------------------------------------------------------------

def test_size_columns_are_the_161_integer_columns_of_the_block_never_infor_colour_code(sample):
    _, _, source_table = sample
    assert source_table.size_columns == SIZE_COLUMNS
    assert len(source_table.size_columns) == 161
    assert "INFOR COLOUR CODE" not in source_table.size_columns


def test_a_text_column_anywhere_in_the_size_block_is_not_a_size(database_url):
    columns = [sa.Column(column.name, column.type) for column in orders_unified_table(sa.MetaData()).columns]
    middle = [column.name for column in columns].index(SIZE_COLUMNS[80])
    columns.insert(middle, sa.Column("FIT NOTES", sa.UnicodeText))
    columns.insert(middle, sa.Column("SIZE RANGE CODE", sa.String(20)))
    engine = sa.create_engine(database_url)
    sa.Table("ORDERS_UNIFIED", sa.MetaData(), *columns).create(engine)
    config = parse_config(sample_config_text(source_url=database_url))

    source_table = open_source(engine, config)

    assert source_table.size_columns == SIZE_COLUMNS
    engine.dispose()


def test_hand_made_table_sizes_skip_both_text_columns_in_the_block(database_url):
    create_order_table(database_url, extra_text_after="L")
    engine = create_source_engine(database_url)
    assert open_source(engine, make_config(database_url)).size_columns == SIZES
    engine.dispose()


# -- problems found before the first row is read --------------------------------------------------

def test_config_naming_missing_columns_is_refused_with_each_key_path(database_url):
    create_order_table(database_url)
    text = make_config_text_with(database_url, '''
[groups]
rules = ["{CUSTOMER NAME} {SEASON CODE}"]

[[columns]]
source = "EX FACTORY DATE"
id = "date_xf"
type = "date"
''')
    engine = create_source_engine(database_url)
    with pytest.raises(ConfigError) as raised:
        open_source(engine, parse_config(text))
    engine.dispose()

    assert raised.value.problems == [
        "groups.rules[0]: unknown source column 'SEASON CODE' (not in table ORDERS_UNIFIED)",
        "columns[4].source: unknown source column 'EX FACTORY DATE' (not in table ORDERS_UNIFIED)",
    ]


def test_size_markers_the_table_lacks_are_refused_with_their_key_path(database_url):
    create_order_table(database_url)
    text = make_config_text_with(database_url, '''
[source.sizes]
between = ["UNIT OF MEASURE", "TOTAL QUANTITY"]
''')
    engine = create_source_engine(database_url)
    with pytest.raises(ConfigError) as raised:
        open_source(engine, parse_config(text))
    engine.dispose()

    assert "source.sizes.between[1]: unknown source column 'TOTAL QUANTITY'" in str(raised.value)


def test_a_size_column_name_too_long_to_store_is_a_config_error(database_url):
    engine = sa.create_engine(database_url)
    sa.Table("ORDERS_UNIFIED", sa.MetaData(), *(sa.Column(name, sa.UnicodeText) for name in (
        "AAG ORDER NUMBER", "CUSTOMER NAME", "PO NUMBER", "AAG SEASON", "CUSTOMER SEASON", "CUSTOMER STYLE",
        "CUSTOMER COLOUR DESCRIPTION", "PLANNED DELIVERY METHOD", "ORDER TYPE", "UNIT OF MEASURE")),
        sa.Column("S", sa.Integer), sa.Column("EXTRA LONG TALL SIZE FOR THE BIG", sa.Integer),
        sa.Column("TOTAL QTY", sa.Integer)).create(engine)
    config = parse_config(f'[source]\nurl = "{database_url}"\n')

    with pytest.raises(ConfigError, match="EXTRA LONG TALL SIZE FOR THE BIG' is 32 characters"):
        open_source(engine, config)
    engine.dispose()


def test_a_missing_source_table_says_how_to_make_one(database_url):
    engine = create_source_engine(database_url)
    with pytest.raises(SourceError, match="ORDERS_UNIFIED' does not exist") as raised:
        open_source(engine, make_config(database_url))
    engine.dispose()
    assert "ordersync sample-data" in str(raised.value)


def make_config_text_with(url: str, extra: str) -> str:
    """The test config of `order_table` with more TOML appended (later tables and arrays add to it)."""
    return CONFIG.format(url=url, sizes="", board=BOARD, on_cancelled="keep", on_removed="archive") + extra


def test_a_line_read_as_a_row_transforms_as_the_same_line_by_name(sample):
    """What `lines.keyed_order_lines` does (no dict per line): the read's rows, their values found by position
    (`TransformRules.reading`), give what the same lines as mappings give — every item, subitem and row error,
    a column the read lacks (here a size) counted empty in both."""
    config, engine, source_table = sample
    rules = rules_from_config(config, source_table.size_columns)
    left_out = {source_table.size_columns[0]}
    columns = [column.name for column in source_table.table.columns if column.name not in left_out]
    read = read_order_lines(engine, source_table, config, Filters(), columns=columns)
    rows = [list(row) for chunk in read.chunks for row in chunk]
    rows[3][read.names.index(config.source.business_key[0])] = None  # no business key
    rows[5][read.names.index(source_table.size_columns[1])] = "a dozen"  # not a quantity
    by_position = rules.reading(read.names)

    as_rows = [transform_order_line(row, by_position, number) for number, row in enumerate(rows, 1)]
    as_mappings = [transform_order_line(dict(zip(read.names, row, strict=True)), rules_from_config(
        config, source_table.size_columns), number) for number, row in enumerate(rows, 1)]

    assert as_rows == as_mappings
    assert len(as_rows) == ROWS and [number for number, result in enumerate(as_rows) if isinstance(result, RowError)] \
        == [3, 5]
    assert by_position.reading(read.names) is by_position and rules.reading(read.names) is by_position
