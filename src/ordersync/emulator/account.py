"""What an account holds beside its boards: workspaces, tags, teams, and the updates people post on items.

`Store.records` is one `AccountRecords`; `account_fields.py` answers the GraphQL fields that read and
change it. Ids only grow and come from fixed starting points, so the same requests give the same ids.
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ordersync.emulator.errors import ApiError, Code, invalid_argument
from ordersync.emulator.model import ACTIVE, User, now_iso

MAIN_WORKSPACE_ID = "1000001"
"""The account's main workspace. Boards created without `workspace_id` live in it, and Monday reports
them with `workspace_id: null` and `workspace: null` ("null for main workspace", its SDL)."""
TEAM_ID = "900001"
TEAM_NAME = "Emulator Team"
TAG_COLORS = ("#579bfc", "#00c875", "#fdab3d", "#e2445c", "#a25ddc", "#037f4c", "#ffcb00", "#9cd326")
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Workspace:
    id: str
    name: str
    kind: str
    created_at: str
    description: str | None = None
    state: str = ACTIVE

    @property
    def is_default_workspace(self) -> bool:
        return self.id == MAIN_WORKSPACE_ID


@dataclass(frozen=True)
class Tag:
    id: str
    name: str
    color: str


@dataclass
class Team:
    """The account's one team: every user of the emulator (one per token) is in it, the first owns it."""

    id: str
    name: str
    user_ids: list[int]
    is_guest: bool = False
    picture_url: str | None = None


@dataclass
class Update:
    """A post on an item (`parent_id` None) or a reply to one. `body` is kept as sent (Monday keeps HTML)."""

    id: str
    item_id: str
    creator_id: int
    body: str
    created_at: str
    updated_at: str
    parent_id: str | None = None
    reply_ids: list[str] = field(default_factory=list)

    @property
    def text_body(self) -> str:
        return html.unescape(_TAG.sub("", self.body))

    @property
    def edited_at(self) -> str:
        return self.updated_at


class AccountRecords:
    """Workspaces, tags and updates of one emulated account. `dirty` says a change waits for
    persistence.py, which keeps them all as one JSON document (`as_json` / `from_json`)."""

    def __init__(self) -> None:
        self.workspaces: dict[str, Workspace] = {
            MAIN_WORKSPACE_ID: Workspace(MAIN_WORKSPACE_ID, "Main workspace", "open", "2026-01-01T00:00:00Z")}
        self.tags: dict[str, Tag] = {}
        self.updates: dict[str, Update] = {}
        self._next_workspace = int(MAIN_WORKSPACE_ID)
        self._next_tag = 19_000_000
        self._next_update = 4_100_000_000
        self.dirty = False

    def as_json(self) -> dict[str, Any]:
        return {"workspaces": [asdict(w) for w in self.workspaces.values()],
                "tags": [asdict(t) for t in self.tags.values()],
                "updates": [asdict(u) for u in self.updates.values()],
                "next": [self._next_workspace, self._next_tag, self._next_update]}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> AccountRecords:
        records = cls()
        records.workspaces = {w["id"]: Workspace(**w) for w in body["workspaces"]}
        records.tags = {t["id"]: Tag(**t) for t in body["tags"]}
        records.updates = {u["id"]: Update(**u) for u in body["updates"]}
        records._next_workspace, records._next_tag, records._next_update = body["next"]
        return records

    # ------------------------------------------------------------------ workspaces

    def create_workspace(self, name: str, kind: str, description: str | None) -> Workspace:
        if not name.strip():
            raise invalid_argument("Workspace name must not be empty")
        self._next_workspace += 1
        workspace = Workspace(str(self._next_workspace), name, kind, now_iso(), description)
        self.workspaces[workspace.id] = workspace
        self.dirty = True
        return workspace

    def check_workspace(self, workspace_id: str | None) -> str | None:
        """A board's `workspace_id` as stored: None for the main workspace; an unknown id is refused."""
        if workspace_id is None or str(workspace_id) == MAIN_WORKSPACE_ID:
            return None
        if str(workspace_id) not in self.workspaces:
            raise invalid_argument("Workspace not found", workspace_id=str(workspace_id))
        return str(workspace_id)

    # ------------------------------------------------------------------ tags

    def tag(self, name: str) -> Tag:
        """`create_or_get_tag`: the account's tag of that name, made on first use."""
        name = name.strip()
        if not name:
            raise invalid_argument("Tag name must not be empty")
        found = next((tag for tag in self.tags.values() if tag.name == name), None)
        if found is None:
            self._next_tag += 1
            found = Tag(str(self._next_tag), name, TAG_COLORS[len(self.tags) % len(TAG_COLORS)])
            self.tags[found.id] = found
            self.dirty = True
        return found

    # ------------------------------------------------------------------ updates

    def post(self, item_id: str, creator: User, body: str, parent_id: str | None = None) -> Update:
        """A new update on `item_id`, or a reply to update `parent_id` (on that update's item)."""
        if not body.strip():
            raise invalid_argument("Update body must not be empty")
        parent = self.update(parent_id) if parent_id is not None else None
        if parent is not None and parent.parent_id is not None:
            raise invalid_argument("A reply cannot be replied to", parent_id=parent.id)
        self._next_update += 1
        stamp = now_iso()
        update = Update(str(self._next_update), parent.item_id if parent else item_id, creator.id, body,
                        stamp, stamp, parent_id=parent.id if parent else None)
        self.updates[update.id] = update
        if parent is not None:
            parent.reply_ids.append(update.id)
        self.dirty = True
        return update

    def update(self, update_id: str | None) -> Update:
        found = self.updates.get(str(update_id)) if update_id is not None else None
        if found is None:
            raise ApiError(Code.RESOURCE_NOT_FOUND, f"Update {update_id} not found", status_code=404,
                           error_data={"update_id": str(update_id)})
        return found

    def edit(self, update_id: str, body: str) -> Update:
        if not body.strip():
            raise invalid_argument("Update body must not be empty")
        update = self.update(update_id)
        update.body = body
        update.updated_at = now_iso()
        self.dirty = True
        return update

    def delete(self, update_id: str) -> Update:
        """The update goes, and its replies with it."""
        update = self.update(update_id)
        for reply_id in update.reply_ids:
            self.updates.pop(reply_id, None)
        del self.updates[update.id]
        if update.parent_id is not None and update.parent_id in self.updates:
            self.updates[update.parent_id].reply_ids.remove(update.id)
        self.dirty = True
        return update

    def posts(self, item_ids: set[str] | None = None) -> list[Update]:
        """Top-level updates, newest first (Monday's order), of the given items or of all."""
        found = [u for u in self.updates.values()
                 if u.parent_id is None and (item_ids is None or u.item_id in item_ids)]
        return sorted(found, key=lambda u: int(u.id), reverse=True)

    def replies(self, update: Update) -> list[Update]:
        return [self.updates[reply_id] for reply_id in update.reply_ids]
