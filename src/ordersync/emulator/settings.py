"""What an emulator instance is configured with: tokens, limits, costs, faults, storage.

Defaults are Monday's documented numbers for a Pro account (see docs/emulator.md for sources);
every number can be changed so that a benchmark can run the same limits scaled down in time
(e.g. a 2 s window with a 200,000 budget). A running server takes changes through
`PATCH /emulator/config`, validated by these same models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

DEV_TOKEN = "emulator-dev-token"
"""Accepted when no token is configured (CLI: no `--token` and no `MONDAY_API_TOKEN`)."""

ITEMS_PER_BOARD = 10_000
"""Monday's documented cap on a board's active items ("exceeded the limit of 10,000 items per board")."""

PlanName = Literal["free", "basic", "standard", "pro", "enterprise"]
CostProfile = Literal["default", "community-2021"]

# Monday's rate-limits page (2026-09): requests per minute, concurrent requests, daily calls,
# complexity per minute for a personal token. Free/trial: 1M budget; the daily figure for
# free accounts differs between sources (200 vs 1,000): we take the developer docs' 1,000.
PLANS: dict[str, dict[str, int]] = {
    "free": {"requests_per_minute": 1_000, "max_concurrent": 40, "daily_call_limit": 1_000,
             "complexity_budget": 1_000_000},
    "basic": {"requests_per_minute": 1_000, "max_concurrent": 40, "daily_call_limit": 1_000,
              "complexity_budget": 10_000_000},
    "standard": {"requests_per_minute": 1_000, "max_concurrent": 40, "daily_call_limit": 1_000,
                 "complexity_budget": 10_000_000},
    "pro": {"requests_per_minute": 2_500, "max_concurrent": 100, "daily_call_limit": 10_000,
            "complexity_budget": 10_000_000},
    "enterprise": {"requests_per_minute": 5_000, "max_concurrent": 250, "daily_call_limit": 25_000,
                   "complexity_budget": 10_000_000},
}


def token_label(token: str) -> str:
    """How the emulator names a token where it shows one (`/emulator/settings`, `/emulator/stats`): its
    first four characters, never the whole secret."""
    return f"{token[:4]}…"


class CostTable(BaseModel):
    """Complexity points charged for a document, computed before it runs (see complexity.py).

    Monday publishes no per-mutation table; its best-practice page says create_item costs
    10,000 and a 2021 community post by Monday staff gives scalar 1, object 10, mutation 30,000
    and "everything nested under subitems × 1,000". `community-2021` is that older profile.
    """

    model_config = ConfigDict(extra="forbid")

    mutation: int = Field(10_000, ge=0, description="points per root mutation field (alias)")
    mutation_overrides: dict[str, int] = Field(
        default_factory=dict, description="per-mutation points, e.g. {'create_board': 50000}"
    )
    scalar_field: int = Field(1, ge=0)
    object_field: int = Field(10, ge=0)
    default_page_limit: int = Field(25, ge=1, description="list size assumed when no ids/limit given")
    column_values_per_item: int = Field(50, ge=1, description="assumed size of column_values without ids")
    subitems_per_item: int = Field(10, ge=1, description="assumed number of subitems per item")
    columns_per_board: int = Field(50, ge=1, description="assumed size of Board.columns without ids")
    groups_per_board: int = Field(10, ge=1, description="assumed size of Board.groups without ids")
    bulk_item: int = Field(100, ge=0, description="points per item id of a bulk job (bulk_archive_items), "
                           "on top of the mutation's own cost")

    @classmethod
    def profile(cls, name: CostProfile) -> CostTable:
        if name == "community-2021":
            return cls(mutation=30_000, subitems_per_item=1_000)
        return cls()

    def mutation_cost(self, field_name: str) -> int:
        return self.mutation_overrides.get(field_name, self.mutation)


class FaultSettings(BaseModel):
    """Faults injected at random (rates in 0..1, drawn from a seeded generator) on /v2 requests.

    A request can also force one with the `X-Emulator-Fault` header, whatever the rates.
    """

    model_config = ConfigDict(extra="forbid")

    rate_limit: float = Field(0.0, ge=0, le=1, description="chance a request starts a 429 burst")
    rate_limit_burst_seconds: float = Field(1.0, gt=0, description="how long a 429 burst lasts")
    server_error: float = Field(0.0, ge=0, le=1, description="chance of a 500 before anything runs")
    board_locked: float = Field(0.0, ge=0, le=1, description="chance of a 423 before anything runs")
    unauthorized: float = Field(0.0, ge=0, le=1, description="chance of a 401 'Not Authenticated' before anything "
                                "runs (at 1.0: a token revoked)")
    lost_response: float = Field(0.0, ge=0, le=1, description="chance the response is dropped after commit")
    after_mutations: int = Field(0, ge=0, description="the rates apply only once this many mutation requests have "
                                 "gone through since the fault settings last changed (a fault in mid-run)")
    latency_ms: int = Field(0, ge=0, description="added to every /v2 request")
    bulk_job_failure: float = Field(0.0, ge=0, le=1, description="chance a bulk job (bulk_archive_items) "
                                    "ends FAILED, archiving nothing")
    refuse_item_names: list[str] = Field(default_factory=list, description="a create_item whose name holds one of "
                                         "these is refused (ColumnValueException) alone, the request's other "
                                         "aliases run: a value Monday will not take, on demand")
    webhook_drop: float = Field(0.0, ge=0, le=1, description="chance a webhook delivery is lost outright: never "
                                "sent, never retried (at 1.0: every event, while it stays set)")
    webhook_duplicate: float = Field(0.0, ge=0, le=1, description="chance a webhook delivery is sent twice, "
                                     "with the same triggerUuid")
    seed: int = 0


class EmulatorSettings(BaseModel):
    """Everything an emulator instance needs; `create_app(EmulatorSettings())` is a Pro account."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    tokens: list[str] = Field(default_factory=lambda: [DEV_TOKEN], min_length=1)
    members: list[str] = Field(default_factory=list, description="names of the account's other users, people "
                               "without a token (ids from 71000001), who edit boards through /operator/edit")
    default_api_version: str = "2026-07"
    # complexity
    complexity_budget: int = Field(10_000_000, ge=1, description="points per token per window")
    window_seconds: float = Field(60.0, gt=0, description="the sliding 'minute' of every per-minute limit")
    query_complexity_cap: int = Field(5_000_000, ge=1, description="points one request may cost")
    costs: CostTable = Field(default_factory=CostTable)
    # plan-shaped caps
    requests_per_minute: int = Field(2_500, ge=1, description="requests per token per window")
    max_concurrent: int = Field(100, ge=1, description="requests in flight per token")
    daily_call_limit: float = Field(10_000, gt=0, description="calls per token per day")
    day_seconds: float = Field(86_400, gt=0, description="length of the daily-limit day (UTC midnight at 86400)")
    mutations_per_window: int = Field(2_000, ge=1, description="root mutation fields per token per window")
    create_board_per_window: int = Field(40, ge=1, description="create_board calls per token per window")
    # data limits
    page_limit_max: int = Field(500, ge=1)
    items_ids_max: int = Field(100, ge=1)
    items_per_board_limit: int | None = Field(
        ITEMS_PER_BOARD, ge=1, description="active items a board holds before create_item and move_item_to_board "
        "are refused with ItemsLimitationException (Monday documents 10,000); None (or 0) turns the cap off"
    )
    cursor_ttl_seconds: float = Field(3_600, gt=0)
    bulk_items_max: int = Field(1_000, ge=1, description="item ids one bulk_archive_items job takes")
    bulk_job_seconds: float = Field(1.0, ge=0, description="how long a bulk job takes: PENDING for the first "
                                    "half, RUNNING for the second, then done (read when a job is looked at)")
    idempotency_ttl_seconds: float = Field(1_800, gt=0)
    # webhooks
    webhook_signing_secret: SecretStr | None = Field(None, description="the app's signing secret: when set, "
                                                     "every webhook request carries a JWT (HS256) in Authorization")
    webhook_retries: int = Field(30, ge=0, description="retries of a failed delivery, one per window_seconds "
                                 "(Monday: once a minute for 30 minutes)")
    activity_log_entries: int = Field(100_000, ge=1, description="the newest activity log entries kept, all boards "
                                      "together; older ones are forgotten (a long load must not grow the emulator "
                                      "without end)")
    # behaviour
    faults: FaultSettings = Field(default_factory=FaultSettings)
    db_path: Path | None = None
    id_seed: int = 0
    account_id: int = 23_456_789

    @field_validator("items_per_board_limit", mode="before")
    @classmethod
    def _zero_is_no_cap(cls, value: Any) -> Any:
        return None if value == 0 else value

    @field_validator("default_api_version")
    @classmethod
    def _version_shape(cls, value: str) -> str:
        from ordersync.emulator.responses import ApiVersion

        ApiVersion.parse(value)
        return value

    @classmethod
    def for_plan(cls, plan: PlanName, **overrides: Any) -> EmulatorSettings:
        """Settings with one plan's documented caps, then any explicit overrides."""
        return cls(**{**PLANS[plan], **overrides})

    def updated(self, changes: dict[str, Any]) -> EmulatorSettings:
        """A validated copy with `changes` merged in (nested models merge key by key)."""
        merged = self.model_dump()
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return EmulatorSettings.model_validate(merged)
