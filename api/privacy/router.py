"""HTTP API of the personal-data warning (seed 001 §3-2): check a file before it is sent (a
staged attachment) or after it was registered (a document), answer the warning, and list a
work's warnings. Whoever reads the file may check it (its uploader before it is linked);
answering "kept" on a document needs ``files.write``; the list needs ``files.read`` (404
otherwise)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.archive.nodes import NodeService
from api.deps import ContainerDep, SubjectDep
from api.kit.text import Text
from api.privacy.service import CHECKS, CheckService
from storage.query import Eq, Query

router = APIRouter(prefix="", tags=["privacy"])


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["attachment", "file"]
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["removed", "kept"]
    reason: Annotated[str, Text(500, multiline=True, required=False)] | None = None


def service(container: ContainerDep) -> CheckService:
    return CheckService(container)


ServiceDep = Annotated[CheckService, Depends(service)]


@router.post("/privacy/checks")
async def check_file(svc: ServiceDep, subject: SubjectDep, body: CheckRequest) -> dict[str, Any]:
    """``pending`` (text not extracted yet: ask again), ``clear`` or ``warning`` with the
    kinds of identifiers found, their pages and masked values."""
    return await svc.check(subject, body.kind, body.id)


@router.post("/privacy/checks/{check_id}/decision")
async def decide(
    svc: ServiceDep, subject: SubjectDep, check_id: str, body: DecisionRequest
) -> dict[str, Any]:
    """Record the warned user's answer: the file was removed, or kept with a reason."""
    return await svc.decide(subject, check_id, body.action, body.reason)


@router.get("/works/{work_id}/privacy-checks")
async def work_checks(
    container: ContainerDep, subject: SubjectDep, work_id: str
) -> list[dict[str, Any]]:
    """The warnings given on the work's files and attachments, newest first."""
    await NodeService(container).work(subject, work_id, "files.read")
    page = await container.records.find(
        CHECKS,
        Query(
            where=(Eq("work_id", work_id), Eq("state", "warning")),
            sort=(("checked_at", -1),),
            limit=500,
        ),
    )
    return page.items
