"""Staging throughput: ordersync's first-time prepare against a pandas load of the same rows; then resyncs.

Generates the sample `ORDERS_UNIFIED` (default 100,000 order lines) into a SQLite file and a
PostgreSQL database, then measures, in the same run and on the same rows:

- ordersync: a first-time prepare with `pipeline.prepare` as `ordersync plan` runs it against an
  empty mirror — the lines' fingerprints, extract, transform, stage items and size subitems (SQLite
  executemany, PostgreSQL COPY), the diff and the plan. "stage only" is the time spent staging and
  diffing.
- pandas: `pd.read_sql` the table, `DataFrame.melt` the 161 size columns wide → long keeping
  quantities > 0, and `DataFrame.to_sql` (pandas defaults) both the order lines (every column but
  the sizes) and the size rows. "to_sql only" is the part spent writing.

ordersync runs as `ordersync plan` would with its defaults: a first load of 20,000 lines or more
extracts and transforms in one worker process per core (`[source] transform_processes = "auto"`,
`engine.parallel`) while the main process stages.

Each measurement runs in a fresh process. Its memory is given twice (the first from a run of its own, the
sampling slowing what it samples):
- peak PSS: the peak, sampled every 250 ms, of the summed proportional set size of the measuring process
  and every process it started (`/proc/PID/smaps_rollup`) — what the work holds at once, a page the
  processes share (the interpreter's and the libraries' code, mapped from the same files) counted once;
- Σ peak RSS: each process's own high-water mark (`VmHWM`, restarted from the current RSS when the
  measurement starts) added up — an upper bound, counting shared pages once per process and adding peaks
  reached at different moments. Never `ru_maxrss`: Linux carries that over `exec` from the parent, so a
  spawned child of the 400 MB process that generated the sample reported the parent's peak, not its own.
Both sides get the same engine settings (ordersync's: WAL and synchronous=NORMAL on SQLite).

Then the first prepare's staged rows become the mirror (as if a sync had confirmed every line) and
resyncs are prepared against it: with nothing changed, and after a quantity changed on 1% of the
lines — each on the fast path (only the lines whose fingerprint changed) and with `--full` (every
line read, transformed, staged and compared: the path before fingerprints), side by side.

    .venv/bin/python bench/bench_stage.py                 # 100,000 order lines
    .venv/bin/python bench/bench_stage.py --rows 2000     # a quick check
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import logging
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ordersync.config import Config, parse_config
from ordersync.database import make_engine
from ordersync.engine.filters import Filters
from ordersync.engine.pipeline import Databases, discard_staged_rows, prepare
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
    peak_rss_mb: float  # the sum of each process's own peak RSS (VmHWM)
    start_rss_mb: float
    read_seconds: float = 0.0
    transform_seconds: float = 0.0  # ordersync's transform, pandas's melt
    peak_pss_mb: float = 0.0  # the peak of the processes' summed PSS, sampled (`_PeakMemory`)


PROC_STATUS = Path("/proc/self/status")


def _proc_mb(path: Path, field: str) -> float | None:
    """A memory line (`field: N kB`) of a /proc file, in MB; None when it cannot be read (off Linux, gone)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        return None
    return None


def _status_mb(field: str) -> float | None:
    """A memory line of /proc/self/status (`VmRSS`, `VmHWM`: this address space only), in MB; None off Linux."""
    return _proc_mb(PROC_STATUS, field)


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


class _PeakMemory:
    """The peak, sampled every 250 ms, of the summed PSS (`/proc/PID/smaps_rollup`) of this process and every
    process it started: the memory the measured work holds at once, each page shared between processes (the
    interpreter, the libraries' code the transform processes map from the same files) counted once in all.
    The sum of each process's own peak RSS (`_peak_mb`) counts those pages once per process, and adds peaks
    reached at different moments: an upper bound, reported beside it."""

    INTERVAL = 0.25  # each read of smaps_rollup walks the process's page tables: 20 a second slowed the run 7%

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-memory", daemon=True)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, sum(_pss_mb(pid) for pid in _process_tree(os.getpid())))
            if self._stop.wait(self.INTERVAL):
                return


def _process_tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                pids += _process_tree(int(child))
    return pids


def _pss_mb(pid: int) -> float:
    return _proc_mb(Path(f"/proc/{pid}/smaps_rollup"), "Pss") or 0.0


# -- the two contenders (each runs in its own process) ---------------------------------------------

class _StageSeconds(logging.Handler):
    """The seconds each stage of `pipeline.prepare` logs (`extra={"stage": …, "seconds": …}`)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seconds: dict[str, float] = {}
        self.worker_peaks_mb: list[float] = []  # each transform process's own peak (`engine.parallel`)

    def emit(self, record: logging.LogRecord) -> None:
        stage, seconds = getattr(record, "stage", None), getattr(record, "seconds", None)
        if stage is not None and seconds is not None:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + float(seconds)
        self.worker_peaks_mb += getattr(record, "peak_mb", [])


def _prepared(url: str, *, full: bool, sampled: bool = False) -> tuple[Any, float, dict[str, float], float, float,
                                                                       float]:
    """`pipeline.prepare` (stage, diff, plan) of the whole sample as `ordersync plan` runs it: the prepared
    run, its seconds, each stage's seconds, the RSS at the start, the peak RSS and (`sampled`) the peak PSS."""
    config = _config(url)
    databases = Databases.open(config)
    stages = _StageSeconds()
    logging.getLogger("ordersync").addHandler(stages)
    logging.getLogger("ordersync").setLevel(logging.INFO)
    start_rss = _start_peak()
    started = time.perf_counter()
    with _PeakMemory() if sampled else contextlib.nullcontext() as memory:
        prepared = prepare(config, databases, Filters(), kind=RunKind.PLAN, full=full)
    seconds = time.perf_counter() - started
    peak = _peak_mb() + sum(stages.worker_peaks_mb)  # the transform processes' peaks too: all were resident at once
    databases.state.set_run_status(prepared.run_id, RunStatus.PLANNED)
    databases.close()
    return prepared, seconds, stages.seconds, start_rss, peak, memory.peak if memory is not None else 0.0


def measure_ordersync(url: str) -> Measurement:
    """A first-time prepare — fingerprints, extract → transform → stage, diff, plan — of every line against
    an empty mirror, with `pipeline.prepare` as `ordersync plan` and `sync` run it. Its staged rows then
    become the mirror (placeholder Monday ids), as if a sync had confirmed them, for the resyncs."""
    prepared, seconds, stages, start_rss, peak, _ = _prepared(url, full=False)
    staging = prepared.staging
    _confirm_as_synced(url, prepared.run_id, prepared.board_id)
    return Measurement(order_lines=staging.order_lines, subitem_rows=staging.subitems, seconds=seconds,
                       write_seconds=stages.get("stage", 0.0) + stages.get("diff", 0.0), peak_rss_mb=peak,
                       start_rss_mb=start_rss, read_seconds=stages.get("extract", 0.0) + stages.get("fingerprints", 0.0),
                       transform_seconds=stages.get("transform", 0.0))


def measure_peak_pss(url: str) -> float:
    """The peak PSS of a first-time prepare (`_PeakMemory`), in a run of its own: sampling slows the run it
    samples (each read walks a process's page tables), so the timed run is never sampled. Its staged rows
    are discarded."""
    prepared, *_, peak_pss = _prepared(url, full=False, sampled=True)
    config = _config(url)
    databases = Databases.open(config)
    discard_staged_rows(databases.state, prepared.run_id)
    databases.close()
    vacuum(url)
    return peak_pss


def measure_resync(url: str, full: bool) -> Resync:
    """A resync's prepare against the mirror: only the lines whose fingerprint changed, or (`full`, the
    path before fingerprints and still that of `--full`) every line read, transformed, staged, compared."""
    prepared, seconds, _, _, peak, _ = _prepared(url, full=full)
    totals = prepared.plan.totals
    config = _config(url)
    databases = Databases.open(config)
    discard_staged_rows(databases.state, prepared.run_id)
    databases.close()
    vacuum(url)
    return Resync(seconds=seconds, staged=prepared.staging.order_lines, updates=totals["items"]["update"]
                  + totals["subitems"]["update"], unchanged=totals["items"]["unchanged"], peak_rss_mb=peak)


@dataclass
class Resync:
    seconds: float
    staged: int  # order lines read, transformed and staged
    updates: int  # items and subitems to update
    unchanged: int  # items counted unchanged
    peak_rss_mb: float


def _confirm_as_synced(url: str, run_id: int, board_id: str) -> None:
    """The run's staged rows as the mirror a sync would have left, every line confirmed whole."""
    config = _config(url)
    databases = Databases.open(config)
    tables, now = databases.state.tables, datetime.datetime(2026, 12, 1)
    staged, sizes = tables.staged_items, tables.staged_subitems
    with databases.state.engine.begin() as connection:
        connection.execute(sa.insert(tables.synced_items).from_select(
            ["board_id", "item_key", "monday_item_id", "customer", "group_name", "item_name", "po_number",
             "aag_season", "customer_season", "cancelled", "column_values", "row_hash", "run_id", "synced_at",
             "fingerprint"],
            sa.select(sa.literal(board_id), staged.c.item_key, sa.cast(staged.c.source_row, sa.Unicode),
                      staged.c.customer, staged.c.group_name, staged.c.item_name, staged.c.po_number,
                      staged.c.aag_season, staged.c.customer_season, staged.c.cancelled, staged.c.column_values,
                      staged.c.row_hash, staged.c.run_id, sa.literal(now), staged.c.fingerprint)
            .where(staged.c.run_id == run_id)))
        connection.execute(sa.insert(tables.synced_subitems).from_select(
            ["board_id", "item_key", "size", "monday_subitem_id", "parent_item_id", "name", "quantity", "run_id",
             "synced_at"],
            sa.select(sa.literal(board_id), sizes.c.item_key, sizes.c.size, sizes.c.size, sa.literal("1"),
                      sizes.c.name, sizes.c.quantity, sizes.c.run_id, sa.literal(now))
            .where(sizes.c.run_id == run_id)))
    discard_staged_rows(databases.state, run_id)
    databases.close()
    vacuum(url)


def vacuum(url: str) -> None:
    """PostgreSQL: reclaim the discarded staged rows and refresh the planner's statistics, as autovacuum
    would between two syncs (this machine's server runs with autovacuum off: without this, every resync
    scanned the first prepare's dead rows)."""
    if not url.startswith("postgresql"):
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


def change_one_percent(url: str) -> int:
    """Add one piece to the first size with a quantity of 1% of the lines (every 100th by uuid)."""
    engine = make_engine(url, error=StateError, section="bench")
    table = sa.Table(TABLE, sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        uuids = connection.execute(sa.select(table.c.record_uuid).order_by(table.c.record_uuid)).scalars().all()
        chosen = uuids[::100]
        for start in range(0, len(chosen), 500):
            connection.execute(sa.update(table).where(table.c.record_uuid.in_(chosen[start:start + 500]))
                               .values({"M": sa.func.coalesce(table.c["M"], 0) + 1}))
    engine.dispose()
    return len(chosen)


def measure_pandas(url: str, sampled: bool = False) -> Measurement:
    """The same rows with pandas: read_sql, melt the sizes keeping quantities > 0, to_sql both tables;
    `sampled`: its peak PSS too (a run of its own, as for ordersync: `measure_peak_pss`)."""
    import pandas as pd

    engine = make_engine(url, error=StateError, section="bench")
    source = sa.Table(TABLE, sa.MetaData(), autoload_with=engine)
    sizes = list(SIZE_COLUMNS)
    start_rss = _start_peak()
    started = time.perf_counter()
    with _PeakMemory() if sampled else contextlib.nullcontext() as memory:
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
                           read_seconds=melting - started, transform_seconds=writing - melting,
                           peak_pss_mb=memory.peak if memory is not None else 0.0)
    with engine.begin() as connection:
        for name in (PANDAS_ORDER_LINES, PANDAS_SIZE_ROWS):
            sa.Table(name, sa.MetaData()).drop(connection, checkfirst=True)
    engine.dispose()
    return measured


def _config(url: str) -> Config:
    return parse_config(sample_config_text(source_url=url), origin="the sample config")


def in_fresh_process(function, *args: Any) -> Any:
    """`function(*args)` in a fresh interpreter; not a daemon (a Pool's is), so it may start the transform
    processes a first load starts."""
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


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
        "| database | path | order lines | subitem rows | seconds | order lines/s | subitem rows/s | peak PSS MB "
        "| Σ peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
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
                         f"{rate(m.order_lines, seconds)} | {rate(m.subitem_rows, seconds)} | {m.peak_pss_mb:,.0f} "
                         f"| {m.peak_rss_mb:,.0f} |")
    lines += ["", "| database | ordersync / pandas, whole path (lines/s) | stage only / to_sql only (subitem rows/s) "
              "| peak PSS ordersync / pandas | Σ peak RSS ordersync / pandas |", "|---|---:|---:|---:|---:|"]
    for database, measured in results.items():
        ours, theirs = measured["ordersync"], measured["pandas"]
        whole = (ours.order_lines / ours.seconds) / (theirs.order_lines / theirs.seconds)
        writing = (ours.subitem_rows / ours.write_seconds) / (theirs.subitem_rows / theirs.write_seconds)
        lines.append(f"| {database} | {whole:.2f}× | {writing:.2f}× | "
                     f"{ours.peak_pss_mb:,.0f} / {theirs.peak_pss_mb:,.0f} MB | "
                     f"{ours.peak_rss_mb:,.0f} / {theirs.peak_rss_mb:,.0f} MB |")
    lines += ["", "Where the time goes (seconds):", "",
              "| database | path | read | transform / melt | write | peak RSS over start MB |",
              "|---|---|---:|---:|---:|---:|"]
    for database, measured in results.items():
        for label, m in (("ordersync", measured["ordersync"]), ("pandas", measured["pandas"])):
            lines.append(f"| {database} | {label} | {m.read_seconds:.2f} | {m.transform_seconds:.2f} | "
                         f"{m.write_seconds:.2f} | {m.peak_rss_mb - m.start_rss_mb:,.0f} |")
    return "\n".join(lines)


def report_resyncs(rows: int, resyncs: dict[str, dict[str, Resync]]) -> str:
    lines = [f"## Resync of {rows:,} order lines against their mirror: prepare (before any API call)", "",
             "| database | resync | seconds | lines read and staged | updates | unchanged items | Σ peak RSS MB |"
             " speed-up over --full |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for database, measured in resyncs.items():
        for label, m in measured.items():
            baseline = measured.get(f"{label} --full") if not label.endswith("--full") else None
            faster = f"{baseline.seconds / m.seconds:.1f}×" if baseline and m.seconds else ""
            lines.append(f"| {database} | {label} | {m.seconds:.2f} | {m.staged:,} | {m.updates:,} | "
                         f"{m.unchanged:,} | {m.peak_rss_mb:,.0f} | {faster} |")
    return "\n".join(lines)


def report_scaling(rows: int, first: Measurement, more_rows: int, more: Measurement) -> str:
    """ordersync's first-time prepare at `rows` and at `more_rows` (SQLite): linear cost, flat memory."""
    per_line = (more.seconds / more.order_lines) / (first.seconds / first.order_lines)
    return "\n".join([
        f"## First-time prepare, {rows:,} against {more_rows:,} order lines (SQLite, ordersync alone)", "",
        "| order lines | subitem rows | seconds | order lines/s | peak PSS MB | Σ peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|",
        *(f"| {m.order_lines:,} | {m.subitem_rows:,} | {m.seconds:.2f} | {rate(m.order_lines, m.seconds)} "
          f"| {m.peak_pss_mb:,.0f} | {m.peak_rss_mb:,.0f} |" for m in (first, more)),
        "", f"{more.order_lines / first.order_lines:.1f}× the lines took {more.seconds / first.seconds:.2f}× the "
        f"time ({per_line:.2f}× the time per line) and {more.peak_pss_mb / first.peak_pss_mb:.2f}× the peak memory."])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="order lines to generate (at least 100)")
    parser.add_argument("--scale-rows", type=int, default=0,
                        help="also a first-time prepare of this many lines (SQLite, ordersync alone): cost and "
                             "memory against --rows (0: skip; `make bench` gives 500,000)")
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
    resyncs: dict[str, dict[str, Resync]] = {}
    try:
        for name, url in databases.items():
            reset_state_tables(url)
            started = time.perf_counter()
            write_sample_data(url, rows=options.rows, seed=options.seed, force=True)  # the benchmark's own database
            print(f"{name}: wrote {options.rows:,} sample order lines in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr)
            ours_pss = in_fresh_process(measure_peak_pss, url)  # memory, in runs of their own (`_PeakMemory`)
            theirs_pss = in_fresh_process(measure_pandas, url, True).peak_pss_mb
            results[name] = {"ordersync": replace(in_fresh_process(measure_ordersync, url), peak_pss_mb=ours_pss),
                             "pandas": replace(in_fresh_process(measure_pandas, url), peak_pss_mb=theirs_pss)}
            resyncs[name] = {"no-op": in_fresh_process(measure_resync, url, False),
                             "no-op --full": in_fresh_process(measure_resync, url, True)}
            changed = change_one_percent(url)
            resyncs[name] |= {f"{changed:,} lines changed (1%)": in_fresh_process(measure_resync, url, False),
                              f"{changed:,} lines changed (1%) --full": in_fresh_process(measure_resync, url, True)}
        scaling = None
        if options.scale_rows:
            url = f"sqlite:///{workdir / 'scale.db'}"
            started = time.perf_counter()
            write_sample_data(url, rows=options.scale_rows, seed=options.seed, force=True)
            print(f"SQLite: wrote {options.scale_rows:,} sample order lines in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr)
            scale_pss = in_fresh_process(measure_peak_pss, url)
            scaling = report_scaling(options.rows, results["SQLite"]["ordersync"], options.scale_rows,
                                     replace(in_fresh_process(measure_ordersync, url), peak_pss_mb=scale_pss))
    finally:
        if options.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(options.rows, results))
    print()
    print(report_resyncs(options.rows, resyncs))
    if scaling:
        print()
        print(scaling)
    return 0


if __name__ == "__main__":
    sys.exit(main())

