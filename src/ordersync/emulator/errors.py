"""Every error the emulator answers with, and Monday's code for it, in one place.

Two kinds: `ApiError` is an application error raised inside one field (one alias of a batch):
it becomes one entry of `errors[]` with `path`, and HTTP stays 200 as on Monday. `RequestRejected`
refuses the whole request before anything runs (auth, limits, injected faults, bad body): the
response shape for it depends on the API version and is built by `responses.py`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Code(StrEnum):
    """Monday's error codes (`extensions.code`, or legacy top-level `error_code`)."""

    # application errors, one alias at a time (HTTP 200)
    COLUMN_VALUE = "ColumnValueException"
    INVALID_COLUMN_ID = "InvalidColumnIdException"
    INVALID_BOARD_ID = "InvalidBoardIdException"
    INVALID_ITEM_ID = "InvalidItemIdException"
    RESOURCE_NOT_FOUND = "ResourceNotFoundException"
    INVALID_ARGUMENT = "InvalidArgumentException"
    JSON_PARSE = "JsonParseException"
    ITEM_NAME_TOO_LONG = "ItemNameTooLongException"
    ITEMS_LIMITATION = "ItemsLimitationException"
    DELETE_LAST_GROUP = "DeleteLastGroupException"
    CREATE_BOARD = "CreateBoardException"
    CURSOR_EXPIRED = "CursorExpiredError"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    # document errors (HTTP 200, no data)
    PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    MAX_COMPLEXITY_EXCEEDED = "maxComplexityExceeded"
    INVALID_VERSION = "InvalidVersionException"
    # auth (HTTP 401): the code was renamed in API 2025-07
    USER_UNAUTHORIZED = "USER_UNAUTHORIZED"
    USER_UNAUTHORIZED_LEGACY = "UserUnauthorizedException"
    # limits (HTTP 429 from 2025-07)
    COMPLEXITY_BUDGET_EXHAUSTED = "COMPLEXITY_BUDGET_EXHAUSTED"
    COMPLEXITY_LEGACY = "ComplexityException"
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    MAX_CONCURRENCY_EXCEEDED = "maxConcurrencyExceeded"
    DAILY_LIMIT_EXCEEDED = "DAILY_LIMIT_EXCEEDED"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    # injected faults and transport
    RESOURCE_LOCKED = "RESOURCE_LOCKED"
    BAD_REQUEST = "BAD_REQUEST"


class ApiError(Exception):
    """An application error in one field; the other aliases of the request still run."""

    def __init__(
        self,
        code: Code,
        message: str,
        *,
        status_code: int = 200,
        error_data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code
        self.error_data = error_data or {}

    def extensions(self) -> dict[str, Any]:
        return {"code": str(self.code), "status_code": self.status_code, "error_data": self.error_data}


def column_value_error(column_id: str, column_type: str, message: str, value: Any = None) -> ApiError:
    """Monday's `ColumnValueException`; `error_data.column_type` names the column's type."""
    data: dict[str, Any] = {"column_id": column_id, "column_type": column_type}
    if value is not None:
        data["column_value"] = value if isinstance(value, str) else repr(value)
    return ApiError(Code.COLUMN_VALUE, message, error_data=data)


def invalid_column(column_id: str, board_id: str) -> ApiError:
    return ApiError(
        Code.INVALID_COLUMN_ID,
        "This column ID doesn't exist for the board",
        error_data={"column_id": column_id, "board_id": board_id},
    )


def invalid_board(board_id: Any) -> ApiError:
    return ApiError(Code.INVALID_BOARD_ID, "Board not found", error_data={"board_id": str(board_id)})


def invalid_item(item_id: Any) -> ApiError:
    return ApiError(Code.INVALID_ITEM_ID, "Item not found", error_data={"item_id": str(item_id)})


def group_not_found(group_id: str, board_id: str) -> ApiError:
    return ApiError(
        Code.RESOURCE_NOT_FOUND,
        "Group not found",
        status_code=404,
        error_data={"group_id": group_id, "board_id": board_id},
    )


def invalid_argument(message: str, **error_data: Any) -> ApiError:
    return ApiError(Code.INVALID_ARGUMENT, message, error_data=error_data)


class RequestRejected(Exception):
    """The whole request is refused before execution (limits, faults, auth, malformed body).

    `retry_in_seconds` is set for everything worth retrying; `details` carries what the older
    API versions put in the body (budget numbers), which `responses.py` includes or not.
    """

    def __init__(
        self,
        code: Code,
        message: str,
        *,
        http_status: int,
        retry_in_seconds: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.retry_in_seconds = retry_in_seconds
        self.details = details or {}

    @property
    def is_limit(self) -> bool:
        """Limit errors count 0.1 of a daily call and are never cached under an Idempotency-Key."""
        return self.http_status == 429
