"""Who sees which entries, and how much of them (seed 001 別表1-1 7(2)(4)(5), 別表1-2 7).

A reader sees an entry in full (title, place, works) when

- it is their own; or
- it is public (7(5): a supervisor's entries are public unless chosen private) and it
  concerns a work the reader is a member of (7(4): a contractor sees the supervisor's entries
  about their own work); or
- it is public, concerns no work, and the reader supervises its owner in one of the works on
  screen (7(2): the supervisor sees their members' schedules on one screen).

Every other entry of a person the reader may look at shows only that the time is taken
("予定あり", 7(4): "当該工事以外の予定の有無"): times, never the title. Whose schedules may be
looked at at all: one's own, and those of the members of works one is a member of (7(2)).
The service applies this before anything leaves the API; the UI only draws it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from api.permissions.policy import WorkRole
from api.schedules.models import PRIVATE
from api.works.models import MEMBERS
from storage.ports import RecordStore
from storage.query import Eq, In, Query

MAX_MEMBERSHIPS = 5000


@dataclass
class Relations:
    """The reader's memberships and the people of the works on screen."""

    user_id: str
    my_roles: dict[str, str] = field(default_factory=dict)  # work id -> the reader's role
    members: dict[str, set[str]] = field(default_factory=dict)  # user id -> works on screen
    supervised: set[str] = field(default_factory=set)

    @property
    def my_works(self) -> set[str]:
        return set(self.my_roles)

    def full(self, entry: Mapping[str, Any]) -> bool:
        """Whether the reader sees ``entry``'s details (see the module docstring)."""
        return self.sees(
            str(entry.get("owner_id")), entry.get("visibility"), entry.get("work_ids") or ()
        )

    def sees(self, owner: str, visibility: object, works: Iterable[str]) -> bool:
        """``full`` from the entry's owner, visibility and works."""
        if owner == self.user_id:
            return True
        if visibility == PRIVATE:
            return False
        linked = False
        for w in works:
            if w in self.my_roles:
                return True
            linked = True
        return not linked and owner in self.supervised


async def my_memberships(records: RecordStore, user_id: str) -> dict[str, str]:
    """work id -> role of every membership of ``user_id``."""
    out: dict[str, str] = {}
    async for m in records.scan(MEMBERS, [Eq("user_id", user_id)]):
        out[str(m["work_id"])] = str(m["role"])
        if len(out) >= MAX_MEMBERSHIPS:
            break
    return out


async def relations(
    records: RecordStore,
    user_id: str,
    works: Iterable[str],
    mine: Mapping[str, str] | None = None,
) -> Relations:
    """The reader's relations to the members of ``works`` (which they must be a member of:
    the caller checks); ``mine``: the reader's memberships when the caller has read them."""
    roles = dict(mine) if mine is not None else await my_memberships(records, user_id)
    rel = Relations(user_id=user_id, my_roles=roles)
    chosen = sorted(set(works))
    for i in range(0, len(chosen), 200):
        chunk = tuple(chosen[i : i + 200])
        cursor: str | None = None
        while True:
            page = await records.find(
                MEMBERS, Query(where=(In("work_id", chunk),), limit=1000, cursor=cursor)
            )
            for m in page.items:
                uid, wid = str(m["user_id"]), str(m["work_id"])
                rel.members.setdefault(uid, set()).add(wid)
                if rel.my_roles.get(wid) == WorkRole.SUPERVISOR.value:
                    rel.supervised.add(uid)
            cursor = page.next_cursor
            if not cursor:
                break
    return rel
