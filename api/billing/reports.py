"""Fiscal-year reports: the dashboard, the list for accounting as CSV or Excel.

Municipal fiscal years (地方自治法第208条) and the 出納整理期間 (第235条の5) are first-class: an
invoice belongs to the fiscal year it bills, and so do its payments; a payment that arrived
by 5月31日 of the next year is ``collected_in_closing``, a later one ``collected_late``.

The dashboard reads the totals kept per fiscal year (``billing_stats``, written in the same
unit as every invoice, credit note and payment), so ten years cost ten small records whatever
the number of invoices; the overdue amounts, which depend on today, are the sums kept per
(fiscal year, due date) in ``billing_due`` whose date has passed. ``stats_from_invoices`` and
``due_from_invoices`` rebuild both from the records and the tests compare them.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from api.billing import models
from api.billing.base import STAT_FIELDS, Base
from api.billing.permissions import BillingResource
from api.billing.rules import closing_period_end, fiscal_year
from api.permissions.policy import Subject
from storage.query import Eq, Range, Record

STATE_LABELS = {
    "issued": "未入金",
    "partly_paid": "一部入金",
    "paid": "入金済",
    "cancelled": "取消",
}
KIND_LABELS = {"annual": "年額利用料", "work_fee": "案件利用料", "credit_note": "返還"}
COLUMNS = [
    ("number", "請求番号"),
    ("kind", "種別"),
    ("org_name", "請求先"),
    ("issue_date", "発行日"),
    ("due_date", "支払期限"),
    ("net", "税抜金額"),
    ("tax", "消費税額"),
    ("total", "税込金額"),
    ("credited", "返還額"),
    ("paid", "入金額"),
    ("balance", "残高"),
    ("state", "状態"),
    ("overdue", "期限超過"),
]


class Reports(Base):
    async def dashboard(self, subject: Subject | None, years: int) -> dict[str, Any]:
        """Per fiscal year: billed, credited, collected (in and after the 出納整理期間),
        outstanding and overdue; the newest ``years`` years."""
        self.policy.require(subject, "billing.operate")
        today = self.today()
        current = fiscal_year(today)
        first = current - years + 1
        rows = {
            int(r["fiscal_year"]): r
            for r in await self.records.get_many(
                models.STATS, [str(fy) for fy in range(first, current + 1)]
            )
        }
        overdue: dict[int, int] = {}
        async for due in self.records.scan(
            models.DUE, (Range("due_date", lt=today.isoformat()), Range("fiscal_year", gte=first))
        ):
            fy = int(due["fiscal_year"])
            overdue[fy] = overdue.get(fy, 0) + max(0, int(due["outstanding"]))
        out = []
        for fy in range(first, current + 1):
            row = rows.get(fy) or {}
            figures = {name: int(row.get(name, 0)) for name in STAT_FIELDS}
            outstanding = figures["billed"] - figures["credited"] - figures["collected"]
            out.append(
                {
                    "fiscal_year": fy,
                    **figures,
                    "outstanding": outstanding,
                    "overdue": overdue.get(fy, 0),
                    "closing_period_end": closing_period_end(fy).isoformat(),
                }
            )
        return {"today": today.isoformat(), "fiscal_year": current, "years": out}

    async def rows(self, subject: Subject | None, fy: int) -> list[dict[str, Any]]:
        """Every invoice and credit note of fiscal year ``fy`` for accounting (operator: all
        parties; a municipality or contractor: its own)."""
        self.policy.require(subject, "billing.list")
        assert subject is not None
        where: list[Any] = [Eq("fiscal_year", fy)]
        if not subject.is_operator:
            self.policy.require(subject, "billing.read", BillingResource(subject.org_id))
            where.append(Eq("org_id", subject.org_id))
        today = self.today().isoformat()
        out: list[dict[str, Any]] = []
        async for inv in self.records.scan(models.INVOICES, tuple(where)):
            if inv.get("sandbox"):
                continue
            out.append(_row(inv, today))
        out.sort(key=lambda r: (r["issue_date"], r["number"]))
        return out

    async def summary(self, subject: Subject | None) -> list[dict[str, Any]]:
        """A municipality's or contractor's own totals per fiscal year (its invoices)."""
        self.policy.require(subject, "billing.list")
        assert subject is not None
        if not self.policy.can(subject, "billing.read", BillingResource(subject.org_id)):
            return []
        today = self.today().isoformat()
        years: dict[int, dict[str, int]] = {}
        async for inv in self.records.scan(models.INVOICES, (Eq("org_id", subject.org_id),)):
            row = years.setdefault(
                int(inv["fiscal_year"]),
                {"billed": 0, "credited": 0, "paid": 0, "balance": 0, "overdue": 0},
            )
            if inv["kind"] == "credit_note":
                row["credited"] += -int(inv["total"])
                continue
            row["billed"] += int(inv["total"])
            row["paid"] += int(inv["paid"])
            row["balance"] += int(inv["balance"])
            if _overdue(inv, today):
                row["overdue"] += int(inv["balance"])
        return [{"fiscal_year": fy, **v} for fy, v in sorted(years.items())]


def _overdue(inv: Record, today: str) -> bool:
    return (
        inv["state"] in models.OPEN_INVOICE_STATES
        and bool(inv.get("due_date"))
        and str(inv["due_date"]) < today
    )


def _row(inv: Record, today: str) -> dict[str, Any]:
    row = {name: inv.get(name) for name, _ in COLUMNS}
    row["overdue"] = _overdue(inv, today)
    return row


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """CSV for accounting software: UTF-8 with BOM (Excel opens it as Japanese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    for row in rows:
        writer.writerow([_cell(name, row[name]) for name, _ in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode()


def to_xlsx(rows: list[dict[str, Any]], fy: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(f"{fy}年度")
    sheet.append([label for _, label in COLUMNS])
    for row in rows:
        sheet.append([_cell(name, row[name]) for name, _ in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(name: str, value: Any) -> Any:
    if name == "state":
        return STATE_LABELS.get(str(value), value)
    if name == "kind":
        return KIND_LABELS.get(str(value), value)
    if name == "overdue":
        return "超過" if value else ""
    if value is None:
        return ""
    return value


def parse_fy(value: str) -> int:
    return date.fromisoformat(f"{int(value)}-04-01").year
