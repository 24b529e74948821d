"""Logging: every line carries the run id and customer at work, and never a secret.

Stdlib logging with two small pieces, both in a log-record factory so they hold for every
handler (ours, a scheduler's, pytest's): context variables (`run_id`, `customer`) stamped on
each record, and a redaction step that replaces every registered secret — the API token, once
it is loaded — wherever it would appear in a message, its arguments or its traceback text.

Two formats on stderr: `text` (one line a record) and `json` (one JSON object a line, for a
scheduler: time, level, logger, run_id, customer, message, plus the record's `extra` fields).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

RUN_ID: contextvars.ContextVar[int | None] = contextvars.ContextVar("ordersync_run_id", default=None)
CUSTOMER: contextvars.ContextVar[str | None] = contextvars.ContextVar("ordersync_customer", default=None)

_SECRETS: set[str] = set()
REDACTED = "[redacted]"
FORMAT = "%(asctime)s %(levelname)s %(name)s run=%(run_id)s customer=%(customer)s %(message)s"


def register_secret(value: str) -> None:
    """From now on `value` is written as [redacted] in every log line."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


_default_factory = logging.getLogRecordFactory()


def _record_factory(*args, **kwargs) -> logging.LogRecord:
    record = _default_factory(*args, **kwargs)
    record.run_id = RUN_ID.get() or "-"
    record.customer = CUSTOMER.get() or "-"
    if _SECRETS:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: keep it as logging would show it
            message = str(record.msg)
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
    return record


if getattr(logging.getLogRecordFactory(), "__name__", "") != _record_factory.__name__:
    logging.setLogRecordFactory(_record_factory)


LOG_FORMATS = ("text", "json")
LOG_LEVELS = tuple(logging.getLevelName(level) for level in (logging.DEBUG, logging.INFO, logging.WARNING,
                                                             logging.ERROR, logging.CRITICAL))


def configure_logging(level: int | str = logging.WARNING, log_format: str = "text") -> None:
    """Log to the current stderr at `level`, as `text` or `json` lines; safe to call more than once
    (a later call changes the level, the format and the stream)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"unknown log format {log_format!r}: use one of {', '.join(LOG_FORMATS)}")
    root = logging.getLogger("ordersync")
    root.setLevel(level)
    handler = next((handler for handler in root.handlers if isinstance(handler, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        root.addHandler(handler)
    handler.setFormatter(_JsonFormatter() if log_format == "json" else _RedactingFormatter(FORMAT))


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (a redirect, a test's capture), never to a
    stream that has been closed since the handler was made."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _RedactingFormatter(logging.Formatter):
    """Tracebacks are formatted after the record is made: redact them too."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class _JsonFormatter(logging.Formatter):
    """One JSON object per record: the fixed fields, then whatever the call passed as `extra`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name,
            "run_id": _bound_value(record, "run_id"), "customer": _bound_value(record, "customer"),
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items()
                      if key not in _RECORD_FIELDS and key not in entry and key not in ("run_id", "customer")})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


def _bound_value(record: logging.LogRecord, name: str) -> Any:
    value = getattr(record, name, None)
    return None if value in (None, "-") else value


@contextmanager
def bound(*, run_id: int | None = None, customer: str | None = None) -> Iterator[None]:
    """Within this block, log lines name this run and/or customer."""
    tokens: list[tuple[contextvars.ContextVar[Any], contextvars.Token[Any]]] = []
    if run_id is not None:
        tokens.append((RUN_ID, RUN_ID.set(run_id)))
    if customer is not None:
        tokens.append((CUSTOMER, CUSTOMER.set(customer)))
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)
