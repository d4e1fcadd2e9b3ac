"""代理承認 (seed 001 別表1-1 4(21), 別表1-2 4(23)): a deputy named in advance approves for an
absent approver, only inside a validity window ``[starts_at, ends_at)`` (design against the
ERPNext complaints of module-anchors §1: delegation without windows or alternates).

``delegations``: ``{id, principal_id, deputy_id, work_id (None: every work), starts_at,
ends_at, note, created_by, created_at, revoked_at}``. Made by the approver themself or by a
holder of ``workflow.delegate`` in their organization; the deputy is of the same
organization. An act by a deputy names the delegation in the event (``delegation_id``) and
shows in the history as 代理承認.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from api.audit.service import AuditLog
from api.errors import Forbidden, NotAuthenticated, NotFoundError, ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import is_id, new_id
from api.permissions.policy import OrgContext, Subject
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, Query, Range

if TYPE_CHECKING:
    from api.container import Container

DELEGATIONS = "delegations"
MAX_WINDOW = timedelta(days=366)


async def ensure_indexes(records: RecordStore) -> None:
    await records.ensure_indexes(
        DELEGATIONS,
        [
            IndexSpec((("deputy_id", 1), ("ends_at", 1))),
            IndexSpec((("principal_id", 1), ("ends_at", 1))),
        ],
    )


def covers(record: Mapping[str, Any], at: str, work_id: str) -> bool:
    """Whether the delegation is in force at ``at`` for ``work_id``."""
    return (
        not record.get("revoked_at")
        and str(record["starts_at"]) <= at < str(record["ends_at"])
        and record.get("work_id") in (None, work_id)
    )


class DelegationService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock

    async def active_for_deputy(
        self, deputy_id: str, work_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Delegations to ``deputy_id`` in force now (for ``work_id`` if given)."""
        now = to_iso(self.clock.now())
        page = await self.records.find(
            DELEGATIONS,
            Query(where=(Eq("deputy_id", deputy_id), Range("ends_at", gt=now)), limit=500),
        )
        return [
            d
            for d in page.items
            if not d.get("revoked_at")
            and str(d["starts_at"]) <= now
            and (work_id is None or d.get("work_id") in (None, work_id))
        ]

    async def find(self, principal_id: str, deputy_id: str, work_id: str) -> dict[str, Any] | None:
        """The delegation letting ``deputy_id`` act for ``principal_id`` on ``work_id`` now."""
        for record in await self.active_for_deputy(deputy_id, work_id):
            if record["principal_id"] == principal_id:
                return record
        return None

    async def mine(self, subject: Subject | None) -> list[dict[str, Any]]:
        """Delegations the subject gave or received (current and future)."""
        if subject is None:
            raise NotAuthenticated()
        now = to_iso(self.clock.now())
        out: dict[str, dict[str, Any]] = {}
        for field in ("principal_id", "deputy_id"):
            page = await self.records.find(
                DELEGATIONS,
                Query(where=(Eq(field, subject.user_id), Range("ends_at", gt=now)), limit=500),
            )
            out.update({d["id"]: d for d in page.items})
        return sorted(out.values(), key=lambda d: str(d["starts_at"]))

    async def names(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """``users`` (id → name, organization) and ``works`` (id → title) the delegations name;
        the subject gave or received each of them, so they know these already."""
        from api.proposals.views import user_names

        ids = [str(d[k]) for d in items for k in ("principal_id", "deputy_id", "created_by")]
        works = await self.records.get_many(
            "works", sorted({str(d["work_id"]) for d in items if d.get("work_id")})
        )
        return {
            "users": await user_names(self.container, ids),
            "works": {w["id"]: str(w.get("title") or "") for w in works},
        }

    async def candidates(self, subject: Subject | None) -> list[dict[str, str]]:
        """Active users of the subject's organization other than themself, by name: who may be
        named deputy (the deputy is of the same organization, 4(21))."""
        if subject is None:
            raise NotAuthenticated()
        if subject.is_operator or not subject.org_id:
            raise Forbidden("代理者を設定できるのは発注者・受注者の利用者です。")
        out: list[dict[str, str]] = []
        async for user in self.records.scan("users", (Eq("org_id", subject.org_id),)):
            if user["id"] != subject.user_id and user.get("status") == "active":
                out.append({"id": str(user["id"]), "name": str(user.get("name") or "")})
        return sorted(out, key=lambda u: u["name"])

    async def create(self, subject: Subject | None, body: Mapping[str, Any]) -> dict[str, Any]:
        if subject is None:
            raise NotAuthenticated()
        principal_id = str(body.get("principal_id") or subject.user_id)
        deputy_id = str(body["deputy_id"])
        starts: datetime = body["starts_at"]
        ends: datetime = body["ends_at"]
        users = {
            u["id"]: u for u in await self.records.get_many("users", [principal_id, deputy_id])
        }
        principal, deputy = users.get(principal_id), users.get(deputy_id)
        if principal is None or principal.get("org_id") != subject.org_id:
            raise NotFoundError("利用者が見つかりません。")
        if principal_id != subject.user_id:
            self.container.policy.require(subject, "workflow.delegate", OrgContext(subject.org_id))
        if deputy is None or deputy.get("org_id") != principal.get("org_id"):
            raise ValidationFailed(
                "代理者は同じ機関の利用者から選んでください。", field="deputy_id"
            )
        if deputy.get("status") != "active":
            raise ValidationFailed("代理者の利用者IDが有効ではありません。", field="deputy_id")
        if deputy_id == principal_id:
            raise ValidationFailed("本人を代理者にはできません。", field="deputy_id")
        if ends <= starts:
            raise ValidationFailed("終了日時は開始日時より後にしてください。", field="ends_at")
        if ends - starts > MAX_WINDOW:
            raise ValidationFailed("代理期間は1年以内で指定してください。", field="ends_at")
        work_id = body.get("work_id")
        if work_id is not None and (
            not is_id(str(work_id)) or not await self.records.get("works", str(work_id))
        ):
            raise ValidationFailed("案件が見つかりません。", field="work_id")
        record = {
            "id": new_id(),
            "principal_id": principal_id,
            "deputy_id": deputy_id,
            "org_id": principal.get("org_id"),
            "work_id": work_id,
            "starts_at": to_iso(starts),
            "ends_at": to_iso(ends),
            "note": str(body.get("note") or ""),
            "created_by": subject.user_id,
            "created_at": to_iso(self.clock.now()),
            "revoked_at": None,
        }
        async with self.container.uow() as uow:
            stored = await uow.records.insert(DELEGATIONS, record)
            await AuditLog(uow.records, self.clock).record(
                subject, "workflow.delegated", f"{DELEGATIONS}/{stored['id']}", after=stored
            )
        return stored

    async def revoke(self, subject: Subject | None, delegation_id: str) -> dict[str, Any]:
        if subject is None:
            raise NotAuthenticated()
        record = (
            await self.records.get(DELEGATIONS, delegation_id) if is_id(delegation_id) else None
        )
        if record is None or record.get("org_id") != subject.org_id:
            raise NotFoundError()
        if subject.user_id not in (record["principal_id"], record["created_by"]) and not (
            self.container.policy.can(subject, "workflow.delegate", OrgContext(subject.org_id))
        ):
            raise Forbidden()
        async with self.container.uow() as uow:
            updated = await uow.records.update(
                DELEGATIONS,
                delegation_id,
                {"revoked_at": to_iso(self.clock.now())},
                record["version"],
            )
            await AuditLog(uow.records, self.clock).record(
                subject,
                "workflow.delegation_revoked",
                f"{DELEGATIONS}/{delegation_id}",
                before=record,
                after=updated,
            )
        return updated
