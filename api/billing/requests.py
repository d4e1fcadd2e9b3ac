"""Usage requests per work: 情報共有S等利用依頼 (様式情運-1) and 利用承諾 (様式情運-2).

Seed 000 手続きフロー 【発注時】: the municipality orders a work and sends the usage request
with the work's data and its staff in charge (案件情報等の登録); the operator approves it and
registers the work, the orderer's staff and later the contractor's (【システムへの登録】
工事・業務案件，発注担当者，受注担当者をシステム登録し，システムを利用可能な状態にする).
Approval creates the work through the works registry (status ``registered``), with the named
staff as supervisors, in the same unit of work as the approval and its form. A request may
instead name a work the municipality already registered (``work_id``): it must be its own.

Rules: only a municipality with an active agreement requests (覚書の締結 comes first); one
request per work number of a municipality; a request for another municipality's work answers
404 (its existence is not revealed). The approval number printed on 様式情運-2 is what the
winning contractor quotes in its application (特記仕様書に記載).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from api.billing import models
from api.billing.agreements import Agreements
from api.billing.base import Base
from api.billing.documents import Documents, notice_data, wareki
from api.billing.models import AgreementState, RequestState, System
from api.billing.permissions import BillingResource
from api.billing.rules import fiscal_year
from api.errors import Conflict, NotFoundError, ValidationFailed
from api.kit.ids import is_id, new_id
from api.permissions.policy import Subject, WorkRole
from api.works.members import MemberService
from api.works.models import WorkStatus
from api.works.schemas import WorkCreate
from api.works.service import WorkService
from storage.query import Eq, Query, Record

KIND_LABELS = {"construction": "工事", "service": "業務"}


class NoAgreement(Conflict):
    code = "no_agreement"
    title = "覚書が締結されていないため利用依頼はできません。"


def work_key(org_id: str, number: str) -> str:
    return f"request:{org_id}:{number}"


class Requests(Base):
    async def submit(
        self,
        subject: Subject | None,
        *,
        work: dict[str, Any] | None,
        work_id: str | None,
        supervisor_ids: list[str],
        note: str,
    ) -> Record:
        """様式情運-1: request the use of the systems for one work."""
        self.policy.require(subject, "billing.municipality")
        assert subject is not None
        assert subject.org_id is not None
        org_id = subject.org_id
        agreement = await Agreements(self.container).current_of(org_id)
        if agreement is None or agreement["state"] not in (
            AgreementState.ACTIVE,
            AgreementState.TERMINATING,
        ):
            raise NoAgreement()
        if (work is None) == (work_id is None):
            raise ValidationFailed("案件の内容か登録済みの案件のどちらか一方を指定してください。")
        if work_id is not None:
            existing = await self.records.get("works", work_id) if is_id(work_id) else None
            if existing is None or existing.get("orderer_org_id") != org_id:
                # Another municipality's work answers as an unknown one.
                raise NotFoundError("案件が見つかりません。")
            if existing.get("status") != WorkStatus.REGISTERED:
                raise Conflict("施工中・完了済みの案件には利用依頼できません。")
            work = {
                k: existing.get(k)
                for k in ("kind", "title", "number", "location", "period_start", "period_end")
            }
        assert work is not None
        if work["period_start"] > work["period_end"]:
            raise ValidationFailed("工期の開始日は終了日以前の日付を指定してください。")
        staff = await self.records.get_many("users", supervisor_ids)
        if len(staff) != len(set(supervisor_ids)) or any(u.get("org_id") != org_id for u in staff):
            raise ValidationFailed(
                "発注担当者には自団体の利用者を指定してください。", field="supervisor_ids"
            )
        today = self.today()
        org = await self.org(org_id)
        record: Record = {
            "id": new_id(),
            "org_id": org_id,
            "org_name": org.get("name", ""),
            "sandbox": bool(org.get("sandbox")),
            "agreement_id": agreement["id"],
            "archive": System.ARCHIVE.value in agreement["systems"],
            "state": RequestState.SUBMITTED.value,
            "work": work,
            "work_id": work_id,
            "supervisor_ids": sorted(set(supervisor_ids or [subject.user_id])),
            "note": note,
            "submitted_by": subject.user_id,
            "submitted_on": today.isoformat(),
            "created_at": self.now(),
            "updated_at": self.now(),
        }
        async with self.container.uow():
            await self.claim(
                work_key(org_id, str(work["number"])),
                record["id"],
                f"工事番号「{work['number']}」の利用依頼はすでにあります。",
            )
            record["number"] = (await self.next_number("jouun1", fiscal_year(today)))[0]
            stored = await self.records.insert(models.REQUESTS, record)
            profile = await self.profile()
            await Documents(self.container).issue(
                form="jouun1",
                source=_target(stored),
                org_ids=[org_id],
                number=stored["number"],
                day=today,
                data=request_data(stored, profile, today, staff),
            )
            await self.audit.record(
                subject, "billing.request_submitted", _target(stored), after=stored
            )
        return stored

    async def approve(self, subject: Subject | None, request_id: str, note: str) -> Record:
        """様式情運-2: approve, register the work with its staff, number the approval."""
        self.policy.require(subject, "billing.operate")
        assert subject is not None
        request = await self.get(models.REQUESTS, request_id, "利用依頼")
        self.check_transition(models.REQUESTS, request, RequestState.APPROVED)
        today = self.today()
        works = WorkService.of(self.container)
        async with self.container.uow():
            work_id = request.get("work_id")
            if work_id is None:
                data = request["work"]
                created = await works.create(
                    subject,
                    WorkCreate.model_validate(
                        {
                            "kind": data["kind"],
                            "title": data["title"],
                            "number": data["number"],
                            "orderer_org_id": request["org_id"],
                            "location": data["location"],
                            "period_start": data["period_start"],
                            "period_end": data["period_end"],
                        }
                    ),
                )
                work_id = created["id"]
            members = MemberService(works)
            existing = {m["user_id"] for m in await works.repo.members(work_id)}
            for user_id in request["supervisor_ids"]:
                if user_id not in existing:
                    await members.add(subject, work_id, user_id, WorkRole.SUPERVISOR)
            number = (await self.next_number("jouun2", fiscal_year(today)))[0]
            changes = {
                "state": RequestState.APPROVED.value,
                "work_id": work_id,
                "approval_number": number,
                "approved_on": today.isoformat(),
                "approved_by": subject.user_id,
                "approval_note": note,
                "updated_at": self.now(),
            }
            merged = {**request, **changes}
            profile = await self.profile()
            await Documents(self.container).issue(
                form="jouun2",
                source=_target(request),
                org_ids=[request["org_id"]],
                number=number,
                day=today,
                data=approval_data(merged, profile, today),
            )
            stored = await self.records.update(
                models.REQUESTS, request_id, changes, int(request["version"])
            )
            await self.audit.record(
                subject,
                "billing.request_approved",
                _target(stored),
                before=request,
                after=stored,
                detail={"work_id": work_id},
            )
            from api.billing.notify import notify_org

            await notify_org(
                self.container,
                org_id=request["org_id"],
                kind="billing.notice",
                source=f"{_target(stored)}#approved",
                title=f"利用依頼を承諾しました（{number}）",
                url="/billing",
            )
        return stored

    async def reject(self, subject: Subject | None, request_id: str, reason: str) -> Record:
        self.policy.require(subject, "billing.operate")
        request = await self.get(models.REQUESTS, request_id, "利用依頼")
        return await self._close(subject, request, RequestState.REJECTED, reason)

    async def withdraw(self, subject: Subject | None, request_id: str) -> Record:
        request = await self.readable(subject, models.REQUESTS, request_id, "利用依頼")
        self.policy.require(subject, "billing.municipality", BillingResource(request["org_id"]))
        return await self._close(subject, request, RequestState.WITHDRAWN, "")

    async def _close(
        self, subject: Subject | None, request: Record, to: RequestState, reason: str
    ) -> Record:
        self.check_transition(models.REQUESTS, request, to)
        async with self.container.uow():
            await self.release(work_key(request["org_id"], str(request["work"]["number"])))
            stored = await self.records.update(
                models.REQUESTS,
                request["id"],
                {"state": to.value, "reason": reason, "updated_at": self.now()},
                int(request["version"]),
            )
            await self.audit.record(
                subject,
                f"billing.request_{to.value}",
                _target(stored),
                before=request,
                after=stored,
            )
        return stored

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
            models.REQUESTS, Query(where=tuple(where), sort=(("created_at", -1),), limit=500)
        )
        return page.items

    async def by_approval(self, approval_number: str) -> Record | None:
        page = await self.records.find(
            models.REQUESTS, Query(where=(Eq("approval_number", approval_number),), limit=1)
        )
        return page.items[0] if page.items else None


def _target(request: Record) -> str:
    return f"{models.REQUESTS}/{request['id']}"


def _work_fields(work: dict[str, Any]) -> list[list[str]]:
    return [
        ["区分", KIND_LABELS.get(str(work["kind"]), str(work["kind"]))],
        ["工事（業務）番号", str(work["number"])],
        ["工事（業務）名", str(work["title"])],
        ["場所", str((work.get("location") or {}).get("address", ""))],
        [
            "工期（履行期間）",
            f"{wareki(date.fromisoformat(str(work['period_start'])))} 〜 "
            f"{wareki(date.fromisoformat(str(work['period_end'])))}",
        ],
    ]


def request_data(
    request: Record, profile: Record, today: date, staff: list[Record]
) -> dict[str, Any]:
    return notice_data(
        title=models.FORMS["jouun1"],
        form_code=models.FORM_CODES["jouun1"],
        number=request["number"],
        day=today,
        addressee=f"{profile.get('name') or '情報共有システム等運用者'} 様",
        issuer=profile,
        parties=[["依頼者", request["org_name"]]],
        sections=[
            {"heading": "利用する案件", "fields": _work_fields(request["work"])},
            {
                "heading": "発注担当者",
                "table": {
                    "columns": ["氏名", "職名"],
                    "rows": [[u.get("name", ""), u.get("position") or ""] for u in staff],
                },
            },
            {
                "heading": "保管管理システム",
                "fields": [
                    ["移管", "あり" if request["archive"] else "なし（情報共有システムのみ）"]
                ],
            },
            *([{"heading": "備考", "text": request["note"]}] if request.get("note") else []),
        ],
    )


def approval_data(request: Record, profile: Record, today: date) -> dict[str, Any]:
    return notice_data(
        title=models.FORMS["jouun2"],
        form_code=models.FORM_CODES["jouun2"],
        number=request["approval_number"],
        day=today,
        addressee=f"{request['org_name']} 様",
        issuer=profile,
        sections=[
            {
                "text": f"{wareki(date.fromisoformat(request['submitted_on']))}付け"
                f"{request['number']}で依頼のあった案件について、下記のとおり利用を承諾します。",
            },
            {"heading": "記", "fields": _work_fields(request["work"])},
            {
                "heading": "受注者の利用申込",
                "fields": [["承諾番号", request["approval_number"]]],
                "text": "受注者は、利用申込書にこの承諾番号と工事（業務）番号を記載して申し込んで"
                "ください（特記仕様書に記載）。",
            },
        ],
    )
