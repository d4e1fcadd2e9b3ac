"""Invoices, credit notes and their printed form (issue 13 §3; seed 000 様式情運-4).

An invoice is computed once, when it is issued, and stored with every figure it prints:
lines (quantity × unit price copied from the tariff), the per-rate totals, the tax computed
once per rate (``api.billing.rules.totals``), the total, and the issuer's registration number.
It is never edited: a reduction or refund is a credit note (返還インボイス) pointing at it, and
its balance is ``total - credited - paid``. Every invoice has a unique ``key`` naming what it
bills (``annual:<fy>:<org>``, ``work_fee:<application>``): the record id derives from it, so
a second run, a retried job or a crash half-way never bills the same thing twice.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from api.billing import models
from api.billing.base import Base, bump_due, bump_stats
from api.billing.documents import INVOICE_TEMPLATE, Documents, money, wareki
from api.billing.models import InvoiceKind, InvoiceState
from api.billing.rules import ROUNDING_NOTE, Line, fiscal_year, rate_of, totals
from api.errors import Conflict, NotFoundError, ValidationFailed
from api.kit.ids import new_id
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from storage.errors import DuplicateKey
from storage.query import Eq, Exists, In, Query, Range, Record

_KIND_SERIES = {
    InvoiceKind.ANNUAL: "invoice",
    InvoiceKind.WORK_FEE: "invoice",
    InvoiceKind.CREDIT_NOTE: "credit_note",
}
_KIND_FORM = {
    InvoiceKind.ANNUAL: "jouun4",
    InvoiceKind.WORK_FEE: "fee_request",
    InvoiceKind.CREDIT_NOTE: "credit_note",
}


class AlreadyBilled(Conflict):
    code = "already_billed"
    title = "この請求はすでに発行されています。"


def invoice_id(key: str) -> str:
    """A stable id for what an invoice bills: the same key always gives the same id."""
    return "i" + hashlib.sha256(key.encode()).hexdigest()[:31]


def line(
    code: str,
    label: str,
    quantity: int,
    unit_price: int,
    tax_rate: str,
    *,
    unit: str = "式",
    work_id: str | None = None,
) -> Record:
    rate_of(tax_rate)
    return {
        "code": code,
        "label": label,
        "quantity": quantity,
        "unit": unit,
        "unit_price": unit_price,
        "amount": quantity * unit_price,
        "tax_rate": tax_rate,
        "work_id": work_id,
    }


def build(
    *,
    key: str,
    kind: InvoiceKind,
    number: str,
    org: Record,
    issue_date: date,
    due_date: date | None,
    service_from: date,
    service_to: date,
    lines: list[Record],
    tariff_id: str | None,
    issuer: Record,
    source: str | None,
    fy: int | None = None,
    credit_of: str | None = None,
    now: str,
) -> Record:
    """The invoice record with every figure computed here, once."""
    if not lines:
        raise ValidationFailed("請求する品目がありません。")
    sums = totals(Line(int(x["quantity"]), int(x["unit_price"]), str(x["tax_rate"])) for x in lines)
    return {
        "id": invoice_id(key),
        "key": key,
        "kind": kind.value,
        "number": number,
        "org_id": org["id"],
        "org_name": org.get("name", ""),
        "fiscal_year": fy if fy is not None else fiscal_year(issue_date),
        "issue_date": issue_date.isoformat(),
        "due_date": due_date.isoformat() if due_date else None,
        "service_from": service_from.isoformat(),
        "service_to": service_to.isoformat(),
        "lines": lines,
        "by_rate": [{"rate": r.rate, "net": r.net, "tax": r.tax} for r in sums.by_rate],
        "net": sums.net,
        "tax": sums.tax,
        "total": sums.total,
        "credited": 0,
        "paid": 0,
        "balance": sums.total,
        "state": InvoiceState.ISSUED.value,
        "tariff_id": tariff_id,
        "issuer": {
            "name": issuer.get("name", ""),
            "registration_number": issuer.get("registration_number", ""),
            "address": issuer.get("address", ""),
            "bank": issuer.get("bank", ""),
        },
        "source": source,
        "credit_of": credit_of,
        "created_at": now,
    }


def print_data(invoice: Record, addressee_suffix: str = "御中") -> dict[str, Any]:
    """What the invoice template prints: every amount from the stored record."""
    kind = InvoiceKind(invoice["kind"])
    credit = kind is InvoiceKind.CREDIT_NOTE
    issue = date.fromisoformat(invoice["issue_date"])
    fields = [
        [
            "取引年月日（対象期間）",
            f"{wareki(date.fromisoformat(invoice['service_from']))} 〜 "
            f"{wareki(date.fromisoformat(invoice['service_to']))}",
        ],
        ["年度", f"{invoice['fiscal_year']}年度"],
    ]
    if invoice.get("due_date"):
        fields.append(["お支払期限", wareki(date.fromisoformat(invoice["due_date"]))])
    if invoice["issuer"].get("bank") and not credit:
        fields.append(["お振込先", invoice["issuer"]["bank"]])
    if credit and invoice.get("credit_of_number"):
        fields.append(["対象の請求書", invoice["credit_of_number"]])
    rows = [
        [
            x["label"],
            f"{x['quantity']} {x.get('unit', '')}".strip(),
            money(int(x["unit_price"])),
            money(int(x["amount"])),
            f"{x['tax_rate']}%",
        ]
        for x in invoice["lines"]
    ]
    return {
        "title": models.FORMS[_KIND_FORM[kind]],
        "form_code": models.FORM_CODES.get(_KIND_FORM[kind], ""),
        "number": invoice["number"],
        "date_label": "発行日",
        "date": wareki(issue),
        "addressee": f"{invoice['org_name']} {addressee_suffix}",
        "lead": "下記のとおり返還いたします。" if credit else "下記のとおりご請求申し上げます。",
        "issuer": {
            "name": invoice["issuer"]["name"] or "情報共有システム等運用者",
            "address": invoice["issuer"].get("address") or "",
            "registration_number": invoice["issuer"]["registration_number"] or "（未登録）",
        },
        "total_label": "返還金額" if credit else "ご請求金額",
        "total": money(int(invoice["total"])),
        "fields": fields,
        "columns": ["品目", "数量", "単価（円）", "金額（円・税抜）", "税率"],
        "rows": rows,
        "by_rate": [
            {"label": f"{r['rate']}%対象", "net": money(r["net"]), "tax": money(r["tax"])}
            for r in invoice["by_rate"]
        ],
        "net": money(int(invoice["net"])),
        "tax": money(int(invoice["tax"])),
        "rounding_note": ROUNDING_NOTE,
        "footer": models.FORM_CODES.get(_KIND_FORM[kind], ""),
        "issued_by": invoice["issuer"]["name"] or "",
    }


class Invoices(Base):
    async def issue(self, uow: UnitOfWork, invoice: Record, *, actor: Subject | str) -> Record:
        """Store a built invoice with its document, stats and audit in the caller's unit.
        ``AlreadyBilled`` when its key was billed before (the caller skips)."""
        if await self.records.get(models.INVOICES, invoice["id"]) is not None:
            raise AlreadyBilled()
        try:
            stored = await self.records.insert(models.INVOICES, invoice)
        except DuplicateKey as exc:
            raise AlreadyBilled() from exc
        await self.after_issue(uow, stored, actor=actor)
        return stored

    async def after_issue(
        self, uow: UnitOfWork, stored: Record, *, actor: Subject | str, audit: bool = True
    ) -> None:
        kind = InvoiceKind(stored["kind"])
        await Documents(self.container).issue(
            form=_KIND_FORM[kind],
            source=f"{models.INVOICES}/{stored['id']}",
            org_ids=[stored["org_id"]],
            number=stored["number"],
            day=date.fromisoformat(stored["issue_date"]),
            data=print_data(stored),
            template=INVOICE_TEMPLATE,
            amounts={"net": stored["net"], "tax": stored["tax"], "total": stored["total"]},
        )
        if kind is not InvoiceKind.CREDIT_NOTE:
            await bump_stats(
                self.records, int(stored["fiscal_year"]), {"invoices": 1, "billed": stored["total"]}
            )
            await bump_due(
                self.records, int(stored["fiscal_year"]), stored.get("due_date"), stored["total"]
            )
        if audit:
            await self.audit.record(
                actor,
                "billing.invoice_issued",
                f"{models.INVOICES}/{stored['id']}",
                after=stored,
                detail={"key": stored["key"], "total": stored["total"]},
            )

    # credit notes ------------------------------------------------------------------------
    async def credit(
        self,
        uow: UnitOfWork,
        invoice: Record,
        lines: list[Record],
        *,
        reason: str,
        actor: Subject | str,
        key: str,
    ) -> Record:
        """A credit note against ``invoice`` (lines with negative quantities); the invoice's
        balance falls by its amount. Never more than what is left to credit."""
        if invoice["kind"] == InvoiceKind.CREDIT_NOTE:
            raise ValidationFailed("返還インボイスに対して返還はできません。")
        if invoice["state"] == InvoiceState.CANCELLED:
            raise Conflict("取消済みの請求書です。")
        today = self.today()
        fy = fiscal_year(today)
        number = (await self.next_number("credit_note", fy))[0]
        note = build(
            key=key,
            kind=InvoiceKind.CREDIT_NOTE,
            number=number,
            org={"id": invoice["org_id"], "name": invoice["org_name"]},
            issue_date=today,
            due_date=None,
            service_from=date.fromisoformat(invoice["service_from"]),
            service_to=date.fromisoformat(invoice["service_to"]),
            lines=lines,
            tariff_id=invoice.get("tariff_id"),
            issuer=await self.profile(),
            source=invoice.get("source"),
            fy=int(invoice["fiscal_year"]),
            credit_of=invoice["id"],
            now=self.now(),
        )
        note["credit_of_number"] = invoice["number"]
        note["reason"] = reason
        note["state"] = InvoiceState.PAID.value  # nothing to collect on a credit note
        note["balance"] = 0
        amount = -int(note["total"])
        if amount <= 0:
            raise ValidationFailed("返還金額は正の金額にしてください。")
        if amount > int(invoice["total"]) - int(invoice["credited"]):
            raise ValidationFailed("返還金額が請求金額の残りを超えています。")
        stored = await self.issue(uow, note, actor=actor)
        fresh = await self.records.get(models.INVOICES, invoice["id"]) or invoice
        open_part = min(amount, max(0, int(fresh["balance"])))
        await bump_due(
            self.records, int(invoice["fiscal_year"]), invoice.get("due_date"), -open_part
        )
        await self._settle(invoice, credited=amount)
        await bump_stats(self.records, int(invoice["fiscal_year"]), {"credited": amount})
        return stored

    async def _settle(self, invoice: Record, *, credited: int = 0, paid: int = 0) -> Record:
        fresh = await self.records.get(models.INVOICES, invoice["id"])
        assert fresh is not None
        total_credited = int(fresh["credited"]) + credited
        total_paid = int(fresh["paid"]) + paid
        balance = int(fresh["total"]) - total_credited - total_paid
        if total_credited >= int(fresh["total"]) and total_paid == 0:
            state = InvoiceState.CANCELLED
        elif balance <= 0:
            state = InvoiceState.PAID
        elif total_paid > 0:
            state = InvoiceState.PARTLY_PAID
        else:
            state = InvoiceState.ISSUED
        changes = {
            "credited": total_credited,
            "paid": total_paid,
            "balance": balance,
            "state": state.value,
            "refund_due": max(0, -balance),
            "updated_at": self.now(),
        }
        return await self.records.update(
            models.INVOICES, fresh["id"], changes, int(fresh["version"])
        )

    # reading -------------------------------------------------------------------------------
    async def find(
        self,
        subject: Subject | None,
        *,
        org_id: str | None,
        fiscal_year: int | None,
        state: str | None,
        kind: str | None,
        overdue: bool,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Record], str | None]:
        self.policy.require(subject, "billing.list")
        assert subject is not None
        where: list[Any] = []
        if not subject.is_operator:
            org_id = subject.org_id
            if not self.policy.can(subject, "billing.read", _res(org_id)):
                return [], None
        if org_id:
            where.append(Eq("org_id", org_id))
        else:
            where.append(Exists("sandbox", False))  # trial data stays out of the operator's lists
        if fiscal_year:
            where.append(Eq("fiscal_year", fiscal_year))
        if kind:
            where.append(Eq("kind", kind))
        if overdue:
            where.append(In("state", models.OPEN_INVOICE_STATES))
            where.append(Range("due_date", lt=self.today().isoformat()))
        elif state:
            where.append(Eq("state", state))
        page = await self.records.find(
            models.INVOICES,
            Query(where=tuple(where), sort=(("issue_date", -1),), limit=limit, cursor=cursor),
        )
        return page.items, page.next_cursor

    async def by_number(self, number: str) -> Record | None:
        page = await self.records.find(
            models.INVOICES, Query(where=(Eq("number", number),), limit=1)
        )
        return page.items[0] if page.items else None

    async def require_open(self, invoice_id: str) -> Record:
        invoice = await self.records.get(models.INVOICES, invoice_id)
        if invoice is None:
            raise NotFoundError("請求書が見つかりません。")
        return invoice


def _res(org_id: str | None) -> Any:
    from api.billing.permissions import BillingResource

    return BillingResource(org_id)


def annual_key(fy: int, org_id: str) -> str:
    return f"annual:{fy}:{org_id}"


def new_key() -> str:
    return f"manual:{new_id()}"
