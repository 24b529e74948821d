"""Staging throughput: ordersync's extract → transform → stage against a pandas load of the same rows.

Generates the sample `ORDERS_UNIFIED` (default 100,000 order lines) into a SQLite file and a
PostgreSQL database, then measures, in the same run and on the same rows:

- ordersync: stream the order lines (`source.extract_order_lines`), transform each
  (`transform.transform_order_line`), stage items and size subitems (`staging.stage_run`: SQLite
  executemany, PostgreSQL COPY). "stage only" is the part of that time spent writing.
- pandas: `pd.read_sql` the table, `DataFrame.melt` the 161 size columns wide → long keeping
  quantities > 0, and `DataFrame.to_sql` (pandas defaults) both the order lines (every column but
  the sizes) and the size rows. "to_sql only" is the part spent writing.

Each measurement runs in a fresh process, and its peak memory is that process's own high-water mark
(`VmHWM` in /proc/self/status, restarted from the current RSS when the measurement starts), never
`ru_maxrss`: Linux carries that over `exec` from the parent, so a spawned child of the 400 MB process
that generated the sample reported the parent's peak, not its own. Both sides get the same engine
settings (ordersync's: WAL and synchronous=NORMAL on SQLite).

    .venv/bin/python bench/bench_stage.py                 # 100,000 order lines
    .venv/bin/python bench/bench_stage.py --rows 2000     # a quick check
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ordersync.config import Config, parse_config
from ordersync.database import make_engine
from ordersync.engine.filters import Filters
from ordersync.engine.pipeline import Databases, discard_staged_rows
from ordersync.engine.source import extract_order_lines, open_source
from ordersync.engine.staging import stage_run
from ordersync.engine.transform import rules_from_config, transform_order_line
from ordersync.errors import StateError
from ordersync.sample_data import MIN_ROWS, SIZE_COLUMNS, write_sample_data
from ordersync.sample_data.config import sample_config_text
from ordersync.state import RunKind, RunStatus

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/ordersync_bench"
TABLE = "ORDERS_UNIFIED"
PANDAS_ORDER_LINES = "bench_pandas_order_lines"
PANDAS_SIZE_ROWS = "bench_pandas_size_rows"
KEY_COLUMNS = ("AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE")


@dataclass
class Measurement:
    order_lines: int
    subitem_rows: int
    seconds: float
    write_seconds: float
    peak_rss_mb: float
    start_rss_mb: float
    read_seconds: float = 0.0
    transform_seconds: float = 0.0  # ordersync's transform, pandas's melt


PROC_STATUS = Path("/proc/self/status")


def _status_mb(field: str) -> float | None:
    """A memory line of /proc/self/status (`VmRSS`, `VmHWM`: this address space only), in MB; None off Linux."""
    try:
        for line in PROC_STATUS.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        return None
    return None


def _start_peak() -> float:
    """The RSS now, with the high-water mark restarted from it (Linux `clear_refs` 5), so the peak read
    at the end is the measurement's own, not the imports' or the sample generator's."""
    with contextlib.suppress(OSError):  # not permitted: VmHWM still belongs to this process alone, from its exec
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS") or _maxrss_mb()


def _peak_mb() -> float:
    return _status_mb("VmHWM") or _maxrss_mb()


def _maxrss_mb() -> float:
    """Off Linux only: ru_maxrss (KiB on Linux, where it would carry the parent's peak over exec)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the two contenders (each runs in its own process) ---------------------------------------------

def measure_ordersync(url: str) -> Measurement:
    """extract → transform → stage with ordersync's own functions, as `pipeline.prepare` chains them."""
    config = _config(url)
    databases = Databases.open(config)
    store = databases.state
    source_table = open_source(databases.source, config)
    rules = rules_from_config(config, source_table.size_columns)
    run_id = store.start_run(RunKind.PLAN, "bench", Filters().as_dict())
    upstream = {"extract": 0.0, "transform": 0.0}

    def chunks() -> Iterator[list[dict[str, Any]]]:
        stream = extract_order_lines(databases.source, source_table, config, Filters())
        while True:
            started = time.perf_counter()
            chunk = next(stream, None)
            upstream["extract"] += time.perf_counter() - started
            if chunk is None:
                return
            yield chunk

    def transformed() -> Iterator[Any]:
        row = 0
        for chunk in chunks():
            started = time.perf_counter()
            results = [transform_order_line(line, rules, row + offset) for offset, line in enumerate(chunk, 1)]
            upstream["transform"] += time.perf_counter() - started
            row += len(chunk)
            yield from results

    start_rss = _start_peak()
    started = time.perf_counter()
    staging = stage_run(store, run_id, transformed())
    seconds = time.perf_counter() - started
    measured = Measurement(order_lines=staging.order_lines, subitem_rows=staging.subitems, seconds=seconds,
                           write_seconds=seconds - upstream["extract"] - upstream["transform"],
                           peak_rss_mb=_peak_mb(), start_rss_mb=start_rss, read_seconds=upstream["extract"],
                           transform_seconds=upstream["transform"])
    store.set_run_status(run_id, RunStatus.PLANNED)
    discard_staged_rows(store, run_id)
    databases.close()
    return measured


def measure_pandas(url: str) -> Measurement:
    """The same rows with pandas: read_sql, melt the sizes keeping quantities > 0, to_sql both tables."""
    import pandas as pd

    engine = make_engine(url, error=StateError, section="bench")
    source = sa.Table(TABLE, sa.MetaData(), autoload_with=engine)
    sizes = list(SIZE_COLUMNS)
    start_rss = _start_peak()
    started = time.perf_counter()
    with engine.connect() as connection:
        order_lines = pd.read_sql(sa.select(source), connection)
    melting = time.perf_counter()
    size_rows = order_lines.melt(id_vars=list(KEY_COLUMNS), value_vars=sizes, var_name="size",
                                 value_name="quantity")
    size_rows = size_rows[size_rows["quantity"] > 0].astype({"quantity": "int64"})
    lines_only = order_lines.drop(columns=sizes)
    writing = time.perf_counter()
    lines_only.to_sql(PANDAS_ORDER_LINES, engine, if_exists="replace", index=False)
    size_rows.to_sql(PANDAS_SIZE_ROWS, engine, if_exists="replace", index=False)
    finished = time.perf_counter()
    measured = Measurement(order_lines=len(order_lines), subitem_rows=len(size_rows), seconds=finished - started,
                           write_seconds=finished - writing, peak_rss_mb=_peak_mb(), start_rss_mb=start_rss,
                           read_seconds=melting - started, transform_seconds=writing - melting)
    with engine.begin() as connection:
        for name in (PANDAS_ORDER_LINES, PANDAS_SIZE_ROWS):
            sa.Table(name, sa.MetaData()).drop(connection, checkfirst=True)
    engine.dispose()
    return measured


def _config(url: str) -> Config:
    return parse_config(sample_config_text(source_url=url), origin="the sample config")


def in_fresh_process(function, url: str) -> Measurement:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, (url,))


# -- databases --------------------------------------------------------------------------------

def postgres_database(url: str) -> str | None:
    """The benchmark database, created if missing; None (with the reason printed) if no server answers."""
    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT",
                             connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                        {"name": target.database}).scalar()
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    except sa.exc.OperationalError as error:
        print(f"PostgreSQL skipped: no server answers at {target.render_as_string()} "
              f"({str(error.orig).splitlines()[0]})", file=sys.stderr)
        return None
    finally:
        admin.dispose()
    return url


def reset_state_tables(url: str) -> None:
    """Drop ordersync's tables left by an earlier benchmark, so every run starts alike."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for name in sa.inspect(connection).get_table_names():
            if name.startswith("ordersync_") or name.startswith("bench_pandas_"):
                sa.Table(name, sa.MetaData()).drop(connection)
    engine.dispose()


# -- report -----------------------------------------------------------------------------------

def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"


def report(rows: int, results: dict[str, dict[str, Measurement]]) -> str:
    lines = [
        f"## Staging {rows:,} order lines ({platform.python_implementation()} {platform.python_version()}, "
        f"{multiprocessing.cpu_count()} CPUs)",
        "",
        "| database | path | order lines | subitem rows | seconds | order lines/s | subitem rows/s | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for database, measured in results.items():
        ours, theirs = measured["ordersync"], measured["pandas"]
        for label, m, seconds in (
            ("ordersync extract → transform → stage", ours, ours.seconds),
            ("ordersync stage only", ours, ours.write_seconds),
            ("pandas read_sql → melt → to_sql", theirs, theirs.seconds),
            ("pandas to_sql only", theirs, theirs.write_seconds),
        ):
            lines.append(f"| {database} | {label} | {m.order_lines:,} | {m.subitem_rows:,} | {seconds:.2f} | "
                         f"{rate(m.order_lines, seconds)} | {rate(m.subitem_rows, seconds)} | {m.peak_rss_mb:,.0f} |")
    lines += ["", "| database | ordersync / pandas, whole path (lines/s) | stage only / to_sql only (subitem rows/s) "
              "| peak memory ordersync / pandas |", "|---|---:|---:|---:|"]
    for database, measured in results.items():
        ours, theirs = measured["ordersync"], measured["pandas"]
        whole = (ours.order_lines / ours.seconds) / (theirs.order_lines / theirs.seconds)
        writing = (ours.subitem_rows / ours.write_seconds) / (theirs.subitem_rows / theirs.write_seconds)
        lines.append(f"| {database} | {whole:.2f}× | {writing:.2f}× | "
                     f"{ours.peak_rss_mb:,.0f} / {theirs.peak_rss_mb:,.0f} MB |")
    lines += ["", "Where the time goes (seconds):", "",
              "| database | path | read | transform / melt | write | peak RSS over start MB |",
              "|---|---|---:|---:|---:|---:|"]
    for database, measured in results.items():
        for label, m in (("ordersync", measured["ordersync"]), ("pandas", measured["pandas"])):
            lines.append(f"| {database} | {label} | {m.read_seconds:.2f} | {m.transform_seconds:.2f} | "
                         f"{m.write_seconds:.2f} | {m.peak_rss_mb - m.start_rss_mb:,.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="order lines to generate (at least 100)")
    parser.add_argument("--seed", type=int, default=4755)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL of the benchmark database")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--workdir", type=Path, help="where the SQLite file goes (default: a temporary directory)")
    options = parser.parse_args(argv)
    if options.rows < MIN_ROWS:
        parser.error(f"--rows must be at least {MIN_ROWS}: the sample holds the 69-line GREYSON PO 4755 case")

    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="ordersync-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    databases = {"SQLite": f"sqlite:///{workdir / 'bench.db'}"}
    if not options.skip_postgres and (postgres := postgres_database(options.postgres)):
        databases["PostgreSQL"] = postgres
    results: dict[str, dict[str, Measurement]] = {}
    try:
        for name, url in databases.items():
            reset_state_tables(url)
            started = time.perf_counter()
            write_sample_data(url, rows=options.rows, seed=options.seed, force=True)  # the benchmark's own database
            print(f"{name}: wrote {options.rows:,} sample order lines in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr)
            results[name] = {"ordersync": in_fresh_process(measure_ordersync, url),
                             "pandas": in_fresh_process(measure_pandas, url)}
    finally:
        if options.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(options.rows, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

