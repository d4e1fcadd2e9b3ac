"""Per-user function grants (seed 001 別表1-1 8(3): 権限者が利用者ごとに使用できる機能及び権限を
設定できる).

A grant record ``{id: "<user_id>:<grant>", user_id, org_id, grant, granted_by, granted_at}``
exists while the user holds the grant. Operators grant anything to anyone; a user holding
``grants.manage`` grants within their own organization only, and only grants they hold
themselves, so that nobody can hand out more authority than they have.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.audit.service import AuditLog
from api.errors import BadRequest, DuplicateError, Forbidden, NotFoundError
from api.kit.clock import Clock, to_iso
from api.kit.uow import UnitOfWork
from api.permissions.policy import OrgContext, OrgKind, Policy, Subject, all_grants
from storage.errors import DuplicateKey, NotFound
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq

COLLECTION = "grants"
USERS = "users"
ORGS = "organizations"


def grant_id(user_id: str, grant: str) -> str:
    return f"{user_id}:{grant}"


async def grants_of(records: RecordStore, user_id: str) -> frozenset[str]:
    """The grant names a user holds now (for the auth layer building a ``Subject``)."""
    names = {str(g["grant"]) async for g in records.scan(COLLECTION, (Eq("user_id", user_id),))}
    return frozenset(names)


async def authority_of(records: RecordStore, user: dict[str, Any]) -> tuple[frozenset[str], bool]:
    """What an account holds: its effective grants (those recorded for its own organization,
    as ``AuthService.subject_for`` counts them) and whether it belongs to an operator
    organization. ``Policy.require_authority_over`` compares this with the actor's."""
    org_id = user.get("org_id")
    held = frozenset(
        [
            str(g["grant"])
            async for g in records.scan(COLLECTION, (Eq("user_id", str(user["id"])),))
            if "grant" in g and g.get("org_id") in (None, org_id)
        ]
    )
    org = await records.get(ORGS, str(org_id)) if org_id else None
    return held, org is not None and org.get("kind") == OrgKind.OPERATOR.value


class GrantService:
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

    async def ensure_indexes(self) -> None:
        await self.records.ensure_indexes(COLLECTION, [IndexSpec((("user_id", 1), ("id", 1)))])

    async def of_user(self, subject: Subject | None, user_id: str) -> list[dict[str, Any]]:
        """A user's grants: visible to the user, operators and their org's grant managers."""
        user = await self._user(subject, user_id, read=True)
        items = [g async for g in self.records.scan(COLLECTION, (Eq("user_id", user["id"]),))]
        return sorted(items, key=lambda g: str(g["grant"]))

    async def grant(self, subject: Subject | None, user_id: str, name: str) -> dict[str, Any]:
        user = await self._user(subject, user_id)
        self._check_name(subject, name)
        assert subject is not None
        record: dict[str, Any] = {
            "id": grant_id(user_id, name),
            "user_id": user_id,
            "org_id": user.get("org_id"),
            "grant": name,
            "granted_by": subject.user_id,
            "granted_at": to_iso(self.clock.now()),
        }
        async with self.uow():
            if await self.records.get(COLLECTION, record["id"]) is not None:
                raise DuplicateError("この機能権限はすでに付与されています。", field="grant")
            try:
                stored = await self.records.insert(COLLECTION, record)
            except DuplicateKey as exc:
                raise DuplicateError(
                    "この機能権限はすでに付与されています。", field="grant"
                ) from exc
            await self.audit.record(
                subject, "grants.granted", f"grants/{stored['id']}", after=stored
            )
        return stored

    async def revoke(
        self, subject: Subject | None, user_id: str, name: str, version: int | None
    ) -> None:
        await self._user(subject, user_id)
        self._check_name(subject, name)
        gid = grant_id(user_id, name)
        async with self.uow():
            before = await self.records.get(COLLECTION, gid)
            if before is None:
                raise NotFoundError("この機能権限は付与されていません。")
            try:
                await self.records.delete(COLLECTION, gid, version)
            except NotFound as exc:
                raise NotFoundError("この機能権限は付与されていません。") from exc
            await self.audit.record(subject, "grants.revoked", f"grants/{gid}", before=before)

    async def _user(
        self, subject: Subject | None, user_id: str, *, read: bool = False
    ) -> dict[str, Any]:
        """The target user. Anonymous 401; a user reading their own grants passes; a subject
        without ``grants.manage`` gets 403 whatever the id; with it, an unknown user and a
        user of another organization answer the same 404 (issue 7 item 10: no oracle); a
        change on a user holding grants the subject lacks gets 403 (issue 7 item 2)."""
        if subject is None:
            self.policy.require(subject, "grants.manage")
        assert subject is not None
        user = await self.records.get(USERS, user_id)
        if read and user is not None and subject.user_id == user_id:
            return user
        self.policy.require(subject, "grants.manage", OrgContext(subject.org_id))
        if user is None or not self.policy.can(
            subject, "grants.manage", OrgContext(user.get("org_id"))
        ):
            raise NotFoundError("利用者が見つかりません。")
        if not read:
            held, operator = await authority_of(self.records, user)
            self.policy.require_authority_over(subject, held, target_operator=operator)
        return user

    @staticmethod
    def _check_name(subject: Subject | None, name: str) -> None:
        if name not in all_grants():
            valid = ", ".join(sorted(all_grants()))
            raise BadRequest(
                f"機能権限「{name}」はありません。指定できるもの: {valid}",
                valid=sorted(all_grants()),
            )
        if subject is not None and not subject.is_operator and name not in subject.grants:
            raise Forbidden("自分が持っていない機能権限は付与・取消しできません。")
