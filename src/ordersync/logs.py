"""Logging: every line carries the run id and customer at work, and never a secret.

Stdlib logging with two small pieces, both in a log-record factory so they hold for every
handler (ours, a scheduler's, pytest's): context variables (`run_id`, `customer`) stamped on
each record, and a redaction step that replaces every registered secret — the API token, once
it is loaded — wherever it would appear in a message, its arguments or its traceback text.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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


def configure_logging(level: int | str = logging.WARNING) -> None:
    """Log to stderr in the ordersync format; safe to call more than once."""
    root = logging.getLogger("ordersync")
    root.setLevel(level)
    if not any(getattr(handler, "_ordersync", False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler._ordersync = True  # type: ignore[attr-defined]
        handler.setFormatter(_RedactingFormatter(FORMAT))
        root.addHandler(handler)


class _RedactingFormatter(logging.Formatter):
    """Tracebacks are formatted after the record is made: redact them too."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


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
