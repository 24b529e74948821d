"""People at the board: an operator changes a column value or an item's name as one of the account's users.

`POST /operator/edit` (JSON, or the form on the board view) writes through the same `Store` method the API's
`change_multiple_column_values` calls, so the edit is checked the same way and shows everywhere a person's
edit shows on Monday: in `items_page` (the value, the item's `updated_at`), in the board's `activity_logs`
and in the webhooks of the board, attributed to the user the operator names. `GET /operator/users` lists
who can be named: the tokens' users (what API writes are attributed to) and the `members` without a token.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ordersync.emulator.errors import ApiError
from ordersync.emulator.model import Board, Item, User
from ordersync.emulator.store import Store

FORM_TYPE = "application/x-www-form-urlencoded"


class EditRefused(ValueError):
    """An edit the operator endpoint cannot make (answered 400, nothing written)."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


def member_users(names: list[str]) -> list[User]:
    """The account's users without a token, ids from 71000001 (apart from the tokens' 70000001…)."""
    return [User(id=71_000_001 + n, name=name, email=f"{'.'.join(name.lower().split()) or 'member'}@emulator.invalid",
                 created_at="2026-01-01T00:00:00Z") for n, name in enumerate(names)]


def _decoded(value: Any) -> Any:
    """A form's value is text; text that is a JSON object (`{"label": "Done"}`) is sent as that object."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def apply_edit(store: Store, edit: dict[str, Any]) -> tuple[Item, int]:
    """Write one operator edit; returns the item and the acting user's id. `edit`: `item_id`, `user_id`,
    then `column_id` + `value` (`column_id: "name"` renames) or `name`; optional `board_id` (the item's
    board, or for a subitem also its parent's board) and `create_labels_if_missing`."""
    try:
        user_id = int(edit["user_id"])
    except (KeyError, TypeError, ValueError) as error:
        raise EditRefused("user_id is required: the id of the account user who makes the edit",
                          users=sorted(store.users)) from error
    if user_id not in store.users:
        raise EditRefused(f"user {user_id} is not a user of this account", users=sorted(store.users))
    item = store.item(edit.get("item_id"))
    board_id = str(edit.get("board_id") or item.board_id)
    parent_board = store.boards[item.board_id].parent_board_id
    if board_id not in (item.board_id, parent_board):
        raise EditRefused(f"item {item.id} is not on board {board_id}", board_id=item.board_id)
    column_id = edit.get("column_id")
    if column_id and column_id != "name":
        if "value" not in edit:
            raise EditRefused("value is required with column_id")
        values = {str(column_id): _decoded(edit["value"])}
    elif "name" in edit or column_id == "name":
        values = {"name": edit["name"] if "name" in edit else edit.get("value")}
    else:
        raise EditRefused("give column_id and value, or name")
    store.change_values(item.board_id, item.id, values,
                        create_labels=str(edit.get("create_labels_if_missing", "")).lower() in ("1", "true", "on"))
    return item, user_id


def answer(store: Store, item: Item, user_id: int, column_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"item_id": item.id, "board_id": item.board_id, "name": item.name,
                            "updated_at": item.updated_at, "user_id": user_id}
    if column_id and column_id != "name":
        cell = item.values.get(column_id)
        body["column"] = {"id": column_id, "text": cell.text if cell else None, "value": cell.value if cell else None}
    return body


def edit_form(store: Store, board: Board) -> dict[str, Any]:
    """What the board view's operator form offers: the account's users and the columns one can write
    (the board's, and its subitem board's for subitems)."""
    sub_board = store.boards.get(board.subitem_board_id) if board.subitem_board_id else None
    columns = [column for b in (board, sub_board) if b for column in b.columns.values()
               if column.type not in ("subtasks", "name")]
    return {"people": list(store.users.values()), "editable_columns": columns}


class Account(Protocol):
    """What the operator needs of the emulator (app.Emulator): its data, its API users, and what follows a write."""

    store: Store
    users: dict[str, User]

    def commit(self) -> None: ...

    def record_changes(self, user_id: int) -> None: ...


class Operator:
    """The operator's endpoints of one emulator."""

    def __init__(self, emulator: Account) -> None:
        self.emulator = emulator

    async def edit(self, request: Request) -> Response:
        from_form = request.headers.get("content-type", "").startswith(FORM_TYPE)
        try:
            raw = await request.body()
            edit: Any = dict(parse_qsl(raw.decode())) if from_form else json.loads(raw or b"{}")
            if not isinstance(edit, dict):
                raise EditRefused("expected a JSON object")
            store = self.emulator.store
            item, user_id = apply_edit(store, edit)
        except EditRefused as error:
            return JSONResponse({"error": str(error), **error.details}, status_code=400)
        except ApiError as error:
            return JSONResponse({"error": error.message, **error.extensions()}, status_code=400)
        except (ValueError, UnicodeDecodeError) as error:
            return JSONResponse({"error": f"the body is not JSON: {error}"}, status_code=400)
        self.emulator.commit()
        self.emulator.record_changes(user_id)
        if from_form:
            board_id = str(edit.get("board_id") or item.board_id)
            return RedirectResponse(f"/boards/{board_id}#item-{item.id}", status_code=303)
        return JSONResponse(answer(store, item, user_id, edit.get("column_id")))

    async def users(self, request: Request) -> JSONResponse:
        with_token = {user.id for user in self.emulator.users.values()}
        return JSONResponse([{"id": user.id, "name": user.name, "email": user.email, "api": user.id in with_token}
                             for user in self.emulator.store.users.values()])
