"""What the account's fields return: users' profiles, teams, the account, workspaces, tags, updates,
board and item fields that read them, and `versions`. Merged into `resolvers.RESOLVERS`.

A user of the emulator is one token's user (settings.tokens): all of them are active members of one
account (`settings.account_id`) and of its one team; the first is the account's admin.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from graphql import GraphQLResolveInfo

from ordersync.emulator.account import MAIN_WORKSPACE_ID, TEAM_ID, TEAM_NAME, Tag, Team, Update, Workspace
from ordersync.emulator.errors import invalid_argument
from ordersync.emulator.model import ACTIVE, Board, Group, Item, User
from ordersync.emulator.responses import SERVED_VERSIONS, ApiVersion
from ordersync.emulator.settings import EmulatorSettings
from ordersync.emulator.store import Store


class _Context(Protocol):
    """What these fields read of `resolvers.RequestContext` (imported from there, it would close a cycle)."""

    store: Store
    settings: EmulatorSettings
    user: User
    base_url: str


def _ctx(info: GraphQLResolveInfo) -> _Context:
    context: _Context = info.context
    return context


def _page(rows: list[Any], limit: int | None, page: int | None) -> list[Any]:
    if limit is None:
        return rows
    start = (max(page or 1, 1) - 1) * limit
    return rows[start:start + limit]


# ---------------------------------------------------------------------------- users, teams, account


def _users_of(info: GraphQLResolveInfo) -> list[User]:
    return sorted(_ctx(info).store.users.values(), key=lambda u: u.id)


def _is_admin(user: User, info: GraphQLResolveInfo) -> bool:
    return user.id == _users_of(info)[0].id


def _team(info: GraphQLResolveInfo) -> Team:
    users = _users_of(info)
    return Team(TEAM_ID, TEAM_NAME, [u.id for u in users])


def filter_users(users: list[User], *, ids: list[str] | None = None, name: str | None = None,
                 emails: list[str] | None = None, kind: str | None = None, non_active: bool | None = None,
                 newest_first: bool | None = None, limit: int | None = None, page: int | None = None) -> list[User]:
    """`users(…)` and `Team.users(…)`: every user is an active, non-guest member, so `kind` keeps them all
    but `guests`, and `non_active: true` finds nobody. `name` matches a part of the name, any case."""
    found = list(users)
    if ids is not None:
        found = [u for u in found if str(u.id) in set(ids)]
    if name:
        found = [u for u in found if name.casefold() in u.name.casefold()]
    if emails is not None:
        wanted = {e.casefold() for e in emails if e}
        found = [u for u in found if u.email.casefold() in wanted]
    if kind == "guests" or non_active:
        found = []
    if newest_first:
        found.sort(key=lambda u: (u.created_at, u.id), reverse=True)
    return _page(found, limit, page)


def _users(_: None, info: GraphQLResolveInfo, limit: int = 200, page: int = 1, **filters: Any) -> list[User]:
    if not 1 <= limit <= 1000:
        raise invalid_argument("users(limit:) must be between 1 and 1000", limit=limit)
    return filter_users(_users_of(info), limit=limit, page=page, **filters)


def _user_teams(user: User, info: GraphQLResolveInfo, ids: list[str] | None = None) -> list[Team]:
    team = _team(info)
    return [team] if user.id in team.user_ids and (ids is None or team.id in ids) else []


def _account(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    ctx = _ctx(info)
    return {"id": str(ctx.settings.account_id), "name": "Emulator Account", "slug": "emulator",
            "country_code": "US", "created_at": "2026-01-01T00:00:00Z", "first_day_of_the_week": "monday",
            "show_timeline_weekends": True, "active_members_count": len(ctx.store.users), "tier": None,
            "logo": None, "is_during_trial": False, "is_trial_expired": False}


def _constant(value: Any) -> Callable[[Any, GraphQLResolveInfo], Any]:
    return lambda obj, info: value


USER_FIELDS: dict[str, Callable[..., Any]] = {
    "account": _account,
    "account_id": lambda user, info: str(_ctx(info).settings.account_id),
    "became_active_at": lambda user, info: user.created_at,
    "join_date": lambda user, info: user.created_at[:10],
    "enabled": _constant(True), "status": _constant("ACTIVE"), "is_deleted": _constant(False),
    "is_pending": _constant(False), "is_guest": _constant(False), "is_view_only": _constant(False),
    "is_verified": _constant(True), "is_email_confirmed": _constant(True),
    "is_admin": _is_admin,
    "kind": lambda user, info: "admin" if _is_admin(user, info) else "member",
    "teams": _user_teams,
    "title": _constant(""),
    "url": lambda user, info: f"{_ctx(info).base_url}/users/{user.id}",
    "time_zone_identifier": _constant("Etc/UTC"), "utc_hours_diff": _constant(0.0),
    "current_language": _constant("en"), "country_code": _constant("US"),
    **{name: _constant(None) for name in ("birthday", "last_activity", "location", "mobile_phone", "phone",
                                           "photo_original", "photo_small", "photo_thumb", "photo_thumb_small",
                                           "photo_tiny")},
}
"""User fields beyond the stored id, name, email and created_at: what a fresh active member shows."""


def _teams(_: None, info: GraphQLResolveInfo, ids: list[str] | None = None) -> list[Team]:
    team = _team(info)
    return [team] if ids is None or team.id in ids else []


def _team_users(team: Team, info: GraphQLResolveInfo, **filters: Any) -> list[User]:
    return filter_users([u for u in _users_of(info) if u.id in team.user_ids], **filters)


def _team_owners(team: Team, info: GraphQLResolveInfo, ids: list[str] | None = None) -> list[User]:
    owners = [u for u in _users_of(info) if u.id == team.user_ids[0]]
    return [u for u in owners if ids is None or str(u.id) in ids]


# ---------------------------------------------------------------------------- workspaces, tags


def _workspaces(_: None, info: GraphQLResolveInfo, ids: list[str] | None = None, kind: str | None = None,
                limit: int = 25, page: int = 1, state: str = "active") -> list[Workspace]:
    found = list(_ctx(info).store.records.workspaces.values())
    found = [w for w in found if (ids is None or w.id in ids) and kind in (None, w.kind)
             and state in ("all", w.state)]
    return _page(found, limit, page)


def _create_workspace(_: None, info: GraphQLResolveInfo, name: str, kind: str,
                      description: str | None = None) -> Workspace:
    return _ctx(info).store.records.create_workspace(name, kind, description)


def _board_workspace(board: Board, info: GraphQLResolveInfo) -> Workspace | None:
    """Null for the main workspace, as Monday documents."""
    return _ctx(info).store.records.workspaces.get(board.workspace_id) if board.workspace_id else None


def board_workspace_matches(board: Board, workspace_ids: list[str | None]) -> bool:
    """`boards(workspace_ids:)`: a board of the main workspace matches the main workspace's id."""
    return (board.workspace_id or MAIN_WORKSPACE_ID) in {str(w) for w in workspace_ids if w is not None}


def _tags(_: None, info: GraphQLResolveInfo, ids: list[str] | None = None) -> list[Tag]:
    tags = list(_ctx(info).store.records.tags.values())
    return [t for t in tags if ids is None or t.id in ids]


def _create_or_get_tag(_: None, info: GraphQLResolveInfo, tag_name: str | None = None,
                       board_id: str | None = None) -> Tag:
    if board_id is not None:
        _ctx(info).store.board(board_id)
    return _ctx(info).store.records.tag(tag_name or "")


def _value_tag_ids(view: Any, info: GraphQLResolveInfo) -> list[int]:
    """`TagsValue.tag_ids` of a tags cell (`resolvers.ColumnValueView`)."""
    stored = json.loads(view.value) if view.value else {}
    return [int(tag_id) for tag_id in stored.get("tag_ids") or ()] if isinstance(stored, dict) else []


def _value_tags(view: Any, info: GraphQLResolveInfo) -> list[Tag]:
    tags = _ctx(info).store.records.tags
    return [tags[str(tag_id)] for tag_id in _value_tag_ids(view, info) if str(tag_id) in tags]


def _linked_items(view: Any, info: GraphQLResolveInfo) -> list[Item]:
    """`DependencyValue.linked_items`: the linked items that still exist (`resolvers.ColumnValueView`)."""
    items = _ctx(info).store.items
    found = (items.get(item_id) for item_id in view.linked_item_ids)
    return [item for item in found if item is not None and item.state == ACTIVE]


def _board_tags(board: Board, info: GraphQLResolveInfo) -> list[Tag]:
    """The tags the board's items carry in its tags columns (`{"tag_ids": [...]}`), in tag id order."""
    store = _ctx(info).store
    tag_columns = [c.id for c in board.columns.values() if c.type == "tags"]
    ids: set[str] = set()
    for item in store.active_items(board):
        for column_id in tag_columns:
            cell = item.values.get(column_id)
            stored = json.loads(cell.value) if cell and cell.value else {}
            if isinstance(stored, dict):
                ids.update(str(tag_id) for tag_id in stored.get("tag_ids") or ())
    tags = store.records.tags
    return [tags[i] for i in sorted(ids, key=int) if i in tags]


# ---------------------------------------------------------------------------- updates


def _create_update(_: None, info: GraphQLResolveInfo, body: str, item_id: str | None = None,
                   parent_id: str | None = None) -> Update:
    ctx = _ctx(info)
    if parent_id is None:
        if item_id is None:
            raise invalid_argument("create_update needs item_id, or parent_id for a reply")
        item_id = ctx.store.item(item_id).id
    return ctx.store.records.post(item_id or "", ctx.user, body, parent_id=parent_id)


def _edit_update(_: None, info: GraphQLResolveInfo, id: str, body: str) -> Update:
    return _ctx(info).store.records.edit(id, body)


def _delete_update(_: None, info: GraphQLResolveInfo, id: str) -> Update:
    return _ctx(info).store.records.delete(id)


def _listed_updates(updates: list[Update], ids: list[str] | None, limit: int, page: int) -> list[Update]:
    if ids is not None:
        updates = [u for u in updates if u.id in ids]
    return _page(updates, limit, page)


def _updates(_: None, info: GraphQLResolveInfo, limit: int = 25, page: int = 1,
             ids: list[str] | None = None) -> list[Update]:
    return _listed_updates(_ctx(info).store.records.posts(), ids, limit, page)


def _item_updates(item: Item, info: GraphQLResolveInfo, limit: int = 25, page: int = 1,
                  ids: list[str] | None = None) -> list[Update]:
    return _listed_updates(_ctx(info).store.records.posts({item.id}), ids, limit, page)


def _board_updates(board: Board, info: GraphQLResolveInfo, limit: int = 25, page: int = 1,
                   ids: list[str] | None = None) -> list[Update]:
    store = _ctx(info).store
    return _listed_updates(store.records.posts(set(board.item_ids)), ids, limit, page)


def _update_creator(update: Update, info: GraphQLResolveInfo) -> User | None:
    return _ctx(info).store.users.get(update.creator_id)


def _update_item(update: Update, info: GraphQLResolveInfo) -> Item | None:
    item = _ctx(info).store.items.get(update.item_id)
    return item if item is not None and item.state == ACTIVE else None


UPDATE_FIELDS: dict[str, Callable[..., Any]] = {
    "creator": _update_creator, "creator_id": lambda update, info: str(update.creator_id),
    "assets": _constant([]),  # no file is ever attached: the emulator has no file upload
}


# ---------------------------------------------------------------------------- duplicate_group, versions


def _duplicate_group(_: None, info: GraphQLResolveInfo, board_id: str, group_id: str,
                     group_title: str | None = None, add_to_top: bool | None = None) -> Group:
    return _ctx(info).store.duplicate_group(board_id, group_id, title=group_title, add_to_top=bool(add_to_top))


def _versions(_: None, info: GraphQLResolveInfo) -> list[dict[str, str]]:
    return [version_of(version) for version in SERVED_VERSIONS]


def version_of(version: ApiVersion) -> dict[str, str]:
    kind = version.kind
    return {"value": str(version), "kind": kind, "display_name": kind.replace("_", " ").title()}


ACCOUNT_RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "Query": {"account": _account, "tags": _tags, "teams": _teams, "updates": _updates, "users": _users,
              "versions": _versions, "workspaces": _workspaces},
    "Mutation": {"create_or_get_tag": _create_or_get_tag, "create_update": _create_update,
                 "create_workspace": _create_workspace, "delete_update": _delete_update,
                 "duplicate_group": _duplicate_group, "edit_update": _edit_update},
    "Board": {"permissions": _constant("everyone"), "tags": _board_tags, "updates": _board_updates,
              "workspace": _board_workspace},
    "Item": {"updates": _item_updates,
             "creator": lambda item, info: _ctx(info).store.users.get(int(item.creator_id))},
    "User": USER_FIELDS,
    "Team": {"users": _team_users, "owners": _team_owners},
    "Update": {**UPDATE_FIELDS, "item": _update_item,
               "replies": lambda update, info: _ctx(info).store.records.replies(update)},
    "Reply": {**UPDATE_FIELDS, "kind": _constant("text")},
    "TagsValue": {"tag_ids": _value_tag_ids, "tags": _value_tags},
    "DependencyValue": {"linked_items": _linked_items, "value": _constant(None)},
}
"""The account's fields, merged into `resolvers.RESOLVERS`."""
