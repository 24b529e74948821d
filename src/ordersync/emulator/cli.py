"""`ordersync emulator`: serve the Monday API emulator in the foreground (a thin layer over
`EmulatorSettings` and `serve`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ordersync.emulator.settings import (
    DEV_TOKEN,
    ITEMS_PER_BOARD,
    PLANS,
    CostTable,
    EmulatorSettings,
    FaultSettings,
)
from ordersync.errors import UsageError

NO_CAP_WORDS = frozenset({"0", "off", "none"})


def _items_per_board(text: str) -> int | None:
    """`--items-per-board`: a positive number, or 0 / `off` for no cap at all (explicitly)."""
    if text.strip().lower() in NO_CAP_WORDS:
        return None
    try:
        cap = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        cap = -1
    if cap < 1:
        raise UsageError(f"--items-per-board {text!r} is not a number of items",
                         hint=f"give a positive number (Monday's cap is {ITEMS_PER_BOARD:,}), or 0 / 'off' for no cap")
    return cap


def emulator_command(  # noqa: PLR0913 - one parameter per `ordersync emulator` option: Typer reads the signature
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Annotated[list[str] | None, typer.Option(
        "--token", help="Accepted API token (repeatable). Default: $MONDAY_API_TOKEN, else "
                        f"'{DEV_TOKEN}'.")] = None,
    db: Annotated[Path | None, typer.Option(help="SQLite file that keeps boards across restarts "
                                                 "(default: memory only).")] = None,
    api_version: Annotated[str, typer.Option(help="API version assumed when a request sends no "
                                                  "API-Version header.")] = "2026-07",
    plan: Annotated[str, typer.Option(help="Account plan whose caps to apply: "
                                           f"{', '.join(PLANS)}.")] = "pro",
    complexity_budget: Annotated[int | None, typer.Option(help="Complexity points per token per window "
                                                               "(plan default: 10,000,000; free 1,000,000).")] = None,
    window_seconds: Annotated[float, typer.Option(help="Length of the sliding 'minute' of every per-minute "
                                                       "limit; shrink it to run limits scaled down in time.")] = 60.0,
    query_cap: Annotated[int, typer.Option(help="Complexity one request may cost.")] = 5_000_000,
    requests_per_minute: Annotated[int | None, typer.Option(help="Requests per token per window "
                                                                 "(plan default: pro 2,500).")] = None,
    max_concurrent: Annotated[int | None, typer.Option(help="Requests in flight per token "
                                                            "(plan default: pro 100).")] = None,
    daily_limit: Annotated[float | None, typer.Option(help="Calls per token per UTC day; a limited request "
                                                           "counts 0.1 (plan default: pro 10,000).")] = None,
    mutations_per_window: Annotated[int, typer.Option(help="Root mutation fields per token per window.")] = 2_000,
    cost_profile: Annotated[str, typer.Option(help="Cost table: 'default' (10,000 per mutation) or "
                                                   "'community-2021' (30,000; subitems x1,000).")] = "default",
    mutation_cost: Annotated[int | None, typer.Option(help="Points per mutation, overriding the profile.")] = None,
    items_per_board: Annotated[str, typer.Option(help="Active items a board may hold before the next create or move "
                                                      "into it is refused with ItemsLimitationException (Monday's "
                                                      "documented cap). '0' or 'off' turns the cap off.")
                               ] = str(ITEMS_PER_BOARD),
    idempotency_ttl: Annotated[float, typer.Option(help="Seconds an Idempotency-Key response is kept.")] = 1_800,
    latency_ms: Annotated[int, typer.Option(help="Fault: milliseconds added to every /v2 request.")] = 0,
    fault_rate_limit: Annotated[float, typer.Option(help="Fault: chance (0-1) a request starts a burst of "
                                                         "429 RATE_LIMIT_EXCEEDED answers.")] = 0.0,
    fault_burst_seconds: Annotated[float, typer.Option(help="Fault: how long a 429 burst lasts.")] = 1.0,
    fault_server_error: Annotated[float, typer.Option(help="Fault: chance (0-1) of HTTP 500 before the "
                                                           "request runs.")] = 0.0,
    fault_board_locked: Annotated[float, typer.Option(help="Fault: chance (0-1) of HTTP 423 'Resource is "
                                                           "currently locked' before the request runs.")] = 0.0,
    fault_lost_response: Annotated[float, typer.Option(help="Fault: chance (0-1) that the request runs and "
                                                            "commits, then the connection drops.")] = 0.0,
    fault_unauthorized: Annotated[float, typer.Option(help="Fault: chance (0-1) of HTTP 401 'Not Authenticated' "
                                                           "before the request runs (1: a revoked token).")] = 0.0,
    fault_after_mutations: Annotated[int, typer.Option(help="Faults: the rates apply only after this many "
                                                            "mutation requests (a fault in mid-run).")] = 0,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault draws, for repeatable runs.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of generated board/item/group ids.")] = 0,
    member: Annotated[list[str] | None, typer.Option(
        "--member", help="Name of an account user without a token (repeatable), who edits boards through "
                         "POST /operator/edit; ids from 71000001.")] = None,
    webhook_signing_secret: Annotated[str | None, typer.Option(
        envvar="MONDAY_SIGNING_SECRET", show_default=False,
        help="The app's signing secret: webhook requests then carry a JWT (HS256) in Authorization.")] = None,
    webhook_retries: Annotated[int, typer.Option(help="Retries of a failed webhook delivery, one per window "
                                                      "(Monday: once a minute for 30 minutes).")] = 30,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve a local Monday.com API emulator: POST /v2 (GraphQL), board views at /boards/<id>.

    Clients send `Authorization: <token>` and optionally `API-Version: YYYY-MM` (older versions get the older error shapes).

    Fault injection: the --fault-* rates apply at random (seeded by --fault-seed); a request can also force faults with the header `X-Emulator-Fault: rate_limit|server_error|board_locked|unauthorized|lost_response|latency=<ms>` (comma-separated). A lost response means the write committed and then the connection dropped.

    Admin endpoints (no token): GET /emulator/health, GET|PATCH /emulator/config (change limits and fault rates live), POST /emulator/reset, GET /emulator/stats, GET /emulator/webhooks.

    People: POST /operator/edit changes a value or a name as one of the account's users (--member adds people without a token); the edit shows in the API, the activity log and webhooks as theirs.

    A board holds at most 10,000 active items, as on Monday (--items-per-board to change it; 0 or 'off': no cap).

    Example: ordersync emulator --port 8765 --window-seconds 2 --complexity-budget 200000
    """
    if plan not in PLANS:
        raise UsageError(f"unknown plan {plan!r}", hint=f"use one of: {', '.join(PLANS)}")
    if cost_profile not in ("default", "community-2021"):
        raise UsageError(f"unknown cost profile {cost_profile!r}", hint="use 'default' or 'community-2021'")
    items_cap = _items_per_board(items_per_board)
    tokens = token or [os.environ.get("MONDAY_API_TOKEN") or DEV_TOKEN]
    costs = CostTable.profile(cost_profile)  # type: ignore[arg-type]
    if mutation_cost is not None:
        costs = costs.model_copy(update={"mutation": mutation_cost})
    caps = {"complexity_budget": complexity_budget, "requests_per_minute": requests_per_minute,
            "max_concurrent": max_concurrent, "daily_call_limit": daily_limit}
    settings = EmulatorSettings.for_plan(
        plan,  # type: ignore[arg-type]
        tokens=tokens, db_path=db, default_api_version=api_version, window_seconds=window_seconds,
        query_complexity_cap=query_cap, mutations_per_window=mutations_per_window, costs=costs,
        items_per_board_limit=items_cap, idempotency_ttl_seconds=idempotency_ttl, id_seed=seed,
        members=member or [], webhook_signing_secret=webhook_signing_secret, webhook_retries=webhook_retries,
        faults=FaultSettings(rate_limit=fault_rate_limit, rate_limit_burst_seconds=fault_burst_seconds,
                             server_error=fault_server_error, board_locked=fault_board_locked,
                             lost_response=fault_lost_response, unauthorized=fault_unauthorized,
                             after_mutations=fault_after_mutations, latency_ms=latency_ms, seed=fault_seed),
        **{key: value for key, value in caps.items() if value is not None},
    )
    using = "the dev token" if tokens == [DEV_TOKEN] else f"{len(tokens)} token(s)"
    typer.echo(f"Monday emulator on http://{host}:{port}/v2 ({plan} plan, {using}; boards at /boards/<id>)")
    from ordersync.emulator.server import serve  # the web server's imports only when it runs

    serve(settings, host=host, port=port, log_level=log_level)
