"""HTTP API of invoices, payments, runs, reports and documents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.billing import models
from api.billing.documents import Documents
from api.billing.invoices import Invoices, line, new_key
from api.billing.payments import Payments
from api.billing.reports import Reports, to_csv, to_xlsx
from api.billing.runs import Runs
from api.billing.schemas import CreditCreate, PaymentCreate, RunCreate
from api.deps import ContainerDep, SubjectDep
from api.errors import PayloadTooLarge, ValidationFailed

router = APIRouter(prefix="/billing", tags=["billing"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/invoices")
async def list_invoices(
    container: ContainerDep,
    subject: SubjectDep,
    org_id: Annotated[str | None, Query(max_length=64)] = None,
    fiscal_year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
    state: Annotated[str | None, Query(pattern="^(issued|partly_paid|paid|cancelled)$")] = None,
    kind: Annotated[str | None, Query(pattern="^(annual|work_fee|credit_note)$")] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    items, next_cursor = await Invoices(container).find(
        subject,
        org_id=org_id,
        fiscal_year=fiscal_year,
        state=state,
        kind=kind,
        overdue=overdue,
        limit=limit,
        cursor=cursor,
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/invoices/{invoice_id}")
async def get_invoice(
    container: ContainerDep, subject: SubjectDep, invoice_id: str
) -> dict[str, Any]:
    invoices = Invoices(container)
    invoice = await invoices.readable(subject, models.INVOICES, invoice_id, "請求書")
    docs = await Documents(container).of_source(f"{models.INVOICES}/{invoice_id}")
    payments = await Payments(container).of_invoice(invoice_id)
    return {
        **invoice,
        "payments": payments,
        "documents": [
            {k: d[k] for k in ("id", "form", "title", "number", "date", "doc_version")}
            for d in docs
        ],
    }


@router.post("/invoices/{invoice_id}/credit", status_code=201)
async def credit_invoice(
    container: ContainerDep, subject: SubjectDep, invoice_id: str, body: CreditCreate
) -> dict[str, Any]:
    """A credit note (返還インボイス) instead of an edit: a single line at the invoice's rate."""
    container.policy.require(subject, "billing.operate")
    assert subject is not None
    invoices = Invoices(container)
    invoice = await invoices.get(models.INVOICES, invoice_id, "請求書")
    rates = {str(x["tax_rate"]) for x in invoice["lines"]}
    if len(rates) != 1:
        raise ValidationFailed("税率の異なる品目を含む請求書は品目ごとに返還してください。")
    async with container.uow() as uow:
        return await invoices.credit(
            uow,
            invoice,
            [line("credit", f"返還：{body.reason}", -1, body.amount, rates.pop())],
            reason=body.reason,
            actor=subject,
            key=new_key(),
        )


@router.post("/payments", status_code=201)
async def enter_payment(
    container: ContainerDep, subject: SubjectDep, body: PaymentCreate
) -> dict[str, Any]:
    return await Payments(container).enter(
        subject,
        invoice_number=body.invoice_number,
        amount=body.amount,
        paid_on=body.paid_on,
        reference=body.reference,
    )


@router.post("/payments/import")
async def import_payments(
    request: Request, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    """A bank statement as CSV (body: text/csv, UTF-8 or Shift_JIS)."""
    container.policy.require(subject, "billing.operate")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > 5 << 20:
            raise PayloadTooLarge("CSVは5MBまでです。")
    report = await Payments(container).import_csv(subject, raw)
    return {
        "rows": report.rows,
        "matched": report.matched,
        "duplicates": report.duplicates,
        "unmatched": report.unmatched,
    }


@router.post("/runs/annual")
async def run_annual(
    container: ContainerDep, subject: SubjectDep, body: RunCreate
) -> dict[str, Any]:
    """The annual invoice run (様式情運-4) for a fiscal year; idempotent."""
    container.policy.require(subject, "billing.operate")
    assert subject is not None
    return await Runs(container).annual(subject, body.fiscal_year)


@router.get("/dashboard")
async def dashboard(
    container: ContainerDep,
    subject: SubjectDep,
    years: Annotated[int, Query(ge=1, le=20)] = 10,
) -> dict[str, Any]:
    return await Reports(container).dashboard(subject, years)


@router.get("/summary")
async def summary(container: ContainerDep, subject: SubjectDep) -> list[dict[str, Any]]:
    """The caller's organization's totals per fiscal year."""
    return await Reports(container).summary(subject)


@router.get("/reports/{fiscal_year}")
async def report(
    container: ContainerDep,
    subject: SubjectDep,
    fiscal_year: int,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
) -> Response:
    """Every invoice of a fiscal year for accounting, as JSON, CSV or Excel."""
    if not 2000 <= fiscal_year <= 2200:
        raise ValidationFailed("年度が正しくありません。")
    rows = await Reports(container).rows(subject, fiscal_year)
    name = f"kura-billing-{fiscal_year}"
    if format == "csv":
        return Response(
            to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        return Response(
            to_xlsx(rows, fiscal_year),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    import json

    return Response(
        json.dumps({"fiscal_year": fiscal_year, "rows": rows}, ensure_ascii=False),
        media_type="application/json",
    )


@router.get("/documents/{document_id}")
async def get_document(
    container: ContainerDep, subject: SubjectDep, document_id: str
) -> dict[str, Any]:
    return await Documents(container).readable_doc(subject, document_id)


@router.get("/documents/{document_id}/pdf")
async def document_pdf(container: ContainerDep, subject: SubjectDep, document_id: str) -> Response:
    """The form as PDF (rendered once from its stored data)."""
    doc, content = await Documents(container).pdf(subject, document_id)
    filename = f"{doc['form']}-{doc['id']}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )
