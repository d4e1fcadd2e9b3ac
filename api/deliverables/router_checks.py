"""HTTP API of a work's 電子納品 check record (issue 8 §2): the history of checks with the
latest first, the printed result (PDF), and the orderer's 受領確認; and the 写真帳 (photo
book) of chosen photos (§3 item 3).

Reading follows the work's file rights (both sides of the work see the record); receiving is
``deliverables.receive`` (``api.deliverables.permissions``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.archive.download import content_disposition
from api.deliverables import checks
from api.deliverables.photobook import photo_book
from api.deliverables.report_pdf import TEMPLATE, file_name, report_data
from api.deps import ContainerDep, SubjectDep
from api.kit.text import Text
from api.permissions.policy import Subject
from api.works.service import WorkService
from storage.query import Record

router = APIRouter(tags=["deliverables"])


class ReceiptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    note: Annotated[str, Text(500, required=False)] | None = None


async def _record(
    container: ContainerDep, subject: Subject | None, deliverable_id: str, action: str
) -> tuple[Record, Record]:
    """The check and its work if ``subject`` may do ``action`` on the work (404 otherwise)."""
    container.policy.require(subject, "works.list")
    record = await checks.load_for(container, deliverable_id)
    work = await WorkService.of(container).load(subject, str(record["work_id"]), action)
    return record, work


async def _may_receive(container: ContainerDep, subject: Subject | None, work: Record) -> bool:
    service = WorkService.of(container)
    ctx = await service.context(subject, work)
    return container.policy.can(subject, "deliverables.receive", ctx) and (
        work.get("status") != "archived"
    )


@router.get("/works/{work_id}/checks")
async def work_checks(container: ContainerDep, subject: SubjectDep, work_id: str) -> dict[str, Any]:
    """The work's check record: every check (one per upload or re-check), newest first, with
    counts and 受領確認; whether the caller may receive; the orderer's archive rule."""
    work = await WorkService.of(container).load(subject, work_id, "files.read")
    items = await checks.history(container.records, work_id)
    orderer = await container.records.get("organizations", str(work.get("orderer_org_id")))
    return {
        "work_id": work_id,
        "latest": items[0] if items else None,
        "items": items,
        "can_receive": await _may_receive(container, subject, work),
        "block_archive_on_errors": bool((orderer or {}).get("block_archive_on_errors")),
    }


@router.get("/deliverables/{deliverable_id}/report.pdf")
async def report_pdf(container: ContainerDep, subject: SubjectDep, deliverable_id: str) -> Response:
    """The check result printed: rule names, links to the files, the 受領確認."""
    record, work = await _record(container, subject, deliverable_id, "files.read")
    linked = await checks.with_links(container.records, record)
    pdf = await container.pdf.render(TEMPLATE, report_data(container, linked, work))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition(file_name(container, work))},
    )


@router.post("/deliverables/{deliverable_id}/receipt")
async def receive(
    container: ContainerDep, subject: SubjectDep, deliverable_id: str, body: ReceiptRequest
) -> dict[str, Any]:
    """受領確認: the orderer has received and checked this package (audited)."""
    record, _ = await _record(container, subject, deliverable_id, "deliverables.receive")
    assert subject is not None
    receipt = await checks.new_receipt(container, subject, body.note)
    stored = await checks.set_receipt(container, subject, record, receipt, body.version)
    return await checks.summary(container.records, stored)


@router.delete("/deliverables/{deliverable_id}/receipt")
async def withdraw(
    container: ContainerDep,
    subject: SubjectDep,
    deliverable_id: str,
    version: Annotated[int, Query(ge=1)],
) -> dict[str, Any]:
    """Withdraw a 受領確認 given by mistake (audited)."""
    record, _ = await _record(container, subject, deliverable_id, "deliverables.receive")
    assert subject is not None
    stored = await checks.set_receipt(container, subject, record, None, version)
    return await checks.summary(container.records, stored)


class PhotoBookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node_ids: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=1000)]


@router.post("/works/{work_id}/photo-book")
async def print_photo_book(
    container: ContainerDep, subject: SubjectDep, work_id: str, body: PhotoBookRequest
) -> Response:
    """The 写真帳 of the chosen photos (PDF, three to a page with their 写真情報)."""
    pdf, name = await photo_book(container, subject, work_id, body.node_ids)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition(name)},
    )
