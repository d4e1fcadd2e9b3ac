"""The works registry (案件): create, edit, transition, delete while empty, list and search.

Rules from the seeds: a work is registered with its orderer, contractor and people in charge
(seed 000 「工事・業務案件，発注担当者，受注担当者をシステム登録」), its basic information can be
registered, changed, deleted and looked up (seed 001 別表1-1 1(1)(2)), it is completed by the
orderer and then moved to the archive, which is read-only (seed 000 手続きフロー).

Access: the policy decides; a subject who may not read a work gets 404 (its existence is not
revealed). Listing filters in the store or the index on the ``acl`` principals
(``api.works.indexing``), so one query answers whatever number of memberships a user has.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from api.audit.service import AuditLog
from api.config import ArchiveSettings
from api.errors import Forbidden, NotFoundError, ValidationFailed
from api.kit.clock import Clock, to_iso
from api.kit.ids import is_id, new_id
from api.kit.uow import UnitOfWork
from api.permissions.policy import OrgKind, Policy, Subject, WorkContext, WorkRole
from api.works.access import member_roles, search_access
from api.works.archive_gate import ensure_archivable
from api.works.errors import ArchivedReadOnly, InvalidTransition, WorkNotEmpty
from api.works.hooks import member_changed
from api.works.indexing import DOC_TYPE, principals_for, work_acl, work_to_doc
from api.works.lifecycle import Lifecycle, ensure_no_hold, reindex_files

if TYPE_CHECKING:
    from api.container import Container

from api.works.models import (
    MEMBERS,
    NEXT_STATUS,
    WORKS,
    WorkStatus,
    award_price,
    business_type_codes,
    member_id,
)
from api.works.repository import WorkRepository
from api.works.schemas import WorkCreate, WorkFilters, WorkUpdate
from indexer.query import DateRange, SearchQuery
from storage.ports import BlobStore, SearchIndex
from storage.query import Condition, Direction, Eq, In, Range, Record

# Fields a PATCH may not clear.
_REQUIRED = frozenset(
    {"kind", "title", "number", "location", "period_start", "period_end", "contractor_org_ids"}
)


# Above this many memberships the id list stops paying off; the acl filter alone answers.
_MEMBER_ID_LIMIT = 500


@dataclass
class WorkPage:
    items: list[Record]
    next_cursor: str | None
    total: int | None = None


def target(work_id: str) -> str:
    return f"{WORKS}/{work_id}"


async def same_scope(records: Any, orderer_org_id: str | None, org_ids: Any) -> None:
    """A trial (sandbox) organization never shares a work with a production one, either way
    (issue 13 §1: sample data that cannot reach production data; ``api.billing.sandbox``)."""
    ids = sorted({str(o) for o in org_ids if o} | ({orderer_org_id} if orderer_org_id else set()))
    if len(ids) < 2:
        return
    flags = {bool(o.get("sandbox")) for o in await records.get_many("organizations", ids)}
    if len(flags) > 1:
        raise ValidationFailed("試行環境の組織と本番の組織を同じ案件に登録することはできません。")


class WorkService:
    def __init__(
        self,
        repo: WorkRepository,
        index: SearchIndex,
        uow: Callable[[], UnitOfWork],
        policy: Policy,
        clock: Clock,
        blobs: BlobStore | None = None,
        archive: ArchiveSettings | None = None,
        erase_scopes: Callable[[str, str], Awaitable[None]] | None = None,
        fence: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.repo = repo
        # The erasure's write fence (``api.keys.fence.ensure_open``): ``fence(scope)``.
        self.fence = fence
        # Crypto-erasure of a disposed work's scopes (issue 12 §2, ``api.keys.erasure``):
        # ``erase_scopes(work_id, by)``.
        self.erase_scopes = erase_scopes
        self.archive = archive or ArchiveSettings()
        self.blobs = blobs  # only disposal of archived works needs it (api.works.lifecycle)
        self.index = index
        self.uow = uow
        self.policy = policy
        self.clock = clock
        self.audit = AuditLog(repo.records, clock)
        self.lifecycle = Lifecycle(self)

    @classmethod
    def of(cls, container: Container) -> WorkService:
        """The service over a container's ports and settings (routers, CLI, workers)."""
        return cls(
            WorkRepository(container.records),
            container.index,
            container.uow,
            container.policy,
            container.clock,
            container.blobs,
            container.settings.archive,
            erase_scopes=_scope_eraser(container),
            fence=_fence(container),
        )

    # access ------------------------------------------------------------------------------
    async def context(self, subject: Subject | None, work: Record) -> WorkContext:
        roles: frozenset[WorkRole] = frozenset()
        if subject is not None and not subject.is_operator:
            member = await self.repo.member(work["id"], subject.user_id)
            roles = member_roles(member, work)
        return WorkContext(
            work_id=work["id"],
            orderer_org_id=work.get("orderer_org_id"),
            contractor_org_ids=tuple(work.get("contractor_org_ids") or ()),
            status=str(work.get("status")),
            roles=roles,
        )

    async def load(self, subject: Subject | None, work_id: str, action: str) -> Record:
        """The work if ``subject`` may do ``action`` on it: 401 anonymous, 404 unknown or
        unreadable (malformed ids included), 409 for changes to an archived work, 403 else."""
        self.policy.require(subject, "works.list")  # 401 before anything is looked up
        work = await self.repo.get(work_id) if is_id(work_id) else None
        if work is None:
            raise NotFoundError()
        ctx = await self.context(subject, work)
        self.policy.require(subject, "works.read", ctx)
        if action != "works.read":
            if (
                ctx.status == WorkStatus.ARCHIVED
                and not action.endswith(".read")  # files.read: the archive is for reading
                and action not in ("works.transition", "archive.hold")
                and self.policy.can(subject, "works.transition", ctx)
            ):
                raise ArchivedReadOnly()
            self.policy.require(subject, action, ctx)
            if self.fence is not None:
                from api.keys.fence import written_by

                for scope in written_by(str(work["id"]), action):
                    await self.fence(scope)  # 410 while / after the scope's erasure
        return work

    # validation against other records ----------------------------------------------------------
    async def _check_refs(self, values: Record) -> None:
        start, end = values.get("period_start"), values.get("period_end")
        if start and end and start > end:
            raise ValidationFailed("工期の開始日は終了日以前の日付を指定してください。")
        code = values.get("business_type")
        if code is not None and code not in business_type_codes():
            raise ValidationFailed("業種コードが正しくありません。")
        orderer = values.get("orderer_org_id")
        if orderer is not None:
            org = await self.repo.organization(orderer)
            if org is None or org.get("kind") != OrgKind.ORDERER:
                raise ValidationFailed("発注機関が見つかりません。")
        office_id = values.get("office_id")
        if office_id is not None:
            office = await self.repo.office(office_id)
            if office is None or office.get("org_id") != values.get("orderer_org_id"):
                raise ValidationFailed("事務所が見つかりません。")
        for org_id in values.get("contractor_org_ids") or ():
            org = await self.repo.organization(org_id)
            if org is None or org.get("kind") != OrgKind.CONTRACTOR:
                raise ValidationFailed("受注者が見つかりません。")

    @staticmethod
    def _stored(field: str, value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if field == "bid_opening_at" and value is not None:
            return to_iso(value)
        if field == "location" and value is not None:
            return value.model_dump(exclude_none=True)
        if field == "contractor_org_ids" and value is not None:
            return sorted(set(value))
        if hasattr(value, "value"):  # enums
            return value.value
        return value

    # commands ---------------------------------------------------------------------------
    async def create(self, subject: Subject | None, data: WorkCreate) -> Record:
        self.policy.require(subject, "works.create")
        assert subject is not None
        if not subject.is_operator and data.orderer_org_id != subject.org_id:
            raise Forbidden("自機関の案件のみ登録できます。")
        now = to_iso(self.clock.now())
        work: Record = {"id": new_id()}
        for name in WorkCreate.model_fields:
            value = self._stored(name, getattr(data, name))
            if value is not None:
                work[name] = value
        work.setdefault("contractor_org_ids", [])
        if work.get("bid_amount") is not None:
            work["award_price"] = award_price(int(work["bid_amount"]))
        work.update(status=WorkStatus.REGISTERED.value, created_by=subject.user_id, created_at=now)
        work["updated_at"] = now
        await self._check_refs(work)
        await same_scope(self.repo.records, work.get("orderer_org_id"), work["contractor_org_ids"])
        members: list[Record] = []
        if not subject.is_operator:
            # The registering orderer staff member is in charge of the work (seed 000).
            members.append(
                {
                    "id": member_id(work["id"], subject.user_id),
                    "work_id": work["id"],
                    "user_id": subject.user_id,
                    "role": WorkRole.SUPERVISOR.value,
                    "org_id": subject.org_id,
                    "added_by": subject.user_id,
                    "added_at": now,
                }
            )
        work["acl"] = work_acl(work, members)
        async with self.uow() as uow:
            stored = await self.repo.insert(work)
            for member in members:
                await self.repo.add_member(member)
            await self.audit.record(subject, "works.created", target(stored["id"]), after=stored)
            uow.index(work_to_doc(stored))
        return stored

    async def update(self, subject: Subject | None, work_id: str, data: WorkUpdate) -> Record:
        work = await self.load(subject, work_id, "works.update")
        changes: Record = {}
        for name in data.model_fields_set - {"version"}:
            value = getattr(data, name)
            if value is None and name in _REQUIRED:
                raise ValidationFailed(f"{name} は削除できません。")
            changes[name] = self._stored(name, value)
        if "bid_amount" in changes:
            bid = changes["bid_amount"]
            changes["award_price"] = award_price(int(bid)) if bid is not None else None
        merged = {**work, **{k: v for k, v in changes.items() if v is not None}}
        check = {k: merged.get(k) for k in ("period_start", "period_end")}
        check["business_type"] = changes.get("business_type")
        if changes.get("office_id") is not None:
            check["office_id"] = changes["office_id"]
            check["orderer_org_id"] = work["orderer_org_id"]
        check["contractor_org_ids"] = changes.get("contractor_org_ids")
        await self._check_refs(check)
        if changes.get("contractor_org_ids"):
            await same_scope(
                self.repo.records, work.get("orderer_org_id"), changes["contractor_org_ids"]
            )
        changes["updated_at"] = to_iso(self.clock.now())
        async with self.uow() as uow:
            dropped = await self._drop_stale_contractors(work, changes)
            stored = await self.repo.update(work_id, changes, data.version)
            await self.audit.record(
                subject,
                "works.updated",
                target(work_id),
                before=work,
                after=stored,
                detail={"fields": sorted(data.model_fields_set - {"version"})},
            )
            for member in dropped:
                await self.audit.record(
                    subject,
                    "works.member_removed",
                    f"{MEMBERS}/{member['id']}",
                    before=member,
                    detail={"reason": "contractor_removed"},
                )
            uow.index(work_to_doc(stored))
            reindex_files(uow, work_id)
        return stored

    async def _drop_stale_contractors(self, work: Record, changes: Record) -> list[Record]:
        """When contractor organizations leave the work, their members' memberships go with
        them in the same transaction, and the acl is rewritten (issue 7 item 9: a removed
        contractor's member kept reading and uploading). Returns the memberships removed."""
        if "contractor_org_ids" not in changes:
            return []
        kept = set(changes["contractor_org_ids"] or ())
        members = await self.repo.members(str(work["id"]))
        dropped = [
            m
            for m in members
            if m.get("role") == WorkRole.CONTRACTOR_MEMBER and m.get("org_id") not in kept
        ]
        for member in dropped:
            await self.repo.remove_member(str(work["id"]), str(member["user_id"]))
        remaining = [m for m in members if m not in dropped]
        changes["acl"] = work_acl({**work, **changes}, remaining)
        return dropped

    async def transition(
        self, subject: Subject | None, work_id: str, to: WorkStatus, version: int
    ) -> Record:
        """One step forward along registered → in_progress → completed → archived.

        Entering the archive sets ``archived_at`` and ``retention_until`` (seed 000: completed
        works move to the archive, read-only; see ``api.works.lifecycle``)."""
        work = await self.load(subject, work_id, "works.transition")
        current = WorkStatus(work["status"])
        if NEXT_STATUS.get(current) != to:
            raise InvalidTransition(f"{current.value} から {to.value} へは変更できません。")
        if to == WorkStatus.ARCHIVED:
            await ensure_archivable(self.repo.records, work)
        extra = await self.lifecycle.archive_changes(work) if to == WorkStatus.ARCHIVED else {}
        async with self.uow() as uow:
            members = await self.repo.members(work_id)
            changes: Record = {"status": to.value, "updated_at": to_iso(self.clock.now()), **extra}
            changes["acl"] = work_acl({**work, **changes}, members)
            stored = await self.repo.update(work_id, changes, version)
            await self.audit.record(
                subject,
                "works.transitioned",
                target(work_id),
                before=work,
                after=stored,
                detail={"from": current.value, "to": to.value, **extra},
            )
            if to == WorkStatus.ARCHIVED:
                # Members who no longer read the archived work lose what hangs on membership.
                for member in members:
                    await member_changed(self.repo.records, work_id, str(member["user_id"]))
            uow.index(work_to_doc(stored))
            reindex_files(uow, work_id)
        return stored

    async def delete(self, subject: Subject | None, work_id: str, version: int) -> None:
        """Only while empty: status registered and no files, documents or posts yet; never
        under a legal hold. An archived work is disposed of (with its files) by operators
        once its retention has ended (``api.works.lifecycle``)."""
        work = await self.load(subject, work_id, "works.read")
        if work["status"] == WorkStatus.ARCHIVED:
            ctx = await self.context(subject, work)
            if not self.policy.can(subject, "works.transition", ctx):
                self.policy.require(subject, "works.delete", ctx)  # 403: not theirs to manage
            self.lifecycle.check_disposal(subject, work)
            await self.lifecycle.dispose(subject, work, version)
            return
        work = await self.load(subject, work_id, "works.delete")
        ensure_no_hold(work)
        if work["status"] != WorkStatus.REGISTERED or await self.repo.dependents(work_id):
            raise WorkNotEmpty()
        async with self.uow() as uow:
            for member in await self.repo.members(work_id):
                await self.repo.remove_member(work_id, member["user_id"])
            await self.repo.delete(work_id, version)
            await self.audit.record(subject, "works.deleted", target(work_id), before=work)
            uow.unindex(work_id)

    # queries ------------------------------------------------------------------------------
    async def list(self, subject: Subject | None, f: WorkFilters) -> WorkPage:
        self.policy.require(subject, "works.list")
        assert subject is not None
        principals = principals_for(subject)
        if f.q:
            # the index never trusts stored user: principals (issue 7 item 9)
            acl, mine = await search_access(self.repo.records, self.policy, subject)
            return await self._search(acl, mine, f)
        where: list[Condition] = []
        if principals is not None:
            where.append(In("acl", principals))
            if len(principals) == 1:
                # Member-only subjects are sparse among all works: narrowing by their work ids
                # (primary key) first beats walking a sort index and testing every acl.
                work_ids = await self.repo.work_ids_of(subject.user_id, _MEMBER_ID_LIMIT)
                if work_ids is not None:
                    where.append(In("id", tuple(work_ids)))
        if f.status:
            where.append(In("status", tuple(s.value for s in f.status)))
        for field, value in (
            ("kind", f.kind.value if f.kind else None),
            ("orderer_org_id", f.orderer_org_id),
            ("contractor_org_ids", f.contractor_org_id),
            ("business_type", f.business_type),
            ("category", f.category),
        ):
            if value is not None:
                where.append(Eq(field, value))
        for field, lo, hi in (
            ("period_start", f.period_start_from, f.period_start_to),
            ("period_end", f.period_end_from, f.period_end_to),
        ):
            if lo or hi:
                where.append(
                    Range(
                        field,
                        gte=lo.isoformat() if lo else None,
                        lte=hi.isoformat() if hi else None,
                    )
                )
        direction: Direction = 1 if f.order == "asc" else -1
        page = await self.repo.find(where, ((f.sort, direction),), f.limit, f.cursor)
        return WorkPage(page.items, page.next_cursor)

    async def _search(
        self, principals: tuple[str, ...] | None, mine: tuple[str, ...], f: WorkFilters
    ) -> WorkPage:
        filters: dict[str, tuple[str, ...]] = {}
        if f.status:
            filters["status"] = tuple(s.value for s in f.status)
        for key, value in (
            ("work_kind", f.kind.value if f.kind else None),
            ("orderer", f.orderer_org_id),
            ("contractor", f.contractor_org_id),
            ("business_type", f.business_type),
            ("category", f.category),
        ):
            if value is not None:
                filters[key] = (value,)
        ranges: dict[str, DateRange] = {}
        for field, lo, hi in (
            ("period_start", f.period_start_from, f.period_start_to),
            ("period_end", f.period_end_from, f.period_end_to),
        ):
            if lo or hi:
                ranges[field] = DateRange(
                    gte=lo.isoformat() if lo else None, lte=hi.isoformat() if hi else None
                )
        query = SearchQuery(
            text=f.q or "",
            fields=("title",),
            types=(DOC_TYPE,),
            filters=filters,
            ranges=ranges,
            acl=principals,
            member_works=mine,
            sort="title" if f.sort == "title" else "date",
            sort_date_field=f.sort,
            descending=f.order == "desc",
            limit=f.limit,
            cursor=f.cursor,
        )
        result = await self.index.search(query)
        ids = [hit.id for hit in result.hits]
        by_id = {r["id"]: r for r in await self.repo.get_many(ids)}
        # The index is written after commit, so a hit without a record is a delete in flight.
        items = [by_id[i] for i in ids if i in by_id]
        return WorkPage(items, result.next_cursor, result.total)


def _scope_eraser(container: Container) -> Callable[[str, str], Awaitable[None]]:
    async def erase_work(work_id: str, by: str) -> None:
        from api.keys import scopes
        from api.keys.erasure import erase

        for scope in (scopes.collab(work_id), scopes.archive(work_id)):
            await erase(container, scope, by, "保存期間満了による廃棄")

    return erase_work


def _fence(container: Container) -> Callable[[str], Awaitable[None]]:
    async def fence(scope: str) -> None:
        from api.keys.fence import ensure_open

        await ensure_open(container, scope)

    return fence
