"""The API token appears nowhere ordersync writes: not in its output, its logs, its reports, the error
payloads it keeps, or any text column of any state table — through every failure path, from the
command line and from Python.

Failure paths driven here: a token the API refuses (401), rate limits, server errors, responses
lost after the write committed, retries used up, bad source rows, values Monday refuses
(ColumnValueException), a process killed mid-run, a run stopped mid-run in Python, `retry`,
`status`, `report`, `validate`, and a token read from a file. The emulator itself (Monday's side,
which must know the token) is not scanned.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import signal
import time
import traceback
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from ordersync.emulator import EmulatorSettings, running_emulator
from ordersync.engine.sync import SyncOptions, retry_failed, sync_async
from ordersync.errors import Unauthorized
from ordersync.sample_data import write_sample_data
from reliability import ProcessProject, edit_source
from sync_world import SimulatedCrash, crash_at

SECRET = "tok-SECRET-1234567890"
FRAGMENTS = (SECRET, "tok-SECRET", "SECRET-1234567890")  # a shortened or split token still counts
FAULTS = {"rate_limit": 0.02, "rate_limit_burst_seconds": 0.05, "server_error": 0.15, "lost_response": 0.1,
          "latency_ms": 5, "seed": 7}
NOT_OURS = ("ordersync.emulator", "uvicorn")  # the server's own loggers


def break_some_rows(url: str) -> None:
    """Bad source rows (a negative size, a price that is not a number), and 45 units of measure where the
    board's status column takes 40 labels: Monday refuses the rest (ColumnValueException)."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        uuids = connection.execute(sa.text('SELECT record_uuid FROM "ORDERS_UNIFIED" ORDER BY record_uuid')).scalars().all()
        connection.execute(sa.text('UPDATE "ORDERS_UNIFIED" SET "M" = -3 WHERE record_uuid = :u'), {"u": uuids[0]})
        connection.execute(sa.text('UPDATE "ORDERS_UNIFIED" SET "CUSTOMER PRICE" = \'TBC\' WHERE record_uuid = :u'),
                           {"u": uuids[1]})
        for number, handle in enumerate(uuids[2:47]):
            connection.execute(sa.text('UPDATE "ORDERS_UNIFIED" SET "UNIT OF MEASURE" = :uom WHERE record_uuid = :u'),
                               {"uom": f"UNIT {number:02d}", "u": handle})
    engine.dispose()


def texts_in_state(url: str) -> list[str]:
    """Every text value of every table in the state database."""
    engine = sa.create_engine(url)
    found = []
    with engine.connect() as connection:
        metadata = sa.MetaData()
        metadata.reflect(connection)
        for table in metadata.tables.values():
            if not table.name.startswith("ordersync_"):
                continue
            columns = [column for column in table.columns if isinstance(column.type, sa.String | sa.Text)]
            for row in connection.execute(sa.select(*columns)) if columns else ():
                found.extend(str(value) for value in row if value is not None)
    engine.dispose()
    return found


def recorded_errors(url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT category, message FROM ordersync_errors")).all()
    engine.dispose()
    return [(category, message) for category, message in rows]


@pytest.fixture
def project(tmp_path):
    write_sample_data(f"sqlite:///{tmp_path / 'ordersync.db'}", rows=150)
    break_some_rows(f"sqlite:///{tmp_path / 'ordersync.db'}")
    settings = EmulatorSettings(tokens=[SECRET], complexity_budget=10**9, mutations_per_window=10**6,
                                requests_per_minute=10**6)
    with running_emulator(settings) as base_url:
        project = ProcessProject(tmp_path, base_url, token=SECRET,
                                 monday={"max_attempts": 2, "max_backoff_seconds": 0.05,
                                         "max_mutations_per_request": 10})
        project.new_board()
        text = project.config_path.read_text()
        status = 'id = "color_mkr5yf27"   # UNIT OF MEASURE\ntype = "status"\n'
        assert status in text
        project.config_path.write_text(text.replace(status, status + "create_labels_if_missing = true\n"))
        yield project


def set_tokens(project: ProcessProject, tokens: list[str]) -> None:
    httpx.patch(f"{project.base_url}/emulator/config", json={"tokens": tokens}, timeout=30).raise_for_status()


def kill_mid_run(project: ProcessProject, env: dict[str, str], outputs: list[str]):
    """A sync killed 1.5 s in; the hostile API can end a try before the kill (a read out of retries): every
    try's output is scanned too."""
    for _ in range(5):
        process = project.start("sync", "--all", "--json", env=env)
        time.sleep(1.5)
        process.send_signal(signal.SIGKILL)
        killed = project.finish(process)
        outputs.extend((killed.stdout, killed.stderr))
        if killed.returncode == -signal.SIGKILL:
            break
    return killed


def test_the_token_appears_nowhere_through_every_failure_path(project, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    debug = {"ORDERSYNC_LOG_LEVEL": "DEBUG"}
    outputs: list[str] = []
    raised: list[BaseException] = []

    def cli(*args: str, env: dict[str, str] | None = None) -> int:
        finished = project.run(*args, env={**debug, **(env or {})})
        outputs.extend((finished.stdout, finished.stderr))
        return finished.returncode

    async def python(**kwargs) -> None:
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                result = await sync_async(project.config(), SyncOptions(all_customers=True, **kwargs), http=http,
                                          token=SecretStr(SECRET))
            outputs.append(json.dumps(result.as_dict(), default=str))
        except BaseException as error:  # noqa: BLE001 - every way out is scanned
            raised.append(error)

    # the API refuses the token
    set_tokens(project, ["somebody-else"])
    assert cli("sync", "--all", "--json") == 3
    assert cli("validate") == 3
    asyncio.run(python())
    assert isinstance(raised[-1], Unauthorized)
    set_tokens(project, [SECRET])

    # a hostile API, bad rows and refused values; then a kill, a stop in Python, and the retries
    project.set_faults(**FAULTS)
    assert cli("sync", "--all", "--json") == 1
    edit_source(project.source_url, random.Random(5))
    killed = kill_mid_run(project, debug, outputs)
    for attempt in range(5):  # the hostile API can end a try early (its reads out of retries); that is scanned too
        if attempt:  # a try that ended early may have done the work: the warehouse moves on, so there are writes to crash in
            edit_source(project.source_url, random.Random(5 + attempt))
        asyncio.run(python(checkpoint=crash_at("after_response", 3)))
        if isinstance(raised[-1], SimulatedCrash):
            break
    assert isinstance(raised[-1], SimulatedCrash), raised[-1]
    asyncio.run(python())
    try:
        asyncio.run(retry_failed(project.config(), token=SecretStr(SECRET)))
    except BaseException as error:  # noqa: BLE001
        raised.append(error)
    cli("retry", "--json")
    project.set_faults(rate_limit=0, server_error=0, lost_response=0, latency_ms=0)
    for command in (("status",), ("status", "--json"), ("report",), ("report", "--json"), ("validate", "--json")):
        cli(*command)

    # the token from a file instead of the environment
    token_file = tmp_path.parent / f"{tmp_path.name}-token"
    token_file.write_text(SECRET + "\n")
    project.config_path.write_text(project.config_path.read_text().replace(
        'token_env = "MONDAY_API_TOKEN"', f'token_env = "NO_SUCH_VARIABLE"\ntoken_file = "{token_file}"', 1))
    assert cli("sync", "--all", "--json", env={"MONDAY_API_TOKEN": ""}) in (0, 1)

    # every failure path really ran
    assert killed.returncode == -signal.SIGKILL
    errors = recorded_errors(project.source_url)
    categories = {category for category, _ in errors}
    assert "validation" in categories and categories & {"server", "network", "rate_limit"}, categories
    assert any("ColumnValueException" in message for _, message in errors)
    assert any("is negative" in message for _, message in errors)
    state_texts = texts_in_state(project.source_url)

    # ... and the token is nowhere
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.suffix == ".md" for path in written) and any(path.suffix == ".json" for path in written)
    places = {
        "output": "\n".join(outputs),
        "logs": "\n".join(_log_text(record) for record in caplog.records if not record.name.startswith(NOT_OURS)),
        "exceptions": "\n".join(_exception_text(error) for error in raised),
        "state tables": "\n".join(state_texts),
        **{f"file {path.relative_to(tmp_path)}": path.read_bytes().decode("utf-8", "replace") for path in written},
    }
    assert places["logs"] and places["output"]
    leaked = {where: fragment for where, text in places.items() for fragment in FRAGMENTS if fragment in text}
    assert leaked == {}


def _log_text(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    return text


def _exception_text(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


def test_the_scan_would_find_a_leak(tmp_path):
    """The scan itself can fail: the token in a file, a state table or a log line is found."""
    (tmp_path / "report.md").write_text(f"Authorization: {SECRET}")
    assert any(fragment in (tmp_path / "report.md").read_text() for fragment in FRAGMENTS)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE ordersync_errors (payload TEXT)"))
        connection.execute(sa.text("INSERT INTO ordersync_errors VALUES (:p)"), {"p": json.dumps({"h": SECRET[:10]})})
    engine.dispose()
    assert any("tok-SECRET" in text for text in texts_in_state(url))
    assert Path(tmp_path / "state.db").read_bytes().find(b"tok-SECRET") >= 0
