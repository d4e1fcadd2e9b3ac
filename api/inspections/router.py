"""HTTP API of the electronic inspection (seed 001 §5): what the inspection view shows besides
the document tree (the decided proposals with their approval stamps and the documents they
were filed as, §5(4), 別表1-1 5(8)), and the offline package (§5(2)). ``files.read`` on the
work (404 otherwise): the inspector, the supervisor, the contractor and the orderer's readers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.archive.download import content_disposition
from api.archive.export import zip_filename
from api.archive.nodes import NodeService
from api.archive.serve import NO_SNIFF
from api.audit.service import AuditLog
from api.deps import ContainerDep, SubjectDep
from api.folders.filing import filed_nodes
from api.folders.service import FolderService
from api.inspections.offline import OfflinePackage
from storage.query import Eq

router = APIRouter(tags=["inspections"])


@router.get("/works/{work_id}/inspection")
async def inspection(container: ContainerDep, subject: SubjectDep, work_id: str) -> dict[str, Any]:
    """The decided proposals in number order with their stamps (role, name, date, 代理/後閲)
    and the id of the document each was filed as (opened beside other documents)."""
    from api.proposals.models import PROPOSALS
    from api.proposals.printing import stamps_of
    from api.proposals.views import people_of, user_names
    from api.workflow import machine

    nodes = NodeService(container)
    work = await nodes.work(subject, work_id, "files.read")
    decided = [
        p
        async for p in container.records.scan(
            PROPOSALS, (Eq("work_id", work_id), Eq("state", machine.S.DECIDED.value))
        )
    ]
    decided.sort(key=lambda p: int(p.get("number") or 0))
    names = await user_names(container, [i for p in decided for i in people_of(p)])
    filed = await filed_nodes(container, work_id)
    ctx = await nodes.works.context(subject, work)
    state = await FolderService(container).seeded(work_id) or {}
    return {
        "work": {k: work.get(k) for k in ("id", "title", "number", "kind", "status")},
        "proposals": [
            {
                "id": p["id"],
                "number": p.get("number"),
                "title": p.get("title"),
                "form_name": p.get("form_name"),
                "proposed_on": p.get("proposed_on"),
                "decided_on": p.get("decided_on"),
                "stamps": [s.__dict__ for s in stamps_of(p, names)],
                "node_id": (filed.get(str(p["id"])) or {}).get("id"),
                "filed_current": (filed.get(str(p["id"])) or {})
                .get("meta", {})
                .get("proposal_version")
                == p.get("version"),
            }
            for p in decided
        ],
        "filing": state.get("filing"),
        "can_prepare": work.get("status") in ("registered", "in_progress")
        and container.policy.can(subject, "files.write", ctx),
    }


@router.post("/works/{work_id}/inspection/offline")
async def offline(container: ContainerDep, subject: SubjectDep, work_id: str) -> StreamingResponse:
    """A ZIP with index.html that opens without a server: the document tree (names and folders
    kept), documents side by side, the proposals with their approval records (§5(2)(4))."""
    work = await NodeService(container).work(subject, work_id, "files.read")
    name = zip_filename(work).removesuffix(".zip") + "_電子検査.zip"
    async with container.uow():
        await AuditLog(container.records, container.clock).record(
            subject, "inspections.offline_exported", f"works/{work_id}", detail={"filename": name}
        )
    return StreamingResponse(
        OfflinePackage(container).stream(work),
        media_type="application/zip",
        headers={**NO_SNIFF, "Content-Disposition": content_disposition(name)},
    )
