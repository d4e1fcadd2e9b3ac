"""HTTP API of the audit trail, ``/api/v1/audit``: list and export. There is no delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.audit.schemas import AuditEventRead, AuditExportParams, AuditFilters
from api.audit.service import AuditLog, EventFilter, export_lines, iter_events, list_events
from api.deps import ContainerDep, SubjectDep
from api.kit.clock import to_iso
from api.kit.pagination import CursorPage

router = APIRouter(prefix="/audit", tags=["audit"])

_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _filter(p: AuditFilters | AuditExportParams) -> EventFilter:
    return EventFilter(
        action=p.action,
        actor_id=p.actor,
        target=p.target,
        since=to_iso(p.since) if p.since else None,
        until=to_iso(p.until) if p.until else None,
    )


@router.get("/events", response_model=CursorPage[AuditEventRead])
async def list_audit_events(
    container: ContainerDep, subject: SubjectDep, params: Annotated[AuditFilters, Query()]
) -> CursorPage[AuditEventRead]:
    """Events newest first (operators and holders of ``audit.read``)."""
    container.policy.require(subject, "audit.read")
    page = await list_events(container.records, _filter(params), params.limit, params.cursor)
    return CursorPage[AuditEventRead](
        items=[AuditEventRead.model_validate(e) for e in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/events/export")
async def export_audit_events(
    container: ContainerDep, subject: SubjectDep, params: Annotated[AuditExportParams, Query()]
) -> StreamingResponse:
    """The matching events in chain order as CSV or JSON lines, streamed (never all in memory).
    The export itself is recorded (``audit.exported``)."""
    container.policy.require(subject, "audit.read")
    flt = _filter(params)
    async with container.uow():
        await AuditLog(container.records, container.clock).record(
            subject,
            "audit.exported",
            "audit_events/*",
            detail={"format": params.format, **{k: v for k, v in vars(flt).items() if v}},
        )

    async def body() -> AsyncIterator[bytes]:
        async for line in export_lines(iter_events(container.records, flt), params.format):
            yield line.encode()

    filename = f"audit-events.{params.format}"
    return StreamingResponse(
        body(),
        media_type=_MEDIA[params.format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
