"""Read a Monday response: the one place that turns HTTP status, headers and body into typed errors.

Monday answers many errors with HTTP 200 and an `errors` array; limit errors come as HTTP 429
in 2026 but as 200 with `extensions.status_code` 429 in older versions, or with a legacy
top-level `error_code`. All three are read. Errors whose `path` names an alias belong to that
alias only; the others belong to the whole request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ordersync.errors import (
    BoardFull,
    ColumnValueError,
    ComplexityBudgetExhausted,
    GraphQLRequestError,
    InvalidColumn,
    MondayError,
    NotFound,
    QueryTooComplex,
    RateLimited,
    ServerError,
    Unauthorized,
)

_BUDGET_CODES = {"COMPLEXITY_BUDGET_EXHAUSTED", "ComplexityException"}
_TOO_COMPLEX_CODES = {"maxComplexityExceeded"}
_RATE_CODES = {
    "maxConcurrencyExceeded", "RATE_LIMIT_EXCEEDED", "Rate Limit Exceeded", "RateLimitExceeded",
    "FIELD_LIMIT_EXCEEDED", "IP_RATE_LIMIT_EXCEEDED", "DAILY_LIMIT_EXCEEDED", "API_TEMPORARILY_BLOCKED",
    "MINUTE_LIMIT_EXCEEDED", "Minute limit rate exceeded",
}
_AUTH_CODES = {"USER_UNAUTHORIZED", "UserUnauthorizedException", "USER_ACCESS_DENIED", "Unauthorized", "UNAUTHENTICATED",
               "missingRequiredPermissions", "UserAccessDeniedException"}
_CAPACITY_CODES = {"ItemsLimitationException"}
_VALUE_CODES = {"ColumnValueException", "CorrectedValueException", "InvalidValueException"}
_COLUMN_CODES = {"InvalidColumnIdException"}
_NOT_FOUND_CODES = {"InvalidBoardIdException", "InvalidItemIdException", "ResourceNotFoundException",
                    "InvalidGroupIdException", "InvalidUserIdException", "ItemNotFoundException"}
# IDEMPOTENCY_CONFLICT (409): the first request with this key is still running: retry with the same key.
_SERVER_CODES = {"INTERNAL_SERVER_ERROR", "InternalServerError", "BoardLockedException", "ResourceLockedException",
                 "RESOURCE_LOCKED", "IDEMPOTENCY_CONFLICT"}


@dataclass
class ParsedResponse:
    data: dict[str, Any]
    request_error: MondayError | None = None  # the whole request failed
    alias_errors: dict[str, MondayError] = field(default_factory=dict)
    complexity: dict[str, Any] | None = None


def _retry_hint(extensions: Mapping[str, Any], headers: Mapping[str, str]) -> float | None:
    for source in (extensions, extensions.get("error_data") or {}):
        if isinstance(source, Mapping) and source.get("retry_in_seconds") is not None:
            try:
                return float(source["retry_in_seconds"])
            except (TypeError, ValueError):
                pass
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return float(retry_after)
        except ValueError:
            return None
    return None


def board_full(message: str, error_data: Mapping[str, Any], **kwargs: Any) -> BoardFull:
    """`ItemsLimitationException` as a row can say it: which board, its cap, and what to do about it."""
    board_id = error_data.get("board_id")
    limit = error_data.get("limit")
    if not isinstance(limit, int):
        found = re.search(r"limit of ([\d,]+) items", message)
        limit = int(found.group(1).replace(",", "")) if found else None
    board = f"board {board_id}" if board_id else "the board"
    holds = f"holds {limit:,} items, Monday's cap" if limit else f"is full ({message})"
    return BoardFull(f"{board} {holds}: archive old lines or route new ones to another board",
                     board_id=str(board_id) if board_id else None, limit=limit,
                     hint="archive finished lines on the board, or route new lines to another board, "
                          "then `ordersync retry`", **kwargs)


def error_for(code: str | None, message: str, *, status: int | None, retry_in: float | None,
              path: tuple[str, ...] = (), error_data: Mapping[str, Any] | None = None) -> MondayError:
    """The typed error for one Monday error code / HTTP status; `error_data` is Monday's, where it gave one."""
    kwargs: dict[str, Any] = {"code": code, "path": path, "status_code": status, "retry_in_seconds": retry_in}
    if code in _TOO_COMPLEX_CODES:
        return QueryTooComplex(message, **kwargs)
    if code in _BUDGET_CODES:
        return ComplexityBudgetExhausted(message, **kwargs)
    if code in _RATE_CODES or status == 429:
        return RateLimited(message, **kwargs)
    if code in _AUTH_CODES or status in (401, 403):
        return Unauthorized(message, hint="check the API token (environment variable or token file) and "
                            "that its user can see and edit the board", **kwargs)
    if code in _CAPACITY_CODES:
        return board_full(message, error_data if isinstance(error_data, Mapping) else {}, **kwargs)
    if code in _VALUE_CODES:
        return ColumnValueError(message, **kwargs)
    if code in _COLUMN_CODES:
        return InvalidColumn(message, hint="run `ordersync validate` to compare the config with the board",
                             **kwargs)
    if code in _NOT_FOUND_CODES or status == 404:
        return NotFound(message, **kwargs)
    if code in _SERVER_CODES or status in (409, 423) or (status is not None and status >= 500):
        return ServerError(message, **kwargs)
    return GraphQLRequestError(message, **kwargs)


def parse_response(status: int, headers: Mapping[str, str], body: Any) -> ParsedResponse:
    """Classify one HTTP answer. `headers` keys are lower case."""
    if not isinstance(body, Mapping):
        error = error_for(None, f"HTTP {status}: the answer is not JSON", status=status,
                          retry_in=_retry_hint({}, headers))
        if status < 400:
            error = ServerError(f"HTTP {status}: the answer is not JSON", status_code=status)
        return ParsedResponse({}, request_error=error)
    data = body.get("data") or {}
    parsed = ParsedResponse(data=data if isinstance(data, dict) else {})
    complexity = parsed.data.get("complexity")
    if isinstance(complexity, Mapping):
        parsed.complexity = dict(complexity)
    if body.get("error_code") or body.get("error_message"):  # legacy top-level shape
        code = body.get("error_code")
        legacy_status = body.get("status_code") if isinstance(body.get("status_code"), int) else status
        parsed.request_error = error_for(
            code, str(body.get("error_message") or code), status=legacy_status,
            retry_in=_retry_hint(body.get("error_data") or {}, headers) or _legacy_reset(body),
            error_data=body.get("error_data"),
        )
        return parsed
    for raw in body.get("errors") or []:
        if not isinstance(raw, Mapping):
            raw = {"message": str(raw)}
        extensions = raw.get("extensions") or {}
        code = extensions.get("code")
        inner_status = extensions.get("status_code")
        effective_status = inner_status if isinstance(inner_status, int) and inner_status != 200 else status
        path = tuple(str(part) for part in raw.get("path") or ())
        error = error_for(code, str(raw.get("message") or code or "unknown error"), status=effective_status,
                          retry_in=_retry_hint(extensions, headers), path=path,
                          error_data=extensions.get("error_data"))
        if path and path[0] != "complexity" and status < 400 and not isinstance(error, RateLimited):
            parsed.alias_errors.setdefault(path[0], error)
        elif parsed.request_error is None:
            parsed.request_error = error
    if parsed.request_error is None and status >= 400:
        parsed.request_error = error_for(None, f"HTTP {status}", status=status, retry_in=_retry_hint({}, headers))
    return parsed


def _legacy_reset(body: Mapping[str, Any]) -> float | None:
    """Legacy budget errors say "reset in 3 seconds" only in the message text."""
    match = re.search(r"reset in (\d+) seconds?", str(body.get("error_message") or ""))
    return float(match.group(1)) if match else None
