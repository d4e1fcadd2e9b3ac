"""The contractor's application for a work, its IDs, fee, start and completion.

Seed 000 手続きフロー 【入札後】: the winning contractor submits the 利用申込書
(会社情報, 利用シート, 案件情報); the operator reviews it (審査), hands out the IDs and
requests the fee (ID等の配布, 利用料金支払請求), confirms the payment (支払状況確認) and sends
the start notice (利用開始通知);
at completion the orderer closes the work in collaboration (情報共有Sで利用完了処理) and, where the
municipality uses the archive, it moves there.

- **Not open**: an application must quote the approval number of an approved request and
  its work number; a request not approved, a work already closed or one with a live
  application answers 409 ``work_not_open``.
- **Fee**: months of the work's period × the monthly fee of the tariff in force (months =
  ceil(工期の日数/31), module anchors §3 precedent), due at the end of the next month, moved to
  the next business day when that is a holiday (民法第142条).
- **Access before payment**: the agreement's ``access_before_payment``; the default ``none``
  gives the contractor's users access to the work only once the payment is confirmed (seed 000:
  利用料金の支払い → 情報共有S利用開始). ``provisional`` opens it when the IDs are issued.
- **Completion**: the fee period ends on the completion day; a shorter period than billed is
  refunded by a credit note (precedent: refund if shortened); a longer one (工期延長) is billed
  by a supplementary invoice. The work itself moves to ``completed`` through the works
  lifecycle; the archive hand-over (w-folders) takes it from there when the municipality
  uses the archive (``archive_handover: pending``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from api.billing import models
from api.billing.accounts import Accounts
from api.billing.base import Base
from api.billing.documents import Documents, mask_login, notice_data, wareki
from api.billing.invoices import AlreadyBilled, Invoices, build, line
from api.billing.models import ApplicationState, InvoiceKind, ItemKind, RequestState, System
from api.billing.notify import notify_org
from api.billing.permissions import BillingResource
from api.billing.rules import end_of_next_month, fee_months, fiscal_year
from api.billing.tariffs import Tariffs, item
from api.errors import Conflict, NotFoundError, ValidationFailed
from api.kit.ids import new_id
from api.kit.uow import UnitOfWork
from api.master.days import load_calendar
from api.permissions.policy import OrgKind, Subject, WorkRole
from api.works.members import MemberService
from api.works.models import WorkStatus
from api.works.schemas import WorkUpdate
from api.works.service import WorkService
from storage.query import Eq, Query, Record

SYSTEM = Subject(
    user_id="system:billing", login_id="system:billing", org_id=None, org_kind=OrgKind.OPERATOR
)


class WorkNotOpen(Conflict):
    code = "work_not_open"
    title = "この案件は利用申込を受け付けていません。"


def claim_key(request_id: str) -> str:
    return f"application:{request_id}"


class Applications(Base):
    async def submit(
        self,
        subject: Subject | None,
        *,
        approval_number: str,
        work_number: str,
        company: dict[str, str],
        staff: list[dict[str, str]],
        note: str,
    ) -> Record:
        """利用申込書の提出 (the contractor)."""
        self.policy.require(subject, "billing.contractor")
        assert subject is not None
        assert subject.org_id is not None
        from api.billing.requests import Requests

        request = await Requests(self.container).by_approval(approval_number)
        if request is None or str(request["work"]["number"]) != work_number:
            raise WorkNotOpen(
                "承諾番号と工事（業務）番号に一致する、利用承諾済みの案件がありません。"
            )
        if request["state"] != RequestState.APPROVED:
            raise WorkNotOpen()
        work = await self.records.get("works", request["work_id"])
        if work is None or work.get("status") not in (
            WorkStatus.REGISTERED,
            WorkStatus.IN_PROGRESS,
        ):
            raise WorkNotOpen("この案件は完了または移管済みのため、利用申込はできません。")
        logins = [s["login_id"].lower() for s in staff]
        if len(set(logins)) != len(logins):
            raise ValidationFailed("利用シートのログインIDが重複しています。", field="staff")
        org = await self.org(subject.org_id)
        today = self.today()
        record: Record = {
            "id": new_id(),
            "org_id": org["id"],
            "org_name": org.get("name", ""),
            "orderer_org_id": request["org_id"],
            "orderer_name": request["org_name"],
            "request_id": request["id"],
            "work_id": request["work_id"],
            "work": request["work"],
            "archive": request["archive"],
            "agreement_id": request["agreement_id"],
            "company": company,
            "staff": staff,
            "note": note,
            "state": ApplicationState.SUBMITTED.value,
            "submitted_by": subject.user_id,
            "submitted_on": today.isoformat(),
            "created_at": self.now(),
            "updated_at": self.now(),
        }
        async with self.container.uow():
            await self.claim(
                claim_key(request["id"]),
                record["id"],
                "この案件にはすでに利用申込があります。",
            )
            record["number"] = (await self.next_number("application", fiscal_year(today)))[0]
            stored = await self.records.insert(models.APPLICATIONS, record)
            await self.audit.record(
                subject, "billing.application_submitted", _target(stored), after=stored
            )
        return stored

    async def approve(self, subject: Subject | None, application_id: str) -> Record:
        """審査 passed: issue the contractor's IDs, request the fee (one invoice per
        application, whatever the number of calls)."""
        self.policy.require(subject, "billing.operate")
        assert subject is not None
        app = await self.get(models.APPLICATIONS, application_id, "利用申込")
        self.check_transition(models.APPLICATIONS, app, ApplicationState.APPROVED)
        work = await self.records.get("works", app["work_id"])
        if work is None:
            raise NotFoundError("案件が見つかりません。")
        start = date.fromisoformat(str(work["period_start"]))
        end = date.fromisoformat(str(work["period_end"]))
        months = fee_months(start, end)
        today = self.today()
        tariff = await Tariffs(self.container).effective(today)
        monthly = item(tariff, ItemKind.WORK_MONTHLY, System.COLLAB)
        registration = item(tariff, ItemKind.WORK_REGISTRATION)
        if monthly is None:
            raise Conflict("料金表に案件の月額利用料がありません。")
        lines = [
            line(
                monthly["code"],
                f"{monthly['label']}：{work['title']}",
                months,
                int(monthly["unit_price"]),
                monthly["tax_rate"],
                unit="か月",
                work_id=work["id"],
            )
        ]
        if registration is not None:
            lines.append(
                line(
                    registration["code"],
                    registration["label"],
                    1,
                    int(registration["unit_price"]),
                    registration["tax_rate"],
                    work_id=work["id"],
                )
            )
        calendar = await load_calendar(self.records)
        due = calendar.next_business_day(end_of_next_month(today))
        agreement = await self.records.get(models.AGREEMENTS, app["agreement_id"]) or {}
        async with self.container.uow() as uow:
            issued = await Accounts(self.container).issue_for_application(uow, subject, app)
            fy = fiscal_year(today)
            number = (await self.next_number("invoice", fy))[0]
            invoice = build(
                key=f"work_fee:{app['id']}",
                kind=InvoiceKind.WORK_FEE,
                number=number,
                org={"id": app["org_id"], "name": app["org_name"]},
                issue_date=today,
                due_date=due,
                service_from=start,
                service_to=end,
                lines=lines,
                tariff_id=tariff["id"],
                issuer=await self.profile(),
                source=_target(app),
                now=self.now(),
            )
            invoice["work_id"] = work["id"]
            try:
                stored_invoice = await Invoices(self.container).issue(uow, invoice, actor=subject)
            except AlreadyBilled as exc:
                raise Conflict("この申込の利用料金はすでに請求されています。") from exc
            notice = await self._id_notice(app, issued, today)
            changes = {
                "state": ApplicationState.APPROVED.value,
                "approved_on": today.isoformat(),
                "approved_by": subject.user_id,
                "user_ids": [u["id"] for u in issued],
                "fee_invoice_id": stored_invoice["id"],
                "fee_invoice_number": stored_invoice["number"],
                "fee_period": {
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "months": months,
                    "unit_price": int(monthly["unit_price"]),
                    "code": monthly["code"],
                    "label": monthly["label"],
                    "tax_rate": monthly["tax_rate"],
                },
                "id_notice_id": notice["id"],
                "updated_at": self.now(),
            }
            stored = await self.records.update(
                models.APPLICATIONS, application_id, changes, int(app["version"])
            )
            await self.audit.record(
                subject,
                "billing.application_approved",
                _target(stored),
                before=app,
                after=stored,
                detail={"invoice": stored_invoice["number"], "months": months},
            )
            await notify_org(
                self.container,
                org_id=app["org_id"],
                kind="billing.ids_issued",
                source=f"{_target(stored)}#ids",
                title="利用者IDを発行し、利用料金を請求しました",
                url="/billing",
                context={"count": len(issued)},
            )
            if agreement.get("access_before_payment") == "provisional":
                stored = await self._open(uow, subject, stored, provisional=True)
        return stored

    async def reject(self, subject: Subject | None, application_id: str, reason: str) -> Record:
        self.policy.require(subject, "billing.operate")
        app = await self.get(models.APPLICATIONS, application_id, "利用申込")
        self.check_transition(models.APPLICATIONS, app, ApplicationState.REJECTED)
        async with self.container.uow():
            await self.release(claim_key(app["request_id"]))
            stored = await self.records.update(
                models.APPLICATIONS,
                application_id,
                {
                    "state": ApplicationState.REJECTED.value,
                    "reason": reason,
                    "updated_at": self.now(),
                },
                int(app["version"]),
            )
            await self.audit.record(
                subject,
                "billing.application_rejected",
                _target(stored),
                before=app,
                after=stored,
            )
        return stored

    async def on_fee_paid(self, uow: UnitOfWork, invoice: Record, *, actor: Subject | str) -> None:
        """The fee is paid: open the work to the contractor and send the start notice."""
        source = str(invoice.get("source") or "")
        if not source.startswith(f"{models.APPLICATIONS}/"):
            return
        app = await self.records.get(models.APPLICATIONS, source.split("/", 1)[1])
        if app is None or app["state"] != ApplicationState.APPROVED:
            return
        subject = actor if isinstance(actor, Subject) else SYSTEM
        await self._open(uow, subject, app, provisional=False)

    async def _open(
        self, uow: UnitOfWork, subject: Subject, app: Record, *, provisional: bool
    ) -> Record:
        works = WorkService.of(self.container)
        work = await works.repo.get(app["work_id"])
        if work is None:
            raise NotFoundError("案件が見つかりません。")
        if app["org_id"] not in (work.get("contractor_org_ids") or []):
            work = await works.update(
                subject,
                work["id"],
                WorkUpdate(
                    version=int(work["version"]),
                    contractor_org_ids=[*(work.get("contractor_org_ids") or []), app["org_id"]],
                ),
            )
        members = MemberService(works)
        existing = {m["user_id"] for m in await works.repo.members(work["id"])}
        for user_id in app.get("user_ids", []):
            if user_id not in existing:
                await members.add(subject, work["id"], user_id, WorkRole.CONTRACTOR_MEMBER)
        fresh = await works.repo.get(work["id"])
        assert fresh is not None
        if fresh["status"] == WorkStatus.REGISTERED:
            await works.transition(
                subject, work["id"], WorkStatus.IN_PROGRESS, int(fresh["version"])
            )
        if provisional:
            changes: dict[str, Any] = {
                "opened_on": self.today().isoformat(),
                "provisional": True,
                "updated_at": self.now(),
            }
        else:
            notice = await self._start_notice(app)
            changes = {
                "state": ApplicationState.ACTIVE.value,
                "opened_on": app.get("opened_on") or self.today().isoformat(),
                "paid_on": self.today().isoformat(),
                "start_notice_id": notice["id"],
                "updated_at": self.now(),
            }
        current = await self.records.get(models.APPLICATIONS, app["id"])
        assert current is not None
        stored = await self.records.update(
            models.APPLICATIONS, app["id"], changes, int(current["version"])
        )
        await self.audit.record(
            subject,
            "billing.work_opened" if provisional else "billing.application_activated",
            _target(stored),
            before=current,
            after=stored,
        )
        if not provisional:
            for org_id in (app["org_id"], app["orderer_org_id"]):
                await notify_org(
                    self.container,
                    org_id=org_id,
                    kind="billing.notice",
                    source=f"{_target(stored)}#start",
                    title=f"利用開始通知：{app['work']['title']}",
                    url=f"/works/{app['work_id']}",
                )
        return stored

    async def complete(
        self, subject: Subject | None, application_id: str, completed_on: date | None
    ) -> Record:
        """利用完了処理: the orderer closes the work; the fee period ends (refund if shorter)."""
        app = await self.readable(subject, models.APPLICATIONS, application_id, "利用申込")
        assert subject is not None
        if not subject.is_operator:
            self.policy.require(
                subject, "billing.municipality", BillingResource(app["orderer_org_id"])
            )
        self.check_transition(models.APPLICATIONS, app, ApplicationState.COMPLETED)
        today = self.today()
        end = completed_on or today
        period = app["fee_period"]
        start = date.fromisoformat(period["from"])
        if end > today or end < start:
            raise ValidationFailed("完了日は工期の開始日から今日までの日付にしてください。")
        used = fee_months(start, end)
        billed = int(period["months"])
        works = WorkService.of(self.container)
        invoices = Invoices(self.container)
        async with self.container.uow() as uow:
            work = await works.load(subject, app["work_id"], "works.transition")
            if work["status"] == WorkStatus.IN_PROGRESS:
                await works.transition(
                    subject, work["id"], WorkStatus.COMPLETED, int(work["version"])
                )
            adjustment: dict[str, Any] = {"used_months": used, "billed_months": billed}
            fee = await self.records.get(models.INVOICES, app["fee_invoice_id"])
            assert fee is not None
            unit, rate = int(period["unit_price"]), str(period["tax_rate"])
            if used < billed:
                note = await invoices.credit(
                    uow,
                    fee,
                    [
                        line(
                            period["code"],
                            f"{period['label']}（工期短縮による返還）",
                            -(billed - used),
                            unit,
                            rate,
                            unit="か月",
                            work_id=app["work_id"],
                        )
                    ],
                    reason=f"利用期間の短縮（{billed}か月 → {used}か月）",
                    actor=subject,
                    key=f"refund:{app['id']}",
                )
                adjustment["credit_note"] = note["number"]
            elif used > billed:
                extra = build(
                    key=f"work_fee_extra:{app['id']}",
                    kind=InvoiceKind.WORK_FEE,
                    number=(await self.next_number("invoice", fiscal_year(today)))[0],
                    org={"id": app["org_id"], "name": app["org_name"]},
                    issue_date=today,
                    due_date=end_of_next_month(today),
                    service_from=start,
                    service_to=end,
                    lines=[
                        line(
                            period["code"],
                            f"{period['label']}（工期延長分）",
                            used - billed,
                            unit,
                            rate,
                            unit="か月",
                            work_id=app["work_id"],
                        )
                    ],
                    tariff_id=fee.get("tariff_id"),
                    issuer=await self.profile(),
                    source=None,
                    now=self.now(),
                )
                stored_extra = await invoices.issue(uow, extra, actor=subject)
                adjustment["extra_invoice"] = stored_extra["number"]
            changes = {
                "state": ApplicationState.COMPLETED.value,
                "completed_on": end.isoformat(),
                "adjustment": adjustment,
                "archive_handover": "pending" if app.get("archive") else "none",
                "updated_at": self.now(),
            }
            stored = await self.records.update(
                models.APPLICATIONS, app["id"], changes, int(app["version"])
            )
            await self.audit.record(
                subject,
                "billing.usage_completed",
                _target(stored),
                before=app,
                after=stored,
                detail=adjustment,
            )
        return stored

    async def find(self, subject: Subject | None, state: str | None) -> list[Record]:
        self.policy.require(subject, "billing.list")
        assert subject is not None
        where: list[Any] = []
        if state:
            where.append(Eq("state", state))
        if subject.is_operator:
            page = await self.records.find(
                models.APPLICATIONS,
                Query(where=tuple(where), sort=(("created_at", -1),), limit=500),
            )
            return page.items
        if not self.policy.can(subject, "billing.read", BillingResource(subject.org_id)):
            return []
        field = "org_id" if subject.org_kind == OrgKind.CONTRACTOR else "orderer_org_id"
        page = await self.records.find(
            models.APPLICATIONS,
            Query(where=(*where, Eq(field, subject.org_id)), sort=(("created_at", -1),), limit=500),
        )
        return page.items

    # forms ------------------------------------------------------------------------------------
    async def _id_notice(self, app: Record, users: list[Record], today: date) -> Record:
        profile = await self.profile()
        number = (await self.next_number("id_notice", fiscal_year(today)))[0]
        data = notice_data(
            title=models.FORMS["id_notice"],
            number=number,
            day=today,
            addressee=f"{app['org_name']} 御中",
            issuer=profile,
            sections=[
                {
                    "heading": "案件",
                    "fields": [
                        ["工事（業務）名", app["work"]["title"]],
                        ["発注者", app["orderer_name"]],
                    ],
                },
                {
                    "heading": "発行した利用者ID",
                    "table": {
                        "columns": ["氏名", "ログインID（一部伏せ字）"],
                        "rows": [[u["name"], mask_login(u["login_id"])] for u in users],
                    },
                },
                {
                    "text": "ログインIDと初期パスワードは、この通知書にもメールにも記載していません"
                    "（情報共有システムセキュリティ要件 2(1)）。申込者が画面で一度だけ表示できます"
                    "（TLSで暗号化された通信）。初回ログイン時にパスワードを変更してください。",
                },
            ],
        )
        return await Documents(self.container).issue(
            form="id_notice",
            source=_target(app),
            org_ids=[app["org_id"]],
            number=number,
            day=today,
            data=data,
        )

    async def _start_notice(self, app: Record) -> Record:
        today = self.today()
        profile = await self.profile()
        number = (await self.next_number("start_notice", fiscal_year(today)))[0]
        data = notice_data(
            title=models.FORMS["start_notice"],
            number=number,
            day=today,
            addressee=f"{app['org_name']} 御中",
            issuer=profile,
            sections=[
                {"text": "利用料金の支払いを確認しましたので、下記の案件の利用を開始します。"},
                {
                    "heading": "記",
                    "fields": [
                        ["工事（業務）名", app["work"]["title"]],
                        ["工事（業務）番号", str(app["work"]["number"])],
                        ["発注者", app["orderer_name"]],
                        ["利用開始日", wareki(today)],
                        ["請求書", app.get("fee_invoice_number", "")],
                    ],
                },
            ],
        )
        return await Documents(self.container).issue(
            form="start_notice",
            source=_target(app),
            org_ids=[app["org_id"], app["orderer_org_id"]],
            number=number,
            day=today,
            data=data,
        )


def _target(app: Record) -> str:
    return f"{models.APPLICATIONS}/{app['id']}"
