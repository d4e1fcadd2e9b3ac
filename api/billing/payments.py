"""Payments: entered by the operator or imported from a bank CSV (issue 13 §3; seed 000
手続きフロー: 支払状況確認).

A payment names one invoice (by its number) and is never more than the invoice's balance; a
payment that matches no invoice is refused (entered) or reported (imported), never stored
half. Each bank row is claimed by a digest of its content and its place among equal rows, so
importing the same statement twice stores every payment once. A payment counts to the
invoice's fiscal year, and to its 出納整理期間 when it arrived by 5月31日 of the next year
(地方自治法第235条の5); later payments are shown apart.

Paying a work's fee confirms the contractor's application: the work opens to the contractor
and the start notice is sent (``api.billing.applications``), in the same unit of work.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from api.billing import models
from api.billing.base import Base, bump_due, bump_stats
from api.billing.invoices import Invoices
from api.billing.models import InvoiceKind, InvoiceState
from api.billing.rules import closing_period_end
from api.errors import Conflict, NotFoundError, ValidationFailed
from api.kit import claims
from api.kit.ids import new_id
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from storage.query import Eq, Query, Record

_NUMBER = re.compile(r"請求第(\d{4})-(\d{6})号|(\d{4})-(\d{6})")
MAX_CSV_BYTES = 5 << 20
MAX_CSV_ROWS = 20000


class NoMatchingInvoice(NotFoundError):
    code = "no_matching_invoice"
    title = "支払に対応する請求書が見つかりません。"


class OverBalance(Conflict):
    code = "over_balance"
    title = "支払金額が請求残高を超えています。"


@dataclass
class ImportReport:
    rows: int = 0
    matched: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)


def invoice_number_in(text: str) -> str | None:
    """The invoice number a bank row names in its 摘要 or 依頼人名 (``請求第2026-000001号``
    or just ``2026-000001``)."""
    found = _NUMBER.search(text)
    if not found:
        return None
    year, serial = (found.group(1), found.group(2)) if found.group(1) else found.group(3, 4)
    return f"請求第{year}-{serial}号"


def decode_csv(raw: bytes) -> str:
    """Banks hand out CSV in Shift_JIS (CP932) or UTF-8 (with or without BOM)."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("CSVの文字コードを判別できません（UTF-8 または Shift_JIS）。")


def parse_rows(text: str) -> list[tuple[date, int, str, str]]:
    """Rows of (date, amount, payer, reference) from a CSV with a header naming 取引日/日付,
    金額/入金額, 振込依頼人名/依頼人名, 摘要/備考 (order free)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ValidationFailed("CSVが空です。") from None

    def col(*names: str) -> int:
        for name in names:
            if name in header:
                return header.index(name)
        raise ValidationFailed(f"CSVに「{names[0]}」の列がありません。", columns=header)

    i_date = col("取引日", "日付", "入金日")
    i_amount = col("金額", "入金額")
    i_payer = col("振込依頼人名", "依頼人名", "振込人")
    i_ref = col("摘要", "備考", "参照")
    rows: list[tuple[date, int, str, str]] = []
    for n, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        if len(rows) >= MAX_CSV_ROWS:
            raise ValidationFailed(f"CSVの行数は{MAX_CSV_ROWS}行までです。")
        try:
            day = date.fromisoformat(row[i_date].strip().replace("/", "-"))
            amount = int(row[i_amount].strip().replace(",", "").replace("円", ""))
        except (ValueError, IndexError) as exc:
            raise ValidationFailed(f"CSVの{n}行目の日付または金額が読めません。", row=n) from exc
        if amount <= 0:
            raise ValidationFailed(f"CSVの{n}行目の金額が正しくありません。", row=n)
        rows.append((day, amount, row[i_payer].strip(), row[i_ref].strip()))
    return rows


class Payments(Base):
    async def enter(
        self,
        subject: Subject | None,
        *,
        invoice_number: str,
        amount: int,
        paid_on: date,
        reference: str,
    ) -> Record:
        """Record one payment against the invoice with this number (the operator)."""
        self.policy.require(subject, "billing.operate")
        assert subject is not None
        async with self.container.uow() as uow:
            invoice = await Invoices(self.container).by_number(invoice_number)
            if invoice is None or invoice["kind"] == InvoiceKind.CREDIT_NOTE:
                raise NoMatchingInvoice(
                    f"請求番号「{invoice_number}」の請求書はありません。", field="invoice_number"
                )
            return await self.apply(
                uow,
                invoice,
                amount=amount,
                paid_on=paid_on,
                reference=reference,
                method="manual",
                actor=subject,
            )

    async def apply(
        self,
        uow: UnitOfWork,
        invoice: Record,
        *,
        amount: int,
        paid_on: date,
        reference: str,
        method: str,
        actor: Subject | str,
        row_key: str | None = None,
    ) -> Record:
        if invoice["state"] not in models.OPEN_INVOICE_STATES:
            raise Conflict(
                f"請求書「{invoice['number']}」は支払済みまたは取消済みです。",
                state=invoice["state"],
            )
        if amount > int(invoice["balance"]):
            raise OverBalance(
                f"支払金額 {amount:,} 円が請求残高 {int(invoice['balance']):,} 円を超えています。",
                balance=invoice["balance"],
            )
        fy = int(invoice["fiscal_year"])
        in_closing = paid_on <= closing_period_end(fy)
        payment: Record = {
            "id": new_id(),
            "invoice_id": invoice["id"],
            "invoice_number": invoice["number"],
            "org_id": invoice["org_id"],
            "amount": amount,
            "paid_on": paid_on.isoformat(),
            "method": method,
            "reference": reference,
            "row_key": row_key,
            "fiscal_year": fy,
            "in_closing_period": in_closing,
            "created_at": self.now(),
        }
        stored = await self.records.insert(models.PAYMENTS, payment)
        settled = await Invoices(self.container)._settle(invoice, paid=amount)
        await bump_due(self.records, fy, invoice.get("due_date"), -amount)
        await bump_stats(
            self.records,
            fy,
            {
                "collected": amount,
                "collected_in_closing" if in_closing else "collected_late": amount,
            },
        )
        await self.audit.record(
            actor,
            "billing.payment_recorded",
            f"{models.PAYMENTS}/{stored['id']}",
            after=stored,
            detail={"invoice": invoice["number"], "state": settled["state"]},
        )
        if settled["state"] == InvoiceState.PAID and settled["kind"] == InvoiceKind.WORK_FEE:
            from api.billing.applications import Applications

            await Applications(self.container).on_fee_paid(uow, settled, actor=actor)
        return stored

    async def import_csv(self, subject: Subject | None, raw: bytes) -> ImportReport:
        """Match each bank row to an invoice by the number in its 摘要; store the matched ones
        (each once, however often the statement is imported) and report the rest."""
        self.policy.require(subject, "billing.operate")
        assert subject is not None
        if len(raw) > MAX_CSV_BYTES:
            raise ValidationFailed("CSVは5MBまでです。")
        rows = parse_rows(decode_csv(raw))
        report = ImportReport(rows=len(rows))
        seen: dict[str, int] = {}
        invoices = Invoices(self.container)
        async with self.container.uow() as uow:
            for n, (day, amount, payer, ref) in enumerate(rows, start=2):
                content = f"{day.isoformat()}|{amount}|{payer}|{ref}"
                seen[content] = seen.get(content, 0) + 1
                row_key = (
                    "bank:" + hashlib.sha256(f"{content}|{seen[content]}".encode()).hexdigest()
                )
                if await self.records.get(models.KEYS, row_key) is not None:
                    report.duplicates.append(n)
                    continue
                number = invoice_number_in(ref) or invoice_number_in(payer)
                invoice = await invoices.by_number(number) if number else None
                reason = None
                if invoice is None or invoice["kind"] == InvoiceKind.CREDIT_NOTE:
                    reason = "対応する請求書がありません"
                elif invoice["state"] not in models.OPEN_INVOICE_STATES:
                    reason = "請求書は支払済みまたは取消済みです"
                elif amount > int(invoice["balance"]):
                    reason = f"請求残高 {int(invoice['balance']):,} 円を超えています"
                if reason is not None or invoice is None:
                    report.unmatched.append(
                        {
                            "row": n,
                            "date": day.isoformat(),
                            "amount": amount,
                            "payer": payer,
                            "reference": ref,
                            "reason": reason,
                        }
                    )
                    continue
                await claims.claim(self.records, models.KEYS, row_key, invoice["id"])
                payment = await self.apply(
                    uow,
                    invoice,
                    amount=amount,
                    paid_on=day,
                    reference=ref or payer,
                    method="bank_csv",
                    actor=subject,
                    row_key=row_key,
                )
                report.matched.append(
                    {
                        "row": n,
                        "invoice_number": invoice["number"],
                        "amount": amount,
                        "payment_id": payment["id"],
                    }
                )
        return report

    async def of_invoice(self, invoice_id: str) -> list[Record]:
        page = await self.records.find(
            models.PAYMENTS,
            Query(where=(Eq("invoice_id", invoice_id),), sort=(("paid_on", 1),), limit=500),
        )
        return page.items
