"""User-defined groups and their feed (seed 001 別表1-1 2(9), 別表1-2 2(9): 同一システムを
利用する利用者のグループ設定が任意にできる。グループのメンバーが関係する工事に登録された掲示板
の記事・コメントを一元的に表示できる).

- A group belongs to the user who made it (only they see and change it). Its members are
  people the owner already deals with: users of the owner's organization and members of the
  owner's works; anyone else is refused, so a group cannot be used to find out who exists.
- The feed shows, newest first, the posts and replies of every work that involves a group
  member, within what the owner reads: the works are those where both the owner and some group
  member are members, and the posts are filtered by the owner's principals inside the index.
- A post scoped to a group (``ScopeKind.GROUP``) is read by the group members who were members
  of the work when it was posted (the scope keeps the resolved list).
"""

from __future__ import annotations

from collections.abc import Sequence

from api.bulletins.models import GROUPS, MAX_GROUPS_PER_USER, PAGE_MAX, POST_DOC, REPLY_DOC
from api.bulletins.permissions import GroupContext
from api.bulletins.reading import ReadingService
from api.bulletins.schemas import GroupCreate, GroupRead, GroupUpdate, HitPage, PersonRead
from api.bulletins.scope import principals_on
from api.errors import NotFoundError, StaleVersionError, ValidationFailed
from api.kit.ids import is_id, new_id
from api.permissions.policy import Subject
from api.works.models import MEMBERS
from indexer.documents import normalize
from indexer.query import SearchQuery
from storage.query import Eq, Record

MAX_CANDIDATES = 5000


def group_target(group_id: str) -> str:
    return f"{GROUPS}/{group_id}"


class GroupService(ReadingService):
    async def _own(self, subject: Subject | None, group_id: str) -> Record:
        self.policy.require(subject, "bulletins.use")
        group = await self.records.get(GROUPS, group_id) if is_id(group_id) else None
        if group is None or not self.policy.can(
            subject, "bulletins.groups.manage", GroupContext(str(group["owner_id"]))
        ):
            raise NotFoundError()  # another user's group is not revealed
        return group

    async def read(self, group: Record) -> GroupRead:
        people = await self.people(list(group.get("member_ids") or ()))
        return GroupRead(
            id=group["id"],
            name=group["name"],
            members=[PersonRead(**people[m]) for m in group.get("member_ids") or () if m in people],
            created_at=group["created_at"],
            updated_at=group["updated_at"],
            version=int(group["version"]),
        )

    async def mine(self, subject: Subject | None) -> list[GroupRead]:
        self.policy.require(subject, "bulletins.use")
        assert subject is not None
        return [await self.read(g) for g in await self.repo.groups_of(subject.user_id)]

    async def get(self, subject: Subject | None, group_id: str) -> GroupRead:
        return await self.read(await self._own(subject, group_id))

    # -- who may be in a group -----------------------------------------------------------------
    async def candidate_ids(self, subject: Subject) -> set[str]:
        """Users of the subject's organization and members of the subject's works."""
        found: set[str] = set()
        if subject.org_id:
            async for user in self.records.scan("users", [Eq("org_id", subject.org_id)]):
                found.add(str(user["id"]))
                if len(found) >= MAX_CANDIDATES:
                    break
        for work, _role in await self.memberships(subject):
            async for member in self.records.scan(MEMBERS, [Eq("work_id", work["id"])]):
                found.add(str(member["user_id"]))
            if len(found) >= MAX_CANDIDATES:
                break
        found.discard(subject.user_id)
        return found

    async def candidates(self, subject: Subject | None, q: str = "") -> list[PersonRead]:
        self.policy.require(subject, "bulletins.use")
        assert subject is not None
        ids = await self.candidate_ids(subject)
        users = await self.repo.users(sorted(ids))
        people = await self.people(sorted(ids))
        needle = normalize(q.strip())
        out = []
        for uid, user in users.items():
            if user.get("status", "active") != "active":
                continue
            hay = normalize(
                " ".join(str(user.get(k) or "") for k in ("name", "name_kana", "login_id"))
            )
            if needle and needle not in hay:
                continue
            out.append(PersonRead(**people[uid]))
        out.sort(key=lambda p: (p.org_name, p.name))
        return out[:200]

    async def _check_members(self, subject: Subject, member_ids: Sequence[str]) -> list[str]:
        chosen = list(dict.fromkeys(member_ids))
        if not chosen:
            return []
        allowed = await self.candidate_ids(subject)
        if set(chosen) - allowed:
            raise ValidationFailed(
                "グループに入れられるのは、自分の機関の利用者と担当案件のメンバーのみです。",
                field="member_ids",
            )
        return chosen

    # -- changes -----------------------------------------------------------------------------
    async def create(self, subject: Subject | None, data: GroupCreate) -> GroupRead:
        self.policy.require(subject, "bulletins.use")
        assert subject is not None
        if len(await self.repo.groups_of(subject.user_id)) >= MAX_GROUPS_PER_USER:
            raise ValidationFailed(f"グループは{MAX_GROUPS_PER_USER}件まで作れます。")
        members = await self._check_members(subject, data.member_ids)
        now = self.now()
        group: Record = {
            "id": new_id(),
            "owner_id": subject.user_id,
            "name": data.name,
            "member_ids": members,
            "created_at": now,
            "updated_at": now,
        }
        async with self.container.uow() as uow:
            stored = await uow.records.insert(GROUPS, group)
            await self.audit.record(
                subject, "bulletins.group_created", group_target(stored["id"]), after=stored
            )
        return await self.read(stored)

    async def update(self, subject: Subject | None, group_id: str, data: GroupUpdate) -> GroupRead:
        group = await self._own(subject, group_id)
        assert subject is not None
        if data.version != group["version"]:
            raise StaleVersionError(current_version=group["version"])
        changes: Record = {"updated_at": self.now()}
        if data.name is not None:
            changes["name"] = data.name
        if data.member_ids is not None:
            changes["member_ids"] = await self._check_members(subject, data.member_ids)
        async with self.container.uow() as uow:
            stored = await uow.records.update(GROUPS, group_id, changes, group["version"])
            await self.audit.record(
                subject,
                "bulletins.group_updated",
                group_target(group_id),
                before=group,
                after=stored,
            )
        return await self.read(stored)

    async def delete(self, subject: Subject | None, group_id: str, version: int) -> None:
        group = await self._own(subject, group_id)
        if version != group["version"]:
            raise StaleVersionError(current_version=group["version"])
        async with self.container.uow() as uow:
            await uow.records.delete(GROUPS, group_id, version)
            await self.audit.record(
                subject, "bulletins.group_deleted", group_target(group_id), before=group
            )

    # -- feed --------------------------------------------------------------------------------
    async def feed(
        self, subject: Subject | None, group_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> HitPage:
        group = await self._own(subject, group_id)
        assert subject is not None
        mine = {w["id"]: role for w, role in await self.memberships(subject)}
        involved: set[str] = set()
        for member_id in group.get("member_ids") or ():
            async for member in self.records.scan(MEMBERS, [Eq("user_id", member_id)]):
                involved.add(str(member["work_id"]))
        works = sorted(set(mine) & involved)
        if not works:
            return HitPage(items=[], total=0)
        principals = [p for w in works for p in principals_on(w, subject.user_id, mine[w])]
        result = await self.container.index.search(
            SearchQuery(
                types=(POST_DOC, REPLY_DOC),
                filters={"work_id": tuple(works)},
                acl=tuple(principals),
                sort="date",
                sort_date_field="created_at",
                descending=True,
                limit=min(limit, PAGE_MAX),
                cursor=cursor,
            )
        )
        return await self.hits(result.hits, result.next_cursor, result.total)
