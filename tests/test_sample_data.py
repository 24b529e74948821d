"""The sample ORDERS_UNIFIED: shaped like the real table, deterministic, with the real business's
volume, sizes, seasons and dirt, and the GREYSON PO 4755 case exact."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter, defaultdict
from decimal import Decimal, InvalidOperation
from importlib import resources

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql

from ordersync.sample_data import (
    BUSINESS_KEY,
    FIXED_LINES,
    FIXED_PAIRS,
    MIN_ROWS,
    PRICE_COLUMNS,
    SAMPLE_CUSTOMERS,
    SIZE_COLUMNS,
    SOURCE_COLUMNS,
    customer_aliases,
    generate_order_lines,
    line_counts,
    orders_unified_table,
    summarise_order_lines,
    write_sample_data,
)
from ordersync.sample_data.write import _insert_rows

SEED = 4755
ROWS = 3000
CUSTOMERS_BY_NAME = {customer.name: customer for customer in SAMPLE_CUSTOMERS}
# Columns the sample config feeds into Monday dropdowns: a comma there would read as two labels.
DROPDOWN_SOURCES = ("CUSTOMER NAME", "ORDER TYPE", "AAG SEASON", "CUSTOMER SEASON", "DROP", "CATEGORY",
                    "DELIVERY TERMS", "HS CODE")
SPARSE_ERP_COLUMNS = ("PLANNER", "FACILITY CODE", "BULK AGREEMENT NUMBER", "CO NUMBER - INITIAL DISTRO",
                      "AAG SEASON CODE", "ITEM TYPE CODE", "PRODUCT GROUP CODE", "GENDER GROUP CODE",
                      "FABRIC TYPE CODE", "INFOR COLOUR CODE", "ALLOCATION (CHANNEL)", "VALIDATION")


def fold(raw: str) -> str:
    """The transform's matching rule for customer names: trimmed, any case, typographic quotes as ASCII."""
    quotes = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
    return raw.translate(quotes).strip().casefold()


def canonical_of(raw: str) -> str | None:
    lookup = {fold(name): canonical for canonical, aliases in customer_aliases().items()
              for name in (canonical, *aliases)}
    return lookup.get(fold(raw))


@pytest.fixture(scope="module")
def bad_rows(sample) -> set[int]:
    return bad_row_ids(sample)


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def pairs_of(row: dict) -> int:
    return sum(1 for size in SIZE_COLUMNS if row[size] is not None and row[size] > 0)


def key_of(row: dict) -> tuple | None:
    key = tuple(row[column] for column in BUSINESS_KEY)
    return None if any(blank(part) for part in key) else key


def is_price(value: object) -> bool:
    try:
        return Decimal(str(value)).is_finite()
    except InvalidOperation:
        return False


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    return list(generate_order_lines(SEED, ROWS))


@pytest.fixture(scope="module")
def summary(sample):
    return summarise_order_lines(sample)


@pytest.fixture(scope="module")
def by_customer(sample) -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for row in sample:
        grouped[canonical_of(row["CUSTOMER NAME"])].append(row)
    return grouped


def fixed_case(rows: list[dict]) -> list[dict]:
    return [row for row in rows
            if canonical_of(row["CUSTOMER NAME"]) == "GREYSON" and str(row["PO NUMBER"]).strip() == "4755"]


def bad_row_ids(rows: list[dict]) -> set[int]:
    keys = Counter(key_of(row) for row in rows)
    return {index for index, row in enumerate(rows)
            if key_of(row) is None or keys[key_of(row)] > 1
            or any(not blank(row[column]) and not is_price(row[column]) for column in PRICE_COLUMNS)}


# -- the table ----------------------------------------------------------------------------------

def test_source_columns_are_the_268_of_the_packaged_reference_in_order():
    text = resources.files("ordersync.data").joinpath("orders_unified_columns.tsv").read_text(encoding="utf-8")
    reference = [(row["column"], row["sql_type"]) for row in csv.DictReader(text.splitlines(), delimiter="\t")]
    assert len(SOURCE_COLUMNS) == len(reference) == 268
    assert [name.replace("'", "''") for name, _ in SOURCE_COLUMNS] == [name for name, _ in reference]
    assert [sql_type for _, sql_type in SOURCE_COLUMNS] == [sql_type for _, sql_type in reference]
    assert SOURCE_COLUMNS[0] == ("AAG ORDER NUMBER", "NVARCHAR(MAX)")
    assert SOURCE_COLUMNS[-1] == ("record_uuid", "UNIQUEIDENTIFIER")
    assert "CUSTOMER'S COLOUR CODE (CUSTOM FIELD) CUSTOMER PROVIDES THIS" in dict(SOURCE_COLUMNS)


def test_size_columns_are_the_161_integer_columns_between_unit_of_measure_and_total_qty():
    names = [name for name, _ in SOURCE_COLUMNS]
    block = SOURCE_COLUMNS[names.index("UNIT OF MEASURE") + 1:names.index("TOTAL QTY")]
    assert len(block) == 162
    assert len(SIZE_COLUMNS) == 161
    assert "INFOR COLOUR CODE" not in SIZE_COLUMNS
    assert list(SIZE_COLUMNS) == [name for name, sql_type in block if sql_type == "INT"]


def test_table_has_every_column_in_order_with_its_type_and_no_primary_key():
    table = orders_unified_table(sa.MetaData())
    assert table.name == "ORDERS_UNIFIED"
    assert [column.name for column in table.columns] == [name for name, _ in SOURCE_COLUMNS]
    expected = {"NVARCHAR(MAX)": sa.UnicodeText, "DATE": sa.Date, "INT": sa.Integer, "UNIQUEIDENTIFIER": sa.Uuid}
    for (name, sql_type), column in zip(SOURCE_COLUMNS, table.columns, strict=True):
        assert isinstance(column.type, expected[sql_type]), name
        assert column.nullable
    assert not table.primary_key.columns
    assert orders_unified_table(sa.MetaData(), "SRC", schema="dbo").fullname == "dbo.SRC"


def test_ddl_compiles_for_sql_server_with_the_real_types():
    ddl = str(sa.schema.CreateTable(orders_unified_table(sa.MetaData())).compile(dialect=mssql.dialect()))
    types = Counter(sql_type for _, sql_type in SOURCE_COLUMNS)
    assert ddl.count("NVARCHAR(max)") == types["NVARCHAR(MAX)"]
    assert ddl.count(" DATE NULL") == types["DATE"] == 3
    assert ddl.count(" INTEGER NULL") == types["INT"]
    assert ddl.count("UNIQUEIDENTIFIER") == 1
    assert "[CUSTOMER'S COLOUR CODE (CUSTOM FIELD) CUSTOMER PROVIDES THIS]" in ddl
    assert "PRIMARY KEY" not in ddl and "NTEXT" not in ddl


def test_table_creates_in_the_database(database_url):
    engine = sa.create_engine(database_url)
    try:
        orders_unified_table(sa.MetaData()).create(engine)
        reflected = sa.inspect(engine).get_columns("ORDERS_UNIFIED")
    finally:
        engine.dispose()
    assert [column["name"] for column in reflected] == [name for name, _ in SOURCE_COLUMNS]


# -- determinism and shape ----------------------------------------------------------------------

def test_same_seed_gives_the_same_order_lines_and_another_seed_other_ones():
    first = list(generate_order_lines(SEED, 300))
    assert first == list(generate_order_lines(SEED, 300))
    other = list(generate_order_lines(SEED + 1, 300))
    assert len(other) == 300
    assert [row["record_uuid"] for row in first] != [row["record_uuid"] for row in other]
    assert [row["AAG ORDER NUMBER"] for row in first] != [row["AAG ORDER NUMBER"] for row in other]


def test_each_row_has_every_column_in_table_order_with_driver_ready_values(sample):
    names = [name for name, _ in SOURCE_COLUMNS]
    python_types = {"NVARCHAR(MAX)": str, "DATE": dt.date, "INT": int, "UNIQUEIDENTIFIER": str}
    for row in sample:
        assert list(row) == names
        for name, sql_type in SOURCE_COLUMNS:
            value = row[name]
            assert value is None or type(value) is python_types[sql_type], (name, value)
    assert len({row["record_uuid"] for row in sample}) == len(sample)


def test_infor_colour_code_is_a_text_code_never_a_quantity(sample):
    codes = [row["INFOR COLOUR CODE"] for row in sample]
    assert all(code is None or isinstance(code, str) for code in codes)
    filled = [code for code in codes if code is not None]
    assert filled and all(1 <= len(code) <= 4 for code in filled)


def test_total_qty_is_the_sum_of_the_sizes(sample):
    for row in sample:
        sizes = sum(row[size] or 0 for size in SIZE_COLUMNS)
        assert row["TOTAL QTY"] == sizes == row["Sum of TOTAL QTY"]


def test_each_customer_orders_only_in_its_own_sizes(by_customer):
    for name, rows in by_customer.items():
        own = set(CUSTOMERS_BY_NAME[name].size_set)
        used = {size for row in rows for size in SIZE_COLUMNS if row[size] is not None}
        assert used <= own, (name, used - own)


def test_catalogue_sizes_are_size_columns_and_prefixes_are_unique():
    for customer in SAMPLE_CUSTOMERS:
        assert set(customer.size_set) <= set(SIZE_COLUMNS), customer.name
        assert re.fullmatch(r"[A-Z]{3}", customer.prefix)
    assert len({customer.prefix for customer in SAMPLE_CUSTOMERS}) == len(SAMPLE_CUSTOMERS)
    spellings = Counter(fold(name) for customer in SAMPLE_CUSTOMERS for name in (customer.name, *customer.aliases))
    assert max(spellings.values()) == 1  # no alias folds onto another customer


# -- customers and volume -----------------------------------------------------------------------

def test_every_raw_customer_name_canonicalises(sample):
    raw_names = {row["CUSTOMER NAME"] for row in sample}
    assert all(canonical_of(name) in CUSTOMERS_BY_NAME for name in raw_names), \
        [name for name in raw_names if canonical_of(name) is None]
    assert set(customer_aliases()) == set(CUSTOMERS_BY_NAME)
    # and the sample really is dirty in each of the ways the transform folds
    assert {"GREYSON CLOTHIERS", "TITLE 9 ", "Peloton Private Label", "TRACKSMITH", "WHITE FOX (AU)"} <= raw_names
    assert {"B'HOOD", "B\u2019HOOD"} <= raw_names
    assert any(name.endswith(" ") for name in raw_names)
    assert any(name != name.upper() and name.lower() == name for name in raw_names)


def test_volume_follows_the_profile_with_greyson_and_peloton_biggest(by_customer):
    sizes = Counter({name: len(rows) for name, rows in by_customer.items()})
    assert {name for name, _ in sizes.most_common(2)} == {"GREYSON", "PELOTON"}
    assert sizes["SUN DAY RED"] > sizes["WHITE FOX"] > sizes["TITLE NINE"] > sizes["BC BRANDS"]
    assert len(by_customer) == len(SAMPLE_CUSTOMERS)


@pytest.mark.parametrize("rows", [MIN_ROWS, 10_000, 250_000])
def test_line_counts_share_the_rows_by_weight(rows):
    counts = line_counts(rows)
    assert sum(counts.values()) == rows
    ordinary = rows - FIXED_LINES
    total_weight = sum(customer.weight for customer in SAMPLE_CUSTOMERS)
    for customer in SAMPLE_CUSTOMERS:
        fixed = FIXED_LINES if customer.name == "GREYSON" else 0
        assert abs(counts[customer.name] - fixed - ordinary * customer.weight / total_weight) < 1


def test_order_numbers_are_the_customer_prefix_and_five_digits(by_customer):
    for name, rows in by_customer.items():
        prefix = CUSTOMERS_BY_NAME[name].prefix
        for row in rows:
            number = row["AAG ORDER NUMBER"]
            assert number is None or re.fullmatch(prefix + r"-\d{5}", number), (name, number)


def test_groups_follow_the_profile(by_customer, summary):
    def group(row, customer):
        season = next((str(v).strip() for v in (row["CUSTOMER SEASON"], row["AAG SEASON"]) if not blank(v)), None)
        return f"{customer} {season}" if season else "check"

    groups = {name: {group(row, name) for row in rows} for name, rows in by_customer.items()}
    assert len(set().union(*groups.values())) == summary.groups
    assert len(groups["PELOTON"]) >= 13
    assert 5 <= len(groups["GREYSON"]) <= 8
    assert "GREYSON 2025 FALL" in groups["GREYSON"]


def test_customer_season_is_sometimes_empty_and_sometimes_both_seasons_are(sample, summary):
    customer_season_empty = [row for row in sample if blank(row["CUSTOMER SEASON"])]
    both_empty = [row for row in customer_season_empty if blank(row["AAG SEASON"])]
    assert {row["CUSTOMER SEASON"] for row in customer_season_empty} == {None, ""}
    assert len(customer_season_empty) - len(both_empty) == summary.season_fallback_lines > 0
    assert len(both_empty) == summary.check_group_lines > 0
    assert summary.check_group_lines < summary.season_fallback_lines < len(sample) * 0.1


# -- keys and dirt ------------------------------------------------------------------------------

def test_clean_rows_are_unique_on_the_business_key_and_duplicates_come_in_pairs(sample, summary):
    keys = Counter(key for key in map(key_of, sample) if key is not None)
    duplicated = {key: count for key, count in keys.items() if count > 1}
    assert set(duplicated.values()) == {2}
    assert len(duplicated) == ROWS // 1000
    assert sum(duplicated.values()) == summary.duplicate_key_rows


def test_some_order_numbers_repeat_with_another_delivery_method_or_style(sample, summary):
    keys_by_number = defaultdict(set)
    for key in filter(None, map(key_of, sample)):
        keys_by_number[key[0]].add(key[1:])
    repeated = {number: keys for number, keys in keys_by_number.items() if len(keys) > 1}
    assert len(repeated) == summary.repeated_order_numbers > 0
    assert any(len({method for method, _ in keys}) > 1 for keys in repeated.values())
    assert any(len({style for _, style in keys}) > 1 for keys in repeated.values())


def test_each_kind_of_bad_row_is_there_and_counted(sample, summary):
    missing = [row for row in sample if row["AAG ORDER NUMBER"] is None]
    bad_prices = [row for row in sample
                  if any(not blank(row[column]) and not is_price(row[column]) for column in PRICE_COLUMNS)]
    assert len(missing) == summary.missing_key_rows == 3
    assert len(bad_prices) == summary.bad_price_rows == 3
    assert summary.duplicate_key_rows == 6
    assert len(bad_row_ids(sample)) == summary.bad_rows < len(sample) / 100


def test_no_bad_rows_below_a_thousand_rows():
    assert bad_row_ids(list(generate_order_lines(SEED, 999))) == set()


def test_realistic_dirt_is_there(sample, summary):
    zero = [row for row in sample if row["TOTAL QTY"] == 0]
    assert len(zero) == summary.zero_quantity_lines > 0
    assert all(all(not row[size] for size in SIZE_COLUMNS) for row in zero)
    assert any(any(row[size] == 0 for size in SIZE_COLUMNS) for row in zero)  # explicit zeros, not only NULL
    assert sum(row["ORDER TYPE"] == "CANCELLED" for row in sample) == summary.cancelled_lines > 0
    assert {row["ORDER TYPE"] for row in sample} == {"RECEIVED", "CANCELLED"}
    assert sum(row["CUSTOMER STYLE"] == "TBD" for row in sample) == summary.tbd_style_lines > 0
    colours = {row["CUSTOMER COLOUR DESCRIPTION"] for row in sample}
    assert {"942 - BONNEVILLE", "COOL GREY ", "THE CONCUBINE\u2019S CORRIDOR", "N/A", "TBD"} <= colours


@pytest.mark.parametrize("rows", [MIN_ROWS, 1000, ROWS])
def test_greyson_po_4755_has_exactly_264_clean_size_pairs_whatever_the_row_count(rows, sample):
    order_lines = sample if rows == ROWS else list(generate_order_lines(SEED, rows))
    case = fixed_case(order_lines)
    assert len(case) == FIXED_LINES == 69
    assert sum(pairs_of(row) for row in case) == FIXED_PAIRS == 264
    assert all(row["CUSTOMER NAME"] == "GREYSON" and row["PO NUMBER"] == "4755" for row in case)
    assert all(row["ORDER TYPE"] == "RECEIVED" and row["TOTAL QTY"] > 0 for row in case)
    ids = {id(row) for row in case}
    assert not {id(order_lines[index]) for index in bad_row_ids(order_lines)} & ids
    assert case == fixed_case(list(generate_order_lines(SEED, MIN_ROWS)))


def test_quantities_follow_each_customers_range_over_two_to_ten_sizes(by_customer):
    for name, rows in by_customer.items():
        low, high = CUSTOMERS_BY_NAME[name].quantity_range
        for row in rows:
            if row["TOTAL QTY"] == 0:
                continue
            assert low <= row["TOTAL QTY"] <= high, (name, row["TOTAL QTY"])
            ordered = [size for size in SIZE_COLUMNS if row[size]]
            one_size = set(ordered) <= {"OS", "ONE SIZE"}
            assert 1 <= len(ordered) <= 10 if one_size else 2 <= len(ordered) <= 10
    peloton = [row["TOTAL QTY"] for row in by_customer["PELOTON"] if row["TOTAL QTY"]]
    assert min(peloton) >= 43 and max(peloton) <= 126


def test_dates_run_from_po_received_to_ex_factory_to_eta(sample):
    for row in sample:
        assert row["ORDER DATE PO RECEIVED"] <= row["EX FACTORY DATE"] <= row["ETA CUSTOMER WAREHOUSE DATE"]


def test_business_columns_hold_what_the_real_ones_do(sample, bad_rows):
    clean = [row for index, row in enumerate(sample) if index not in bad_rows]
    assert {row["PLANNED DELIVERY METHOD"] for row in sample} == {"OCEAN", "AIR", "GROUND", "EXPRESS"}
    assert {row["DELIVERY TERMS"] for row in sample} == {"DDP", "FOB"}
    assert {row["UNIT OF MEASURE"] for row in sample} == {"PCS"}
    assert "6212.10.90.20" in {row["HS CODE"] for row in sample}
    assert {row["DROP"] for row in sample} - {None} <= {"DROP01", "DROP02", "DROP03", "DROP04"}
    for row in clean:
        for column in PRICE_COLUMNS:
            assert blank(row[column]) or is_price(row[column]), (column, row[column])
    assert all(re.fullmatch(r"\d+\.\d\d", row["FINAL FOB (USD)"]) for row in clean)


def test_values_fit_monday_columns(sample):
    for row in sample:
        for value in row.values():
            assert not isinstance(value, str) or len(value) < 2000
        for column in DROPDOWN_SOURCES:
            assert row[column] is None or "," not in row[column], (column, row[column])


def test_sparse_erp_columns_are_partly_filled(sample):
    for column in SPARSE_ERP_COLUMNS:
        share = sum(row[column] is not None for row in sample) / len(sample)
        assert 0.15 <= share <= 0.7, (column, share)


def test_too_few_rows_are_refused():
    with pytest.raises(ValueError, match="at least 100 rows"):
        generate_order_lines(SEED, MIN_ROWS - 1)


# -- writing ------------------------------------------------------------------------------------

def _pairs_in_table(connection, table, *conditions) -> int:
    pairs = sum((sa.case((table.c[size] > 0, 1), else_=0) for size in SIZE_COLUMNS), sa.literal(0))
    return connection.execute(sa.select(sa.func.coalesce(sa.func.sum(pairs), 0)).where(*conditions)).scalar_one()


def test_written_table_holds_what_the_summary_says(database_url):
    summary = write_sample_data(database_url, rows=1000, chunk_size=300)
    engine = sa.create_engine(database_url)
    table = orders_unified_table(sa.MetaData())
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 1000
            assert _pairs_in_table(connection, table) == summary.size_pairs
            fixed = _pairs_in_table(connection, table, table.c["CUSTOMER NAME"] == "GREYSON",
                                    table.c["PO NUMBER"] == "4755")
            assert fixed == summary.fixed_case_pairs == 264
            total = connection.execute(sa.select(sa.func.sum(table.c["TOTAL QTY"]))).scalar_one()
            assert total == summary.total_quantity
            missing = connection.execute(sa.select(sa.func.count()).where(
                table.c["AAG ORDER NUMBER"].is_(None))).scalar_one()
            assert missing == summary.missing_key_rows == 1
            read_back = [dict(row._mapping) for row in connection.execute(sa.select(table))]
    finally:
        engine.dispose()
    assert summarise_order_lines(read_back) == summary
    by_uuid = {row["record_uuid"]: row for row in generate_order_lines(SEED, 1000)}
    assert {row["record_uuid"]: row for row in read_back} == by_uuid  # the same rows, value for value
    assert (summary.missing_key_rows, summary.duplicate_key_rows, summary.bad_price_rows) == (1, 2, 1)


def test_write_replaces_the_table_or_appends_and_reports_progress(sqlite_url):
    progress: list[int] = []
    write_sample_data(sqlite_url, rows=MIN_ROWS, chunk_size=40, progress=progress.append)
    assert progress == [40, 40, 20]
    write_sample_data(sqlite_url, rows=MIN_ROWS, replace=False)
    engine = sa.create_engine(sqlite_url)
    count = sa.select(sa.func.count()).select_from(sa.table("ORDERS_UNIFIED"))
    try:
        with engine.connect() as connection:
            assert connection.execute(count).scalar_one() == 2 * MIN_ROWS
        write_sample_data(sqlite_url, rows=MIN_ROWS)
        with engine.connect() as connection:
            assert connection.execute(count).scalar_one() == MIN_ROWS
        with pytest.raises(ValueError):
            write_sample_data(sqlite_url, rows=MIN_ROWS - 1)
        with engine.connect() as connection:  # a refused call leaves the table alone
            assert connection.execute(count).scalar_one() == MIN_ROWS
    finally:
        engine.dispose()


def test_sqlite_fast_path_writes_what_a_core_insert_writes(sqlite_url):
    write_sample_data(sqlite_url, rows=MIN_ROWS, table="FAST")
    engine = sa.create_engine(sqlite_url)
    metadata = sa.MetaData()
    fast, core = orders_unified_table(metadata, "FAST"), orders_unified_table(metadata, "CORE")
    try:
        core.create(engine)
        with engine.begin() as connection:
            _insert_rows(connection, core, list(generate_order_lines(SEED, MIN_ROWS)))
        with engine.connect() as connection:
            stored = [sa.select(sa.text("*")).select_from(sa.table(name)).order_by(sa.text("rowid"))
                      for name in ("FAST", "CORE")]
            assert connection.execute(stored[0]).all() == connection.execute(stored[1]).all()
            assert connection.execute(sa.select(fast)).all() == connection.execute(sa.select(core)).all()
    finally:
        engine.dispose()
