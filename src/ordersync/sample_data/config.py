"""The commented sample `ordersync.toml` that `ordersync init` writes and the demo runs on.

It maps the sample `ORDERS_UNIFIED` table onto the demo board (`data/demo_board.columns.tsv`:
the real Customer Master Schedule's columns, with STYLE and COLOR as text as on the new board,
plus the ORDERSYNC KEY column that holds each item's business key).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from importlib import resources

# Dropdown/status columns whose labels must already exist on the board (the old system's policy):
# a new customer or order type is a decision, not something a sync invents.
FIXED_LABEL_COLUMNS = {"CUSTOMER", "ORDER TYPE", "UNIT OF MEASURE"}
WRITABLE_TYPES = {"text", "long_text", "numbers", "date", "status", "dropdown"}


@dataclass(frozen=True)
class BoardColumn:
    id: str
    title: str
    type: str
    source: str  # the source column it is fed from, "" for columns a sync does not write


def _read_board(name: str) -> list[BoardColumn]:
    text = resources.files("ordersync.data").joinpath(name).read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines(), delimiter="\t")
    return [BoardColumn(row["column_id"], row["title"], row["type"], row.get("source_column") or "")
            for row in rows]


def demo_board_columns() -> list[BoardColumn]:
    """Columns of the demo items board, in board order."""
    return _read_board("demo_board.columns.tsv")


def demo_subitem_board_columns() -> list[BoardColumn]:
    """Columns of the demo subitem board (the real one's: Size, Order Qty, …)."""
    return [column for column in _read_board("board_subitems_of_customer_master_schedule.columns.tsv")]


def mapped_columns() -> list[BoardColumn]:
    return [column for column in demo_board_columns() if column.source and column.type in WRITABLE_TYPES]


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def sample_config_text(*, source_url: str = "sqlite:///ordersync.db", board_id: str | None = None) -> str:
    from ordersync.sample_data import customer_aliases

    columns = []
    for column in mapped_columns():
        labels = column.type in {"status", "dropdown"} and column.title not in FIXED_LABEL_COLUMNS
        columns.append(
            "[[columns]]\n"
            f"source = {_toml_string(column.source)}\n"
            f"id = {_toml_string(column.id)}   # {column.title}\n"
            f"type = \"{column.type}\"\n"
            + ("create_labels_if_missing = true\n" if labels else "")
        )
    customers = "\n".join(
        f"{_toml_string(canonical)} = [{', '.join(_toml_string(alias) for alias in aliases)}]"
        for canonical, aliases in sorted(customer_aliases().items())
    )
    board_line = f'board_id = "{board_id}"' if board_id else '# board_id = "9609317401"   # set by `ordersync demo`'
    return _TEMPLATE.format(
        source_url=_toml_string(source_url),
        board_line=board_line,
        columns="\n".join(columns),
        customers=customers,
    )


_TEMPLATE = """\
# ordersync.toml: how the order lines of the source table become items on a Monday board.
# Every key is checked when ordersync starts; a mistake is reported with its key path and nothing runs.

[source]
# Any SQLAlchemy URL: sqlite:///file.db, postgresql+psycopg://user@host/db,
# mssql+pyodbc://user:pass@dsn (pip install 'ordersync[mssql]'). Relative SQLite paths are relative to this file.
url = {source_url}
table = "ORDERS_UNIFIED"
# AAG ORDER NUMBER repeats in the real data (other delivery method, other style), so the key is composite.
# Rows that still share a key are recorded as errors, never merged.
business_key = ["AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE"]
customer_column = "CUSTOMER NAME"
po_column = "PO NUMBER"
aag_season_column = "AAG SEASON"
customer_season_column = "CUSTOMER SEASON"
order_type_column = "ORDER TYPE"
cancelled_values = ["CANCELLED"]
chunk_size = 2000              # rows fetched per round trip while streaming the source
# transform_processes = "auto"  # a first load or --full transforms in one process per core (1: in this one)
# lock_timeout_seconds = 30     # wait this long for another process's lock, then stop (exit 3), never hang
# statement_timeout_seconds = 300  # PostgreSQL: the longest one statement may run

[source.sizes]
# Sizes are the integer columns strictly between these two, in table order (161 in the real table).
# Text columns inside the block, like INFOR COLOUR CODE, are never sizes. Or list them: columns = ["XS", "S"].
between = ["UNIT OF MEASURE", "TOTAL QTY"]
exclude = []

[state]
# Where ordersync keeps its own tables (runs, staged rows, the synced mirror, errors, write intents).
# Empty: the source database. The tables are named with this prefix.
# url = "sqlite:///ordersync-state.db"
table_prefix = "ordersync_"
# lock_timeout_seconds = 30     # as in [source]; with no url here they apply to the one shared database
# statement_timeout_seconds = 300

[monday]
api_url = "http://127.0.0.1:8765/v2"     # the local emulator; https://api.monday.com/v2 for the real service
api_version = "2026-07"
{board_line}
# A text column on the board that holds each item's business key: how a lost create is found again.
key_column = "text_ordersync_key"
# The token is read from this environment variable, else from token_file. It is never printed or stored.
token_env = "MONDAY_API_TOKEN"
# token_file = "~/.config/ordersync/token"
production = false                       # true: an unfiltered sync needs --all
max_mutations_per_request = 1000         # at most; requests are filled up to Monday's per-query complexity cap
estimated_mutation_cost = 10000          # complexity points per mutation before the API reports its own
# max_outage_seconds = 120               # only timeouts and 5xx for this long: the run stops (exit 3)
# shared_budget = "auto"                 # share the token's budget with other processes on this state database:
#                                        # "auto" on PostgreSQL, true, false (README "Many workers, one token")
# concurrent_boards = 4                  # routed boards one sync writes at once (README "Many boards in one process")
# items_per_board = 10000                # a board's item cap (Monday's): status, reports, the dashboard warn at 90%

# Several boards (a Monday board holds at most 10,000 items): route order lines by any source field,
# in order, first match wins; the route without `when` is the default. With routes, leave board_id
# above (and in profiles) unset: each board's run has its own lock, mirror and groups.
# [[routes]]
# board_id = "9609317401"
# when = {{ "AAG SEASON" = ["2025 FALL"] }}
# [[routes]]
# board_id = "9609317402"
# when = {{ "CUSTOMER NAME" = ["GREYSON", "PELOTON"] }}   # canonical names or aliases
# [[routes]]
# board_id = "9609317403"                # the default: every line no route above takes
# A route may name a template instead of a board: its boards are made from it as they fill (rollover).
# [[routes]]
# template_board_id = "9609317400"       # instead of board_id: boards "<template name> 1", "… 2", …
# rollover_at = 9000                     # a new board once the newest holds this many items

[groups]
# The first rule whose fields are all filled names the group; else the fallback.
rules = ["{{CUSTOMER NAME}} {{CUSTOMER SEASON}}", "{{CUSTOMER NAME}} {{AAG SEASON}}"]
fallback = "check"
order = "alphabetical"                   # new groups are placed in alphabetical order on the board

[items]
name_fields = ["CUSTOMER STYLE", "CUSTOMER COLOUR DESCRIPTION", "AAG ORDER NUMBER"]
separator = " "                          # the old system concatenated with "" (e.g. MSP25B50BLACKGRE-04169)
on_removed = "archive"                   # order lines gone from the source: archive | delete | leave
on_cancelled = "keep"                    # ORDER TYPE = CANCELLED: keep (showing it) | archive
on_too_long = "truncate"                 # a name over Monday's 255 characters: truncate (cut, a warning) | reject

[subitems]
enabled = true
name = "Size {{size}}"
size_column = "dropdown_mkrak7qp"        # Size
size_type = "dropdown"
quantity_column = "numeric_mkra7j8e"     # Order Qty
create_labels_if_missing = true

[hash]
# Source columns whose change means "update this item". Empty: every mapped column.
columns = []

[reports]
directory = "reports"

[guards]
# A sync refuses (unless --allow-removals) to archive or delete more than this share of the items, or of
# the subitems, it manages on the board, once it removes more than allow_removals_up_to of them.
max_removed_share = 0.10
allow_removals_up_to = 10

# Customer names as the source spells them, folded onto one canonical name (the group and the
# CUSTOMER column use it). Matching ignores case, surrounding spaces and typographic quotes.
[customers]
{customers}

# Profiles override any section: `ordersync --profile prod sync ...`
[profiles.dev.monday]
api_url = "http://127.0.0.1:8765/v2"

[profiles.prod.monday]
api_url = "https://api.monday.com/v2"
board_id = "9609317401"
production = true

# Source column -> board column. Types: text, long_text, numbers, date, status, dropdown.
# create_labels_if_missing lets a sync add a dropdown/status label the board lacks.
# on_too_long = "reject" fails a line whose value is longer than the column holds (long text: 2,000
# characters); the default, "truncate", cuts it to fit (ending with …) and records a warning.
{columns}"""
