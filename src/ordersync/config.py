"""`ordersync.toml`: the mapping config, loaded into typed models once and validated at the boundary.

Every mistake is reported with its key path (`columns[3].type`) and, where the file says it,
its line, before anything runs. Checks that need the source table (do the mapped columns
exist?) run in `check_source_columns`, still before the first row is read.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ordersync.database import Timeouts
from ordersync.errors import ConfigError
from ordersync.logs import register_secret

DEFAULT_CONFIG_NAME = "ordersync.toml"
DEFAULT_BUSINESS_KEY = ("AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE")

ColumnType = Literal["text", "long_text", "numbers", "date", "status", "dropdown"]
RemovalPolicy = Literal["archive", "delete", "leave"]
TooLongPolicy = Literal["truncate", "reject"]  # a value longer than its column holds: cut it (a warning), or fail the line
CancelledPolicy = Literal["keep", "archive"]
ColumnOwner = Literal["source", "board"]  # who writes a board column: the sync, or the people on the board
EditPolicy = Literal["restore", "keep"]  # a person's edit of a source-owned column: written back, or kept


class _Section(BaseModel):
    """A config section: unknown keys are errors, values are not silently coerced across types."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SizeColumnsConfig(_Section):
    """Which source columns hold per-size quantities.

    Either an explicit `columns` list, or every *integer* column strictly between the two
    `between` markers, in table order (the real table's layout). Text columns inside the block
    (the real `INFOR COLOUR CODE`) are never sizes; `exclude` drops more by name.
    """

    between: tuple[str, str] | None = ("UNIT OF MEASURE", "TOTAL QTY")
    columns: list[str] | None = None
    exclude: list[str] = []

    @model_validator(mode="after")
    def _one_way(self) -> SizeColumnsConfig:
        if self.columns is None and self.between is None:
            raise ValueError("set either `columns` or `between`")
        if self.columns is not None and not self.columns:
            raise ValueError("`columns` must not be empty")
        return self


class _DatabaseSection(_Section):
    """How long a session on this database waits before it gives up with a typed error (never a hang)."""

    lock_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0  # another process's lock (SQLite too)
    statement_timeout_seconds: Annotated[float, Field(gt=0)] = 300.0  # one statement (PostgreSQL)

    def timeouts(self) -> Timeouts:
        return Timeouts(lock_seconds=self.lock_timeout_seconds, statement_seconds=self.statement_timeout_seconds)


class SourceConfig(_DatabaseSection):
    url: str = "sqlite:///ordersync.db"
    table: str = "ORDERS_UNIFIED"
    db_schema: str | None = Field(default=None, alias="schema")
    business_key: list[str] = list(DEFAULT_BUSINESS_KEY)
    customer_column: str = "CUSTOMER NAME"
    po_column: str = "PO NUMBER"
    aag_season_column: str = "AAG SEASON"
    customer_season_column: str = "CUSTOMER SEASON"
    order_type_column: str = "ORDER TYPE"
    cancelled_values: list[str] = ["CANCELLED"]
    chunk_size: Annotated[int, Field(ge=1, le=100_000)] = 2000
    sizes: SizeColumnsConfig = SizeColumnsConfig()
    # A run that reads every line (a first load, --full, a changed config) transforms in this many processes;
    # "auto": one per core (at most 4) once the scope holds 20,000 lines, else this one. 1: always this one.
    transform_processes: Literal["auto"] | Annotated[int, Field(ge=1, le=64)] = "auto"

    @field_validator("business_key")
    @classmethod
    def _key_not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("the business key needs at least one column")
        if len(set(value)) != len(value):
            raise ValueError("a column appears twice in the business key")
        return value


class StateConfig(_DatabaseSection):
    """Where ordersync keeps its own tables; empty means the source database (then one connection
    serves both, with the timeouts of this section)."""

    url: str | None = None
    table_prefix: str = "ordersync_"


class MondayConfig(_Section):
    api_url: str = "http://127.0.0.1:8765/v2"
    api_version: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")] = "2026-07"
    board_id: str | None = None
    key_column: str = "text_ordersync_key"
    token_env: str = "MONDAY_API_TOKEN"
    token_file: str | None = None
    # the app's signing secret: `ordersync webhooks serve` verifies the JWT of each request when it is set
    signing_secret_env: str = "MONDAY_SIGNING_SECRET"
    production: bool = False
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 60.0
    # Requests are cut by complexity (max_complexity_per_request, Monday's per-query cap); this count is a safety net
    # kept under the 2,000-mutations-a-minute cap of Monday's older rate-limit pages.
    max_mutations_per_request: Annotated[int, Field(ge=1, le=2_000)] = 1_000
    max_complexity_per_request: Annotated[int, Field(ge=1, le=5_000_000)] = 5_000_000
    estimated_mutation_cost: Annotated[int, Field(ge=1)] = 10_000
    max_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    max_backoff_seconds: Annotated[float, Field(gt=0)] = 60.0
    # the circuit breaker: transport faults and 5xx with no answer in between for longer than this stop the run
    max_outage_seconds: Annotated[float, Field(gt=0)] = 120.0
    # one token's complexity budget shared with the other processes on the state database (budget_ledger):
    # "auto" = on when the state database is PostgreSQL
    shared_budget: bool | Literal["auto"] = "auto"
    # how many routed boards one sync writes at once (each its own writer and lock, one budget for all)
    concurrent_boards: Annotated[int, Field(ge=1, le=32)] = 4
    # a board's item cap (Monday's documented 10,000; Enterprise plans may differ): status, reports, the
    # dashboard and validate warn at 90% of it
    items_per_board: Annotated[int, Field(ge=1)] = 10_000

    @field_validator("board_id")
    @classmethod
    def _numeric_board(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d+", value):
            raise ValueError("a Monday board id is a number, e.g. \"9609317401\"")
        return value


class GroupsConfig(_Section):
    """Group name: the first rule whose fields are all non-empty, else `fallback`."""

    rules: list[str] = ["{CUSTOMER NAME} {CUSTOMER SEASON}", "{CUSTOMER NAME} {AAG SEASON}"]
    fallback: Annotated[str, Field(min_length=1)] = "check"
    order: Literal["alphabetical", "append"] = "alphabetical"

    @field_validator("rules")
    @classmethod
    def _rules_are_templates(cls, rules: list[str]) -> list[str]:
        if not rules:
            raise ValueError("give at least one group name rule")
        for rule in rules:
            if not template_fields(rule):
                raise ValueError(f"rule {rule!r} names no source column, write fields as {{COLUMN NAME}}")
        return rules


class ItemsConfig(_Section):
    name_fields: list[str] = ["CUSTOMER STYLE", "CUSTOMER COLOUR DESCRIPTION", "AAG ORDER NUMBER"]
    separator: str = " "
    on_removed: RemovalPolicy = "archive"
    on_cancelled: CancelledPolicy = "keep"
    on_too_long: TooLongPolicy = "truncate"  # an item name over Monday's 255 characters
    # a person's rename of an item (its name is the source's): a conflict, restored or kept (as `on_edit`)
    on_name_edit: EditPolicy = "restore"
    # more archives than this for one customer in a run go as bulk_archive_items jobs (polled with
    # job_status) instead of one archive_item each; 0: every archive goes as a job
    bulk_archive_over: Annotated[int, Field(ge=0)] = 10
    # how long a run waits for a bulk job to end before leaving it to the next run to settle
    bulk_archive_wait_seconds: Annotated[float, Field(gt=0, le=3_600)] = 300.0

    @field_validator("name_fields")
    @classmethod
    def _some_fields(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("the item name needs at least one field")
        return value


class ColumnMapping(_Section):
    """One board column: written from one source column (`owner = "source"`, the default), or owned by the
    board (`owner = "board"`: people write it, the sync never sends it — with `initial = true` the source
    column's value once, on create — and `ordersync pull` brings it back to the warehouse).

    A person's edit of a source-owned column is a conflict, settled by `on_edit`: "restore" (the next sync
    writes the source value back) or "keep" (the sync leaves that item's column alone until the source
    value changes)."""

    source: str = ""
    id: Annotated[str, Field(min_length=1)]
    type: ColumnType
    owner: ColumnOwner = "source"
    on_edit: EditPolicy = "restore"
    initial: bool = False
    create_labels_if_missing: bool = False
    transform: Literal["upper", "lower"] | None = None
    on_too_long: TooLongPolicy = "truncate"  # a value over what the column type holds (long text: 2,000)

    @model_validator(mode="after")
    def _ownership(self) -> ColumnMapping:
        if self.owner == "source" and not self.source:
            raise ValueError("a source-owned column names its `source` column (or set owner = \"board\")")
        if self.owner == "source" and self.initial:
            raise ValueError("`initial` is for a board-owned column: a source-owned one is always written")
        if self.owner == "board" and "on_edit" in self.model_fields_set:
            raise ValueError("`on_edit` is for a source-owned column: a person's edit of a board-owned one "
                             "is the board's truth")
        if self.owner == "board" and self.initial and not self.source:
            raise ValueError("`initial = true` sends the `source` column's value on create: name the source")
        return self

    @property
    def sent_on_create(self) -> bool:
        """The sync writes this column when it creates an item."""
        return self.owner == "source" or self.initial

    @field_validator("id")
    @classmethod
    def _writable_id(cls, value: str) -> str:
        if value in {"name", "subitems"} or value.startswith(("subtasks", "mirror", "lookup", "formula")):
            raise ValueError(f"column {value!r} cannot be written by a sync")
        return value


class SubitemColumn(_Section):
    """A subitem column people fill on the board (Cut, Sew, Packed Qty): never sent, pulled back.
    The size and quantity columns are the source's."""

    id: Annotated[str, Field(min_length=1)]
    type: ColumnType
    owner: Literal["board"] = "board"


class SubitemsConfig(_Section):
    enabled: bool = True
    name: str = "Size {size}"
    size_column: str = "dropdown_mkrak7qp"
    size_type: Literal["dropdown", "text", "status"] = "dropdown"
    quantity_column: str = "numeric_mkra7j8e"
    create_labels_if_missing: bool = True
    # a person's edit of a size's quantity (the source's): a conflict, restored or kept (as `on_edit`)
    on_quantity_edit: EditPolicy = "restore"
    columns: list[SubitemColumn] = []  # `[[subitems.columns]]`: board-owned subitem columns

    @model_validator(mode="after")
    def _board_columns_are_not_the_sources(self) -> SubitemsConfig:
        for column in self.columns:
            if column.id in (self.size_column, self.quantity_column):
                raise ValueError(f"{column.id!r} is the size or quantity column, written from the source")
        return self

    @field_validator("name")
    @classmethod
    def _names_the_size(cls, value: str) -> str:
        fields = template_fields(value)
        if fields != ["size"]:
            raise ValueError("the subitem name must use exactly the field {size}, e.g. \"Size {size}\"")
        return value


class HashConfig(_Section):
    """Source columns whose change means "update this item"; empty means every mapped column."""

    columns: list[str] = []


class ReportsConfig(_Section):
    directory: str = "reports"


class GuardsConfig(_Section):
    """How much a sync may remove before it refuses (unless `--allow-removals`).

    A run refuses when it would archive or delete more than `max_removed_share` of the items (or of
    the subitems) it manages on the board AND more than `allow_removals_up_to` of them: a board of 5
    items that loses 1 is not stopped. `max_removed_share = 1` turns the guard off.
    """

    max_removed_share: Annotated[float, Field(ge=0, le=1)] = 0.10
    allow_removals_up_to: Annotated[int, Field(ge=0)] = 10


class RouteConfig(_Section):
    """One `[[routes]]` entry: the board an order line goes to when every source field in `when` has one
    of its values (customers compared by canonical name or alias, other values trimmed). Without `when`
    it is the default route, taking what no earlier route took.

    A route names a fixed `board_id`, or a `template_board_id`: then its boards are made from that template
    (`duplicate_board`, structure only) as they fill — the first on the route's first sync, the next once
    the newest holds `rollover_at` items (engine/rollover.py, state/board_registry.py)."""

    board_id: str | None = None
    template_board_id: str | None = None
    rollover_at: Annotated[int, Field(ge=1)] = 9000
    when: dict[str, list[str]] | None = None
    # A template route's boards (oldest first) and the board each order line of it goes to: set by
    # engine/rollover.py for one command, never read from the file.
    _boards: tuple[str, ...] = PrivateAttr(default=())
    _placement: Mapping[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("board_id", "template_board_id")
    @classmethod
    def _numeric_board(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d+", value):
            raise ValueError("a Monday board id is a number, e.g. \"9609317401\"")
        return value

    @model_validator(mode="after")
    def _one_board_or_a_template(self) -> RouteConfig:
        if (self.board_id is None) == (self.template_board_id is None):
            raise ValueError("a route names either board_id (a fixed board) or template_board_id (boards made "
                             "from a template as they fill), not both and not neither")
        if self.board_id is not None and "rollover_at" in self.model_fields_set:
            raise ValueError("rollover_at applies to a route with template_board_id")
        return self

    @field_validator("when")
    @classmethod
    def _values_given(cls, when: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if when is not None and not when:
            raise ValueError("name at least one source field, e.g. when = { \"AAG SEASON\" = [\"2025 FALL\"] }, "
                             "or leave `when` out to make this the default route")
        for field_name, values in (when or {}).items():
            if not values:
                raise ValueError(f"{field_name!r} lists no value: give the values that route here")
        return when


class Config(_Section):
    source: SourceConfig = SourceConfig()
    state: StateConfig = StateConfig()
    monday: MondayConfig = MondayConfig()
    groups: GroupsConfig = GroupsConfig()
    items: ItemsConfig = ItemsConfig()
    columns: list[ColumnMapping] = []
    subitems: SubitemsConfig = SubitemsConfig()
    customers: dict[str, list[str]] = {}
    hash: HashConfig = HashConfig()
    reports: ReportsConfig = ReportsConfig()
    guards: GuardsConfig = GuardsConfig()
    routes: list[RouteConfig] = []  # `[[routes]]`: several boards, first match wins (engine/routes.py)
    profile: str | None = None

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        self._check_routes()
        seen: dict[str, int] = {}
        for index, column in enumerate(self.columns):
            if column.id in seen:
                raise _PathError(
                    ("columns", index, "id"),
                    f"Monday column {column.id!r} is already mapped by columns[{seen[column.id]}]",
                )
            seen[column.id] = index
        if self.monday.key_column in seen:
            raise _PathError(
                ("monday", "key_column"),
                f"{self.monday.key_column!r} holds the business key and cannot also be mapped "
                f"(columns[{seen[self.monday.key_column]}])",
            )
        alias_owner: dict[str, str] = {}
        for canonical, aliases in self.customers.items():
            for name in [canonical, *aliases]:
                folded = normalise_name(name)
                owner = alias_owner.setdefault(folded, canonical)
                if owner != canonical:
                    raise _PathError(
                        ("customers", canonical),
                        f"{name!r} is already a name of customer {owner!r}",
                    )
        if self.subitems.size_column == self.subitems.quantity_column:
            raise _PathError(("subitems", "quantity_column"), "size and quantity need two different columns")
        return self

    def _check_routes(self) -> None:
        defaults = [index for index, route in enumerate(self.routes) if route.when is None]
        if len(defaults) > 1:
            raise _PathError(("routes", defaults[1]), f"a second default route (routes[{defaults[0]}] is one): "
                             "give this one a `when`, or remove it")
        if self.routes and self.monday.board_id:
            raise _PathError(("monday", "board_id"), "the boards come from [[routes]]: remove [monday] board_id, "
                             "or make it the route without `when` (the default)")

    # -- derived views -------------------------------------------------------------------------
    def hash_columns(self) -> list[str]:
        if self.hash.columns:
            return list(self.hash.columns)
        return [column.source for column in self.columns if column.owner == "source"]

    def synced_columns(self) -> list[ColumnMapping]:
        """The columns a sync encodes from the source: the source-owned ones, and board-owned ones with an
        initial value (sent on create only)."""
        return [column for column in self.columns if column.sent_on_create]

    def board_owned_columns(self) -> list[ColumnMapping]:
        return [column for column in self.columns if column.owner == "board"]

    def referenced_source_columns(self) -> dict[tuple[str | int, ...], str]:
        """Every source column the config names, keyed by where it is named."""
        named: dict[tuple[str | int, ...], str] = {}
        source = self.source
        for index, name in enumerate(source.business_key):
            named[("source", "business_key", index)] = name
        for key in ("customer_column", "po_column", "aag_season_column", "customer_season_column",
                    "order_type_column"):
            named[("source", key)] = getattr(source, key)
        for index, rule in enumerate(self.groups.rules):
            for field in template_fields(rule):
                named[("groups", "rules", index, field)] = field
        for index, name in enumerate(self.items.name_fields):
            named[("items", "name_fields", index)] = name
        named |= {("columns", index, "source"): column.source for index, column in enumerate(self.columns)
                  if column.source}
        for index, name in enumerate(self.hash.columns):
            named[("hash", "columns", index)] = name
        named |= {("routes", index, "when", name): name for index, route in enumerate(self.routes)
                  for name in route.when or {}}
        if source.sizes.columns:
            for index, name in enumerate(source.sizes.columns):
                named[("source", "sizes", "columns", index)] = name
        if source.sizes.between:
            for index, name in enumerate(source.sizes.between):
                named[("source", "sizes", "between", index)] = name
        return named


class _PathError(ValueError):
    """A cross-field problem that knows which key it belongs to."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


# -- templates and names ----------------------------------------------------------------------

def template_fields(template: str) -> list[str]:
    """The `{FIELD}` names of a template, in order; ValueError if its braces are malformed."""
    try:
        return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None and field]
    except ValueError as error:
        raise ValueError(f"malformed template {template!r}: {error}") from None


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})


def normalise_name(name: str) -> str:
    """The form customer names are compared in: trimmed, upper case, ASCII quotes, single spaces."""
    return " ".join(name.translate(_QUOTES).upper().split())


# -- loading ----------------------------------------------------------------------------------

def format_path(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + (part if re.fullmatch(r"[A-Za-z0-9_]+", part) else f'"{part}"')
    return text


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _problem_paths(error: ValidationError) -> list[tuple[tuple[str | int, ...], str]]:
    """(key path, message) for each problem pydantic found, cross-field ones at their own key."""
    found = []
    for detail in error.errors():
        path: tuple[str | int, ...] = tuple(detail["loc"])
        message = detail["msg"]
        context_error = (detail.get("ctx") or {}).get("error")
        if isinstance(context_error, _PathError):
            path, message = context_error.path, str(context_error)
        elif detail["type"] == "extra_forbidden":
            message = "unknown key"
        message = message.removeprefix("Value error, ")
        found.append((path, message))
    return found


def _describe(path: tuple[str | int, ...], message: str, lines: dict[str, int]) -> str:
    line = _line_of(path, lines)
    return f"{format_path(path)}{f' (line {line})' if line else ''}: {message}"


def _line_of(path: tuple[str | int, ...], lines: dict[str, int]) -> int | None:
    """The nearest line the file gives for a key path (the key itself, else its closest parent)."""
    for end in range(len(path), 0, -1):
        found = lines.get(format_path(path[:end]))
        if found:
            return found
    return None


_TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*=""")


def _split_dotted(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.findall(r"""("[^"]*"|'[^']*'|[^.]+)""", key)]


def key_lines(text: str) -> dict[str, int]:
    """Map each key path in a TOML text to the line that defines it (tables, arrays of tables, keys)."""
    lines: dict[str, int] = {}
    array_counts: dict[str, int] = {}
    table: list[str | int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            parts: list[str | int] = list(_split_dotted(header.group(2)))
            if header.group(1) == "[[":
                base = format_path(parts)
                index = array_counts.get(base, 0)
                array_counts[base] = index + 1
                parts.append(index)
            table = parts
            lines.setdefault(format_path(table), number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault(format_path([*table, *_split_dotted(key.group(1))]), number)
    return lines


def parse_config(text: str, *, origin: str = DEFAULT_CONFIG_NAME, profile: str | None = None,
                 base_dir: Path | None = None) -> Config:
    """Parse and validate config text. Every profile is validated too, so a typo anywhere stops the run."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{origin} is not valid TOML: {error}",
                          hint="fix the syntax at the line and column given") from None
    lines = key_lines(text)
    profiles = raw.pop("profiles", {})
    problems: list[str] = []
    if not isinstance(profiles, dict):
        problems.append("profiles: must be a table of profiles, e.g. [profiles.prod.monday]")
        profiles = {}
    configs: dict[str | None, Config] = {}
    for name, override in [(None, {}), *profiles.items()]:
        if name is not None and not isinstance(override, dict):
            problems.append(f"{format_path(('profiles', name))}: must be a table")
            continue
        merged = _merge(raw, override)
        if name is not None:
            merged["profile"] = name
        try:
            configs[name] = _resolve_paths(Config.model_validate(merged), base_dir)
        except ValidationError as error:
            for path, message in _problem_paths(error):
                if name is not None:
                    if path and path[0] not in override:
                        continue  # a mistake in the shared part, already reported once
                    path = ("profiles", name, *path)
                problems.append(_describe(path, message, lines))
    if problems:
        raise ConfigError(f"{origin} has {len(problems)} problem(s); nothing was run:",
                          problems=sorted(set(problems), key=problems.index),
                          hint="fix each key named above; `ordersync init` writes a commented example")
    if profile is not None and profile not in configs:
        known = ", ".join(str(name) for name in configs if name) or "none"
        raise ConfigError(f"{origin} has no profile {profile!r} (profiles: {known})")
    return configs[profile]


def _resolve_paths(config: Config, base_dir: Path | None) -> Config:
    """Relative SQLite paths and token files are relative to the config file, not the working directory."""
    if base_dir is None:
        return config

    def absolute(url: str | None) -> str | None:
        if url and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:" and not path.startswith("file:"):
                return "sqlite:///" + str((base_dir / path).resolve())
        return url

    source = config.source.model_copy(update={"url": absolute(config.source.url)})
    state = config.state.model_copy(update={"url": absolute(config.state.url)})
    monday = config.monday
    if monday.token_file and not Path(monday.token_file).is_absolute():
        monday = monday.model_copy(update={"token_file": str((base_dir / monday.token_file).resolve())})
    reports = config.reports
    if not Path(reports.directory).is_absolute():
        reports = reports.model_copy(update={"directory": str((base_dir / reports.directory).resolve())})
    return config.model_copy(update={"source": source, "state": state, "monday": monday, "reports": reports})


def load_config(path: str | Path | None = None, *, profile: str | None = None) -> Config:
    """Load `ordersync.toml` (or `path`); without a file, the packaged sample config."""
    if path is None and Path(DEFAULT_CONFIG_NAME).exists():
        path = DEFAULT_CONFIG_NAME
    if path is None:
        from ordersync.sample_data.config import sample_config_text

        return parse_config(sample_config_text(), origin="the built-in sample config", profile=profile,
                            base_dir=Path.cwd())
    file = Path(path)
    if not file.exists():
        raise ConfigError(f"config file {file} does not exist",
                          hint="run `ordersync init` to write a commented sample config")
    return parse_config(_config_text(file), origin=str(file), profile=profile, base_dir=file.resolve().parent)


def _config_text(file: Path) -> str:
    """The file's text: UTF-8, with or without the byte order mark editors on Windows write."""
    if file.is_dir():
        raise ConfigError(f"config path {file} is a folder, not a file",
                          hint=f"pass the file itself, e.g. --config {file / DEFAULT_CONFIG_NAME}")
    try:
        data = file.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read config file {file}: {error.strerror}",
                          hint="check the file's permissions") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ConfigError(f"config file {file} is not UTF-8 text: byte {error.start} (line {line}) is "
                          f"0x{data[error.start]:02x}",
                          hint="save the file as UTF-8 (an editor's \"Save with encoding\")") from None


def state_url(config: Config) -> str:
    return config.state.url or config.source.url


def check_source_columns(config: Config, available: Iterable[str], *, table: str) -> None:
    """Every source column the config names must exist in the table: report all that don't."""
    known = set(available)
    problems = []
    for path, name in config.referenced_source_columns().items():
        if name not in known:
            display = path[:-1] if path[0] == "groups" else path
            problems.append(f"{format_path(display)}: unknown source column {name!r} (not in table {table})")
    if problems:
        raise ConfigError("the config names columns the source table does not have; nothing was run:",
                          problems=problems, hint="check the spelling against the table's columns")


def token_source(monday: MondayConfig) -> str:
    """Where this config reads the token from, for messages: `environment variable MONDAY_API_TOKEN …`."""
    where = f"environment variable {monday.token_env}"
    return where + (f" or file {monday.token_file}" if monday.token_file else " (or a file named by [monday] token_file)")


def load_signing_secret(monday: MondayConfig) -> SecretStr | None:
    """The webhook signing secret from its environment variable, None when unset. Never logged or printed."""
    value = os.environ.get(monday.signing_secret_env, "").strip()
    if not value:
        return None
    register_secret(value)
    return SecretStr(value)


def load_token(monday: MondayConfig) -> SecretStr:
    """The API token from the environment variable, else the token file. Never logged or printed."""
    value = os.environ.get(monday.token_env, "").strip()
    if not value and monday.token_file:
        try:
            value = Path(monday.token_file).expanduser().read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            value = ""
        except OSError as error:
            raise ConfigError(f"monday.token_file: cannot read {monday.token_file}: {error.strerror}") from None
    if not value:
        raise ConfigError(f"no Monday API token: set the {token_source(monday)}",
                          hint="create a token in Monday under Developers → My access tokens")
    register_secret(value)
    return SecretStr(value)
