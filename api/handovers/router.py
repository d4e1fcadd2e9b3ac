"""HTTP API of the electronic delivery and hand-over (seed 001 §4, §3-6; seed 000): the work's
delivery settings and folder mapping, generated packages with their check reports and ZIPs,
the transfer to the archive and the erasure date. Readers of the work read (404 otherwise);
``handovers.*`` rules decide the rest (``api.handovers.permissions``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.archive.download import content_disposition
from api.archive.serve import NO_SNIFF
from api.deps import ContainerDep, SubjectDep
from api.errors import Conflict, NotFoundError, ValidationFailed
from api.folders import templates as T
from api.folders.service import FolderService
from api.handovers import packages as P
from api.handovers.config import CONFIG_FIELDS, CONFIGS, STANDARDS, org_settings, work_config
from api.handovers.service import HandoverService
from api.kit.ids import is_id
from api.kit.text import Text
from api.permissions.policy import Subject
from api.works.errors import ArchivedReadOnly
from api.works.service import WorkService
from indexer.extract.deliverable.rules import check_bounds
from storage.query import Record

router = APIRouter(tags=["handovers"])

Short = Annotated[str, Text(100, required=False)]
Dms7 = Annotated[str, Field(pattern=r"^\d{7}$")]
Dms6 = Annotated[str, Field(pattern=r"^\d{6}$")]


class Bounds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    west: Dms7
    east: Dms7
    north: Dms6
    south: Dms6


class ConfigUpdate(BaseModel):
    """Only the fields sent change; ``null`` goes back to the default from the work."""

    model_config = ConfigDict(extra="forbid")

    standard: Annotated[str, Field(max_length=30)] | None = None
    datum: Annotated[str, Field(pattern=r"^0[0-2]$")] | None = None
    bounds: Bounds | None = None
    content: Annotated[str, Text(1000, multiline=True, required=False)] | None = None
    facilities: Annotated[list[Annotated[str, Text(100)]], Field(max_length=20)] | None = None
    orderer_major: Short | None = None
    orderer_middle: Short | None = None
    orderer_minor: Short | None = None
    section: Short | None = None
    contractor_code: Annotated[str, Field(pattern=r"^[0-9A-Za-z-]{0,20}$")] | None = None
    register_pre: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    register_post: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    package_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    version: int = Field(ge=1)


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    erasure_on: date | None = None


async def _work(
    container: ContainerDep, subject: Subject | None, work_id: str, action: str
) -> Record:
    works = WorkService.of(container)
    work = await works.load(subject, work_id, "works.read")
    ctx = await works.context(subject, work)
    container.policy.require(subject, action, ctx)
    return work


async def _can(container: ContainerDep, subject: Subject | None, work: Record, action: str) -> bool:
    ctx = await WorkService.of(container).context(subject, work)
    return container.policy.can(subject, action, ctx)


@router.get("/works/{work_id}/handover")
async def overview(container: ContainerDep, subject: SubjectDep, work_id: str) -> dict[str, Any]:
    """Everything the hand-over page shows: the delivery settings (with defaults), the 要領
    choices, the folders and their package targets, recent packages, the transfer and the
    erasure date, the organization's setting, and what the reader may do."""
    work = await _work(container, subject, work_id, "handovers.read")
    kind = str(work.get("kind") or "construction")
    folders, _, _ = await FolderService(container).folders(work_id)
    settings = await org_settings(container, work.get("orderer_org_id"))
    record = await HandoverService(container).record(work_id) or {}
    return {
        "work": {k: work.get(k) for k in ("id", "title", "number", "kind", "status", "version")},
        "config": await work_config(container, work),
        "standards": [{"code": c, "label": label} for c, label in STANDARDS[kind]],
        "targets": [{"value": v, "label": T.DELIVERY_LABELS[v]} for v in T.DELIVERY_TARGETS[kind]],
        # the delivered package's own folders (after the transfer) are not mapped
        "folders": [
            f.__dict__
            for f in folders
            if not record.get("root_path")
            or not (f.path == record["root_path"] or f.path.startswith(f"{record['root_path']}/"))
        ],
        "packages": [P.summary(p) for p in await P.latest(container, work_id)],
        "handover": {k: v for k, v in record.items() if k != "subject"},
        "settings": {
            "uses_archive": settings.uses_archive,
            "erasure_days": settings.erasure_days,
            "reminder_days": settings.reminder_days,
        },
        "can": {
            "generate": await _can(container, subject, work, "handovers.generate")
            and work.get("status") != "archived",
            "transfer": await _can(container, subject, work, "handovers.transfer")
            and work.get("status") == "completed"
            and settings.uses_archive,
            "erasure": await _can(container, subject, work, "handovers.erasure")
            and work.get("status") in ("completed", "archived"),
        },
    }


@router.put("/works/{work_id}/handover/config")
async def save_config(
    container: ContainerDep, subject: SubjectDep, work_id: str, body: ConfigUpdate
) -> dict[str, Any]:
    """Change what the package says about the work (fields sent; null: back to default)."""
    work = await _work(container, subject, work_id, "handovers.generate")
    if work.get("status") == "archived":
        raise ArchivedReadOnly()
    kind = str(work.get("kind") or "construction")
    fields = body.model_fields_set
    if body.standard is not None and body.standard not in {c for c, _ in STANDARDS[kind]}:
        raise ValidationFailed("この種類の工事・業務では選べない要領です。", field="standard")
    if body.bounds is not None:
        problems, _ = check_bounds(
            body.bounds.west, body.bounds.east, body.bounds.north, body.bounds.south
        )
        if problems:
            raise ValidationFailed(
                "境界座標が正しくありません: " + "、".join(problems), field="bounds"
            )
    for key in ("register_pre", "register_post"):
        node_id = getattr(body, key)
        if node_id is not None:
            node = await container.records.get("nodes", node_id) if is_id(node_id) else None
            if node is None or node.get("work_id") != work_id or node.get("kind") != "file":
                raise NotFoundError("台帳に使う写真が見つかりません。")
    changes = {
        k: (v.model_dump() if isinstance(v, BaseModel) else v)
        for k in CONFIG_FIELDS
        if k in fields
        for v in [getattr(body, k)]
    }
    from api.audit.service import AuditLog

    async with container.uow():
        before = await container.records.get(CONFIGS, work_id)
        if before is None:
            after = await container.records.insert(
                CONFIGS, {"id": work_id, "work_id": work_id, **changes}
            )
        else:
            after = await container.records.update(CONFIGS, work_id, changes, before["version"])
        await AuditLog(container.records, container.clock).record(
            subject,
            "handovers.configured",
            f"works/{work_id}",
            before=before,
            after=after,
            detail={"fields": sorted(changes)},
        )
    return await work_config(container, work)


@router.post("/works/{work_id}/handover/packages", status_code=202)
async def generate(container: ContainerDep, subject: SubjectDep, work_id: str) -> dict[str, Any]:
    """Make the 電子納品 package from the work and check it (a job; the record says when it
    is done, with the findings)."""
    work = await _work(container, subject, work_id, "handovers.generate")
    if work.get("status") == "archived":
        raise ArchivedReadOnly()
    running = [
        p for p in await P.latest(container, work_id, 3) if p.get("state") in ("queued", "running")
    ]
    if running:
        raise Conflict("電子納品データを作成中です。終わってからやり直してください。")
    assert subject is not None
    record = await P.request(container, subject, work)
    fresh = await container.records.get(P.PACKAGES, str(record["id"])) or record
    return P.summary(fresh)


async def _package(container: ContainerDep, subject: Subject | None, package_id: str) -> Record:
    container.policy.require(subject, "works.list")
    record = await container.records.get(P.PACKAGES, package_id) if is_id(package_id) else None
    if record is None:
        raise NotFoundError("電子納品データが見つかりません。")
    await _work(container, subject, str(record["work_id"]), "handovers.read")
    return record


@router.get("/handover-packages/{package_id}")
async def get_package(
    container: ContainerDep, subject: SubjectDep, package_id: str
) -> dict[str, Any]:
    """A package with its findings (§2.2 rules, the profile of the work's 要領) and notes."""
    record = await _package(container, subject, package_id)
    return {
        **P.summary(record),
        "findings": record.get("findings") or [],
        "config": record.get("config"),
    }


@router.get("/handover-packages/{package_id}/content")
async def package_content(
    container: ContainerDep, subject: SubjectDep, package_id: str
) -> StreamingResponse:
    """The ZIP (folder layout and names per the 要領, §4); audited as a download."""
    record = await _package(container, subject, package_id)
    if record.get("state") != "done" or not record.get("blob_key"):
        raise Conflict("電子納品データはまだできていません。")
    work = await container.records.get("works", str(record["work_id"])) or {}
    name = f"{work.get('number') or record['work_id']}_電子納品.zip"
    from api.audit.service import AuditLog

    async with container.uow():
        await AuditLog(container.records, container.clock).record(
            subject, "handovers.package_downloaded", f"{P.PACKAGES}/{package_id}"
        )
    return StreamingResponse(
        container.blobs.get(str(record["blob_key"])),
        media_type="application/zip",
        headers={
            **NO_SNIFF,
            "Content-Disposition": content_disposition(name),
            "Content-Length": str(record.get("size") or 0),
        },
    )


@router.post("/works/{work_id}/handover/transfer", status_code=202)
async def transfer(
    container: ContainerDep, subject: SubjectDep, work_id: str, body: TransferRequest
) -> dict[str, Any]:
    """Move the completed work into the archive with the chosen package (a job)."""
    work = await _work(container, subject, work_id, "handovers.transfer")
    assert subject is not None
    service = HandoverService(container)
    await service.request_transfer(subject, work, body.package_id, body.version)
    record = await service.record(work_id) or {}
    return {k: v for k, v in record.items() if k != "subject"}


@router.post("/works/{work_id}/handover/erasure")
async def erasure(
    container: ContainerDep, subject: SubjectDep, work_id: str, body: ErasureRequest
) -> dict[str, Any]:
    """Set the day the collaboration copy is erased (default: the organization's period)."""
    work = await _work(container, subject, work_id, "handovers.erasure")
    if work.get("status") not in ("completed", "archived"):
        raise Conflict("完了した工事・業務だけ消去日を決められます。")
    assert subject is not None
    record = await HandoverService(container).schedule_erasure(subject, work, body.erasure_on)
    return {k: v for k, v in record.items() if k != "subject"}
