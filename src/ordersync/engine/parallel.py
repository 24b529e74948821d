"""The transform in several processes: a run that reads every line of its scope (a first load, `--full`, a
changed config) splits the extract and transform between worker processes while this one stages.

Why: the transform is Python, held to one core by the interpreter lock; on a first load of 100,000 lines
it is most of the time. Each worker reads and transforms its share of the lines and sends each as
`staging.LineRows` (plain tuples: a pickled `TransformedLine` cost ten times as much to send as to make);
this process numbers, claims and stages them (`staging.stage_runs`) as they come.

Which worker a line goes to: a hash of its business key columns, computed by the source database in the
worker's query (`share_filter`: SQLite a function each connection gets from Python, PostgreSQL `hashtext`,
SQL Server `CHECKSUM`), so the lines sharing a key meet in one worker, in read order. Each line is numbered
as the scope's key read (`fingerprints.SourceLines`) numbered it, and the workers' streams are merged back
into that order: the staged rows, their numbers and the duplicate-key errors are those of one process
reading alone. A line a worker meets that the key read did not (added since) is left to the next run, as
the fast path leaves it; a line the key read met that is gone since is not staged, and so not removed.

Workers are spawned (a fresh interpreter: nothing of this process's connections or threads is shared),
die with this process (Linux), ignore Ctrl-C (this process stops them), and send their log records here.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import types
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import sqlalchemy as sa

from ordersync import errors
from ordersync.config import Config
from ordersync.engine.collector import collecting_less
from ordersync.engine.filters import Filters
from ordersync.engine.fingerprints import LineFingerprints, SourceLines, refused_a_blob, register_sqlite_md5
from ordersync.engine.lines import ShareOfScope, keyed_order_lines
from ordersync.engine.routes import Router, routed_lines, routes_lines
from ordersync.engine.source import SourceTable, create_source_engine, open_source
from ordersync.engine.staging import LineRows, line_rows
from ordersync.engine.transform import TransformRules, rules_from_config

log = logging.getLogger(__name__)

PARALLEL_AFTER_LINES = 20_000  # `transform_processes = "auto"`: a smaller read is transformed in this process
MAX_PROCESSES = 4
DIALECTS = ("sqlite", "postgresql", "mssql")  # those `share_filter` can split a scope for
SEND_EVERY = 500  # lines a worker sends at a time
WORKER_CHUNK_ROWS = 500  # rows a worker fetches at a time: each is a dict of every column read (2,000: +35 MB each)
SQLITE_SHARE = "ordersync_share"
_STAGES = ("extract", "transform")  # a worker's own records of these become one record here


def transform_processes(config: Config, dialect: sa.Dialect, lines: int) -> int:
    """How many processes transform a read of `lines` lines of the whole scope (1: this one)."""
    setting = config.source.transform_processes
    if dialect.name not in DIALECTS or multiprocessing.current_process().daemon:  # a daemon may start none
        return 1
    if setting == "auto":
        return min(os.cpu_count() or 1, MAX_PROCESSES) if lines >= PARALLEL_AFTER_LINES else 1
    return setting


def share_filter(source_table: SourceTable, config: Config, dialect: sa.Dialect, share: int,
                 shares: int) -> sa.ColumnElement:
    """WHERE the line's business key columns hash to `share` of `shares`: every line in exactly one share,
    lines with the same key columns in the same one."""
    columns = [source_table.table.c[name] for name in config.source.business_key]
    if dialect.name == "sqlite":
        hashed: sa.ColumnElement = getattr(sa.func, SQLITE_SHARE)(*columns)
    elif dialect.name == "postgresql":
        text = sa.func.concat_ws(sa.literal_column("chr(31)"), *(sa.cast(column, sa.Text) for column in columns))
        hashed = sa.func.abs(sa.cast(sa.func.hashtext(text), sa.BigInteger))
    elif dialect.name == "mssql":
        hashed = sa.func.abs(sa.cast(sa.func.checksum(*columns), sa.BigInteger))
    else:
        raise ValueError(f"no share of a scope on {dialect.name}")
    return hashed % shares == share


def _sqlite_share(*values: Any) -> int:
    return zlib.crc32(repr(values).encode("utf-8"))


@dataclass
class _Worker:
    process: Any  # multiprocessing's SpawnProcess
    receiver: Connection
    stats: dict[str, float] | None = None


class TransformProcesses:
    """Worker processes transforming the scope; `line_rows` numbers and merges what they send. `close` stops
    any still running (always called: a run that stops before reading them leaves no process behind).
    `fingerprinted`: each line comes with its fingerprint (`fingerprints.LineFingerprints`), read with it — a
    first load's key read then reads the key columns alone."""

    def __init__(self, config: Config, filters: Filters, processes: int, *, fingerprinted: bool = False) -> None:
        context = multiprocessing.get_context("spawn")
        level = logging.getLogger("ordersync").getEffectiveLevel()
        self.started = time.monotonic()
        self.workers: list[_Worker] = []
        # After `line_rows`: a worker met a blob SQLite's json_array refuses and fingerprinted its lines in
        # Python, unlike the others — as the next key read fingerprints every line then
        # (`fingerprints.read_source_lines`): the staged fingerprints do not agree, none is kept (`pipeline`).
        self.fingerprinted_apart = False
        try:
            for share in range(processes):
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(target=_transform_share, name=f"ordersync-transform-{share}", daemon=True,
                                          args=(config, filters, share, processes, sender, level, fingerprinted))
                with _main_module_left_behind():
                    process.start()
                sender.close()
                self.workers.append(_Worker(process, receiver))
        except BaseException:
            self.close()
            raise

    def line_rows(self, scope: SourceLines) -> Iterator[LineRows]:
        """Every line of `scope` (the scope as its key read met it), in the scope's order and numbered as that
        read numbered it. The key read is used up: its keys move into the numbering (`scope.raw_keys` is
        emptied), each freed once its line has come (100,000 lines' keys held 25 MB to the end)."""
        try:
            numbers = _Numbers(scope.raw_keys)
            scope.raw_keys.clear()
            yield from heapq.merge(*(_numbered(_received(worker), numbers) for worker in self.workers),
                                   key=lambda line: line.source_row)
            _log_totals(self.workers, time.monotonic() - self.started)
            self.fingerprinted_apart = any((worker.stats or {}).get("fingerprinted_in_python")
                                           for worker in self.workers)
        finally:
            self.close()

    def close(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.terminate()
            worker.process.join(timeout=10)
            worker.receiver.close()
        self.workers = []


@contextlib.contextmanager
def _main_module_left_behind() -> Iterator[None]:
    """A spawned process imports its parent's `__main__` (the `ordersync` command, a script, a test runner)
    before it runs its target, unless that has no file or module name to import it by: the worker needs only
    this module (its target and arguments are pickled by module name), and the CLI's imports would cost each
    worker 0.4 s and 20 MB of the memory a first load is measured by."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class _Numbers:
    """The number each line has in the scope's key read, by its key columns as read (two rows may share them)."""

    def __init__(self, raw_keys: Sequence[tuple[Any, ...]]) -> None:
        self.first: dict[tuple[Any, ...], int] = {}
        self.more: dict[tuple[Any, ...], list[int]] = {}
        for number, raw in enumerate(raw_keys, 1):
            if self.first.setdefault(raw, number) != number:
                self.more.setdefault(raw, []).append(number)

    def take(self, raw: tuple[Any, ...]) -> int | None:
        number = self.first.pop(raw, None)
        if number is None and raw in self.more:
            taken = self.more[raw]
            number = taken.pop(0)
            if not taken:
                del self.more[raw]
        return number


def _numbered(received: Iterator[LineRows], numbers: _Numbers) -> Iterator[LineRows]:
    for line in received:
        number = numbers.take(line.raw_key or ())
        if number is None:  # come since the scope's key read: the next run stages it
            continue
        for record in line.records:
            record["source_row"] = number
        yield LineRows._make((line.item_key, line.customer, number, *line[3:]))


def _received(worker: _Worker) -> Iterator[LineRows]:
    """A worker's lines as it sends them; its log records logged here; its end or its failure."""
    while True:
        while not worker.receiver.poll(1.0):
            if not worker.process.is_alive() and not worker.receiver.poll(0):
                raise errors.SourceError(f"{worker.process.name} ended (exit code {worker.process.exitcode}) "
                                         "before sending all its lines",
                                         hint="see the log above; run again, or set [source] "
                                              "transform_processes = 1 to transform in one process")
        try:
            kind, payload = worker.receiver.recv()
        except (EOFError, OSError):  # its end closed, or closed halfway through a message
            raise errors.SourceError(f"{worker.process.name} ended before sending all its lines",
                                     hint="run again, or set [source] transform_processes = 1") from None
        if kind == "lines":
            yield from payload
        elif kind == "log":
            logging.getLogger(payload.name).handle(payload)
        elif kind == "done":
            worker.stats = payload
            return
        else:  # "failed"
            raise _rebuilt(*payload)


def _rebuilt(name: str, message: str, hint: str | None) -> Exception:
    """A worker's error, of its type when it is one of ordersync's."""
    kind = getattr(errors, name, None)
    if isinstance(kind, type) and issubclass(kind, errors.OrdersyncError):
        with contextlib.suppress(TypeError):
            return kind(message, hint=hint)
    return errors.SourceError(f"transforming the source failed: {name}: {message}")


def _log_totals(workers: list[_Worker], seconds: float) -> None:
    stats = [worker.stats or {} for worker in workers]

    def total(name: str) -> int:
        return int(sum(stat.get(name, 0) for stat in stats))

    reading = max(stat.get("reading", 0.0) for stat in stats)
    transforming = max(stat.get("transforming", 0.0) for stat in stats)
    peaks = [round(stat.get("peak_mb", 0.0), 1) for stat in stats]
    log.info("extract: %d order lines read by %d processes in %.2f s", total("order_lines"), len(workers), reading,
             extra={"stage": "extract", "order_lines": total("order_lines"), "seconds": round(reading, 3),
                    "processes": len(workers)})
    log.info("transform: %d order lines into %d items and %d subitems, %d row errors, by %d processes in %.2f s "
             "(%.2f s from the first start to the last line)", total("order_lines"), total("items"),
             total("subitems"), total("row_errors"), len(workers), transforming, seconds,
             extra={"stage": "transform", "order_lines": total("order_lines"), "items": total("items"),
                    "subitems": total("subitems"), "row_errors": total("row_errors"),
                    "seconds": round(transforming, 3), "processes": len(workers), "peak_mb": peaks})


# -- in the worker process ---------------------------------------------------------------------------------

class _Forwarded(logging.Handler):
    """A worker's log records, sent to the process that started it; its extract and transform totals kept."""

    def __init__(self, sender: Connection) -> None:
        super().__init__()
        self.sender = sender
        self.stats: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        stage = getattr(record, "stage", None)
        if stage in _STAGES:
            self.stats["reading" if stage == "extract" else "transforming"] = float(getattr(record, "seconds", 0))
            if stage == "transform":
                for name in ("order_lines", "items", "subitems", "row_errors"):
                    self.stats[name] = float(getattr(record, name, 0))
            return
        record.msg, record.args, record.exc_info, record.exc_text = record.getMessage(), None, None, None
        self.sender.send(("log", record))


def _transform_share(config: Config, filters: Filters, share: int, shares: int, sender: Connection,
                     level: int, fingerprinted: bool) -> None:
    """A worker: read and transform one share of the scope, send it in read order, then its totals."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent stops us
    _die_with_parent()
    forwarded = _Forwarded(sender)
    logger = logging.getLogger("ordersync")
    logger.handlers[:], logger.propagate = [forwarded], False
    logger.setLevel(level)
    chunk_size = min(config.source.chunk_size, WORKER_CHUNK_ROWS)
    config = config.model_copy(update={"source": config.source.model_copy(update={"chunk_size": chunk_size})})
    try:
        engine = create_source_engine(config.source.url, config.source.timeouts())
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_functions)
        source_table = open_source(engine, config)
        rules = rules_from_config(config, source_table.size_columns)
        fingerprints = LineFingerprints.of(source_table, config, rules, engine.dialect) if fingerprinted else None
        with _Sending(sender) as sending, collecting_less():
            try:
                _send_share(engine, source_table, config, filters, rules, share, shares, fingerprints, sending)
            except errors.SourceError as error:
                if fingerprints is None or fingerprints.expression is None or sending.sent \
                        or not refused_a_blob(error.message):
                    raise
                # a blob SQLite's json_array refuses (met before the first line: the query sorts first): this
                # share's lines are fingerprinted in Python, and the parent keeps no fingerprint of this run
                forwarded.stats["fingerprinted_in_python"] = 1.0
                _send_share(engine, source_table, config, filters, rules, share, shares, fingerprints.in_python(),
                            sending)
        engine.dispose()
        sender.send(("done", {**forwarded.stats, "peak_mb": _peak_mb()}))
    except Exception as error:  # noqa: BLE001 - every failure goes to the parent, which raises it
        sender.send(("failed", (type(error).__name__, getattr(error, "message", str(error)),
                                getattr(error, "hint", None))))
    finally:
        sender.close()


def _sqlite_functions(connection: Any, _: Any) -> None:
    connection.create_function(SQLITE_SHARE, -1, _sqlite_share, deterministic=True)
    register_sqlite_md5(connection)


def _send_share(engine: sa.Engine, source_table: SourceTable, config: Config, filters: Filters, rules: TransformRules,
                share: int, shares: int, fingerprints: LineFingerprints | None, sending: _Sending) -> None:
    router = Router(config) if routes_lines(config) else None
    where = share_filter(source_table, config, engine.dialect, share, shares)
    keyed = keyed_order_lines(engine, source_table, config, filters, rules, router=router,
                              share=ShareOfScope(where, fingerprints))
    batch: list[LineRows] = []
    for raw_key, result, fingerprint in _routed(keyed, router):
        batch.append(line_rows(result, raw_key, fingerprint))
        if len(batch) >= SEND_EVERY:
            sending.put(("lines", batch))
            batch = []
    sending.put(("lines", batch))


class _Sending:
    """Batches sent by a thread of their own, up to `AHEAD` of the parent: the transform goes on while the
    parent writes a batch to the staging tables (one batch in the pipe alone kept the two taking turns)."""

    AHEAD = 4

    def __init__(self, sender: Connection) -> None:
        self.sender = sender
        self.queue: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=self.AHEAD)
        self.failure: BaseException | None = None
        self.sent = 0  # messages handed to the thread
        self.thread = threading.Thread(target=self._send, name="ordersync-send", daemon=True)

    def __enter__(self) -> _Sending:
        self.thread.start()
        return self

    def put(self, message: tuple[str, Any]) -> None:
        if self.failure is not None:
            raise self.failure
        self.queue.put(message)
        self.sent += 1

    def _send(self) -> None:
        while (message := self.queue.get()) is not None:
            try:
                self.sender.send(message)
            except BaseException as error:  # noqa: BLE001 - the transform thread raises it
                self.failure = error
                return

    def __exit__(self, *_: object) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.failure is not None:
            raise self.failure


def _routed(keyed: Iterator[tuple[tuple[Any, ...], Any, str | None]],
            router: Router | None) -> Iterator[tuple[tuple[Any, ...], Any, str | None]]:
    """A routed run's lines with their boards, a line no route takes a row error (`routes.routed_lines`)."""
    if router is None:
        yield from keyed
        return
    for raw_key, result, fingerprint in keyed:
        yield raw_key, next(routed_lines([result], router)), fingerprint


def _die_with_parent() -> None:
    """Linux: this process is killed when its parent dies, even by SIGKILL (no orphan reads on)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the call
            os._exit(1)


def _peak_mb() -> float:
    """This process's own peak resident memory (VmHWM), in MB; 0 off Linux."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0

