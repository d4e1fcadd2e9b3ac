"""Routes as data (seed 001 別表1-1 4(8): 承認者及び閲覧者の選択及びワークフローの順番) and saved
route templates per work and per organization.

A route is a list of steps ``{"kind": "approve" | "view", "assignees": [user ids]}`` in order;
a step with several approvers is a parallel step (合議: all of them approve before the route
moves on). ``check_route`` validates a route for a work: every assignee a member of the work,
approvers in a role that may approve, nobody twice, the proposer not on their own route, at
least one approval step. Errors name the person (names, never ids).

``route_templates``: ``{id, scope: "work" | "org", owner_id, name, steps, created_by,
created_at}``. A template's steps are copied into a proposal; an organization's template may
name people who are not members of a given work, and ``check_route`` says so when it is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from api.audit.service import AuditLog
from api.errors import Forbidden, NotAuthenticated, NotFoundError, ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import is_id, new_id
from api.permissions.policy import OrgContext, Subject, WorkRole
from api.proposals.access import Access
from api.proposals.models import ProposalResource
from api.workflow.permissions import APPROVER_ROLES
from api.works.models import MEMBERS, member_id
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, Query

if TYPE_CHECKING:
    from api.container import Container

TEMPLATES = "route_templates"
MAX_STEPS = 20
MAX_ASSIGNEES = 10


async def ensure_indexes(records: RecordStore) -> None:
    await records.ensure_indexes(TEMPLATES, [IndexSpec((("scope", 1), ("owner_id", 1)))])


def shape(steps: Any) -> list[dict[str, Any]]:
    """The route's shape checked (kinds, sizes, ids): a 400 naming ``route`` otherwise."""
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise ValidationFailed(f"経路は1〜{MAX_STEPS}段階で指定してください。", field="route")
    out: list[dict[str, Any]] = []
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, Mapping) or step.get("kind") not in ("approve", "view"):
            raise ValidationFailed(f"{number}段目の種類が正しくありません。", field="route")
        assignees = step.get("assignees")
        if (
            not isinstance(assignees, list)
            or not 1 <= len(assignees) <= MAX_ASSIGNEES
            or not all(isinstance(a, str) and is_id(a) for a in assignees)
        ):
            raise ValidationFailed(
                f"{number}段目の担当者を1〜{MAX_ASSIGNEES}人指定してください。", field="route"
            )
        out.append({"kind": step["kind"], "assignees": list(assignees)})
    return out


async def check_route(
    records: RecordStore, work_id: str, proposer_id: str, steps: Any
) -> list[dict[str, Any]]:
    """``steps`` as a valid route of ``work_id`` for ``proposer_id`` (400 naming the person
    and the problem otherwise)."""
    route = shape(steps)
    ids = [a for step in route for a in step["assignees"]]
    users = {u["id"]: u for u in await records.get_many("users", ids)}
    members = {
        m["user_id"]: m
        for m in await records.get_many(MEMBERS, [member_id(work_id, a) for a in ids])
    }
    seen: set[str] = set()

    def name(uid: str) -> str:
        return str((users.get(uid) or {}).get("name") or "指定された利用者")

    for number, step in enumerate(route, start=1):
        for uid in step["assignees"]:
            if uid in seen:
                raise ValidationFailed(f"{name(uid)} さんが経路に2回あります。", field="route")
            seen.add(uid)
            if uid == proposer_id:
                raise ValidationFailed("発議者は自分の発議の経路に入れません。", field="route")
            member = members.get(uid)
            user = users.get(uid)
            if member is None or user is None or user.get("status") != "active":
                raise ValidationFailed(
                    f"{number}段目の {name(uid)} さんはこの案件のメンバーではありません。",
                    field="route",
                )
            role = WorkRole(member["role"])
            if step["kind"] == "approve" and role not in APPROVER_ROLES:
                raise ValidationFailed(
                    f"{name(uid)} さんはこの案件で承認者になれません"
                    "（閲覧者として指定してください）。",
                    field="route",
                )
            if role is WorkRole.ARCHIVE_READER:
                raise ValidationFailed(
                    f"{name(uid)} さんはこの案件の経路に入れません。", field="route"
                )
    if not any(step["kind"] == "approve" for step in route):
        raise ValidationFailed("承認者を1人以上指定してください。", field="route")
    return route


class RouteTemplateService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.access = Access(container)

    async def _scope(self, subject: Subject | None, scope: str, owner_id: str) -> Subject:
        if subject is None:
            raise NotAuthenticated()
        if scope == "work":
            _, ctx = await self.access.work(subject, owner_id)
            self.container.policy.require(subject, "workflow.templates.work", ProposalResource(ctx))
        elif scope == "org":
            if owner_id != subject.org_id:
                raise NotFoundError()
            self.container.policy.require(subject, "workflow.templates.org", OrgContext(owner_id))
        else:
            raise ValidationFailed("scope は work か org です。", field="scope")
        return subject

    async def templates(self, subject: Subject | None, work_id: str | None) -> list[dict[str, Any]]:
        """The templates a subject may use: their organization's, and the work's."""
        if subject is None:
            raise NotAuthenticated()
        out: list[dict[str, Any]] = []
        if work_id:
            await self._scope(subject, "work", work_id)
            out += await self._find("work", work_id)
        if subject.org_id:
            out += await self._find("org", subject.org_id)
        return out

    async def _find(self, scope: str, owner_id: str) -> list[dict[str, Any]]:
        page = await self.records.find(
            TEMPLATES,
            Query(where=(Eq("scope", scope), Eq("owner_id", owner_id)), limit=500),
        )
        return sorted(page.items, key=lambda t: str(t.get("name")))

    async def create(self, subject: Subject | None, body: Mapping[str, Any]) -> dict[str, Any]:
        scope, owner_id = str(body.get("scope")), str(body.get("owner_id"))
        who = await self._scope(subject, scope, owner_id)
        steps = (
            await check_route(self.records, owner_id, "", body.get("steps"))
            if scope == "work"
            else shape(body.get("steps"))
        )
        record = {
            "id": new_id(),
            "scope": scope,
            "owner_id": owner_id,
            "name": str(body["name"]),
            "steps": steps,
            "created_by": who.user_id,
            "created_at": to_iso(self.clock.now()),
        }
        async with self.container.uow() as uow:
            stored = await uow.records.insert(TEMPLATES, record)
            await AuditLog(uow.records, self.clock).record(
                who, "workflow.template_created", f"{TEMPLATES}/{stored['id']}", after=stored
            )
        return stored

    async def delete(self, subject: Subject | None, template_id: str) -> None:
        if subject is None:
            raise NotAuthenticated()
        record = await self.records.get(TEMPLATES, template_id) if is_id(template_id) else None
        if record is None:
            raise NotFoundError()
        who = await self._scope(subject, str(record["scope"]), str(record["owner_id"]))
        manager = record["scope"] == "org" and self.container.policy.can(
            who, "workflow.templates.org_manage", OrgContext(str(record["owner_id"]))
        )
        if (
            record.get("created_by") != who.user_id
            and not manager
            and (record["scope"] == "org" or not await self._is_supervisor(who, record))
        ):
            raise Forbidden("作成者または管理権限のある利用者のみ削除できます。")
        async with self.container.uow() as uow:
            await uow.records.delete(TEMPLATES, template_id, record["version"])
            await AuditLog(uow.records, self.clock).record(
                who, "workflow.template_deleted", f"{TEMPLATES}/{template_id}", before=record
            )

    async def _is_supervisor(self, subject: Subject, record: Mapping[str, Any]) -> bool:
        member = await self.records.get(
            MEMBERS, member_id(str(record["owner_id"]), subject.user_id)
        )
        return member is not None and member.get("role") == WorkRole.SUPERVISOR.value


def assignees(route: Sequence[Mapping[str, Any]]) -> list[str]:
    return [a for step in route for a in step["assignees"]]
