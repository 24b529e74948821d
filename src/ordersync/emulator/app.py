"""The emulator as an ASGI app: `POST /v2` (Monday's API), the board view, and admin endpoints.

A `/v2` request goes through the same gates as on Monday, in this order: API version, token,
JSON body, document parse, Idempotency-Key (mutations only: replay or 409), concurrency,
injected latency, minute and daily limits, injected faults, validation, per-query complexity
cap, complexity budget and mutation caps, execution, commit — then, for a "lost response"
fault, a dropped connection instead of the answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import FieldNode, OperationType
from graphql.execution.values import get_variable_values
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.types import Receive, Scope, Send

from ordersync.emulator import executor
from ordersync.emulator.activity import ActivityLog, events_of
from ordersync.emulator.complexity import DocumentCost, document_cost
from ordersync.emulator.errors import Code, RequestRejected
from ordersync.emulator.faults import FAULT_HEADER, FaultInjector, ResponseLost
from ordersync.emulator.idempotency import REPLAYED_HEADER, IdempotencyCache
from ordersync.emulator.jobs import Jobs
from ordersync.emulator.limits import Limiter
from ordersync.emulator.model import User
from ordersync.emulator.operator_edits import Operator, edit_form, member_users
from ordersync.emulator.pagination import CursorRegistry
from ordersync.emulator.persistence import SqliteMirror
from ordersync.emulator.resolvers import RequestContext
from ordersync.emulator.responses import ApiVersion, Reply, graphql_reply, rejection
from ordersync.emulator.settings import EmulatorSettings, token_label
from ordersync.emulator.store import Store
from ordersync.emulator.views import board_page, index_page
from ordersync.emulator.webhooks import Webhooks

log = logging.getLogger(__name__)
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
RUNTIME_FIXED = frozenset({"db_path", "id_seed"})


def users_for(tokens: list[str]) -> dict[str, User]:
    """One user per token (each token stands for one account's user), stable across restarts."""
    return {
        token: User(id=70_000_001 + n, name="Emulator User" if n == 0 else f"Emulator User {n + 1}",
                    email=f"user{n + 1}@emulator.invalid", created_at="2026-01-01T00:00:00Z")
        for n, token in enumerate(tokens)
    }


def _token(header: str | None) -> str | None:
    if not header:
        return None
    header = header.strip()
    return header[7:].strip() if header.lower().startswith("bearer ") else header


@dataclass
class _Outcome:
    """A /v2 request's answer; `ran` = it executed (so an Idempotency-Key keeps it)."""

    reply: Reply
    ran: bool = False
    lost: bool = False


class _DroppedResponse(Response):
    """Headers and half the body, then the connection breaks (the "lost response" fault)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
        raise ResponseLost()


class Emulator:
    """One emulated Monday account: its data, its limits and its faults."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.users = users_for(settings.tokens)
        self.store = Store(self.account_users(), id_seed=settings.id_seed,
                           items_per_board_limit=settings.items_per_board_limit)
        self.activity = ActivityLog(lambda: self.settings.account_id, settings.activity_log_entries)
        self.webhooks = Webhooks(lambda: self.settings)
        self.mirror = SqliteMirror(settings.db_path) if settings.db_path else None
        if self.mirror:
            self.mirror.load_into(self.store, settings.id_seed)
        self.cursors = CursorRegistry(settings.cursor_ttl_seconds)
        self.jobs = Jobs(settings.id_seed)
        self.fields_run: Counter[str] = Counter()  # root fields executed, by name (GET /emulator/stats)
        self.limiter = Limiter(lambda: self.settings)
        self.faults = FaultInjector(lambda: self.settings.faults)
        self.idempotency = IdempotencyCache(lambda: self.settings.idempotency_ttl_seconds)

    def account_users(self) -> list[User]:
        """The tokens' users, then the members without a token (who edit through /operator/edit)."""
        return [*self.users.values(), *member_users(self.settings.members)]

    def reconfigure(self, changes: dict[str, Any]) -> EmulatorSettings:
        """Change limits, costs, faults or tokens of the running emulator (not storage or ids)."""
        fixed = RUNTIME_FIXED & changes.keys()
        if fixed:
            raise ValueError(f"cannot change {', '.join(sorted(fixed))} on a running emulator")
        self.settings = self.settings.updated(changes)
        self.users = users_for(self.settings.tokens)
        self.store.users = {user.id: user for user in self.account_users()}
        self.store.items_per_board_limit = self.settings.items_per_board_limit
        self.cursors.ttl_seconds = self.settings.cursor_ttl_seconds
        return self.settings

    def reset(self) -> None:
        """Forget every board, item, counter, cursor and kept response (and the SQLite copy)."""
        self.store = Store(self.account_users(), id_seed=self.settings.id_seed,
                           items_per_board_limit=self.settings.items_per_board_limit)
        self.activity.clear()
        self.webhooks.reset()
        if self.mirror:
            self.mirror.clear()
        self.cursors.walks.clear()
        self.jobs.reset()
        self.fields_run.clear()
        self.limiter.reset()
        self.idempotency.reset()
        self.faults.reseed()

    def commit(self) -> None:
        if self.mirror:
            self.mirror.flush(self.store)
        else:
            self.store.dirty_boards.clear()
            self.store.dirty_items.clear()

    def record_changes(self, user_id: int) -> None:
        """What the store journaled, attributed to `user_id`: into the activity log and out to webhooks."""
        journal, self.store.journal = self.store.journal, []
        for event in events_of(journal, self.store.items, self.store.boards, user_id):
            self.activity.add(event)
            self.webhooks.publish(event)

    # ------------------------------------------------------------------ POST /v2

    async def graphql(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            version = ApiVersion.requested(request.headers.get("API-Version") or self.settings.default_api_version)
        except ValueError as error:
            rejected = RequestRejected(Code.INVALID_VERSION, str(error), http_status=200)
            return self._send(rejection(rejected, ApiVersion.parse(self.settings.default_api_version),
                                        request_id, self.settings.account_id), request_id)
        token = _token(request.headers.get("Authorization"))
        if token is None or token not in self.users:
            rejected = RequestRejected(version.unauthorized_code, "Not Authenticated", http_status=401)
            return self._send(rejection(rejected, version, request_id, self.settings.account_id), request_id)
        try:
            payload = json.loads(await request.body())
            query, variables, operation_name = _request_parts(payload)
        except (ValueError, TypeError) as error:
            code = Code.JSON_PARSE if isinstance(error, json.JSONDecodeError) else Code.BAD_REQUEST
            rejected = RequestRejected(code, str(error) or "Bad request", http_status=400)
            return self._send(rejection(rejected, version, request_id, self.settings.account_id), request_id, token)

        parsed = executor.parse_document(query, executor.schema_edition(version))
        operation = parsed.operation(operation_name)
        is_mutation = operation is not None and operation.operation == OperationType.MUTATION
        key = request.headers.get("Idempotency-Key") if is_mutation else None
        if key:
            stored = self.idempotency.lookup(token, key)
            if stored is not None:
                response = Response(stored.body, stored.status, media_type="application/json")
                response.headers[REPLAYED_HEADER] = "true"
                response.headers.update(self.limiter.headers(token))
                return response
            if self.idempotency.is_running(token, key):
                rejected = RequestRejected(Code.IDEMPOTENCY_CONFLICT,
                                           "A request with this Idempotency-Key is still being processed",
                                           http_status=409, retry_in_seconds=1)
                return self._send(rejection(rejected, version, request_id, self.settings.account_id),
                                  request_id, token)
            self.idempotency.start(token, key)
        kept: tuple[int, bytes] | None = None
        try:
            outcome = await self._run(request, token, version, request_id, parsed, operation, variables,
                                      operation_name)
            body = json.dumps(outcome.reply.body, ensure_ascii=False).encode()
            if outcome.ran:
                kept = (outcome.reply.status, body)
            return self._send(outcome.reply, request_id, token, body=body, lost=outcome.lost)
        finally:
            if key:
                self.idempotency.finish(token, key, *(kept or (None, None)))

    async def _run(self, request: Request, token: str, version: ApiVersion, request_id: str,
                   parsed: executor.ParsedDocument, operation: Any, variables: dict[str, Any],
                   operation_name: str | None) -> _Outcome:
        """Hold one of the token's concurrent slots while the request passes the gates and runs;
        the rate-limit headers are taken while it still holds the slot, as Monday reports them."""
        try:
            self.limiter.enter(token)
        except RequestRejected as error:
            self.limiter.count_limited(token)
            return _Outcome(rejection(error, version, request_id, self.settings.account_id))
        try:
            try:
                outcome = await self._admit_and_execute(request, token, version, request_id, parsed, operation,
                                                        variables, operation_name)
            except Exception:  # a bug of ours: Monday's 500 with its error body, never a bare one
                log.exception("request %s failed inside the emulator", request_id)
                failed = RequestRejected(Code.INTERNAL_SERVER_ERROR, "Internal server error", http_status=500)
                outcome = _Outcome(rejection(failed, version, request_id, self.settings.account_id))
            outcome.reply.headers.update(self.limiter.headers(token))
            return outcome
        finally:
            self.limiter.leave(token)

    async def _admit_and_execute(self, request: Request, token: str, version: ApiVersion, request_id: str,
                                 parsed: executor.ParsedDocument, operation: Any, variables: dict[str, Any],
                                 operation_name: str | None) -> _Outcome:
        settings = self.settings
        try:
            is_mutation = operation is not None and operation.operation == OperationType.MUTATION
            plan = self.faults.plan(token, request.headers.get(FAULT_HEADER), mutation=is_mutation)
        except ValueError as error:
            rejected = RequestRejected(Code.BAD_REQUEST, f"{FAULT_HEADER}: {error}", http_status=400)
            return _Outcome(rejection(rejected, version, request_id, settings.account_id))
        if plan.latency_ms:
            await asyncio.sleep(plan.latency_ms / 1000)
        try:
            self.limiter.admit(token)
        except RequestRejected as error:
            self.limiter.count_limited(token)
            return _Outcome(rejection(error, version, request_id, settings.account_id))
        injected = plan.rejection(version.unauthorized_code)
        if injected is not None:
            if injected.is_limit:
                self.limiter.discount(token)
            return _Outcome(rejection(injected, version, request_id, settings.account_id))
        checked = _checked_cost(parsed, operation, operation_name, variables, settings, request_id)
        if isinstance(checked, _Outcome):
            return checked
        try:
            charge = self.limiter.charge(token, checked)
        except RequestRejected as error:
            self.limiter.discount(token)
            return _Outcome(rejection(error, version, request_id, settings.account_id))
        if checked.only_complexity:
            self.limiter.discount(token)
        self.jobs.run_due(self.store, settings.bulk_job_seconds)  # jobs whose time came run before this request
        context = RequestContext(store=self.store, cursors=self.cursors, settings=settings,
                                 user=self.users[token], version=version,
                                 base_url=str(request.base_url).rstrip("/"), jobs=self.jobs, charge=charge,
                                 job_failure=plan.job_failure, webhooks=self.webhooks, activity=self.activity)
        self.fields_run.update(node.name.value for node in operation.selection_set.selections
                               if isinstance(node, FieldNode) and node.name.value != "complexity")
        data, errors = executor.run(parsed.document, context, variables, operation_name)  # type: ignore[arg-type]
        self.commit()
        self.record_changes(context.user.id)
        return _Outcome(graphql_reply(data, errors, request_id), ran=True, lost=plan.lost_response)

    def _send(self, reply: Reply, request_id: str, token: str | None = None, *, body: bytes | None = None,
              lost: bool = False) -> Response:
        headers = dict(reply.headers)
        headers["X-Request-Id"] = request_id
        if token is not None:
            for name, value in self.limiter.headers(token).items():
                headers.setdefault(name, value)
        content = body if body is not None else json.dumps(reply.body, ensure_ascii=False).encode()
        response_class = _DroppedResponse if lost else Response
        return response_class(content, reply.status, headers=headers, media_type="application/json")

    # ------------------------------------------------------------------ pages and admin

    async def index(self, request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "index.html", index_page(self.store, self.settings))

    async def board(self, request: Request) -> Response:
        board = self.store.boards.get(request.path_params["board_id"])
        if board is None:
            return HTMLResponse("<h1>No such board</h1>", status_code=404)
        page = board_page(self.store, board, request.query_params.get("group"),
                          show_subitems=request.query_params.get("subitems") != "0")
        page.update(edit_form(self.store, board))
        return TEMPLATES.TemplateResponse(request, "board.html", page)

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "boards": len(self.store.boards), "items": len(self.store.items)})

    async def config(self, request: Request) -> JSONResponse:
        if request.method == "PATCH":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object of settings to change")
                self.reconfigure(changes)
            except ValidationError as error:
                return JSONResponse({"error": "invalid settings", "details": json.loads(error.json())},
                                    status_code=400)
            except ValueError as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        shown = self.settings.model_dump(mode="json")
        shown["tokens"] = [token_label(token) for token in self.settings.tokens]
        return JSONResponse(shown)

    async def webhooks_endpoint(self, request: Request) -> JSONResponse:
        return JSONResponse(self.webhooks.snapshot())

    async def reset_endpoint(self, request: Request) -> JSONResponse:
        self.reset()
        return JSONResponse({"status": "reset"})

    async def stats(self, request: Request) -> JSONResponse:
        usage = {token_label(token): self.limiter.snapshot(token) for token in self.settings.tokens}
        return JSONResponse({"boards": len(self.store.boards), "items": len(self.store.items), "usage": usage,
                             "fields": dict(self.fields_run), "jobs": self.jobs.counts()})


def _checked_cost(parsed: executor.ParsedDocument, operation: Any, operation_name: str | None,
                  variables: dict[str, Any], settings: EmulatorSettings, request_id: str) -> DocumentCost | _Outcome:
    """The document's cost, or the answer refusing it: invalid, ambiguous, bad variables, too costly."""
    if parsed.errors:
        return _Outcome(graphql_reply(None, list(parsed.errors), request_id, include_data=False))
    if operation is None:
        message = (f"Unknown operation named '{operation_name}'" if operation_name
                   else "Must provide operation name if query contains multiple operations")
        error = {"message": message, "extensions": {"code": str(Code.VALIDATION_FAILED)}}
        return _Outcome(graphql_reply(None, [error], request_id, include_data=False))
    schema = executor.emulator_schema(parsed.edition)
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        errors = [executor.format_error(error, during_execution=False) for error in coerced]
        return _Outcome(graphql_reply(None, errors, request_id, include_data=False))
    cost = document_cost(schema, parsed.document, operation, coerced, settings.costs)  # type: ignore[arg-type]
    # On Monday the cap (5M) is below the budget (10M); with limits scaled down a request costing
    # more than the whole budget could never run, so it is refused here instead of waiting forever.
    cap = min(settings.query_complexity_cap, settings.complexity_budget)
    if cost.points > cap:
        error = {"message": f"Query has complexity of {cost.points}, which exceeds max complexity of {cap}",
                 "extensions": {"code": str(Code.MAX_COMPLEXITY_EXCEEDED), "status_code": 200,
                                "error_data": {"complexity": cost.points, "max_complexity": cap}}}
        return _Outcome(graphql_reply(None, [error], request_id, include_data=False))
    return cost


def _request_parts(payload: Any) -> tuple[str, dict[str, Any], str | None]:
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        raise TypeError("No query string was present")
    variables = payload.get("variables") or {}
    if isinstance(variables, str):
        variables = json.loads(variables)
    if not isinstance(variables, dict):
        raise TypeError("variables must be a JSON object")
    return payload["query"], variables, payload.get("operationName")


def create_app(settings: EmulatorSettings | None = None) -> Starlette:
    """The emulator's ASGI app; `app.state.emulator` is the `Emulator` behind it."""
    emulator = Emulator(settings or EmulatorSettings())
    operator = Operator(emulator)
    app = Starlette(routes=[
        Route("/", emulator.index, methods=["GET"]),
        Route("/v2", emulator.graphql, methods=["POST"]),
        Route("/boards/{board_id}", emulator.board, methods=["GET"]),
        Route("/emulator/health", emulator.health, methods=["GET"]),
        Route("/emulator/config", emulator.config, methods=["GET", "PATCH"]),
        Route("/emulator/reset", emulator.reset_endpoint, methods=["POST"]),
        Route("/emulator/stats", emulator.stats, methods=["GET"]),
        Route("/emulator/webhooks", emulator.webhooks_endpoint, methods=["GET"]),
        Route("/operator/edit", operator.edit, methods=["POST"]),
        Route("/operator/users", operator.users, methods=["GET"]),
    ])
    app.state.emulator = emulator
    return app
