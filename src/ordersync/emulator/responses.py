"""Response bodies and HTTP statuses as Monday shapes them, by the request's `API-Version`.

Application errors use the 2024-10+ envelope at every version (`errors[]` with `message`,
`locations`, `path`, `extensions {code, status_code, error_data}`, plus `extensions.request_id`).
Requests refused whole (limits, auth) change shape with the version:

- 2025-07 and later: HTTP 429, `extensions {code, retry_in_seconds}` only, `Retry-After` header.
- 2025-01 to 2025-04: the budget error carries `complexity`, `complexity_budget_left`,
  `complexity_budget_limit`, `retry_in_seconds`, `status_code: 429` in its extensions and comes
  with HTTP 200 (older pages: "ComplexityException comes as HTTP 200"); other limits are 429.
- before 2025-01 (legacy): top-level `error_code` / `error_message` / `status_code` /
  `error_data` / `account_id`; the budget error is `ComplexityException` with HTTP 200.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ordersync.emulator.errors import Code, RequestRejected

_VERSION = re.compile(r"^(\d{4})-(\d{2})$")


class Era(Enum):
    LEGACY = "legacy"  # before 2025-01
    V2025_01 = "2025-01"  # 2025-01 .. 2025-04
    CURRENT = "2025-07"  # 2025-07 and later


@dataclass(frozen=True, order=True)
class ApiVersion:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> ApiVersion:
        match = _VERSION.match(text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"API version must look like YYYY-MM, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def era(self) -> Era:
        if (self.year, self.month) < (2025, 1):
            return Era.LEGACY
        if (self.year, self.month) < (2025, 7):
            return Era.V2025_01
        return Era.CURRENT

    @classmethod
    def requested(cls, text: str) -> ApiVersion:
        """The `API-Version` header: a served version (`SERVED_VERSIONS`), `current`, or a version older
        than 2025-04, still answered in its era's error shapes; any other value is refused."""
        if text.strip() == "current":
            return CURRENT_VERSION
        version = cls.parse(text)
        if version.month not in (1, 4, 7, 10) or version > SERVED_VERSIONS[-1]:
            raise ValueError(f"API version {version} does not exist; versions are quarterly, from 2025-04 "
                             f"to {SERVED_VERSIONS[-1]} here")
        return version

    @property
    def kind(self) -> str:
        """Monday's `VersionKind` of this version as of December 2026 (2026-10 current since 2026-10-26)."""
        return _KINDS.get(self, "deprecated")

    @property
    def unauthorized_code(self) -> Code:
        """Renamed from UserUnauthorizedException to USER_UNAUTHORIZED in API 2025-07."""
        return Code.USER_UNAUTHORIZED if self.era is Era.CURRENT else Code.USER_UNAUTHORIZED_LEGACY


SERVED_VERSIONS = tuple(ApiVersion(year, month) for year, month in (
    (2025, 4), (2025, 7), (2025, 10), (2026, 1), (2026, 4), (2026, 7), (2026, 10), (2027, 1)))
"""Every version `versions` lists, oldest first; docs/emulator.md says what each is served."""
CURRENT_VERSION = ApiVersion(2026, 10)
_KINDS = {ApiVersion(2027, 1): "release_candidate", CURRENT_VERSION: "current", ApiVersion(2026, 7): "maintenance",
          ApiVersion(2026, 4): "previous_maintenance", ApiVersion(2026, 1): "old_previous_maintenance"}


@dataclass
class Reply:
    """What the HTTP layer sends: status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def rejection(error: RequestRejected, version: ApiVersion, request_id: str, account_id: int) -> Reply:
    """The response for a request refused whole."""
    headers: dict[str, str] = {}
    if error.retry_in_seconds is not None:
        headers["Retry-After"] = str(error.retry_in_seconds)
    era = version.era
    is_budget = error.code is Code.COMPLEXITY_BUDGET_EXHAUSTED
    if era is Era.LEGACY and error.is_limit:
        code = Code.COMPLEXITY_LEGACY if is_budget else error.code
        message = error.message
        if is_budget:
            message = (f"Complexity budget exhausted, query cost {error.details['complexity']} budget remaining "
                       f"{error.details['complexity_budget_left']} out of {error.details['complexity_budget_limit']} "
                       f"reset in {error.retry_in_seconds} seconds")
        body = {"error_code": str(code), "status_code": 429, "error_message": message,
                "error_data": {"retry_in_seconds": error.retry_in_seconds}, "errors": [message],
                "account_id": account_id}
        return Reply(200 if is_budget else 429, body, headers)
    extensions: dict[str, Any] = {"code": str(error.code)}
    if error.retry_in_seconds is not None:
        extensions["retry_in_seconds"] = error.retry_in_seconds
    status = error.http_status
    if error.is_limit and era is Era.V2025_01:
        extensions["status_code"] = 429
        if is_budget:
            extensions.update(error.details)
            status = 200
    elif not error.is_limit:
        extensions["status_code"] = error.http_status
    body = {"errors": [{"message": error.message, "extensions": extensions}],
            "extensions": {"request_id": request_id}}
    if era is not Era.CURRENT:
        body["account_id"] = account_id
    return Reply(status, body, headers)


def graphql_reply(data: dict[str, Any] | None, errors: list[dict[str, Any]], request_id: str,
                  *, include_data: bool = True) -> Reply:
    """A GraphQL result: HTTP 200 with partial `data` and per-field `errors`, as Monday answers."""
    body: dict[str, Any] = {}
    if include_data:
        body["data"] = data
    if errors:
        body["errors"] = errors
    body["extensions"] = {"request_id": request_id}
    return Reply(200, body, {})
