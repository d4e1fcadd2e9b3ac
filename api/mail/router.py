"""``/api/v1/mail/outbox``: operators read the outbox (raw messages too) and retry dead mail."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.audit.service import AuditLog
from api.deps import ContainerDep, SubjectDep
from api.errors import Conflict, NotFoundError
from api.kit.pagination import CursorPage

router = APIRouter(prefix="/mail", tags=["mail"])

MailId = Annotated[str, Path(max_length=64)]
State = Literal["queued", "sending", "sent", "stored", "dead"]


class MailRead(BaseModel):
    id: str
    kind: str
    importance: str
    to_address: str
    to_name: str
    to_user_id: str | None = None
    work_id: str | None = None
    subject: str
    message_id: str
    state: State
    attempts: int
    created_at: str
    sent_at: str | None = None
    last_error: str | None = None
    due_at: str | None = None


class MailDetail(MailRead):
    raw: str


class OutboxStats(BaseModel):
    transport: str
    counts: dict[str, int]


@router.get("/outbox", response_model=CursorPage[MailRead])
async def list_outbox(
    container: ContainerDep,
    subject: SubjectDep,
    state: State | None = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    to_user_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> CursorPage[MailRead]:
    """Every outgoing mail, newest first (operators only)."""
    container.policy.require(subject, "mail.read")
    page = await container.outbox().list(
        state=state, kind=kind, to_user_id=to_user_id, limit=limit, cursor=cursor
    )
    return CursorPage[MailRead](
        items=[MailRead.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/outbox/stats", response_model=OutboxStats)
async def outbox_stats(container: ContainerDep, subject: SubjectDep) -> OutboxStats:
    container.policy.require(subject, "mail.read")
    return OutboxStats(
        transport=container.mail_transport.name, counts=await container.outbox().counts()
    )


@router.get("/outbox/{mail_id}", response_model=MailDetail)
async def get_mail(mail_id: MailId, container: ContainerDep, subject: SubjectDep) -> MailDetail:
    """One mail with its raw RFC 5322 text."""
    container.policy.require(subject, "mail.read")
    record = await container.outbox().get(mail_id)
    if record is None:
        raise NotFoundError()
    return MailDetail.model_validate(record)


@router.post("/outbox/{mail_id}/retry", response_model=MailRead)
async def retry_mail(mail_id: MailId, container: ContainerDep, subject: SubjectDep) -> Any:
    """Queue a dead mail again (fresh attempts); audited."""
    container.policy.require(subject, "mail.manage")
    outbox = container.outbox()
    async with container.uow() as uow:
        record = await uow.records.get("mails", mail_id)
        if record is None:
            raise NotFoundError()
        if record["state"] != "dead":
            raise Conflict("送信できなかったメールだけを再送できます。")
        updated = await outbox.retry(uow, record)
        await AuditLog(uow.records, container.clock).record(
            subject, "mail.retried", f"mails/{mail_id}", detail={"to": record["to_address"]}
        )
    return MailRead.model_validate(updated)
