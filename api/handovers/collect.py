"""What the package builder needs, read from the records: the work's basic information (seed
001 別表1-1 1(3): 工事基本情報 used by the other functions), the documents of the folders mapped
to package folders, and the decided proposals with their printed PDFs and attached files."""

from __future__ import annotations

from typing import Any

from api.archive.models import NodeKind, content_scope
from api.archive.tree import walk
from api.attachments.service import AttachmentService
from api.container import Container
from api.folders.documents import jst_day
from api.handovers.builder import MappedFolder, Original, ProposalSource, SourceFile, WorkInfo
from api.master.business_types import BUSINESS_TYPES
from storage.query import Eq, Record

_INDUSTRY = dict(BUSINESS_TYPES)


def fiscal_year(day: str) -> str:
    """The Japanese fiscal year (April to March) of a ``YYYY-MM-DD`` day: 発注年度."""
    if len(day) < 7 or not day[:4].isdigit():
        return ""
    year, month = int(day[:4]), int(day[5:7])
    return str(year if month >= 4 else year - 1)


async def work_info(container: Container, work: Record, config: dict[str, Any]) -> WorkInfo:
    records = container.records
    org = await records.get("organizations", str(work.get("orderer_org_id") or "")) or {}
    contractors = await records.get_many(
        "organizations", list(work.get("contractor_org_ids") or [])
    )
    location = work.get("location") or {}
    start = str(work.get("period_start") or "")
    return WorkInfo(
        kind="D" if work.get("kind") == "service" else "C",
        standard=str(config["standard"]),
        title=str(work.get("title") or ""),
        number=str(work.get("number") or ""),
        fiscal_year=fiscal_year(start),
        period_start=start,
        period_end=str(work.get("period_end") or ""),
        address=str(location.get("address") or ""),
        address_code=str(location.get("municipality_code") or "")[:5],
        field_name=str(work.get("category") or ""),
        industry=_INDUSTRY.get(str(work.get("business_type") or ""), ""),
        amount=work.get("contract_price"),
        content=str(config.get("content") or ""),
        datum=str(config.get("datum") or ""),
        bounds=config.get("bounds"),
        facilities=tuple(str(f) for f in config.get("facilities") or () if f),
        orderer_major=str(config.get("orderer_major") or ""),
        orderer_middle=str(config.get("orderer_middle") or ""),
        orderer_minor=str(config.get("orderer_minor") or ""),
        orderer_code=str(org.get("code") or ""),
        section=str(config.get("section") or ""),
        contractor="・".join(str(c.get("name") or "") for c in contractors if c.get("name")),
        contractor_code=str(config.get("contractor_code") or ""),
        register_pre=config.get("register_pre"),
        register_post=config.get("register_post"),
    )


async def mapped_folders(container: Container, work_id: str) -> list[MappedFolder]:
    """Each folder mapped to a package folder (``meta.delivery``) with the documents below it
    (a mapped folder inside another starts its own group). Documents filed from proposals
    are left out: the proposals themselves are delivered (MEET / OTHRS)."""
    roots: dict[str, tuple[str, str, str]] = {}  # folder id -> (mapped root id, name, target)
    where: dict[str, tuple[str, tuple[str, ...]]] = {}  # folder id -> (root id, parts below it)
    files: dict[str, list[SourceFile]] = {}
    order: list[str] = []
    async for node in walk(container.records, (Eq("work_id", work_id),)):
        meta = node.get("meta") or {}
        parent = str(node["parent_id"])
        if node["kind"] == NodeKind.FOLDER:
            target = str(meta.get("delivery") or "")
            if target:
                roots[str(node["id"])] = (str(node["id"]), str(node["name"]), target)
                where[str(node["id"])] = (str(node["id"]), ())
                order.append(str(node["id"]))
            elif parent in where:
                root_id, parts = where[parent]
                where[str(node["id"])] = (root_id, (*parts, str(node["name"])))
            continue
        if parent not in where or meta.get("proposal_id") or not node.get("sha256"):
            continue
        root_id, parts = where[parent]
        extract = node.get("extract") or {}
        files.setdefault(root_id, []).append(
            SourceFile(
                node_id=str(node["id"]),
                sha256=str(node["sha256"]),
                size=int(node.get("size") or 0),
                name=str(node["name"]),
                title=str(meta.get("title") or ""),
                parts=parts,
                date=jst_day(str(node.get("created_at") or "")),
                photo_date=extract.get("photo_date"),
                content_type=str(node.get("content_type") or node.get("declared_type") or ""),
                scope=content_scope(node),
            )
        )
    return [
        MappedFolder(root_id, roots[root_id][1], roots[root_id][2], tuple(files.get(root_id, ())))
        for root_id in order
    ]


async def decided_proposals(container: Container, work_id: str) -> list[ProposalSource]:
    """Every decided proposal with its printed PDF (stamps included) and its attached files."""
    from api.proposals.models import PROPOSALS
    from api.proposals.printing import Printing
    from api.proposals.views import user_names

    attachments = AttachmentService(container)
    out: list[ProposalSource] = []
    async for decided in Printing(container).decided_with_pdfs(work_id):
        p = decided.proposal
        values = p.get("values") or {}
        names = await user_names(container, [str(p.get("proposer_id") or "")])
        linked = {a["id"]: a for a in await attachments.of_parent(f"{PROPOSALS}/{p['id']}")}
        originals = tuple(
            Original(
                str(linked[i["id"]]["name"]),
                str(linked[i["id"]]["sha256"]),
                int(linked[i["id"]].get("size") or 0),
                content_scope(linked[i["id"]]),
            )
            for i in p.get("attachments") or []
            if i.get("id") in linked
        )
        kind = values.get("matter")
        content = values.get("content")
        out.append(
            ProposalSource(
                proposal_id=str(p["id"]),
                number=int(p.get("number") or 0),
                title=str(p.get("title") or ""),
                kind=str(kind) if isinstance(kind, str) else "",
                author=(names.get(str(p.get("proposer_id"))) or {}).get("org_name", ""),
                issued=p.get("proposed_on"),
                received=p.get("received_on"),
                completed=p.get("decided_on"),
                content=str(content) if isinstance(content, str) else "",
                pdf=decided.pdf,
                originals=originals,
            )
        )
    return out
