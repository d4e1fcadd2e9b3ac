"""The agreement (覚書) of a municipality: systems, fees, term, renewal and termination.

Seed 000 手続きフロー: 利用検討 (explanation, trial environment) → 情報共有S利用決定 /
保管管理S利用決定 (※情報共有システムのみの利用も可能) → 覚書の締結. The agreement records the
systems, the fee table in force, the start, the term and the renewal clause:

- **Term.** The first term runs from ``starts_on`` to the end of that fiscal year (or a date the
  operator sets); each renewal adds one year counted from the first renewal's start
  (``rules.term_end_after``: no drift on 2月29日 or a 31st).
- **Renewal clause** (seed 000 注意): with no declaration one month before the term ends, the
  term extends itself by one year. ``renewal_declaration_by`` = the term's end less one month.
- **Termination** (利用終了通知, 様式情運-7): for the next fiscal year, notified by mid-February
  (seed 000: 利用終了は前年度２月中旬までに通知) = ``termination_notice_by`` (2月15日).

How the two deadlines interact (decided here, shown in the UI): the municipality files its
notice itself up to ``termination_notice_by``. Between that day and ``renewal_declaration_by``
the clause still lets either side decline the renewal, so the operator may record a late
notice (with a reason) for the municipality; after ``renewal_declaration_by`` nobody can, the
term renews, and a notice then ends the agreement with the *following* term. The operator's
stop notice (利用停止通知, 様式情運-8) follows every accepted termination (the notices job
issues it if the operator has not); at the term's end the agreement is ``terminated``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from api.billing import models
from api.billing.base import Base, StateConflict
from api.billing.documents import Documents, notice_data, wareki
from api.billing.models import AgreementState, System
from api.billing.permissions import BillingResource
from api.billing.rules import (
    fiscal_year,
    fiscal_year_end,
    month_before,
    term_end_after,
    termination_deadline,
)
from api.billing.tariffs import Tariffs
from api.errors import Conflict, ValidationFailed
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from storage.query import Eq, In, Query, Record

OPEN_STATES = (AgreementState.APPLIED, AgreementState.ACTIVE, AgreementState.TERMINATING)
ACCESS_RULES = ("none", "provisional")


class DeadlinePassed(Conflict):
    code = "deadline_passed"
    title = "期限を過ぎているため受け付けできません。"


def deadlines(term_ends_on: date) -> dict[str, str]:
    return {
        "termination_notice_by": termination_deadline(term_ends_on).isoformat(),
        "renewal_declaration_by": month_before(term_ends_on).isoformat(),
    }


def claim_key(org_id: str) -> str:
    return f"agreement:{org_id}"


class Agreements(Base):
    # the municipality ----------------------------------------------------------------------
    async def apply(
        self,
        subject: Subject | None,
        *,
        systems: list[System],
        starts_on: date,
        contact: dict[str, str],
    ) -> Record:
        """利用決定: the municipality asks to conclude the agreement for these systems."""
        self.policy.require(subject, "billing.municipality")
        assert subject is not None
        assert subject.org_id is not None
        if System.COLLAB not in systems:
            # 保管管理システム alone is not offered: the archive receives from collaboration
            # (seed 000 ※情報共有システムのみの利用も可能; the reverse is not).
            raise ValidationFailed("情報共有システムは必ず選択してください。", field="systems")
        org = await self.org(subject.org_id)
        record: Record = {
            "id": new_id(),
            "org_id": org["id"],
            "org_name": org.get("name", ""),
            "sandbox": bool(org.get("sandbox")),
            "state": AgreementState.APPLIED.value,
            "systems": sorted({s.value for s in systems}),
            "starts_on": starts_on.isoformat(),
            "contact": contact,
            "access_before_payment": "none",
            "applied_by": subject.user_id,
            "created_at": self.now(),
            "updated_at": self.now(),
        }
        async with self.container.uow():
            await self.claim(claim_key(org["id"]), record["id"], "この団体の覚書はすでにあります。")
            stored = await self.records.insert(models.AGREEMENTS, record)
            await self.audit.record(
                subject, "billing.agreement_applied", self._target(stored), after=stored
            )
        return stored

    async def terminate(self, subject: Subject | None, agreement_id: str, reason: str) -> Record:
        """利用終了通知 (様式情運-7): ends the agreement with the current term."""
        agreement = await self.readable(subject, models.AGREEMENTS, agreement_id, "覚書")
        assert subject is not None
        operator = subject.is_operator
        if not operator:
            self.policy.require(
                subject, "billing.municipality", BillingResource(agreement["org_id"])
            )
        self.check_transition(models.AGREEMENTS, agreement, AgreementState.TERMINATING)
        today = self.today()
        notice_by = date.fromisoformat(agreement["termination_notice_by"])
        clause_by = date.fromisoformat(agreement["renewal_declaration_by"])
        late = today > notice_by
        if late and not operator:
            raise DeadlinePassed(
                f"利用終了通知の期限（{wareki(notice_by)}）を過ぎています。"
                f"{wareki(clause_by)}までは運用者が受け付けます。それ以降は次の期間の終了となります。",
                termination_notice_by=notice_by.isoformat(),
                renewal_declaration_by=clause_by.isoformat(),
            )
        if today > clause_by:
            raise DeadlinePassed(
                f"更新条項の期限（{wareki(clause_by)}）を過ぎたため、有効期間は更新されます。"
                "更新後に改めて通知してください。",
                renewal_declaration_by=clause_by.isoformat(),
            )
        if late and not reason.strip():
            raise ValidationFailed("期限後の受付には理由を入力してください。", field="reason")
        fy = fiscal_year(today)
        async with self.container.uow():
            number = (await self.next_number("jouun7", fy))[0]
            profile = await self.profile()
            data = notice_data(
                title=models.FORMS["jouun7"],
                form_code=models.FORM_CODES["jouun7"],
                number=number,
                day=today,
                addressee=f"{profile.get('name') or '情報共有システム等運用者'} 様",
                issuer=profile,
                parties=[["通知者", agreement["org_name"]], ["覚書番号", agreement["number"]]],
                sections=[
                    {
                        "heading": "記",
                        "fields": [
                            ["利用を終了するシステム", _systems(agreement)],
                            ["利用終了日", wareki(date.fromisoformat(agreement["term_ends_on"]))],
                            ["理由", reason or "—"],
                        ],
                    }
                ],
                note="期限後の通知を運用者が受け付けたものです。" if late else None,
            )
            doc = await Documents(self.container).issue(
                form="jouun7",
                source=self._target(agreement),
                org_ids=[agreement["org_id"]],
                number=number,
                day=today,
                data=data,
            )
            changes = {
                "state": AgreementState.TERMINATING.value,
                "termination": {
                    "notified_on": today.isoformat(),
                    "by": subject.user_id,
                    "late": late,
                    "reason": reason,
                    "effective_on": agreement["term_ends_on"],
                    "document_id": doc["id"],
                },
                "updated_at": self.now(),
            }
            stored = await self.records.update(
                models.AGREEMENTS, agreement_id, changes, int(agreement["version"])
            )
            await self.audit.record(
                subject,
                "billing.agreement_termination_notified",
                self._target(stored),
                before=agreement,
                after=stored,
                detail={"late": late},
            )
        return stored

    # the operator ---------------------------------------------------------------------------
    async def conclude(
        self,
        subject: Subject | None,
        agreement_id: str,
        *,
        term_ends_on: date | None,
        access_before_payment: str,
    ) -> Record:
        """覚書の締結: fixes the term, its deadlines and the fee table in force."""
        self.policy.require(subject, "billing.operate")
        agreement = await self.get(models.AGREEMENTS, agreement_id, "覚書")
        self.check_transition(models.AGREEMENTS, agreement, AgreementState.ACTIVE)
        if access_before_payment not in ACCESS_RULES:
            raise ValidationFailed("支払確認前の利用の扱いが正しくありません。")
        starts = date.fromisoformat(agreement["starts_on"])
        first_end = term_ends_on or fiscal_year_end(fiscal_year(starts))
        if first_end <= starts:
            raise ValidationFailed("有効期間の終了日は開始日より後にしてください。")
        today = self.today()
        tariff = await Tariffs(self.container).effective(starts)
        async with self.container.uow():
            fy = fiscal_year(today)
            number = (await self.next_number("agreement", fy))[0]
            changes: dict[str, Any] = {
                "state": AgreementState.ACTIVE.value,
                "number": number,
                "concluded_on": today.isoformat(),
                "first_term_ends_on": first_end.isoformat(),
                "anchor": (first_end + timedelta(days=1)).isoformat(),
                "term_ends_on": first_end.isoformat(),
                "renewals": 0,
                "tariff_id": tariff["id"],
                "fees": [i for i in tariff["items"] if _applies(i, agreement["systems"])],
                "access_before_payment": access_before_payment,
                **deadlines(first_end),
                "updated_at": self.now(),
            }
            merged = {**agreement, **changes}
            profile = await self.profile()
            doc = await Documents(self.container).issue(
                form="agreement",
                source=self._target(agreement),
                org_ids=[agreement["org_id"]],
                number=number,
                day=today,
                data=agreement_data(merged, profile, today),
            )
            changes["document_id"] = doc["id"]
            stored = await self.records.update(
                models.AGREEMENTS, agreement_id, changes, int(agreement["version"])
            )
            await self.audit.record(
                subject,
                "billing.agreement_concluded",
                self._target(stored),
                before=agreement,
                after=stored,
            )
            await self._notify_org(stored, "覚書を締結しました")
        return stored

    async def reject(self, subject: Subject | None, agreement_id: str, reason: str) -> Record:
        self.policy.require(subject, "billing.operate")
        agreement = await self.get(models.AGREEMENTS, agreement_id, "覚書")
        self.check_transition(models.AGREEMENTS, agreement, AgreementState.REJECTED)
        async with self.container.uow():
            await self.release(claim_key(agreement["org_id"]))
            stored = await self.records.update(
                models.AGREEMENTS,
                agreement_id,
                {
                    "state": AgreementState.REJECTED.value,
                    "rejection": reason,
                    "updated_at": self.now(),
                },
                int(agreement["version"]),
            )
            await self.audit.record(
                subject,
                "billing.agreement_rejected",
                self._target(stored),
                before=agreement,
                after=stored,
            )
        return stored

    async def stop_notice(self, actor: Subject | str, agreement: Record) -> Record:
        """利用停止通知 (様式情運-8) after an accepted termination (once per agreement)."""
        if agreement["state"] != AgreementState.TERMINATING:
            raise StateConflict("利用終了通知を受けた覚書にのみ利用停止通知を出せます。")
        if agreement.get("stop_notice"):
            raise Conflict("利用停止通知は発行済みです。")
        today = self.today()
        async with self.container.uow():
            number = (await self.next_number("jouun8", fiscal_year(today)))[0]
            profile = await self.profile()
            stop_on = date.fromisoformat(agreement["term_ends_on"])
            data = notice_data(
                title=models.FORMS["jouun8"],
                form_code=models.FORM_CODES["jouun8"],
                number=number,
                day=today,
                addressee=f"{agreement['org_name']} 様",
                issuer=profile,
                sections=[
                    {
                        "heading": "記",
                        "fields": [
                            ["覚書番号", agreement["number"]],
                            ["停止するシステム", _systems(agreement)],
                            ["利用停止日", wareki(stop_on + timedelta(days=1))],
                            ["最終利用日", wareki(stop_on)],
                        ],
                    },
                    {
                        "text": "利用停止日以降、利用者IDではログインできなくなります。"
                        "保管管理システムのデータの取扱いは覚書によります。"
                    },
                ],
            )
            doc = await Documents(self.container).issue(
                form="jouun8",
                source=self._target(agreement),
                org_ids=[agreement["org_id"]],
                number=number,
                day=today,
                data=data,
            )
            stored = await self.records.update(
                models.AGREEMENTS,
                agreement["id"],
                {
                    "stop_notice": {"issued_on": today.isoformat(), "document_id": doc["id"]},
                    "updated_at": self.now(),
                },
                int(agreement["version"]),
            )
            await self.audit.record(
                actor,
                "billing.stop_notice_issued",
                self._target(stored),
                before=agreement,
                after=stored,
            )
            await self._notify_org(stored, "利用停止通知を発行しました")
        return stored

    # scheduled ------------------------------------------------------------------------------
    async def roll_terms(self) -> dict[str, int]:
        """Renew every term that ended without a declaration (catching up on every missed
        year), and end the terminating agreements whose term is over. Idempotent: each
        renewal follows from the stored term and today, under the record's version."""
        today = self.today()
        renewed = ended = 0
        async for agreement in self.records.scan(
            models.AGREEMENTS,
            (In("state", (AgreementState.ACTIVE.value, AgreementState.TERMINATING.value)),),
        ):
            end = date.fromisoformat(agreement["term_ends_on"])
            if end >= today:
                continue
            async with self.container.uow():
                if agreement["state"] == AgreementState.TERMINATING:
                    stored = await self.records.update(
                        models.AGREEMENTS,
                        agreement["id"],
                        {
                            "state": AgreementState.TERMINATED.value,
                            "ended_on": end.isoformat(),
                            "updated_at": self.now(),
                        },
                        int(agreement["version"]),
                    )
                    await self.release(claim_key(agreement["org_id"]))
                    await self.audit.record(
                        "system:billing",
                        "billing.agreement_ended",
                        self._target(stored),
                        before=agreement,
                        after=stored,
                    )
                    ended += 1
                    continue
                renewals = int(agreement["renewals"])
                anchor = date.fromisoformat(agreement["anchor"])
                first = date.fromisoformat(agreement["first_term_ends_on"])
                while end < today:
                    renewals += 1
                    end = term_end_after(anchor, renewals, first)
                changes = {
                    "renewals": renewals,
                    "term_ends_on": end.isoformat(),
                    **deadlines(end),
                    "updated_at": self.now(),
                }
                stored = await self.records.update(
                    models.AGREEMENTS, agreement["id"], changes, int(agreement["version"])
                )
                await self.audit.record(
                    "system:billing",
                    "billing.agreement_renewed",
                    self._target(stored),
                    before=agreement,
                    after=stored,
                    detail={"renewals": renewals, "term_ends_on": end.isoformat()},
                )
                renewed += 1
        return {"renewed": renewed, "ended": ended}

    async def issue_stop_notices(self) -> int:
        issued = 0
        async for agreement in self.records.scan(
            models.AGREEMENTS, (Eq("state", AgreementState.TERMINATING.value),)
        ):
            if not agreement.get("stop_notice"):
                await self.stop_notice("system:billing", agreement)
                issued += 1
        return issued

    # reading --------------------------------------------------------------------------------
    async def find(self, subject: Subject | None, state: str | None) -> list[Record]:
        self.policy.require(subject, "billing.list")
        assert subject is not None
        where: list[Any] = []
        if not subject.is_operator:
            if not self.policy.can(subject, "billing.read", BillingResource(subject.org_id)):
                return []
            where.append(Eq("org_id", subject.org_id))
        if state:
            where.append(Eq("state", state))
        page = await self.records.find(
            models.AGREEMENTS, Query(where=tuple(where), sort=(("created_at", -1),), limit=500)
        )
        return page.items

    async def current_of(self, org_id: str) -> Record | None:
        page = await self.records.find(
            models.AGREEMENTS,
            Query(
                where=(Eq("org_id", org_id), In("state", tuple(s.value for s in OPEN_STATES))),
                sort=(("created_at", -1),),
                limit=1,
            ),
        )
        return page.items[0] if page.items else None

    async def _notify_org(self, agreement: Record, title: str) -> None:
        from api.billing.notify import notify_org

        await notify_org(
            self.container,
            org_id=agreement["org_id"],
            kind="billing.notice",
            source=f"{self._target(agreement)}#{title}",
            title=f"{title}（{agreement.get('number') or ''}）",
            url="/billing",
        )

    @staticmethod
    def _target(agreement: Record) -> str:
        return f"{models.AGREEMENTS}/{agreement['id']}"


def _applies(item: Record, systems: list[str]) -> bool:
    return item.get("system") in systems


def _systems(agreement: Record) -> str:
    return "、".join(models.SYSTEM_LABELS[System(s)] for s in agreement["systems"])


def agreement_data(agreement: Record, profile: Record, today: date) -> dict[str, Any]:
    fees = [
        [f["label"], f"{int(f['unit_price']):,} 円（税抜）", f"{f['tax_rate']}%"]
        for f in agreement.get("fees", [])
    ]
    return notice_data(
        title=models.FORMS["agreement"],
        number=agreement["number"],
        day=today,
        addressee=f"{agreement['org_name']}（甲）と {profile.get('name') or '運用者'}（乙）",
        issuer=profile,
        parties=[["甲", agreement["org_name"]], ["乙", profile.get("name") or "運用者"]],
        sections=[
            {
                "heading": "第1条（利用するシステム）",
                "fields": [["システム", _systems(agreement)]],
            },
            {
                "heading": "第2条（利用料金）",
                "table": {"columns": ["品目", "単価", "税率"], "rows": fees, "numeric": [1]},
            },
            {
                "heading": "第3条（有効期間）",
                "fields": [
                    ["開始日", wareki(date.fromisoformat(agreement["starts_on"]))],
                    ["有効期間の満了日", wareki(date.fromisoformat(agreement["term_ends_on"]))],
                    [
                        "利用終了通知の期限",
                        wareki(date.fromisoformat(agreement["termination_notice_by"])),
                    ],
                    [
                        "更新拒絶の意思表示の期限",
                        wareki(date.fromisoformat(agreement["renewal_declaration_by"])),
                    ],
                ],
            },
            {
                "text": "有効期間が満了する日の1か月前までに、甲乙いずれからも何らの意思表示のない"
                "ときは、有効期間は更に1年間延長されるものとし、以後も同様とする。\n"
                "次年度以降利用しない場合、甲は前年度2月中旬（上記の期限）までに利用終了通知"
                "（様式情運-7）を提出し、乙は利用停止通知（様式情運-8）を発行する。",
            },
            {
                "heading": "第4条（支払確認前の利用）",
                "text": "受注者の利用は、利用料金の支払確認後に開始する。"
                if agreement.get("access_before_payment", "none") == "none"
                else "受注者は、利用料金の支払確認前でも利用者ID発行後から利用できる。",
            },
        ],
    )


def org_kind_ok(org: Record) -> bool:
    return org.get("kind") == OrgKind.ORDERER.value
