"""HTTP API of the audit trail, ``/api/v1/audit``: list and export. There is no delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.audit.schemas import AuditEventWords, AuditExportParams, AuditFilters
from api.audit.service import AuditLog, EventFilter, export_lines, iter_events, list_events
from api.audit.words import ACTION_NAMES, event_words, names_for
from api.container import Container
from api.deps import ContainerDep, SubjectDep
from api.kit.clock import to_iso
from api.kit.pagination import CursorPage
from api.permissions.policy import OrgContext, Subject

router = APIRouter(prefix="/audit", tags=["audit"])

_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _filter(p: AuditFilters | AuditExportParams, reader: Subject) -> EventFilter:
    return EventFilter(
        action=p.action,
        actor_id=p.actor,
        target=p.target,
        since=to_iso(p.since) if p.since else None,
        until=to_iso(p.until) if p.until else None,
        # issue 7 item 1: a holder of audit.read reads their organization's events only
        org_id=None if reader.is_operator else reader.org_id,
    )


def _reader(container: Container, subject: Subject | None) -> Subject:
    """Operators, or a holder of ``audit.read`` in an organization (401 / 403 otherwise)."""
    container.policy.require(subject, "audit.read", OrgContext(subject.org_id if subject else None))
    assert subject is not None
    return subject


@router.get("/actions")
async def audit_actions(container: ContainerDep, subject: SubjectDep) -> list[dict[str, str]]:
    """The actions with their Japanese names, for choosing one from a list."""
    _reader(container, subject)
    return [{"action": a, "name": n} for a, n in ACTION_NAMES.items()]


@router.get("/events", response_model=CursorPage[AuditEventWords])
async def list_audit_events(
    container: ContainerDep, subject: SubjectDep, params: Annotated[AuditFilters, Query()]
) -> CursorPage[AuditEventWords]:
    """Events newest first: operators see all; a holder of ``audit.read`` sees the events
    that concern their organization (its users acting, or its records acted on)."""
    reader = _reader(container, subject)
    flt = _filter(params, reader)
    page = await list_events(container.records, flt, params.limit, params.cursor)
    names, work_of = await names_for(container.records, page.items)
    return CursorPage[AuditEventWords](
        items=[
            AuditEventWords.model_validate({**e, **event_words(e, names, work_of)})
            for e in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/events/export",
    response_class=StreamingResponse,
)
async def export_audit_events(
    container: ContainerDep, subject: SubjectDep, params: Annotated[AuditExportParams, Query()]
) -> StreamingResponse:
    """The matching events in chain order as CSV or JSON lines, streamed (never all in memory).
    The export itself is recorded (``audit.exported``)."""
    reader = _reader(container, subject)
    flt = _filter(params, reader)
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
