"""What every master-data service shares: the policy checks, the scope (global or one
organization) a request reads or writes, and the audited create-or-replace of a record with
a natural id (issue 7 item 5).

Scopes: positions and business types (業種, a statutory list, seed 004) are global and only
operators change them. The calendar's custom days and the mail templates have a global layer
(operators) and a layer per organization (operators, or ``master.manage`` holders of that
organization), which overrides the global one for that organization only. A request names its
scope with ``org_id``; without it a non-operator works in their own organization and an
operator in the global layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.audit.service import AuditLog
from api.errors import NotFoundError, StaleVersionError
from api.kit.clock import Clock, to_iso
from api.kit.uow import UnitOfWork
from api.permissions.policy import OrgContext, Policy, Subject
from storage.ports import RecordStore

ORGANIZATIONS = "organizations"
NO_ORG = "組織が見つかりません。"


class MasterBase:
    def __init__(
        self,
        records: RecordStore,
        uow: Callable[[], UnitOfWork],
        policy: Policy,
        clock: Clock,
    ) -> None:
        self.records = records
        self.uow = uow
        self.policy = policy
        self.clock = clock
        self.audit = AuditLog(records, clock)

    def _read(self, subject: Subject | None) -> None:
        self.policy.require(subject, "master.read")

    def _manage_global(self, subject: Subject | None) -> None:
        """Global master data: operators only (issue 7 item 5: ``master.manage`` in one city
        used to change what every city uses)."""
        self.policy.require(subject, "master.manage", OrgContext(None))

    def _now(self) -> str:
        return to_iso(self.clock.now())

    async def read_scope(self, subject: Subject | None, org_id: str | None) -> str | None:
        """The organization whose layer a read sees (None: the global layer alone). Another
        organization's layer answers 404 to non-operators, as an unknown id does."""
        self._read(subject)
        assert subject is not None
        if org_id is None:
            return None if subject.is_operator else subject.org_id
        if not self.policy.can(subject, "master.read_org", OrgContext(org_id)):
            raise NotFoundError(NO_ORG)
        if subject.is_operator and await self.records.get(ORGANIZATIONS, org_id) is None:
            raise NotFoundError(NO_ORG)
        return org_id

    async def write_scope(self, subject: Subject | None, org_id: str | None) -> str | None:
        """The layer a change goes to (None: global, operators only); 403 without the right,
        404 for another organization (non-operators) or an unknown one (operators)."""
        self._read(subject)
        assert subject is not None
        if org_id is None:
            org_id = None if subject.is_operator else subject.org_id
        elif not subject.is_operator and org_id != subject.org_id:
            raise NotFoundError(NO_ORG)
        self.policy.require(subject, "master.manage", OrgContext(org_id))
        missing = org_id is not None and subject.is_operator
        if missing and await self.records.get(ORGANIZATIONS, str(org_id)) is None:
            raise NotFoundError(NO_ORG)
        return org_id

    async def _get(self, collection: str, record_id: str, missing: str) -> dict[str, Any]:
        record = await self.records.get(collection, record_id)
        if record is None:
            raise NotFoundError(missing)
        return record

    async def _put(
        self,
        subject: Subject | None,
        collection: str,
        record_id: str,
        fields: dict[str, Any],
        version: int | None,
        action: str,
    ) -> dict[str, Any]:
        """Create or replace the record with a natural id (PUT), audited as
        ``<action>.created`` / ``.updated``: creating takes no ``version``, replacing needs
        the one read (a missing or stale one answers 409)."""
        async with self.uow():
            before = await self.records.get(collection, record_id)
            if before is None:
                if version is not None:
                    raise StaleVersionError(current_version=None)
                after = await self.records.insert(collection, {"id": record_id, **fields})
                verb = "created"
            else:
                if version is None:
                    raise StaleVersionError(
                        "すでに登録されています。version を指定してください。",
                        current_version=before["version"],
                    )
                after = await self.records.update(collection, record_id, fields, version)
                verb = "updated"
            await self.audit.record(
                subject, f"{action}.{verb}", f"{collection}/{record_id}", before=before, after=after
            )
        return after
