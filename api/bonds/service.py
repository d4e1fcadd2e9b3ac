"""Bonds: registration, update and deletion by issuers (F01, F02), records of contract
security by orderers (seed 003 21), and each reader's view.

- Registration (F01<1>, F02<1> ボンド情報登録): the contents and, for bid-time bonds, the
  issuer's own 開札日時; an auth key is prepared in the same unit of work (``keys``). A
  performance bond may carry a reservation's data (F02<1> 予約時の情報を引き継ぐ); the
  reservation and the bid bonds it replaces are deleted with it (F02<2>).
- Update (F01<2>-<3> 再入札, F02<3> 変更契約): a new revision; the premium difference is
  recorded (保証・保険料等の徴収（増減分）); the old key stops working at once.
- Deletion (F01<4> 不落札, F02<2>, F02<4>): the bond stays as a deleted record (the history
  and the balances keep it); its key is revoked.
- The original is one versioned record (原本はシステム内に1つ): ``bonds`` plus immutable
  ``bond_revisions``; copies print at any revision (``printing``).

Every change is audited in its unit of work with the bond's organization named in ``detail``
and no amount in it; stored states carry a random ``salt`` so their digests reveal nothing.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from api.attachments.service import AttachmentService
from api.audit.service import AuditLog
from api.bonds import balances
from api.bonds.keys import KeyService
from api.bonds.models import (
    BONDS,
    OPENINGS,
    REVISIONS,
    SEALED_KINDS,
    TRANSITIONS,
    UPDATE_EVENTS,
    BondKind,
    BondState,
    DeleteReason,
    Event,
    KeyState,
    Origin,
    opening_id,
    revision_id,
    target,
)
from api.bonds.permissions import BondResource, relation
from api.bonds.schemas import BondCreate, BondUpdate, Debt, Permissions, SecurityCreate
from api.errors import (
    Conflict,
    DuplicateError,
    NotAuthenticated,
    NotFoundError,
    ValidationFailed,
)
from api.kit.clock import from_iso, to_iso
from api.kit.ids import is_id, new_id
from api.permissions.policy import OrgKind, Subject
from storage.errors import DuplicateKey
from storage.query import Eq, Query, Record

if TYPE_CHECKING:
    from api.container import Container

PERFORMANCE_KINDS = frozenset(
    {BondKind.PERFORMANCE_BOND, BondKind.PERFORMANCE_INSURANCE, BondKind.FINANCIAL_GUARANTEE}
)
_CONTENT_FIELDS = (
    "certificate_no",
    "amount",
    "contract_amount",
    "period_start",
    "period_end",
    "claim_deadline",
    "premium",
    "conditions",
    "issued_on",
    "paid_on",
)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def check_contents(kind: BondKind, c: dict[str, Any], opening_at: str | None, paper: bool) -> None:
    """Rules across fields (400): period order, the claim deadline, the amount against the
    contract amount, 1/10 for performance securities (seed 003 21), 開札日時 for bid-time
    bonds (F01<1> 2.)."""
    start, end = c.get("period_start"), c.get("period_end")
    if start and end and start > end:
        raise ValidationFailed(
            "保証期間の終了日は開始日以降の日付を指定してください。", field="period_end"
        )
    deadline = c.get("claim_deadline")
    if deadline and end and deadline < end:
        raise ValidationFailed(
            "保証債務履行の請求期限は保証期間の終了日以降の日付を指定してください。",
            field="claim_deadline",
        )
    contract = c.get("contract_amount")
    amount = int(c["amount"])
    if contract is not None and amount > int(contract):
        raise ValidationFailed("保証金額が契約金額を超えています。", field="amount")
    if kind in PERFORMANCE_KINDS and contract is not None and amount * 10 < int(contract):
        raise ValidationFailed(
            "保証金額が契約金額の10分の1に満たないため、契約保証になりません（公告 共通事項21）。",
            field="amount",
        )
    if kind in SEALED_KINDS and not paper and not opening_at:
        raise ValidationFailed(
            "入札ボンド・履行ボンド予約には開札日時が必要です（閲覧制限のため）。",
            field="opening_at",
        )
    if kind not in SEALED_KINDS and opening_at:
        raise ValidationFailed(
            "開札日時を設定できるのは入札ボンドと履行ボンド予約だけです。", field="opening_at"
        )


class BondService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.policy = container.policy
        self.audit = AuditLog(container.records, container.clock)
        self.keys = KeyService(container)

    # access --------------------------------------------------------------------------------------
    async def load(self, subject: Subject | None, bond_id: str, action: str) -> Record:
        """The bond if ``subject`` may do ``action``: 401 anonymous, 404 unknown or unrelated
        (malformed ids too), 403 related without the right."""
        if subject is None:
            raise NotAuthenticated()
        bond = await self.records.get(BONDS, bond_id) if is_id(bond_id) else None
        if bond is None or relation(subject, bond) is None:
            raise NotFoundError()
        self.policy.require(subject, "bonds.read", BondResource(bond))
        if action != "bonds.read":
            self.policy.require(subject, action, BondResource(bond))
        return bond

    def permissions(self, subject: Subject, bond: Record) -> Permissions:
        res = BondResource(bond)
        active = bond.get("state") == BondState.ACTIVE
        electronic = bond.get("origin") == Origin.ELECTRONIC
        return Permissions(
            update=active and self.policy.can(subject, "bonds.update", res),
            delete=active and self.policy.can(subject, "bonds.delete", res),
            sign=active and electronic and self.policy.can(subject, "bonds.sign", res),
            download_key=active
            and electronic
            and bond.get("key_state") == KeyState.ACTIVE
            and self.policy.can(subject, "bonds.download_key", res),
            open=active and electronic and self.policy.can(subject, "bonds.open", res),
        )

    def may_read_contents(self, subject: Subject, bond: Record) -> bool:
        return self.policy.can(subject, "bonds.read_contents", BondResource(bond))

    async def _org(self, org_id: str, kind: OrgKind, message: str) -> Record:
        org = await self.records.get("organizations", org_id) if is_id(org_id) else None
        if org is None or org.get("kind") != kind:
            raise ValidationFailed(message)
        return org

    async def _work(self, orderer: str, number: str) -> Record | None:
        page = await self.records.find(
            "works",
            Query(where=(Eq("orderer_org_id", orderer), Eq("number", number)), limit=1),
        )
        return page.items[0] if page.items else None

    # commands ------------------------------------------------------------------------------------
    async def create(self, subject: Subject | None, data: BondCreate) -> Record:
        if subject is None:
            raise NotAuthenticated()
        self.policy.require(subject, "bonds.create", BondResource(org_id=subject.org_id))
        kind = BondKind(data.kind)
        issuer = await self._org(str(subject.org_id), OrgKind.ISSUER, "発行機関が見つかりません。")
        obligor = await self._org(
            data.obligor_org_id, OrgKind.CONTRACTOR, "債務者（受注者）が見つかりません。"
        )
        obligee = await self._org(
            data.obligee_org_id, OrgKind.ORDERER, "債権者（発注者）が見つかりません。"
        )
        contents = {f: _iso(getattr(data, f)) for f in _CONTENT_FIELDS if hasattr(data, f)}
        contents["premium_difference"] = None
        contents = {k: v for k, v in contents.items() if v is not None or k == "premium_difference"}
        opening_at = _iso(data.opening_at)
        check_contents(kind, contents, opening_at, data.paper)
        carried = await self._carried(subject, data, kind)
        work = await self._work(data.obligee_org_id, data.work_number)
        now = to_iso(self.clock.now())
        bond: Record = {
            "id": new_id(),
            "revision": 1,
            "kind": kind.value,
            "origin": (Origin.PAPER if data.paper else Origin.ELECTRONIC).value,
            "state": BondState.ACTIVE.value,
            "issuer_org_id": issuer["id"],
            "issuer_name": issuer.get("name", ""),
            "obligor_org_id": obligor["id"],
            "obligor_name": obligor.get("name", ""),
            "obligee_org_id": obligee["id"],
            "obligee_name": obligee.get("name", ""),
            "work_id": work["id"] if work else None,
            "work_number": data.work_number,
            "work_title": data.work_title,
            "cert_key": f"{issuer['id']}:{data.certificate_no}",
            "contents": contents,
            "key_state": (KeyState.NONE if data.paper else KeyState.AWAITING_SIGNATURE).value,
            "salt": secrets.token_hex(16),
            "created_at": now,
            "created_by": subject.user_id,
            "updated_at": now,
        }
        if opening_at:
            bond["opening_at"] = opening_at
        if carried:
            bond["from_reservation"] = carried[0]["id"]
        bond = {k: v for k, v in bond.items() if v is not None}
        async with self.container.uow() as uow:
            try:
                stored = await self.records.insert(BONDS, bond)
            except DuplicateKey as exc:
                raise DuplicateError("同じ証券番号のボンドがすでに登録されています。") from exc
            await self._revision(stored, Event.REGISTER, subject)
            if stored["origin"] == Origin.ELECTRONIC:
                key = await self.keys.prepare(uow, stored)
                if key["state"] == KeyState.ACTIVE:
                    stored = await self.records.update(
                        BONDS, stored["id"], {"key_state": KeyState.ACTIVE.value}, stored["version"]
                    )
            stored = await self._balance(stored, [])
            await self.audit.record(
                subject,
                "bonds.registered",
                target(stored["id"]),
                after=stored,
                # No issuer ``org_id`` in the detail: the audit view shows detail ids by name,
                # and the orderer's auditors read this event (its work is theirs) before the
                # opening, when the issuer is sealed (seed 002 F01). The actor's organization
                # (the issuer's) is in the event's scope anyway (api/audit/scope.py).
                detail={"kind": kind.value},
            )
            for old in carried:
                await self._delete(subject, old, DeleteReason.CONTRACTED)
        return stored

    async def _carried(self, subject: Subject, data: BondCreate, kind: BondKind) -> list[Record]:
        """The reservation (F02<1>) and bid bonds (F02<2>) this performance bond replaces:
        the issuer's own, active, for the same obligor and obligee."""
        ids = [*([data.reservation_id] if data.reservation_id else []), *data.replaces]
        if ids and kind is not BondKind.PERFORMANCE_BOND:
            raise ValidationFailed(
                "引き継げるのは履行ボンドの登録時だけです。", field="reservation_id"
            )
        out: list[Record] = []
        for bid in dict.fromkeys(ids):
            old = await self.records.get(BONDS, bid) if is_id(bid) else None
            if (
                old is None
                or old.get("issuer_org_id") != subject.org_id
                or old.get("state") != BondState.ACTIVE
                or old.get("kind") not in SEALED_KINDS
                or old.get("obligor_org_id") != data.obligor_org_id
                or old.get("obligee_org_id") != data.obligee_org_id
            ):
                raise ValidationFailed(
                    "引き継ぐ入札ボンド・履行ボンド予約が見つかりません。", field="reservation_id"
                )
            out.append(old)
        return out

    async def carry_template(self, subject: Subject | None, bond_id: str) -> dict[str, Any]:
        """A reservation's data as a new performance bond's form (F02<1>)."""
        bond = await self.load(subject, bond_id, "bonds.update")
        if bond["kind"] != BondKind.PERFORMANCE_RESERVATION or bond["state"] != BondState.ACTIVE:
            raise ValidationFailed("引き継げるのは有効な履行ボンド予約だけです。")
        c = bond["contents"]
        return {
            "kind": BondKind.PERFORMANCE_BOND.value,
            "reservation_id": bond["id"],
            "obligor_org_id": bond["obligor_org_id"],
            "obligee_org_id": bond["obligee_org_id"],
            "work_number": bond.get("work_number", ""),
            "work_title": bond.get("work_title", ""),
            **{
                k: c.get(k)
                for k in _CONTENT_FIELDS
                if k != "certificate_no" and c.get(k) is not None
            },
        }

    async def update(self, subject: Subject | None, bond_id: str, data: BondUpdate) -> Record:
        bond = await self.load(subject, bond_id, "bonds.update")
        assert subject is not None
        event = Event(data.event)
        if (BondState(bond["state"]), event) not in TRANSITIONS:
            raise Conflict("削除されたボンドは更新できません。")
        kind = BondKind(bond["kind"])
        if event not in UPDATE_EVENTS[kind]:
            raise ValidationFailed(
                "再入札による更新は入札ボンド・履行ボンド予約、変更契約による更新はそれ以外のボンドで行います。",
                field="event",
            )
        changes = {
            f: _iso(getattr(data, f))
            for f in data.model_fields_set
            if f in _CONTENT_FIELDS and getattr(data, f) is not None
        }
        contents = {**bond["contents"], **changes}
        old_premium = int(bond["contents"].get("premium") or 0)
        if "premium" in changes:
            # F01<3> 保証・保険料等の徴収（増減分）
            contents["premium_difference"] = int(changes["premium"]) - old_premium
        else:
            contents["premium_difference"] = 0
        opening_at = _iso(data.opening_at) if data.opening_at else bond.get("opening_at")
        if data.opening_at is not None and kind not in SEALED_KINDS:
            raise ValidationFailed(
                "開札日時を設定できるのは入札ボンドと履行ボンド予約だけです。", field="opening_at"
            )
        check_contents(kind, contents, opening_at, bond["origin"] == Origin.PAPER)
        now = to_iso(self.clock.now())
        update: Record = {
            "revision": int(bond["revision"]) + 1,
            "contents": contents,
            "updated_at": now,
            "updated_by": subject.user_id,
        }
        if data.work_title is not None:
            update["work_title"] = data.work_title
        if opening_at:
            update["opening_at"] = opening_at
        if bond["origin"] == Origin.ELECTRONIC:
            update["key_state"] = KeyState.AWAITING_SIGNATURE.value
        before_revisions = await balances.revisions_of(self.records, bond["id"])
        async with self.container.uow() as uow:
            stored = await self.records.update(BONDS, bond_id, update, data.version)
            await self._revision(stored, event, subject)
            if stored["origin"] == Origin.ELECTRONIC:
                key = await self.keys.prepare(uow, stored)
                if key["state"] == KeyState.ACTIVE:
                    stored = await self.records.update(
                        BONDS, bond_id, {"key_state": KeyState.ACTIVE.value}, stored["version"]
                    )
            stored = await self._balance(stored, before_revisions)
            await self.audit.record(
                subject,
                "bonds.updated",
                target(bond_id),
                before=bond,
                after=stored,
                detail={
                    "org_id": bond.get("issuer_org_id") or bond.get("obligee_org_id"),
                    "event": event.value,
                    "revision": stored["revision"],
                },
            )
        return stored

    async def delete(
        self, subject: Subject | None, bond_id: str, version: int, reason: DeleteReason
    ) -> Record:
        bond = await self.load(subject, bond_id, "bonds.delete")
        assert subject is not None
        if bond["state"] != BondState.ACTIVE:
            raise Conflict("このボンドはすでに削除されています。")
        if bond["version"] != version:
            from api.errors import StaleVersionError

            raise StaleVersionError(current_version=bond["version"])
        async with self.container.uow():
            return await self._delete(subject, bond, reason)

    async def _delete(self, subject: Subject, bond: Record, reason: DeleteReason) -> Record:
        before_revisions = await balances.revisions_of(self.records, bond["id"])
        now = to_iso(self.clock.now())
        changes: Record = {
            "state": BondState.DELETED.value,
            "revision": int(bond["revision"]) + 1,
            "deleted_reason": reason.value,
            "deleted_at": now,
            "deleted_by": subject.user_id,
            "updated_at": now,
        }
        if bond["origin"] == Origin.ELECTRONIC:
            changes["key_state"] = KeyState.REVOKED.value
        stored = await self.records.update(BONDS, bond["id"], changes, bond["version"])
        await self._revision(stored, Event.DELETE, subject)
        if bond["origin"] == Origin.ELECTRONIC:
            await self.keys.close_previous(stored, KeyState.REVOKED)
        stored = await self._balance(stored, before_revisions)
        await self.audit.record(
            subject,
            "bonds.deleted",
            target(bond["id"]),
            before=bond,
            after=stored,
            detail={
                "org_id": bond.get("issuer_org_id") or bond.get("obligee_org_id"),
                "reason": reason.value,
            },
        )
        return stored

    async def _revision(self, bond: Record, event: Event, subject: Subject) -> None:
        await self.records.insert(
            REVISIONS,
            {
                "id": revision_id(bond["id"], int(bond["revision"])),
                "bond_id": bond["id"],
                "revision": int(bond["revision"]),
                "event": event.value,
                "state": bond["state"],
                "kind": bond["kind"],
                "issuer_org_id": bond.get("issuer_org_id"),
                "issuer_name": bond.get("issuer_name"),
                "obligor_name": bond.get("obligor_name"),
                "obligee_name": bond.get("obligee_name"),
                "work_number": bond.get("work_number"),
                "work_title": bond.get("work_title"),
                "opening_at": bond.get("opening_at"),
                "contents": bond["contents"],
                "salt": bond.get("salt"),
                "at": bond["updated_at"],
                "by": subject.user_id,
            },
        )

    async def _balance(self, bond: Record, before: list[Record]) -> Record:
        """Replace the bond's contribution to its issuer's yearly balance records by its new
        one; a bond with an opening time also keeps its contribution apart, so the figures
        of others leave it out while it is sealed (``balances.keep_sealed``)."""
        if not balances.counts(bond):
            return bond
        after = await balances.revisions_of(self.records, bond["id"])
        new = balances.contribution(after)
        change = balances.difference(balances.contribution(before), new)
        if change:
            await balances.apply(self.records, str(bond["issuer_org_id"]), change)
        await balances.keep_sealed(self.records, bond, new)
        return bond

    # orderer's records of contract security (seed 003 21) -----------------------------------------
    async def create_security(self, subject: Subject | None, data: SecurityCreate) -> Record:
        if subject is None:
            raise NotAuthenticated()
        self.policy.require(subject, "bonds.securities.create", BondResource(org_id=subject.org_id))
        work = await self.records.get("works", data.work_id) if is_id(data.work_id) else None
        if work is None or work.get("orderer_org_id") != subject.org_id:
            raise ValidationFailed("自機関の案件が見つかりません。", field="work_id")
        obligor = await self._org(
            data.obligor_org_id, OrgKind.CONTRACTOR, "債務者（受注者）が見つかりません。"
        )
        obligee = await self._org(str(subject.org_id), OrgKind.ORDERER, "発注者が見つかりません。")
        kind = BondKind(data.kind)
        contents = {f: _iso(getattr(data, f)) for f in _CONTENT_FIELDS if hasattr(data, f)}
        contents = {k: v for k, v in contents.items() if v not in (None, "")}
        contents["receipt_ids"] = list(data.receipt_ids)
        if kind is BondKind.CASH and not data.paid_on:
            raise ValidationFailed(
                "契約保証金の納付日（領収日）を指定してください。", field="paid_on"
            )
        if kind is not BondKind.CASH and not data.issued_on:
            raise ValidationFailed("発行日（提供日）を指定してください。", field="issued_on")
        check_contents(kind, {"amount": data.amount, **contents}, None, True)
        now = to_iso(self.clock.now())
        ident = new_id()
        bond: Record = {
            "id": ident,
            "revision": 1,
            "kind": kind.value,
            "origin": Origin.ORDERER.value,
            "state": BondState.ACTIVE.value,
            "issuer_name": data.issuer_name,
            "obligor_org_id": obligor["id"],
            "obligor_name": obligor.get("name", ""),
            "obligee_org_id": obligee["id"],
            "obligee_name": obligee.get("name", ""),
            "work_id": work["id"],
            "work_number": work.get("number", ""),
            "work_title": work.get("title", ""),
            "cert_key": f"orderer:{subject.org_id}:{ident}",
            "contents": contents,
            "key_state": KeyState.NONE.value,
            "salt": secrets.token_hex(16),
            "created_at": now,
            "created_by": subject.user_id,
            "updated_at": now,
        }
        async with self.container.uow() as uow:
            stored = await self.records.insert(BONDS, bond)
            if data.receipt_ids:
                await AttachmentService(self.container).link(
                    uow, subject, data.receipt_ids, target(ident), work_id=None
                )
            await self._revision(stored, Event.REGISTER, subject)
            await self.audit.record(
                subject,
                "bonds.security_recorded",
                target(ident),
                after=stored,
                detail={"org_id": subject.org_id, "kind": kind.value},
            )
        return stored

    # reads ------------------------------------------------------------------------------------
    async def debt(self, bond: Record) -> Debt:
        """The obligor's outstanding guarantees today (F01<2> 債務額の情報), counting only
        bonds that are not sealed now."""
        now = self.clock.now()
        today = balances.jst_date(now)
        total, count = 0, 0
        async for other in balances.find_all(
            self.records,
            BONDS,
            (Eq("obligor_org_id", bond["obligor_org_id"]), Eq("state", "active")),
            (("obligor_org_id", 1),),
        ):
            if not balances.counts(other):
                continue
            at = other.get("opening_at")
            if at and now < from_iso(at):
                continue
            amount = balances.outstanding_on(other, today)
            if amount:
                total += amount
                count += 1
        return Debt(outstanding=total, bonds=count)

    async def record_opening(self, subject: Subject, bond: Record, revision: int) -> None:
        """The orderer's organization confirmed this revision with a valid key."""
        rid = opening_id(str(subject.org_id), bond["id"])
        now = to_iso(self.clock.now())
        current = await self.records.get(OPENINGS, rid)
        values = {"revision": revision, "opened_at": now, "opened_by": subject.user_id}
        if current is None:
            with contextlib.suppress(DuplicateKey):  # another request of the same org won
                await self.records.insert(
                    OPENINGS,
                    {"id": rid, "org_id": subject.org_id, "bond_id": bond["id"], **values},
                )
        elif int(current.get("revision", 0)) != revision:
            await self.records.update(OPENINGS, rid, values, current["version"])

    async def opened_revision(self, org_id: str, bond_id: str) -> int | None:
        rec = await self.records.get(OPENINGS, opening_id(org_id, bond_id))
        return int(rec["revision"]) if rec else None
