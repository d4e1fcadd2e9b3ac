"""HTTP API of 電子納品 package reports: JSON, a Japanese HTML page, the photo tree, and
re-analysis with a chosen profile (issue 3 item 4)."""

from __future__ import annotations

import asyncio
from html import escape
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from api.archive.models import NODES
from api.archive.nodes import NodeService
from api.deliverables.checks import rule_title, with_links
from api.deliverables.package import (
    DELIVERABLES,
    analyse,
    list_for_work,
    package_nodes,
    tree_of,
)
from api.deliverables.router_imports import router as imports_router
from api.deps import ContainerDep, SubjectDep
from api.errors import NotFoundError
from api.kit.ids import is_id
from api.permissions.policy import Subject
from storage.query import Record

router = APIRouter(tags=["deliverables"])
router.include_router(imports_router)

ProfileName = Literal["mlit", "maff"]
SEVERITY_TITLES = {"E": "エラー", "W": "警告", "N": "通知"}


class AnalyseRequest(BaseModel):
    root_node_id: str | None = None  # None: the work's root folder
    profile: ProfileName | None = None


class ReanalyseRequest(BaseModel):
    profile: ProfileName | None = None


async def _load(
    container: ContainerDep, subject: Subject | None, deliverable_id: str, action: str
) -> Record:
    container.policy.require(subject, "works.list")
    record = (
        await container.records.get(DELIVERABLES, deliverable_id) if is_id(deliverable_id) else None
    )
    if record is None:
        raise NotFoundError("電子納品の検査結果が見つかりません。")
    await NodeService(container).work(subject, str(record["work_id"]), action)
    return record


def _summary(record: Record) -> dict[str, Any]:
    report = record.get("report") or {}
    return {
        "id": record["id"],
        "work_id": record["work_id"],
        "root_node_id": record["root_node_id"],
        "index_kind": record.get("index_kind"),
        "standard": record.get("standard"),
        "applied_standard": record.get("applied_standard"),
        "edition": record.get("edition"),
        "dtd_version": record.get("dtd_version"),
        "profile": report.get("profile"),
        "scan": report.get("scan"),
        "counts": report.get("counts"),
        "created_at": record.get("created_at"),
    }


@router.get("/works/{work_id}/deliverables")
async def list_deliverables(
    container: ContainerDep, subject: SubjectDep, work_id: str
) -> list[dict[str, Any]]:
    """The package checks of a work, newest first."""
    await NodeService(container).work(subject, work_id, "files.read")
    return [_summary(r) for r in await list_for_work(container.records, work_id)]


@router.post("/works/{work_id}/deliverables", status_code=201)
async def analyse_folder(
    container: ContainerDep, subject: SubjectDep, work_id: str, body: AnalyseRequest
) -> dict[str, Any]:
    """Check the package in a folder of the work (its root by default)."""
    await NodeService(container).work(subject, work_id, "files.write")
    return await analyse(
        container, work_id, body.root_node_id or work_id, body.profile, actor=subject
    )


@router.get("/deliverables/{deliverable_id}")
async def get_deliverable(
    container: ContainerDep, subject: SubjectDep, deliverable_id: str
) -> dict[str, Any]:
    """The check with each finding's rule name and the file's node id (issue 8 §2)."""
    record = await _load(container, subject, deliverable_id, "files.read")
    return await with_links(container.records, record)


@router.post("/deliverables/{deliverable_id}/analyse", status_code=201)
async def reanalyse(
    container: ContainerDep, subject: SubjectDep, deliverable_id: str, body: ReanalyseRequest
) -> dict[str, Any]:
    """Check the same folder again (e.g. under the strict 農水 profile); a new record."""
    old = await _load(container, subject, deliverable_id, "files.write")
    return await analyse(
        container, str(old["work_id"]), str(old["root_node_id"]), body.profile, actor=subject
    )


@router.get("/deliverables/{deliverable_id}/photo-tree")
async def photo_tree(
    container: ContainerDep,
    subject: SubjectDep,
    deliverable_id: str,
    representative: bool | None = None,
    frequency: bool | None = None,
) -> dict[str, Any]:
    """写真-大分類 → 写真区分 → 工種 → 種別 → 細別 → 写真タイトル, with counts per level and
    photo node ids; ``representative`` / ``frequency`` keep the photos whose 代表写真 /
    提出頻度写真 flag has that value (issue 8 item 11)."""
    record = await _load(container, subject, deliverable_id, "files.read")
    tree = await tree_of(container.records, record, "photo", representative, frequency)
    await _photo_facts(container, tree)
    return {"deliverable_id": deliverable_id, "total": sum(t["count"] for t in tree), "tree": tree}


@router.get("/deliverables/{deliverable_id}/meet-tree")
async def meet_tree(
    container: ContainerDep, subject: SubjectDep, deliverable_id: str
) -> dict[str, Any]:
    """打合せ簿: 打合せ簿種類 → 発行日付, with the files and their node ids."""
    record = await _load(container, subject, deliverable_id, "files.read")
    tree = await tree_of(container.records, record, "meet")
    return {"deliverable_id": deliverable_id, "total": sum(t["count"] for t in tree), "tree": tree}


@router.get("/deliverables/{deliverable_id}/othrs-tree")
async def othrs_tree(
    container: ContainerDep, subject: SubjectDep, deliverable_id: str
) -> dict[str, Any]:
    """その他: サブフォルダ日本語名 → 資料名, with the files and their node ids."""
    record = await _load(container, subject, deliverable_id, "files.read")
    tree = await tree_of(container.records, record, "othrs")
    return {"deliverable_id": deliverable_id, "total": sum(t["count"] for t in tree), "tree": tree}


_PHOTO_META = ("title", "photo_path", "photo_date", "shooting_spot", "representative", "frequency")


async def _photo_facts(container: ContainerDep, tree: list[dict[str, Any]]) -> None:
    """Each photo with its size, type, time and 写真情報, so the photo listing and album show
    them like the folder listing does (issue 8 §3 item 3)."""
    photos: list[dict[str, Any]] = []
    todo = list(tree)
    while todo:
        level = todo.pop()
        photos.extend(level.get("photos") or [])
        todo.extend(level.get("children") or [])
    ids = sorted({str(p["node_id"]) for p in photos if p.get("node_id")})
    nodes = {str(n["id"]): n for n in await container.records.get_many(NODES, ids)} if ids else {}
    for photo in photos:
        node = nodes.get(str(photo.get("node_id")))
        if node is None:
            continue
        meta = node.get("meta") or {}
        photo.update(
            size=int(node.get("size") or 0),
            content_type=node.get("content_type") or "",
            file_type=node.get("file_type"),
            updated_at=node.get("updated_at"),
            meta={k: meta[k] for k in _PHOTO_META if k in meta},
        )


@router.get("/deliverables/{deliverable_id}/report.html", response_class=HTMLResponse)
async def report_page(
    container: ContainerDep,
    subject: SubjectDep,
    deliverable_id: str,
    severity: Annotated[str | None, Query(pattern="^[EWN]$")] = None,
) -> HTMLResponse:
    """The report as a Japanese page: findings grouped by severity, linked to the files."""
    record = await _load(container, subject, deliverable_id, "files.read")
    work_id, root_id = str(record["work_id"]), str(record["root_node_id"])
    try:
        nodes = await package_nodes(container.records, work_id, root_id)
    except NotFoundError:
        nodes = {}
    # A package with many findings makes a long page: built off the event loop.
    page = await asyncio.to_thread(render_report, record, nodes, severity)
    return HTMLResponse(page)


def file_link(node: Record) -> str:
    """Where a finding's path links to: the file in the web interface's browser."""
    return f"/#/browse/{quote(str(node['work_id']))}/{quote(str(node['id']))}"


def render_report(record: Record, nodes: dict[str, Record], only: str | None = None) -> str:
    report = record.get("report") or {}
    counts = report.get("counts") or {}
    findings = report.get("findings") or []
    profile = {"mlit": "国土交通省（標準）", "maff": "農林水産省（厳格）"}.get(
        str(report.get("profile")), str(report.get("profile"))
    )
    head = [
        ("要領", record.get("standard")),
        ("適用要領基準", record.get("applied_standard")),
        ("判定した要領", record.get("edition")),
        ("DTDバージョン", record.get("dtd_version")),
        ("検査プロファイル", profile),
        ("検査日時", record.get("created_at")),
    ]
    title = (record.get("fields") or {}).get("工事名称") or (record.get("fields") or {}).get(
        "業務名称"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="ja"><head><meta charset="utf-8">',
        f"<title>電子納品 検査結果 {escape(str(title or ''))}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
        ".E{color:#b00}.W{color:#a60}.N{color:#357}</style></head><body>",
        f"<h1>電子納品 検査結果{': ' + escape(str(title)) if title else ''}</h1>",
        "<table>",
        *(f"<tr><th>{k}</th><td>{escape(str(v or '－'))}</td></tr>" for k, v in head),
        "</table>",
        "<p>"
        + " / ".join(f"{SEVERITY_TITLES[s]} {int(counts.get(s, 0))}件" for s in "EWN")
        + "</p>",
    ]
    for sev in "EWN":
        if only and sev != only:
            continue
        group = [f for f in findings if f.get("severity") == sev]
        if not group:
            continue
        parts.append(f'<h2 class="{sev}" id="{sev}">{SEVERITY_TITLES[sev]}（{len(group)}件）</h2>')
        parts.append("<table><tr><th>規則</th><th>ファイル</th><th>位置</th><th>内容</th></tr>")
        for f in group:
            path = str(f.get("path") or "")
            node = nodes.get(path)
            where = escape(path) or "（パッケージ全体）"
            if node is not None:
                where = f'<a href="{escape(file_link(node))}">{escape(path)}</a>'
            pos = f"{f['line']}行{f.get('column') or ''}{'列' if f.get('column') else ''}"
            parts.append(
                f"<tr><td>規則{int(f.get('rule', 0))} {escape(rule_title(f))}</td><td>{where}</td>"
                f"<td>{pos if f.get('line') else ''}</td>"
                f'<td class="{sev}">{escape(str(f.get("message", "")))}</td></tr>'
            )
        parts.append("</table>")
    if not findings:
        parts.append("<p>指摘事項はありません。</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
