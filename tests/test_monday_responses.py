"""The response classifier, one case per Monday answer shape in ../shared/reference/monday_api*.md.

Each case is (HTTP status, headers, body) → where the error lands (the whole request, or one
alias), its type, and the fields the retry loop and the error report read: code, status,
retry hint. Whether a type is retried is read from it (TransientError vs TerminalError), so each
case also states which side of that split it must fall on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

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
    TerminalError,
    TransientError,
    Unauthorized,
)
from ordersync.monday.responses import parse_response

REQUEST = "request"  # the error belongs to the whole request


@dataclass(frozen=True)
class Case:
    id: str
    status: int
    body: Any
    where: str  # REQUEST or the alias it belongs to
    type: type[MondayError]
    code: str | None = None
    status_code: int | None = None
    retry_in: float | None = None
    headers: tuple[tuple[str, str], ...] = ()
    transient: bool = False


def error(message: str, code: str | None = None, *, path: list[str] | None = None, **extensions: Any) -> dict:
    shaped: dict[str, Any] = {"message": message, "locations": [{"line": 1, "column": 3}]}
    if code is not None:
        extensions = {"code": code, **extensions}
    if extensions:
        shaped["extensions"] = extensions
    if path is not None:
        shaped["path"] = path
    return shaped


def errors(*shaped: dict, data: dict | None = None) -> dict:
    return {"data": data, "errors": list(shaped), "extensions": {"request_id": "r-1"}, "account_id": 1234567890}


PARTIAL = {"m0": {"id": "1"}, "m1": None}

CASES = [
    # -- errors that belong to one alias of a batch (HTTP 200, `path` names the alias; the rest succeeded)
    Case("column-value-exception", 200, errors(error(
        "invalid value", "ColumnValueException", path=["m1"], status_code=200,
        error_data={"column_type": "status"}), data=PARTIAL), "m1", ColumnValueError, "ColumnValueException", 200),
    Case("corrected-value-exception", 200, errors(error(
        "a simple string to a column that takes none", "CorrectedValueException", path=["m1"]), data=PARTIAL),
        "m1", ColumnValueError, "CorrectedValueException", 200),
    Case("invalid-column-id", 200, errors(error(
        "This column ID doesn't exist for the board", "InvalidColumnIdException", path=["m1"]), data=PARTIAL),
        "m1", InvalidColumn, "InvalidColumnIdException", 200),
    Case("items-limitation", 200, errors(error(
        "exceeded the limit of 10,000 items per board", "ItemsLimitationException", path=["m1"]), data=PARTIAL),
        "m1", BoardFull, "ItemsLimitationException", 200),
    Case("invalid-item-id", 200, errors(error(
        "Item not found", "InvalidItemIdException", path=["m1"]), data=PARTIAL),
        "m1", NotFound, "InvalidItemIdException", 200),
    Case("alias-internal-server-error", 200, errors(error(
        "Internal server error", "INTERNAL_SERVER_ERROR", path=["m1"]), data=PARTIAL),
        "m1", ServerError, "INTERNAL_SERVER_ERROR", 200, transient=True),
    # -- application errors of the whole request, HTTP 200
    Case("parse-error", 200, errors(error("Parse error on \"}\" (RCURLY) at [1, 9]")), REQUEST,
         GraphQLRequestError, None, 200),
    Case("graphql-validation-failed", 200, errors(error("Field 'nope' doesn't exist", "GRAPHQL_VALIDATION_FAILED")),
         REQUEST, GraphQLRequestError, "GRAPHQL_VALIDATION_FAILED", 200),
    Case("invalid-board-id", 200, errors(error("Board not found", "InvalidBoardIdException")), REQUEST,
         NotFound, "InvalidBoardIdException", 200),
    Case("resource-not-found-404", 404, errors(error("User not found", "ResourceNotFoundException")), REQUEST,
         NotFound, "ResourceNotFoundException", 404),
    Case("create-board-exception", 200, errors(error("cannot create board", "CreateBoardException")), REQUEST,
         GraphQLRequestError, "CreateBoardException", 200),
    Case("invalid-version", 200, errors(error("API version not supported", "InvalidVersionException")), REQUEST,
         GraphQLRequestError, "InvalidVersionException", 200),
    Case("max-complexity-exceeded", 200, errors(error(
        "Query has complexity of 6000000, which exceeds max complexity of 5000000", "maxComplexityExceeded")),
        REQUEST, QueryTooComplex, "maxComplexityExceeded", 200),
    Case("complexity-path-is-the-request", 200, errors(error(
        "Complexity budget exhausted", "COMPLEXITY_BUDGET_EXHAUSTED", path=["complexity"], retry_in_seconds=5)),
        REQUEST, ComplexityBudgetExhausted, "COMPLEXITY_BUDGET_EXHAUSTED", 200, 5.0, transient=True),
    # -- limits: 429 in 2026, 200 with the status inside older versions, legacy top-level fields
    Case("budget-exhausted-2025-07", 429, errors(error(
        "Complexity budget exhausted", "COMPLEXITY_BUDGET_EXHAUSTED", retry_in_seconds=60)), REQUEST,
        ComplexityBudgetExhausted, "COMPLEXITY_BUDGET_EXHAUSTED", 429, 60.0, transient=True),
    Case("budget-exhausted-2025-01-inside-200", 200, errors(error(
        "Complexity budget exhausted", "COMPLEXITY_BUDGET_EXHAUSTED", complexity=6182, complexity_budget_left=100,
        complexity_budget_limit=5000000, retry_in_seconds=60, status_code=429)), REQUEST,
        ComplexityBudgetExhausted, "COMPLEXITY_BUDGET_EXHAUSTED", 429, 60.0, transient=True),
    Case("complexity-exception-legacy", 200, {
        "error_code": "ComplexityException", "status_code": 429,
        "error_message": "Complexity budget exhausted, query cost 30001 budget remaining 19986 out of 1000000 "
                         "reset in 3 seconds",
        "error_data": {}, "errors": ["Complexity budget exhausted, ..."], "account_id": 1234567890},
        REQUEST, ComplexityBudgetExhausted, "ComplexityException", 429, 3.0, transient=True),
    Case("minute-limit-legacy", 200, {"error_message": "Rate Limit Exceeded.", "status_code": 429}, REQUEST,
         RateLimited, None, 429, transient=True),
    Case("minute-limit-2026", 429, errors(error("Minute limit rate exceeded", "Minute limit rate exceeded")),
         REQUEST, RateLimited, "Minute limit rate exceeded", 429, 38.0, headers=(("Retry-After", "38"),),
         transient=True),
    Case("rate-limit-exceeded", 429, errors(error("Rate Limit Exceeded", "RATE_LIMIT_EXCEEDED",
                                                  retry_in_seconds=12)),
         REQUEST, RateLimited, "RATE_LIMIT_EXCEEDED", 429, 12.0, transient=True),
    Case("field-limit-legacy", 200, {
        "error_message": "Concurrency limit exceeded for the field", "error_code": "FIELD_LIMIT_EXCEEDED",
        "error_data": {"retry_in_seconds": 15, "entity": "boards"}, "status_code": 429},
        REQUEST, RateLimited, "FIELD_LIMIT_EXCEEDED", 429, 15.0, transient=True),
    Case("max-concurrency", 429, errors(error("Concurrency limit exceeded", "maxConcurrencyExceeded")), REQUEST,
         RateLimited, "maxConcurrencyExceeded", 429, 2.0, headers=(("Retry-After", "2"),), transient=True),
    Case("ip-rate-limit", 429, errors(error("IP rate limit exceeded", "IP_RATE_LIMIT_EXCEEDED",
                                            retry_in_seconds=10)),
         REQUEST, RateLimited, "IP_RATE_LIMIT_EXCEEDED", 429, 10.0, transient=True),
    Case("daily-limit", 429, errors(error("Daily limit exceeded", "DAILY_LIMIT_EXCEEDED", retry_in_seconds=3600)),
         REQUEST, RateLimited, "DAILY_LIMIT_EXCEEDED", 429, 3600.0, transient=True),
    Case("api-temporarily-blocked-200", 200, errors(error("API temporarily blocked", "API_TEMPORARILY_BLOCKED")),
         REQUEST, RateLimited, "API_TEMPORARILY_BLOCKED", 200, transient=True),
    Case("rate-limit-on-an-alias-is-the-request", 200, errors(error(
        "Complexity budget exhausted", "COMPLEXITY_BUDGET_EXHAUSTED", path=["m1"], retry_in_seconds=4),
        data=PARTIAL), REQUEST, ComplexityBudgetExhausted, "COMPLEXITY_BUDGET_EXHAUSTED", 200, 4.0, transient=True),
    Case("bare-429", 429, None, REQUEST, RateLimited, None, 429, 9.0, headers=(("Retry-After", "9"),),
         transient=True),
    # -- authentication and permissions
    Case("401-no-body", 401, None, REQUEST, Unauthorized, None, 401),
    Case("401-json", 401, {"errors": [{"message": "Not Authenticated"}]}, REQUEST, Unauthorized, None, 401),
    Case("user-unauthorized-403", 403, errors(error("User unauthorized to perform action",
                                                    "UserUnauthorizedException")),
         REQUEST, Unauthorized, "UserUnauthorizedException", 403),
    Case("user-access-denied-403", 403, errors(error("access denied", "USER_ACCESS_DENIED")), REQUEST,
         Unauthorized, "USER_ACCESS_DENIED", 403),
    Case("missing-permissions-200", 200, errors(error("missing scopes", "missingRequiredPermissions")), REQUEST,
         Unauthorized, "missingRequiredPermissions", 200),
    # -- server faults and locks: retried
    Case("500-internal", 500, errors(error("Internal server error", "INTERNAL_SERVER_ERROR")), REQUEST,
         ServerError, "INTERNAL_SERVER_ERROR", 500, transient=True),
    Case("502-html", 502, None, REQUEST, ServerError, None, 502, transient=True),
    Case("503-retry-after", 503, None, REQUEST, ServerError, None, 503, 4.0, headers=(("Retry-After", "4"),),
         transient=True),
    Case("423-board-locked", 423, errors(error("Resource is currently locked, please try again later")), REQUEST,
         ServerError, None, 423, transient=True),
    Case("409-idempotency-conflict", 409, errors(error("a request with this key is running",
                                                       "IDEMPOTENCY_CONFLICT")),
         REQUEST, ServerError, "IDEMPOTENCY_CONFLICT", 409, 1.0, headers=(("Retry-After", "1"),), transient=True),
    Case("200-not-json", 200, None, REQUEST, ServerError, None, 200, transient=True),
    # -- other client errors of the transport
    Case("json-parse-400", 400, errors(error("invalid JSON", "JsonParseException")), REQUEST,
         GraphQLRequestError, "JsonParseException", 400),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_monday_error_shape_becomes_its_typed_error(case: Case) -> None:
    headers = {name.lower(): value for name, value in case.headers}
    parsed = parse_response(case.status, headers, case.body)
    if case.where == REQUEST:
        found = parsed.request_error
        assert parsed.alias_errors == {}
    else:
        found = parsed.alias_errors.get(case.where)
        assert parsed.request_error is None and set(parsed.alias_errors) == {case.where}
        assert found is not None and found.path[0] == case.where
        assert parsed.data["m0"] == {"id": "1"}  # the aliases that worked keep their answers
    assert type(found) is case.type, found
    assert found.code == case.code
    assert found.status_code == case.status_code
    assert found.retry_in_seconds == case.retry_in
    assert found.message
    assert isinstance(found, TransientError) is case.transient
    assert isinstance(found, TerminalError) is not case.transient


def test_a_full_board_names_the_board_its_cap_and_what_to_do() -> None:
    named = parse_response(200, {}, errors(error("exceeded the limit of 10,000 items per board",
                                                 "ItemsLimitationException", path=["m1"], status_code=200,
                                                 error_data={"board_id": "1803846778", "limit": 10_000}),
                                           data=PARTIAL)).alias_errors["m1"]
    assert isinstance(named, BoardFull) and (named.board_id, named.limit) == ("1803846778", 10_000)
    assert named.message == ("board 1803846778 holds 10,000 items, Monday's cap: archive old lines or route new "
                             "ones to another board")
    unnamed = parse_response(200, {}, errors(error("exceeded the limit of 10,000 items per board",
                                                   "ItemsLimitationException", path=["m1"]), data=PARTIAL))
    assert unnamed.alias_errors["m1"].message.startswith("the board holds 10,000 items, Monday's cap: archive")
    legacy = parse_response(200, {}, {"error_code": "ItemsLimitationException", "status_code": 200,
                                      "error_message": "Items limit reached", "error_data": {"board_id": 7}})
    assert isinstance(legacy.request_error, BoardFull)
    assert legacy.request_error.message.startswith("board 7 is full (Items limit reached): archive old lines")


def test_a_clean_answer_has_no_error_and_reports_its_complexity() -> None:
    body = {"data": {"m0": {"id": "1"}, "complexity": {"before": 5000, "after": 4000, "query": 1000,
                                                       "reset_in_x_seconds": 30}}}
    parsed = parse_response(200, {}, body)
    assert parsed.request_error is None and parsed.alias_errors == {}
    assert parsed.data["m0"] == {"id": "1"}
    assert parsed.complexity == {"before": 5000, "after": 4000, "query": 1000, "reset_in_x_seconds": 30}


def test_several_aliases_fail_each_with_its_own_error() -> None:
    body = errors(error("bad", "ColumnValueException", path=["m0"]),
                  error("Internal server error", "INTERNAL_SERVER_ERROR", path=["m2", "id"]),
                  data={"m0": None, "m1": {"id": "2"}, "m2": None})
    parsed = parse_response(200, {}, body)
    assert parsed.request_error is None
    assert type(parsed.alias_errors["m0"]) is ColumnValueError
    assert type(parsed.alias_errors["m2"]) is ServerError and parsed.alias_errors["m2"].path == ("m2", "id")
    assert "m1" not in parsed.alias_errors


def test_with_several_request_errors_the_first_one_is_the_requests() -> None:
    body = errors(error("Internal server error", "INTERNAL_SERVER_ERROR"),
                  error("Field 'nope' doesn't exist", "GRAPHQL_VALIDATION_FAILED"))
    assert type(parse_response(200, {}, body).request_error) is ServerError
