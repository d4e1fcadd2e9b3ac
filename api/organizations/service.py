"""Organizations and offices: master data operators maintain (seed 001 別表1-1 8(4)).

Kinds (issue 2 item 5): orderer (発注者, with an 8-digit 発注者コード, required and unique),
contractor (受注者, with an optional 13-digit 法人番号 whose check digit is verified), issuer
(発行機関) and operator. Only operators create, change or delete them; anyone may read their
own organization. An organization is deleted only while no user or work refers to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.audit.service import AuditLog
from api.errors import Conflict, DuplicateError, NotFoundError, ValidationFailed
from api.kit.claims import ClaimTaken
from api.kit.clock import Clock, to_iso
from api.kit.ids import new_id
from api.kit.patch import renderable
from api.kit.uow import UnitOfWork
from api.organizations.repository import (
    OrganizationRepository,
    code_key,
    corporate_number_key,
    office_code_key,
)
from api.organizations.schemas import (
    OfficeCreate,
    OfficeRead,
    OfficeUpdate,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
)
from api.permissions.policy import OrgContext, OrgKind, Policy, Subject
from storage.ports import RecordStore
from storage.query import Page


def corporate_number_valid(number: str) -> bool:
    """The 法人番号 check digit rule (法人番号の指定等に関する省令 第2条, 平成26年財務省令第70号).

    The first of the 13 digits is the check digit: 9 - (Σ Pn×Qn mod 9), where Pn is the n-th
    digit of the 12-digit base number counted from its lowest digit and Qn is 1 for odd n,
    2 for even n.
    """
    if len(number) != 13 or not number.isascii() or not number.isdigit():
        return False
    base = number[1:]
    total = sum(int(d) * (1 if n % 2 == 1 else 2) for n, d in enumerate(reversed(base), 1))
    return int(number[0]) == 9 - total % 9


_LABELS = {"code": "発注者コード", "corporate_number": "法人番号", "office_code": "事務所コード"}


class OrganizationService:
    def __init__(
        self,
        records: RecordStore,
        uow: Callable[[], UnitOfWork],
        policy: Policy,
        clock: Clock,
    ) -> None:
        self.repo = OrganizationRepository(records)
        self.uow = uow
        self.policy = policy
        self.clock = clock
        self.audit = AuditLog(records, clock)

    # reading
    async def get(self, subject: Subject | None, org_id: str) -> dict[str, Any]:
        # Ask before loading so that another org's existence is not revealed.
        self.policy.require(subject, "organizations.read", OrgContext(org_id))
        org = await self.repo.get(org_id)
        if org is None:
            raise NotFoundError("組織が見つかりません。")
        return org

    async def find(
        self, subject: Subject | None, *, kind: OrgKind | None, limit: int, cursor: str | None
    ) -> Page:
        """Operators see every organization; anyone else sees only their own."""
        own = subject.org_id if subject else None
        self.policy.require(subject, "organizations.read", OrgContext(own))
        assert subject is not None
        if not subject.is_operator and own is None:
            return Page()
        only = None if subject.is_operator else own
        return await self.repo.find(
            kind=kind.value if kind else None, only_id=only, limit=limit, cursor=cursor
        )

    # changing
    async def create(self, subject: Subject | None, data: OrganizationCreate) -> dict[str, Any]:
        self.policy.require(subject, "organizations.manage")
        fields = data.model_dump()
        self._check_identifiers(data.kind, fields.get("code"), fields.get("corporate_number"))
        now = to_iso(self.clock.now())
        record = {"id": new_id(), **fields, "created_at": now, "updated_at": now}
        async with self.uow():
            await self._claim(record, "code", code_key)
            await self._claim(record, "corporate_number", corporate_number_key)
            stored = await self.repo.insert(record)
            await self.audit.record(
                subject, "organizations.created", f"organizations/{stored['id']}", after=stored
            )
        return stored

    async def update(
        self, subject: Subject | None, org_id: str, data: OrganizationUpdate
    ) -> dict[str, Any]:
        self.policy.require(subject, "organizations.manage", OrgContext(org_id))
        changes = data.model_dump(exclude_unset=True, exclude={"version"})
        async with self.uow():
            before = await self._existing(org_id)
            merged = {**before, **changes}
            self._check_identifiers(
                OrgKind(before["kind"]), merged.get("code"), merged.get("corporate_number")
            )
            for name, key in (("code", code_key), ("corporate_number", corporate_number_key)):
                if name in changes and changes[name] != before.get(name):
                    if before.get(name):
                        await self.repo.release(key(before[name]))
                    await self._claim(merged, name, key)
            changes["updated_at"] = to_iso(self.clock.now())
            renderable(OrganizationRead, {**before, **changes})
            after = await self.repo.update(org_id, changes, data.version)
            await self.audit.record(
                subject,
                "organizations.updated",
                f"organizations/{org_id}",
                before=before,
                after=after,
            )
        return after

    async def delete(self, subject: Subject | None, org_id: str, version: int | None) -> None:
        """Delete an organization nobody uses; its offices go with it."""
        self.policy.require(subject, "organizations.manage", OrgContext(org_id))
        async with self.uow():
            before = await self._existing(org_id)
            refs = {k: v for k, v in (await self.repo.references(org_id)).items() if v}
            offices = await self.repo.all_offices(org_id)
            for office in offices:
                refs_office = await self.repo.office_references(office["id"])
                if refs_office:
                    refs["works_in_offices"] = refs.get("works_in_offices", 0) + refs_office
            if refs:
                raise Conflict(
                    "利用者または案件が登録されている組織は削除できません。", references=refs
                )
            for office in offices:
                if office.get("code"):
                    await self.repo.release(office_code_key(org_id, office["code"]))
                await self.repo.delete_office(office["id"], None)
            for name, key in (("code", code_key), ("corporate_number", corporate_number_key)):
                if before.get(name):
                    await self.repo.release(key(before[name]))
            await self.repo.delete(org_id, version)
            await self.audit.record(
                subject, "organizations.deleted", f"organizations/{org_id}", before=before
            )

    # offices
    async def list_offices(
        self, subject: Subject | None, org_id: str, limit: int, cursor: str | None
    ) -> Page:
        await self.get(subject, org_id)
        return await self.repo.list_offices(org_id, limit, cursor)

    async def get_office(
        self, subject: Subject | None, org_id: str, office_id: str
    ) -> dict[str, Any]:
        await self.get(subject, org_id)
        return await self._existing_office(org_id, office_id)

    async def create_office(
        self, subject: Subject | None, org_id: str, data: OfficeCreate
    ) -> dict[str, Any]:
        self.policy.require(subject, "organizations.manage", OrgContext(org_id))
        now = to_iso(self.clock.now())
        record = {
            "id": new_id(),
            "org_id": org_id,
            **data.model_dump(),
            "created_at": now,
            "updated_at": now,
        }
        async with self.uow():
            await self._existing(org_id)
            if record.get("code"):
                await self._claim_value(
                    office_code_key(org_id, record["code"]), record["id"], "office_code"
                )
            stored = await self.repo.insert_office(record)
            await self.audit.record(
                subject, "offices.created", f"offices/{stored['id']}", after=stored
            )
        return stored

    async def update_office(
        self, subject: Subject | None, org_id: str, office_id: str, data: OfficeUpdate
    ) -> dict[str, Any]:
        self.policy.require(subject, "organizations.manage", OrgContext(org_id))
        changes = data.model_dump(exclude_unset=True, exclude={"version"})
        async with self.uow():
            before = await self._existing_office(org_id, office_id)
            if "code" in changes and changes["code"] != before.get("code"):
                if before.get("code"):
                    await self.repo.release(office_code_key(org_id, before["code"]))
                if changes["code"]:
                    await self._claim_value(
                        office_code_key(org_id, changes["code"]), office_id, "office_code"
                    )
            changes["updated_at"] = to_iso(self.clock.now())
            renderable(OfficeRead, {**before, **changes})
            after = await self.repo.update_office(office_id, changes, data.version)
            await self.audit.record(
                subject, "offices.updated", f"offices/{office_id}", before=before, after=after
            )
        return after

    async def delete_office(
        self, subject: Subject | None, org_id: str, office_id: str, version: int | None
    ) -> None:
        self.policy.require(subject, "organizations.manage", OrgContext(org_id))
        async with self.uow():
            before = await self._existing_office(org_id, office_id)
            used = await self.repo.office_references(office_id)
            if used:
                raise Conflict(
                    "案件が登録されている事務所は削除できません。", references={"works": used}
                )
            if before.get("code"):
                await self.repo.release(office_code_key(org_id, before["code"]))
            await self.repo.delete_office(office_id, version)
            await self.audit.record(
                subject, "offices.deleted", f"offices/{office_id}", before=before
            )

    # helpers
    async def _existing(self, org_id: str) -> dict[str, Any]:
        org = await self.repo.get(org_id)
        if org is None:
            raise NotFoundError("組織が見つかりません。")
        return org

    async def _existing_office(self, org_id: str, office_id: str) -> dict[str, Any]:
        office = await self.repo.get_office(office_id)
        if office is None or office.get("org_id") != org_id:
            raise NotFoundError("事務所が見つかりません。")
        return office

    @staticmethod
    def _check_identifiers(kind: OrgKind, code: str | None, corporate_number: str | None) -> None:
        if kind is OrgKind.ORDERER and not code:
            raise ValidationFailed("発注者には8桁の発注者コードが必要です。", field="code")
        if kind is not OrgKind.ORDERER and code:
            raise ValidationFailed("発注者コードは発注者にのみ設定できます。", field="code")
        if corporate_number and not corporate_number_valid(corporate_number):
            raise ValidationFailed(
                "法人番号のチェックデジットが正しくありません。", field="corporate_number"
            )

    async def _claim(self, record: dict[str, Any], name: str, key: Callable[[str], str]) -> None:
        if record.get(name):
            await self._claim_value(key(record[name]), record["id"], name)

    async def _claim_value(self, key: str, owner_id: str, name: str) -> None:
        try:
            await self.repo.claim(key, owner_id)
        except ClaimTaken as exc:
            raise DuplicateError(
                f"この{_LABELS[name]}はすでに登録されています。", field=name
            ) from exc
