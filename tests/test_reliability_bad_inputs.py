"""Bad input, table-driven: each case gives a clear error or a recorded row error, and every other row syncs.

Three tables, all through the real `ordersync` entry point against an emulator over HTTP:
- CONFIG_CASES: a mistake in ordersync.toml (malformed, contradictory, unknown keys and columns,
  wrong types) or on the command line: exit 2, a message naming the key, nothing written;
- LINE_CASES: order lines added to a sample table — wrong types, empty and huge strings, unicode
  and quotes, negative and fractional quantities, non-numeric sizes, duplicate keys, labels the
  board lacks — and lines that look dangerous but are valid: one `sync --all` takes them all, each
  bad one is recorded with its reason, and the board equals the source minus the bad lines;
- FILTER_CASES: filters carrying SQL select nothing, change nothing and break nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from cli_project import TOKEN, Project, cli_project, project_config_text, run_cli
from ordersync.config import parse_config
from ordersync.engine.pipeline import Databases
from ordersync.ops.reconcile import compare, expected_items
from ordersync.sample_data import SIZE_COLUMNS
from ordersync.state import build_tables

TABLE = "ORDERS_UNIFIED"


def created_on_the_emulator(project: Project) -> int:
    return httpx.get(f"{project.base_url}/emulator/stats", timeout=30).json()["items"]


# -- the configuration and the command line -------------------------------------------------------

@dataclass(frozen=True)
class ConfigCase:
    id: str
    edit: Callable[[str], str]  # the config text → the broken config text
    says: tuple[str, ...]  # what the error names
    args: tuple[str, ...] = ("sync", "--all", "--json")
    env: dict[str, str] = field(default_factory=dict)


def replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return edit


def append(extra: str) -> Callable[[str], str]:
    return lambda text: text + "\n" + extra + "\n"


def unchanged(text: str) -> str:
    return text


PATTERN_ID = '[[columns]]\nsource = "PATTERN ID"\nid = "text_mkr5cz8m"   # PATTERN ID\ntype = "text"\n'

CONFIG_CASES = [
    ConfigCase("malformed-toml", replace("[monday]", "[monday"), ("is not valid TOML", "line")),
    ConfigCase("unknown-section", append("[sourcez]\nurl = 'x'"), ("sourcez", "unknown key")),
    ConfigCase("unknown-key", replace('key_column = "text_ordersync_key"', 'key_column = "text_ordersync_key"\n'
                                      'boardid = "1"'), ("monday.boardid", "unknown key")),
    ConfigCase("wrong-type-chunk-size", replace("chunk_size = 2000", 'chunk_size = "lots"'), ("source.chunk_size",)),
    ConfigCase("zero-chunk-size", replace("chunk_size = 2000", "chunk_size = 0"), ("source.chunk_size",)),
    ConfigCase("board-id-not-a-number", lambda text: text.replace('board_id = "', 'board_id = "board-', 1),
               ("monday.board_id", "is a number")),
    ConfigCase("api-version-shape", replace('api_version = "2026-07"', 'api_version = "2026/07"'),
               ("monday.api_version",)),
    ConfigCase("zero-mutations-per-request", replace("max_mutations_per_request = 1000", "max_mutations_per_request = 0"),
               ("monday.max_mutations_per_request",)),
    ConfigCase("negative-timeout", replace('production = false', 'production = false\ntimeout_seconds = -1'),
               ("monday.timeout_seconds",)),
    ConfigCase("column-mapped-twice", append(PATTERN_ID), ("id", "is already mapped by columns[")),
    ConfigCase("key-column-also-mapped", append(
        '[[columns]]\nsource = "PO NUMBER"\nid = "text_ordersync_key"\ntype = "text"'), ("monday.key_column",)),
    ConfigCase("unknown-column-type", replace('type = "date"', 'type = "calendar"'), ("].type (line ",)),
    ConfigCase("unwritable-column", append('[[columns]]\nsource = "PO NUMBER"\nid = "name"\ntype = "text"'),
               ("].id", "cannot be written")),
    ConfigCase("unknown-source-column", replace('source = "PATTERN ID"', 'source = "PATTERN IDENTIFIER"'),
               ("].source: unknown source column 'PATTERN IDENTIFIER'",)),
    ConfigCase("unknown-board-column", replace('id = "text_mkr5cz8m"', 'id = "text_doesnotexist"'),
               ("].id: the board has no column 'text_doesnotexist'", "nothing was written")),
    ConfigCase("mapped-type-differs-from-board", replace('id = "text_mkr5cz8m"   # PATTERN ID\ntype = "text"',
                                                         'id = "text_mkr5cz8m"   # PATTERN ID\ntype = "numbers"'),
               ("].type", "text_mkr5cz8m")),
    ConfigCase("business-key-unknown-column", replace('"PLANNED DELIVERY METHOD", "CUSTOMER STYLE"]',
                                                      '"PLANNED DELIVERY", "CUSTOMER STYLE"]'),
               ("source.business_key[1]", "unknown source column 'PLANNED DELIVERY'")),
    ConfigCase("business-key-empty", replace('business_key = ["AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", '
                                             '"CUSTOMER STYLE"]', "business_key = []"), ("source.business_key",)),
    ConfigCase("business-key-repeats", replace('"PLANNED DELIVERY METHOD", "CUSTOMER STYLE"]',
                                               '"AAG ORDER NUMBER", "CUSTOMER STYLE"]'),
               ("source.business_key", "appears twice")),
    ConfigCase("group-rule-without-field", replace('rules = ["{CUSTOMER NAME} {CUSTOMER SEASON}"',
                                                   'rules = ["ALL ORDERS"'), ("groups.rules", "names no source column")),
    ConfigCase("group-rule-malformed", replace('rules = ["{CUSTOMER NAME} {CUSTOMER SEASON}"',
                                               'rules = ["{CUSTOMER NAME {CUSTOMER SEASON}"'), ("groups.rules",)),
    ConfigCase("group-rule-unknown-column", replace('rules = ["{CUSTOMER NAME} {CUSTOMER SEASON}"',
                                                    'rules = ["{CUSTOMER NAMES} {CUSTOMER SEASON}"'),
               ("groups.rules[0]", "unknown source column 'CUSTOMER NAMES'")),
    ConfigCase("subitem-name-without-size", replace('name = "Size {size}"', 'name = "Size"'), ("subitems.name",)),
    ConfigCase("size-and-quantity-one-column", replace('quantity_column = "numeric_mkra7j8e"',
                                                       'quantity_column = "dropdown_mkrak7qp"'),
               ("subitems.quantity_column", "two different columns")),
    ConfigCase("size-markers-reversed", replace('between = ["UNIT OF MEASURE", "TOTAL QTY"]',
                                                'between = ["TOTAL QTY", "UNIT OF MEASURE"]'),
               ("source.sizes.between", "must come before")),
    ConfigCase("size-marker-unknown", replace('between = ["UNIT OF MEASURE", "TOTAL QTY"]',
                                              'between = ["UNIT OF MEASURES", "TOTAL QTY"]'),
               ("source.sizes.between[0]", "unknown source column")),
    ConfigCase("size-list-empty", replace('between = ["UNIT OF MEASURE", "TOTAL QTY"]', "columns = []"),
               ("source.sizes", "must not be empty")),
    ConfigCase("alias-of-two-customers", replace('"BOGGI" = ["BOGGI MILANO"]', '"BOGGI" = ["BOGGI MILANO", "AJE"]'),
               ("customers", "is already a name of customer")),
    ConfigCase("removal-policy-unknown", replace('on_removed = "archive"', 'on_removed = "shred"'),
               ("items.on_removed",)),
    ConfigCase("item-name-without-fields", replace(
        'name_fields = ["CUSTOMER STYLE", "CUSTOMER COLOUR DESCRIPTION", "AAG ORDER NUMBER"]', "name_fields = []"),
        ("items.name_fields",)),
    ConfigCase("hash-column-unknown", replace("columns = []\n\n[reports]", 'columns = ["TOTAL QUANTITY"]\n\n[reports]'),
               ("hash.columns[0]", "unknown source column 'TOTAL QUANTITY'")),
    ConfigCase("profile-value-wrong", replace('[profiles.prod.monday]\n', '[profiles.prod.monday]\nmax_attempts = 0\n'),
               ("profiles.prod.monday.max_attempts",)),
    ConfigCase("profile-unknown", unchanged, ("has no profile 'staging'",),
               args=("--profile", "staging", "sync", "--all", "--json")),
    ConfigCase("no-token", unchanged, ("no Monday API token", "MONDAY_API_TOKEN"), env={"MONDAY_API_TOKEN": ""}),
    ConfigCase("unfiltered-without-all", unchanged, ("refusing to sync every customer without --all",),
               args=("sync", "--json")),
    ConfigCase("limit-zero", unchanged, ("Invalid value for '--limit'",), args=("sync", "--limit", "0", "--json")),
    ConfigCase("unknown-option", unchanged, ("No such option: --bogus",), args=("sync", "--all", "--bogus")),
]


@pytest.fixture(scope="module")
def config_project(tmp_path_factory):
    with cli_project(tmp_path_factory.mktemp("config-cases"), rows=100) as project:
        yield project


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[case.id for case in CONFIG_CASES])
def test_a_config_or_command_line_mistake_is_a_clear_error_naming_the_key_and_nothing_is_written(config_project,
                                                                                                 case):
    path = config_project.directory / f"{case.id}.toml"
    path.write_text(case.edit(project_config_text(config_project.base_url, config_project.board_id)),
                    encoding="utf-8")
    before = created_on_the_emulator(config_project)

    finished = run_cli("--config", str(path), *case.args, env={"MONDAY_API_TOKEN": TOKEN, **case.env})

    assert finished.exit_code == 2, finished.stderr
    if "--json" in case.args:  # the error is printed for a scheduler too, and nothing else
        assert finished.json()["error"]["exit_code"] == 2
    else:
        assert finished.stdout == ""
    for expected in case.says:
        assert expected in finished.stderr, finished.stderr
    assert "Traceback" not in finished.stderr
    assert created_on_the_emulator(config_project) == before


# -- order lines ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LineCase:
    """An order line added to the sample: a copy of a GREYSON line (XS 0, M 10, L 5) with `changes`."""

    id: str
    changes: dict[str, Any]
    error: str | None = None  # the reason recorded; None: the line is valid and must sync exactly
    warning: str | None = None  # a valid line with a value cut to fit: the warning recorded for it
    board: dict[str, str] = field(default_factory=dict)  # column id (or "name") → the text the board shows
    twin: dict[str, Any] | None = None  # a second line with the same business key and these changes


def long(length: int, unit: str = "X") -> str:
    return (unit * length)[:length]


LINE_CASES = [
    # wrong types
    LineCase("price-not-a-number", {"CUSTOMER PRICE": "TBC"}, error="'TBC' is not a number"),
    LineCase("price-infinite", {"CUSTOMER PRICE": "inf"}, error="is not a finite number"),
    LineCase("price-too-large", {"CUSTOMER PRICE": "1e20"}, error="is too large for a numbers column"),
    LineCase("date-day-first", {"ORDER DATE PO RECEIVED": "31/02/2025"}, error="'31/02/2025' is not a date"),
    LineCase("date-impossible", {"ORDER DATE PO RECEIVED": "2025-02-30"}, error="'2025-02-30' is not a date"),
    LineCase("dropdown-with-comma", {"CATEGORY": "TOPS, BOTTOMS"}, error="contains a comma"),
    LineCase("label-the-board-lacks", {"UNIT OF MEASURE": "DOZENS"},
             error="'DOZENS' does not exist in column UNIT OF MEASURE"),
    # keys
    LineCase("key-part-missing", {"AAG ORDER NUMBER": None}, error="no business key: AAG ORDER NUMBER is empty"),
    LineCase("key-part-blank", {"PLANNED DELIVERY METHOD": "   "},
             error="no business key: PLANNED DELIVERY METHOD is empty"),
    LineCase("key-too-long", {"CUSTOMER STYLE": long(450)}, error="business key is"),
    LineCase("duplicate-key", {"CUSTOMER COLOUR DESCRIPTION": "RED"}, error="duplicate business key",
             twin={"CUSTOMER COLOUR DESCRIPTION": "BLUE"}),
    # empty and huge strings
    LineCase("customer-empty", {"CUSTOMER NAME": "  "}, error="no customer: CUSTOMER NAME is empty"),
    LineCase("customer-huge", {"CUSTOMER NAME": long(300, "GREYSON ")}, error="the customer name is 300 characters"),
    LineCase("po-huge", {"PO NUMBER": long(300, "9")}, error="PO NUMBER is 300 characters"),
    LineCase("long-text-huge", {"STYLE DESCRIPTION": long(5000, "L")},
             warning="is 5,000 characters; a long text column takes at most 2,000; cut to fit",
             board={"long_text_mkr5p0cf": long(1999, "L") + "…"}),
    LineCase("item-name-huge", {"CUSTOMER COLOUR DESCRIPTION": long(260, "BLUE ")},
             warning="the item name is"),
    # quantities and sizes
    LineCase("quantity-negative", {"M": -3}, error="size M: '-3' is negative"),
    LineCase("quantity-fractional", {"M": 2.5}, error="size M: '2.5' is not a whole number of pieces"),
    LineCase("size-not-numeric", {"M": "twelve"}, error="size M: 'twelve' is not a number"),
    LineCase("quantity-huge", {"M": 3_000_000_000}, error="more pieces than a quantity can hold"),
    # valid lines that look dangerous: they sync exactly
    LineCase("unicode-names", {"CUSTOMER STYLE": "ÉTÉ-24 夏", "CUSTOMER COLOUR DESCRIPTION": "NOIR / 黒 ✓ 🔥"},
             board={"name": "ÉTÉ-24 夏 NOIR / 黒 ✓ 🔥 {aag}", "text_mktdechp": "ÉTÉ-24 夏"}),
    LineCase("quotes-and-backslashes", {"CUSTOMER COLOUR DESCRIPTION": 'SAY "CHEESE" \\ O\'NEIL’S'},
             board={"long_text_mktdy7re": 'SAY "CHEESE" \\ O\'NEIL’S'}),
    LineCase("sql-in-a-value", {"NOTES": "'); DROP TABLE \"ORDERS_UNIFIED\"; --"},
             board={"long_text_mkr5hass": "'); DROP TABLE \"ORDERS_UNIFIED\"; --"}),
    LineCase("markup-in-a-value", {"PATTERN ID": "<script>alert(1)</script>"},
             board={"text_mkr5cz8m": "<script>alert(1)</script>"}),
    LineCase("newlines-and-tabs", {"NOTES": "LINE 1\nLINE 2\tTABBED"}, board={"long_text_mkr5hass": "LINE 1\nLINE 2\tTABBED"}),
    LineCase("right-to-left-and-zero-width", {"PATTERN ID": "\u05e9\u05dc\u05d5\u05dd\u200bPT-1"},
             board={"text_mkr5cz8m": "\u05e9\u05dc\u05d5\u05dd\u200bPT-1"}),
    LineCase("long-text-at-its-limit", {"NOTES": long(2000, "N")}, board={"long_text_mkr5hass": long(2000, "N")}),
    LineCase("null-spelled-out", {"NOTES": "NULL", "PATTERN ID": "nan"},
             board={"long_text_mkr5hass": "", "text_mkr5cz8m": ""}),
    LineCase("price-with-currency-and-commas", {"CUSTOMER PRICE": "$1,234.50"}, board={"numeric_mkr5cact": "1234.5"}),
    LineCase("date-with-a-time", {"ORDER DATE PO RECEIVED": "2025-06-24 13:00:00"},
             board={"date_mkr5zp5": "2025-06-24 13:00"}),
    LineCase("customer-alias-spelled-oddly", {"CUSTOMER NAME": "  greyson   clothiers "},
             board={"dropdown_mkr542p2": "GREYSON"}),
    LineCase("no-size-ordered", {"M": 0, "L": None, "TOTAL QTY": 0}, board={"numeric_mktb1d19": "0"}),
]


def _quoted(names) -> str:
    return ", ".join('"' + name.replace('"', '""') + '"' for name in names)


def add_lines(url: str, cases: list[LineCase]) -> dict[str, list[str]]:
    """Insert each case's line(s) as the driver stores them (no type conversion on the way in);
    returns case id → the record_uuids of its lines."""
    engine = sa.create_engine(url)
    handles: dict[str, list[str]] = {}
    with engine.begin() as connection:
        template = dict(connection.exec_driver_sql(
            f'SELECT * FROM "{TABLE}" WHERE "CUSTOMER NAME" = \'GREYSON\' LIMIT 1').mappings().one())
        template |= dict.fromkeys(SIZE_COLUMNS, None) | {"M": 10, "L": 5, "TOTAL QTY": 15}
        columns = list(template)
        statement = f'INSERT INTO "{TABLE}" ({_quoted(columns)}) VALUES ({", ".join("?" for _ in columns)})'
        for number, case in enumerate(cases, start=1):
            aag = f"GRE-9{number:04d}"
            lines = [case.changes] + ([case.twin] if case.twin is not None else [])
            handles[case.id] = []
            for changes in lines:
                line = {**template, "AAG ORDER NUMBER": aag, "record_uuid": uuid.uuid4().hex, **changes}
                connection.exec_driver_sql(statement, tuple(line[name] for name in columns))
                handles[case.id].append(line["record_uuid"])
    engine.dispose()
    return handles


@dataclass
class Corpus:
    project: Project
    exit_code: int
    result: dict[str, Any]
    handles: dict[str, list[str]]
    errors: list[dict[str, Any]]
    board: list[Any]

    def aag(self, case: LineCase) -> str:
        return f"GRE-9{LINE_CASES.index(case) + 1:04d}"

    def errors_of(self, case: LineCase) -> list[dict[str, Any]]:
        uuids = self.handles[case.id]
        return [error for error in self.errors
                if (error["item_key"] and self.aag(case) in error["item_key"])
                or any(handle in (error["payload"] or "") for handle in uuids)]

    def items_of(self, case: LineCase) -> list[Any]:
        return [item for item in self.board if self.aag(case) in item.name or (item.key and self.aag(case) in item.key)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    import asyncio

    from ordersync.ops.reconcile import read_board

    with cli_project(tmp_path_factory.mktemp("line-cases"), rows=150) as project:
        handles = add_lines(project.source_url, LINE_CASES)
        finished = project.run("sync", "--all", "--json")
        tables = build_tables()
        engine = sa.create_engine(project.source_url)
        with engine.connect() as connection:
            errors = [dict(row) for row in connection.execute(sa.select(tables.errors)).mappings()]
        engine.dispose()

        async def board():
            async with httpx.AsyncClient(timeout=60) as http:
                config = project.config()
                return await read_board(project.client(http), project.board_id, key_column=config.monday.key_column,
                                        quantity_column=config.subitems.quantity_column)

        yield Corpus(project, finished.exit_code, finished.json() if finished.stdout else {}, handles, errors,
                     asyncio.run(board()))


BAD_LINES = [case for case in LINE_CASES if case.error]
GOOD_LINES = [case for case in LINE_CASES if not case.error]


@pytest.mark.parametrize("case", BAD_LINES, ids=[case.id for case in BAD_LINES])
def test_a_bad_order_line_is_recorded_with_its_reason_and_stays_off_the_board(corpus, case):
    found = corpus.errors_of(case)
    assert found, f"no error recorded for {case.id}"
    assert any(case.error in error["message"] for error in found), [error["message"] for error in found]
    lines = len(corpus.handles[case.id])
    assert len({error["source_row"] or error["item_key"] for error in found if case.error in error["message"]}) \
        >= lines  # each of its lines, not one for the pair
    assert corpus.items_of(case) == []


@pytest.mark.parametrize("case", GOOD_LINES, ids=[case.id for case in GOOD_LINES])
def test_a_valid_line_that_looks_dangerous_syncs_exactly(corpus, case):
    recorded = [(error["category"], (case.warning or "") in error["message"]) for error in corpus.errors_of(case)]
    assert recorded == ([("truncated", True)] if case.warning else [])  # a cut value is a warning, nothing else
    [item] = corpus.items_of(case)
    if case.warning == "the item name is":
        assert len(item.name) <= 255 and item.name.endswith("…")
    for column, text in case.board.items():
        shown = item.name if column == "name" else item.texts.get(column, "")
        assert shown == text.format(aag=corpus.aag(case)), column


def test_every_other_line_syncs_and_the_board_equals_the_source_minus_the_bad_lines(corpus):
    assert corpus.exit_code == 1  # some rows failed: said by the exit code, not by a crash
    totals = corpus.result["totals"]
    config = parse_config(corpus.project.config_path.read_text(), base_dir=corpus.project.directory)
    databases = Databases.open(config)
    try:
        expected = expected_items(config, databases)
    finally:
        databases.close()
    refused_by_the_board = {key for key in expected if any(
        corpus.aag(case) in key for case in BAD_LINES)}  # valid for the transform, refused before sending
    for key in refused_by_the_board:
        expected.pop(key)
    drift = compare(config, expected, corpus.board)
    assert drift.clean, {name: found[:5] for name, found in drift.findings.items() if found}
    # counted without the transform: the 150 sample lines (none bad) and every good case are on the board
    assert drift.board_items == 150 + len(GOOD_LINES)
    assert totals["items"]["failed"] == sum(len(corpus.handles[case.id]) for case in BAD_LINES)
    engine = sa.create_engine(corpus.project.source_url)
    with engine.connect() as connection:  # the SQL that travelled as data dropped nothing
        assert connection.execute(sa.text(f'SELECT count(*) FROM "{TABLE}"')).scalar_one() \
            == 150 + sum(len(uuids) for uuids in corpus.handles.values())
    engine.dispose()


# -- filters ---------------------------------------------------------------------------------------

FILTER_CASES = [
    ("customer-or-true", ("--customer", "GREYSON' OR '1'='1")),
    ("po-drop-table", ("--po", "4755'; DROP TABLE \"ORDERS_UNIFIED\"; --")),
    ("season-like-wildcard", ("--aag-season", "%")),
    ("customer-season-comment", ("--customer-season", "x\" OR 1=1 --")),
    ("exclude-only-injection", ("--customer", "GREYSON", "--exclude-customer", "' OR 1=1 --", "--po", "NO-SUCH-PO")),
]


@pytest.mark.parametrize("args", [args for _, args in FILTER_CASES], ids=[name for name, _ in FILTER_CASES])
def test_a_filter_carrying_sql_matches_nothing_and_changes_nothing(corpus, args):
    project = corpus.project
    before = created_on_the_emulator(project)

    finished = project.run("sync", *args, "--json")

    assert finished.exit_code == 2, finished.stderr  # the values travelled as data: no line has them
    assert finished.json()["error"]["message"].startswith("no order line matches"), finished.stdout
    assert created_on_the_emulator(project) == before
    engine = sa.create_engine(project.source_url)
    with engine.connect() as connection:
        assert sa.inspect(connection).has_table(TABLE)
        assert connection.execute(sa.text(f'SELECT count(*) FROM "{TABLE}"')).scalar_one() > 150
    engine.dispose()


def test_the_corpus_is_at_least_thirty_cases():
    assert len(CONFIG_CASES) + len(LINE_CASES) + len(FILTER_CASES) >= 30
    assert len({case.id for case in CONFIG_CASES}) == len(CONFIG_CASES)
    assert len({case.id for case in LINE_CASES}) == len(LINE_CASES)
