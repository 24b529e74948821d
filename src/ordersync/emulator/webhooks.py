"""Webhooks: `create_webhook` / `delete_webhook` / `webhooks`, and the deliveries of item events to the
registered URLs, as Monday makes them.

Registration posts `{"challenge": …}` to the URL and refuses the webhook unless the same challenge comes
back (within 5 s). Each `ItemEvent` (activity.py) that a board's subscription listens to becomes one
delivery: `{"event": {…}}` in Monday's payload shape for its type, with a `triggerUuid` that a retry or a
duplicate repeats (so a receiver can deduplicate) and `userId` naming who made the change. Deliveries are
made by a worker thread, never on the request's path; one the receiver fails (not 2xx, or no answer) is
retried once a "minute" — the emulator's `window_seconds`, so a sped-up window speeds retries up too —
`webhook_retries` times (30: Monday's half hour), then given up. With `webhook_signing_secret` set, every
request carries a JWT (HS256) in `Authorization`, as Monday signs the webhooks an app created. The faults
`webhook_drop` and `webhook_duplicate` lose a delivery outright or send it twice.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import secrets
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from graphql import GraphQLResolveInfo

from ordersync.emulator.activity import ItemEvent
from ordersync.emulator.errors import ApiError, Code, invalid_argument
from ordersync.emulator.settings import EmulatorSettings

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
"""How long the challenge and each delivery wait for the receiver (Monday: "within 5 seconds")."""
MAX_URL_LENGTH = 255

SUBITEM_EVENTS = {
    "update_column_value": "change_subitem_column_value", "update_name": "change_subitem_name",
    "create_pulse": "create_subitem", "archive_pulse": "subitem_archived", "delete_pulse": "subitem_deleted",
}
ITEM_EVENTS = {
    "update_name": "change_name", "create_pulse": "create_item", "archive_pulse": "item_archived",
    "delete_pulse": "item_deleted", "move_pulse_into_group": "item_moved_to_any_group",
}
"""An event's type → the `WebhookEventType` that hears it (column changes: see `listens_to`)."""


@dataclass(frozen=True)
class Subscription:
    """One `Webhook`: a board's event sent to a URL. For subitem events the board is the parent board."""

    id: str
    board_id: str
    event: str
    config: dict[str, Any] | None
    url: str
    user_id: int

    def listens_to(self, event: ItemEvent) -> bool:
        board_id = event.parent_board_id if event.is_subitem else event.board_id
        if board_id != self.board_id:
            return False
        config = self.config or {}
        if event.is_subitem:
            return SUBITEM_EVENTS.get(event.type) == self.event
        if event.type == "update_column_value":
            if self.event == "change_column_value":
                return True
            if self.event == "change_specific_column_value":
                return config.get("columnId") == event.column_id
            if self.event == "change_status_column_value":
                return event.column_type == "status" and config.get("columnId") in (None, event.column_id) \
                    and _status_matches(config.get("columnValue"), event.value)
            return False
        if event.type == "move_pulse_into_group" and self.event == "item_moved_to_specific_group":
            return config.get("groupId") == event.group_id
        return ITEM_EVENTS.get(event.type) == self.event

    def as_graphql(self) -> dict[str, Any]:
        return {"id": self.id, "board_id": self.board_id, "event": self.event,
                "config": json.dumps(self.config) if self.config is not None else None}


def _status_matches(wanted: Any, value: Any) -> bool:
    if not isinstance(wanted, dict) or wanted.get("$any$"):
        return True
    label = (value or {}).get("label") or {}
    return "index" not in wanted or wanted["index"] == label.get("index")


def payload(subscription: Subscription, event: ItemEvent, trigger_uuid: str) -> dict[str, Any]:
    """The `event` object Monday posts for this event type (field names and id types as in its samples)."""
    body: dict[str, Any] = {"app": "monday", "type": event.type,
                            "triggerTime": datetime.fromtimestamp(event.at, UTC).isoformat(timespec="milliseconds")
                            .replace("+00:00", "Z"),
                            "subscriptionId": int(subscription.id), "isRetry": False, "userId": event.user_id,
                            "originalTriggerUuid": None, "boardId": int(event.board_id)}
    if event.type in ("archive_pulse", "delete_pulse"):
        body.update(itemId=int(event.item_id), itemName=event.item_name)
        if event.is_subitem:
            body.update(parentBoardId=int(event.parent_board_id or 0), parentItemId=int(event.parent_item_id or 0),
                        pulseId=int(event.item_id))
    elif event.type == "move_pulse_into_group":
        body.update(pulseId=int(event.item_id), sourceGroupId=event.source_group_id, destGroupId=event.group_id,
                    destGroup={"id": event.group_id, "title": event.group_title, "color": event.group_color,
                               "is_top_group": event.is_top_group})
    elif event.type == "create_pulse":
        body.update(pulseId=int(event.item_id), pulseName=event.item_name, groupId=event.group_id,
                    groupName=event.group_title, groupColor=event.group_color, isTopGroup=event.is_top_group,
                    columnValues=event.column_values)
    elif event.type == "update_name":
        body.update(groupId=event.group_id, pulseId=int(event.item_id), value=event.value,
                    previousValue=event.previous_value)
    else:
        body.update(groupId=event.group_id, pulseId=int(event.item_id), pulseName=event.item_name,
                    columnId=event.column_id, columnType=event.hook_column_type, columnTitle=event.column_title,
                    value=event.value, previousValue=event.previous_value, changedAt=event.at,
                    isTopGroup=event.is_top_group)
    body["triggerUuid"] = trigger_uuid
    if event.is_subitem and event.type in ("create_pulse", "update_name", "update_column_value"):
        body.update(parentItemId=event.parent_item_id, parentItemBoardId=event.parent_board_id)
        if event.type == "create_pulse":
            body["itemId"] = int(event.item_id)
    return body


def signed_jwt(secret: str, claims: dict[str, Any]) -> str:
    """An HS256 JWT, as Monday puts in `Authorization` for an app's webhooks (verify with any JWT library)."""
    def segment(part: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(part, separators=(",", ":")).encode()).rstrip(b"=")

    signing_input = segment({"alg": "HS256", "typ": "JWT"}) + b"." + segment(claims)
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


@dataclass
class Delivery:
    subscription_id: str
    url: str
    event: dict[str, Any]
    user_id: int
    attempts: int = 0


@dataclass
class _Queue:
    """Deliveries by the time they are due; `generation` moves on at reset, orphaning what was queued."""

    due: list[tuple[float, int, Delivery]] = field(default_factory=list)
    generation: int = 0
    in_flight: int = 0  # taken off `due`, being attempted


class Webhooks:
    """The account's webhook subscriptions and the worker that delivers their events."""

    def __init__(self, settings: Callable[[], EmulatorSettings], *, transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self.transport = transport  # a seam: tests may deliver to an httpx.MockTransport
        self._clock = clock
        self.subscriptions: dict[str, Subscription] = {}
        self._next_id = 400_000_000
        self._queue = _Queue()
        self._ticket = itertools.count()
        self._wakeup = threading.Condition()
        self._worker: threading.Thread | None = None
        self._rng = random.Random(settings().faults.seed)
        self.counts: Counter[str] = Counter()
        self.recent: deque[dict[str, Any]] = deque(maxlen=100)

    # ------------------------------------------------------------------ subscriptions

    def create(self, board_id: str, url: str, event: str, config: dict[str, Any] | None, user_id: int) -> Subscription:
        if len(url) > MAX_URL_LENGTH:
            raise invalid_argument(f"The webhook URL is limited to {MAX_URL_LENGTH} characters", url_length=len(url))
        if event == "change_specific_column_value" and not (config or {}).get("columnId"):
            raise invalid_argument("change_specific_column_value needs config {\"columnId\": …}")
        if event == "item_moved_to_specific_group" and not (config or {}).get("groupId"):
            raise invalid_argument("item_moved_to_specific_group needs config {\"groupId\": …}")
        self._challenge(url, user_id)
        self._next_id += 1
        subscription = Subscription(str(self._next_id), board_id, event, config, url, user_id)
        self.subscriptions[subscription.id] = subscription
        return subscription

    def delete(self, webhook_id: str) -> Subscription:
        subscription = self.subscriptions.pop(str(webhook_id), None)
        if subscription is None:
            raise ApiError(Code.RESOURCE_NOT_FOUND, f"Webhook {webhook_id} not found", status_code=404,
                           error_data={"webhook_id": str(webhook_id)})
        return subscription

    def of_board(self, board_id: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.board_id == str(board_id)]

    def _challenge(self, url: str, user_id: int) -> None:
        """Monday's URL verification: the receiver must echo the challenge, or there is no webhook."""
        challenge = secrets.token_urlsafe(39)
        try:
            with self._client() as client:
                response = client.post(url, json={"challenge": challenge}, headers=self._headers(url, user_id))
            echoed = response.status_code == 200 and response.json().get("challenge") == challenge
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, AttributeError):
            echoed = False
        self._count("challenges")
        if not echoed:
            raise invalid_argument("Failed to verify the webhook URL: it did not answer the challenge",
                                   url=url)

    # ------------------------------------------------------------------ deliveries

    def publish(self, event: ItemEvent) -> None:
        """Queue one delivery per subscription that hears `event` (or lose it, or double it, by fault)."""
        faults = self._settings().faults
        for subscription in list(self.subscriptions.values()):
            if not subscription.listens_to(event):
                continue
            if faults.webhook_drop and self._rng.random() < faults.webhook_drop:
                self._count("dropped")
                continue
            body = payload(subscription, event, uuid.uuid4().hex)
            copies = 2 if faults.webhook_duplicate and self._rng.random() < faults.webhook_duplicate else 1
            if copies > 1:
                self._count("duplicated")
            for _ in range(copies):
                self._schedule(Delivery(subscription.id, subscription.url, dict(body), subscription.user_id), 0.0)

    def _count(self, *outcomes: str) -> None:
        """Counted under the lock: the request thread and the worker both count."""
        with self._wakeup:
            self.counts.update(outcomes)

    def pending(self) -> int:
        """Deliveries queued (retries included) or being attempted."""
        with self._wakeup:
            return len(self._queue.due) + self._queue.in_flight

    def reset(self) -> None:
        with self._wakeup:
            self.subscriptions.clear()
            self._queue = _Queue(generation=self._queue.generation + 1)
            self.counts.clear()
            self.recent.clear()
            self._wakeup.notify_all()

    def _schedule(self, delivery: Delivery, delay: float) -> None:
        with self._wakeup:
            heapq.heappush(self._queue.due, (self._clock() + delay, next(self._ticket), delivery))
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="emulator-webhooks", daemon=True)
                self._worker.start()
            self._wakeup.notify_all()

    def _work(self) -> None:
        """Deliver what is due, oldest first, through one client; the thread ends when nothing is left."""
        with self._client() as client:
            while True:
                with self._wakeup:
                    while True:
                        if not self._queue.due:
                            self._worker = None
                            return
                        wait = self._queue.due[0][0] - self._clock()
                        if wait <= 0:
                            delivery = heapq.heappop(self._queue.due)[2]
                            queue = self._queue
                            queue.in_flight += 1
                            break
                        self._wakeup.wait(timeout=wait)
                try:
                    self._attempt(client, delivery, queue.generation)
                except Exception:  # a bug of ours must not stop the worker: the delivery is lost, logged
                    log.exception("webhook delivery %s failed inside the emulator", delivery.event["triggerUuid"])
                finally:
                    with self._wakeup:
                        queue.in_flight -= 1

    def _attempt(self, client: httpx.Client, delivery: Delivery, generation: int) -> None:
        if delivery.subscription_id not in self.subscriptions:
            self._count("cancelled")  # deleted meanwhile: Monday sends nothing more
            return
        delivery.attempts += 1
        delivery.event["isRetry"] = delivery.attempts > 1
        status: int | str
        try:
            response = client.post(delivery.url, json={"event": delivery.event},
                                   headers=self._headers(delivery.url, delivery.user_id))
            status = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL) as error:  # no answer: a failed attempt, as a 5xx
            status = type(error).__name__
        delivered = isinstance(status, int) and 200 <= status < 300
        with self._wakeup:
            if generation != self._queue.generation:
                return
            self.recent.append({"subscription_id": delivery.subscription_id, "trigger_uuid":
                                delivery.event["triggerUuid"], "type": delivery.event["type"],
                                "attempt": delivery.attempts, "status": status})
        settings = self._settings()
        if delivered:
            self._count("delivered")
        elif delivery.attempts <= settings.webhook_retries:
            self._count("failed_attempts")
            self._schedule(delivery, settings.window_seconds)
        else:
            self._count("failed_attempts", "given_up")
            log.info("webhook %s gave up on %s after %d attempts", delivery.subscription_id,
                     delivery.event["triggerUuid"], delivery.attempts)

    def _client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport, timeout=TIMEOUT_SECONDS)

    def _headers(self, url: str, user_id: int) -> dict[str, str]:
        settings = self._settings()
        secret = settings.webhook_signing_secret
        if not secret:
            return {}
        issued = int(time.time())
        claims = {"accountId": settings.account_id, "userId": user_id, "aud": url, "iat": issued,
                  "exp": issued + 300}
        return {"Authorization": signed_jwt(secret.get_secret_value(), claims)}

    def snapshot(self) -> dict[str, Any]:
        """What `GET /emulator/webhooks` shows: subscriptions (with URLs), counts, queue, recent attempts."""
        with self._wakeup:
            counts, recent = dict(self.counts), list(self.recent)
            pending = len(self._queue.due) + self._queue.in_flight
        return {"subscriptions": [{**s.as_graphql(), "url": s.url, "user_id": s.user_id}
                                  for s in list(self.subscriptions.values())],
                "deliveries": counts, "pending": pending, "recent": recent}


# ---------------------------------------------------------------------------- GraphQL


def _hooks(info: GraphQLResolveInfo) -> Webhooks:
    hooks: Webhooks | None = info.context.webhooks
    if hooks is None:
        raise ApiError(Code.INTERNAL_SERVER_ERROR, "webhooks are not available here", status_code=500)
    return hooks


def _webhooks(_: None, info: GraphQLResolveInfo, board_id: str,
              app_webhooks_only: bool | None = None) -> list[dict[str, Any]]:
    """Every webhook of the board; `app_webhooks_only` keeps those an app made — all of them when the
    emulator signs as an app (`webhook_signing_secret`), none otherwise."""
    if app_webhooks_only and not info.context.settings.webhook_signing_secret:
        return []
    return [s.as_graphql() for s in _hooks(info).of_board(str(board_id))]


def _create_webhook(_: None, info: GraphQLResolveInfo, board_id: str, url: str, event: str,
                    config: Any = None) -> dict[str, Any]:
    board = info.context.store.board(board_id)
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except json.JSONDecodeError as error:
            raise ApiError(Code.JSON_PARSE, f"config is not valid JSON: {error.msg}", status_code=400,
                           error_data={"argument": "config"}) from error
    if config is not None and not isinstance(config, dict):
        raise invalid_argument("config must be a JSON object")
    return _hooks(info).create(board.id, url, event, config, info.context.user.id).as_graphql()


def _delete_webhook(_: None, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    return _hooks(info).delete(id).as_graphql()


WEBHOOK_RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "Query": {"webhooks": _webhooks},
    "Mutation": {"create_webhook": _create_webhook, "delete_webhook": _delete_webhook},
}
"""Merged into `resolvers.RESOLVERS`."""
