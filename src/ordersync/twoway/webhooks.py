"""`ordersync webhooks`: Monday's webhook events received, and the board's subscriptions installed.

The receiver (`webhook_app`, served by `ordersync webhooks serve`) answers the URL challenge, verifies the
JWT Monday signs an app's webhooks with when a signing secret is set (`[monday] signing_secret_env`; the
signature does not cover the body, so nothing in the body is trusted), drops an event it has seen (by
`triggerUuid`) or one made by ordersync's own user, and takes every other event as a hint: the item is read
again through the API and recorded by `record.BoardRecorder`, exactly as `ordersync pull` records it. An
event that fails to record is answered 500, so Monday delivers it again (for 30 minutes; the scheduled
`ordersync pull` catches the rest).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ordersync.config import Config, load_signing_secret, load_token
from ordersync.engine.clients import client_for, http_for
from ordersync.engine.pipeline import Databases
from ordersync.errors import ConfigError, MondayError, NotFound, OrdersyncError
from ordersync.monday.client import MondayClient
from ordersync.serving import serve
from ordersync.twoway.pull import warehouse_for
from ordersync.twoway.record import Attribution, BoardRecorder, Recorded

log = logging.getLogger(__name__)

# What `install` subscribes the board to: changes of values and names, creates, archives and deletes, of items
# and (registered on the parent board, as Monday requires) of subitems.
EVENTS = ("change_column_value", "change_name", "create_item", "item_archived", "item_deleted",
          "change_subitem_column_value", "change_subitem_name", "create_subitem", "subitem_archived",
          "subitem_deleted")
# Payload types whose item is read again; archives and deletes leave the warehouse's history as it is.
HINTS = frozenset({"update_column_value", "update_name", "create_pulse"})
SEEN_TRIGGERS = 100_000  # how many triggerUuids the receiver remembers


def _unpadded(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify_jwt(authorization: str, secret: str, *, now: float | None = None) -> dict[str, Any] | None:
    """The claims of an HS256 JWT signed with `secret` and not expired; None otherwise."""
    parts = authorization.removeprefix("Bearer ").strip().split(".")
    if len(parts) != 3:
        return None
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        header, claims, signature = json.loads(_unpadded(parts[0])), json.loads(_unpadded(parts[1])), \
            _unpadded(parts[2])
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        return None
    if not hmac.compare_digest(signature, expected):
        return None
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires < (time.time() if now is None else now):
        return None
    return claims


class Receiver:
    """The receiver's state: one board's recorder, the client it re-reads items with, the triggers it saw."""

    def __init__(self, config: Config, *, http: httpx.AsyncClient | None = None, token: SecretStr | None = None,
                 secret: SecretStr | None = None) -> None:
        if not config.monday.board_id:
            raise ConfigError("no board to receive webhooks for: [monday] board_id is not set",
                              problems=["monday.board_id: missing"])
        self.config = config
        self.board_id = config.monday.board_id
        self.token = token or load_token(config.monday)
        self.secret = secret
        self.databases = Databases.open(config)
        self._http, self._own_http = http, http is None
        self._client: MondayClient | None = None
        self._recorder: BoardRecorder | None = None
        self.me: str | None = None
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.counts: Counter[str] = Counter()
        self._lock = asyncio.Lock()  # one event recorded at a time: a person's edits arrive in order
        self.item_columns = {column.id for column in config.columns}
        self.subitem_columns = {column.id for column in config.subitems.columns} | \
            ({config.subitems.quantity_column} if config.subitems.enabled else set())  # a person's: a conflict

    async def _ready(self) -> tuple[MondayClient, BoardRecorder]:
        if self._client is None or self._recorder is None:
            if self._http is None:
                self._http = httpx.AsyncClient(timeout=self.config.monday.timeout_seconds)
            self._client = client_for(self.config, self._http, self.token, self.databases.state)
            self.me = await self._client.me_id()
            self._recorder = BoardRecorder(self.config, self.databases.state,
                                           warehouse_for(self.config, self.databases), self.me)
        return self._client, self._recorder

    async def close(self) -> None:
        if self._own_http and self._http is not None:
            await self._http.aclose()
        self.databases.close()

    def _remember(self, trigger: str) -> None:
        if trigger:
            self.seen[trigger] = None
            while len(self.seen) > SEEN_TRIGGERS:
                self.seen.popitem(last=False)

    async def handle(self, event: Mapping[str, Any]) -> Recorded | None:
        """One event: recorded when it is news about an item of the board; None when it is not."""
        trigger = str(event.get("triggerUuid") or "")
        async with self._lock:
            if trigger and trigger in self.seen:
                self.counts["duplicates"] += 1
                return None
            client, recorder = await self._ready()
            recorded = None
            if str(event.get("userId") or "") == self.me:
                self.counts["echoes"] += 1
            elif self._is_hint(event):
                recorded = await self._read_again(client, recorder, event)
                self.counts["recorded"] += 1
            else:
                self.counts["ignored"] += 1
            self._remember(trigger)
            return recorded

    def _is_hint(self, event: Mapping[str, Any]) -> bool:
        if event.get("type") not in HINTS:
            return False
        subitem = bool(event.get("parentItemId"))
        board = str(event.get("parentItemBoardId") if subitem else event.get("boardId") or "")
        if board != self.board_id:
            return False
        if event.get("type") != "update_column_value":
            return True
        return str(event.get("columnId") or "") in (self.subitem_columns if subitem else self.item_columns)

    async def _read_again(self, client: MondayClient, recorder: BoardRecorder, event: Mapping[str, Any]) -> Recorded:
        """The event's item as the API shows it now, and its latest log entries, recorded as a pull would."""
        item_id = str(event.get("pulseId") or event.get("itemId") or "")
        raws = await client.items_by_id([item_id])
        logs = Attribution(await client.activity_logs(str(event.get("boardId")), item_ids=[item_id], page_size=50,
                                                      pages=1))
        if event.get("parentItemId") or any(raw.get("parent_item") for raw in raws):
            return recorder.record([], raws, logs, via="webhook")
        return recorder.record(raws, [], logs, via="webhook")


def webhook_app(config: Config, *, http: httpx.AsyncClient | None = None, token: SecretStr | None = None,
                secret: SecretStr | None = None) -> Starlette:
    """The receiver as an ASGI app: POST / takes Monday's requests, GET /health shows its counts."""
    receiver = Receiver(config, http=http, token=token, secret=secret or load_signing_secret(config.monday))

    async def receive(request: Request) -> JSONResponse:
        if receiver.secret is not None and verify_jwt(request.headers.get("authorization", ""),
                                                      receiver.secret.get_secret_value()) is None:
            receiver.counts["refused"] += 1
            return JSONResponse({"error": "the request is not signed with the app's signing secret"}, 401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, 400)
        if isinstance(body, dict) and "challenge" in body:
            return JSONResponse({"challenge": body["challenge"]})
        if not isinstance(body, dict) or not isinstance(body.get("event"), dict):
            return JSONResponse({"error": "no event in the body"}, 400)
        try:
            await receiver.handle(body["event"])
        except OrdersyncError as error:  # Monday delivers it again; `ordersync pull` is the backstop
            receiver.counts["failed"] += 1
            log.warning("webhook event %s not recorded: %s", body["event"].get("triggerUuid"), error.message)
            return JSONResponse({"error": error.message}, 500)
        return JSONResponse({"ok": True})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"board_id": receiver.board_id, **receiver.counts})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await receiver.close()

    app = Starlette(routes=[Route("/", receive, methods=["POST"]), Route("/health", health, methods=["GET"])],
                    lifespan=lifespan)
    app.state.receiver = receiver
    return app


def serve_webhooks(config: Config, *, host: str = "127.0.0.1", port: int = 8790,
                   on_ready: Callable[[str], None] | None = None) -> None:
    """Serve the receiver in the foreground until interrupted; `on_ready(url)` once it listens."""
    serve(webhook_app(config), host=host, port=port, on_ready=on_ready, lifespan="on")


# -- install and uninstall ------------------------------------------------------------------------------

@dataclass
class WebhookInstall:
    """What `ordersync webhooks install` / `uninstall` did on one board."""

    board_id: str
    url: str | None
    created: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"board_id": self.board_id, "url": self.url, "created": self.created, "kept": self.kept,
                "deleted": self.deleted}


def _url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


async def install_webhooks(config: Config, url: str, *, http: httpx.AsyncClient | None = None,
                           token: SecretStr | None = None) -> WebhookInstall:
    """Subscribe `url` to the board's events (`EVENTS`); subscriptions this state database made for the same URL
    and still on the board are kept, those made for another URL deleted. Monday challenges `url` first: the
    receiver must be up."""
    board_id = config.monday.board_id or ""
    result = WebhookInstall(board_id, url)
    databases = Databases.open(config)
    try:
        async with http_for(config, http) as own:
            client = client_for(config, own, token or load_token(config.monday), databases.state)
            recorded = json.loads(databases.state.webhook_subscriptions(board_id) or "{}")
            on_board = {str(hook["id"]): hook for hook in await client.webhooks(board_id)}
            mine = [on_board[hook_id] for hook_id in recorded.get("ids", []) if hook_id in on_board]
            if recorded.get("url") != _url_hash(url):
                result.deleted = await _delete(client, [str(hook["id"]) for hook in mine])
                mine = []
            result.kept = [{"id": str(hook["id"]), "event": hook["event"]} for hook in mine]
            have = {hook["event"] for hook in mine}
            for event in EVENTS:
                if event not in have:
                    made = await client.create_webhook(board_id, url, event)
                    result.created.append({"id": str(made["id"]), "event": event})
                    ids = [hook["id"] for hook in result.kept + result.created]
                    databases.state.record_webhook_subscriptions(board_id, json.dumps(
                        {"url": _url_hash(url), "ids": ids}))
    finally:
        databases.close()
    return result


async def uninstall_webhooks(config: Config, *, http: httpx.AsyncClient | None = None,
                             token: SecretStr | None = None) -> WebhookInstall:
    """Delete the board's subscriptions this state database made."""
    board_id = config.monday.board_id or ""
    result = WebhookInstall(board_id, None)
    databases = Databases.open(config)
    try:
        async with http_for(config, http) as own:
            client = client_for(config, own, token or load_token(config.monday), databases.state)
            recorded = json.loads(databases.state.webhook_subscriptions(board_id) or "{}")
            result.deleted = await _delete(client, [str(hook_id) for hook_id in recorded.get("ids", [])])
            databases.state.record_webhook_subscriptions(board_id, None)
    finally:
        databases.close()
    return result


async def _delete(client: MondayClient, webhook_ids: list[str]) -> list[str]:
    deleted = []
    for webhook_id in webhook_ids:
        try:
            await client.delete_webhook(webhook_id)
        except NotFound:
            pass  # gone already: deleted on the board, or with the board
        except MondayError as error:
            log.warning("could not delete webhook %s: %s", webhook_id, error.message)
            continue
        deleted.append(webhook_id)
    return deleted
