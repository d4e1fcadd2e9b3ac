"""Decided proposals filed as documents in the work's folders (seed 001 別表1-1 5(8), §5(4)).

A decided proposal is printed as one PDF with its approval stamps (``api.proposals.printing``)
and placed in the folder of type 打合せ簿 (the first one in path order; a folder
``打合せ簿`` at the root is made when there is none), named ``<発議番号>_<タイトル>.pdf``, with
``meta.proposal_id`` and the proposal's version. Filing again only prints what is new or
changed since (a date correction after the decision changes the version), so it is cheap to
run before every inspection; the job ``folders.file_proposals`` does it. The document then
shows the proposal's approval record in the list (5(8)) and opens beside other documents in the
inspection view (§5(4)).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from api.archive.cas import upload_key
from api.archive.models import NODES, NodeKind
from api.archive.nodes import NodeService
from api.archive.tree import walk
from api.container import Container
from api.errors import NotFoundError
from api.folders.templates import PROPOSALS_TYPE
from api.keys import scopes
from api.permissions.policy import Subject
from storage.query import Eq, Exists, In, Query, Record

TASK = "folders.file_proposals"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def file_name(p: Record) -> str:
    title = _UNSAFE.sub("_", str(p.get("title") or p.get("form_name") or "発議書類")).strip()
    return f"{int(p.get('number') or 0):04d}_{title[:80] or '発議書類'}.pdf"


async def proposals_folder(container: Container, work: Record) -> str:
    """The path of the folder decided proposals are filed in."""
    async for node in walk(container.records, (Eq("work_id", work["id"]),)):
        meta = node.get("meta") or {}
        if node["kind"] == NodeKind.FOLDER and meta.get("doc_type") == PROPOSALS_TYPE:
            return str(node["path"])
    return f"/{PROPOSALS_TYPE}"


async def _decided(container: Container, work_id: str) -> AsyncIterator[Record]:
    from api.proposals.models import PROPOSALS
    from api.workflow import machine

    cursor: str | None = None
    while True:
        page = await container.records.find(
            PROPOSALS,
            Query(
                where=(Eq("work_id", work_id), In("state", (machine.S.DECIDED.value,))),
                sort=(("number", 1),),
                limit=100,
                cursor=cursor,
            ),
        )
        for p in page.items:
            yield p
        cursor = page.next_cursor
        if not cursor:
            return


async def filed_nodes(container: Container, work_id: str) -> dict[str, Record]:
    """proposal id -> the document filed from it."""
    out: dict[str, Record] = {}
    async for node in container.records.scan(
        NODES, (Eq("work_id", work_id), Exists("meta.proposal_id"))
    ):
        out[str(node["meta"]["proposal_id"])] = node
    return out


async def file_proposals(
    container: Container, work_id: str, actor: Subject | str
) -> dict[str, Any]:
    """File every decided proposal of the work not filed yet (or changed since); returns the
    counts. Permission is the caller's (the job runs for whoever asked)."""
    from api.proposals.printing import Printing

    work = await container.records.get("works", work_id)
    if work is None:
        raise NotFoundError("案件が見つかりません。")
    nodes = NodeService(container)
    printing = Printing(container)
    filed = await filed_nodes(container, work_id)
    folder = await proposals_folder(container, work)
    counts = {"filed": 0, "updated": 0, "unchanged": 0}
    async for p in _decided(container, work_id):
        existing = filed.get(str(p["id"]))
        meta = existing.get("meta") if existing else None
        if meta and meta.get("proposal_version") == p["version"]:
            counts["unchanged"] += 1
            continue
        pdf = await printing.bundle_pdf(p, work)

        async def chunks(data: bytes = pdf) -> AsyncIterator[bytes]:
            yield data

        # A filed proposal is a collaboration document of the work (api.keys.scopes).
        scope = scopes.collab(work_id)
        info = await container.blobs.put(
            upload_key(scope), chunks(), content_type="application/pdf"
        )
        new_meta = {
            "proposal_id": str(p["id"]),
            "proposal_version": p["version"],
            "proposal_number": p.get("number"),
            "title": str(p.get("title") or ""),
        }
        async with container.uow() as uow:
            if existing is not None:
                await nodes.add_file(
                    actor,
                    work,
                    str(existing["path"]).rsplit("/", 1)[0],
                    str(existing["name"]),
                    info,
                    uow=uow,
                    scope=scope,
                    on_conflict="replace",
                    meta={**(existing.get("meta") or {}), **new_meta},
                    declared_type="application/pdf",
                )
                counts["updated"] += 1
            else:
                await nodes.add_file(
                    actor,
                    work,
                    folder,
                    file_name(p),
                    info,
                    uow=uow,
                    scope=scope,
                    on_conflict="rename",
                    meta=new_meta,
                    declared_type="application/pdf",
                )
                counts["filed"] += 1
    if counts["filed"] or counts["updated"]:
        async with container.uow():
            await nodes.audit.record(
                actor, "folders.proposals_filed", f"works/{work_id}", detail=counts
            )
    return counts


async def run_job(container: Container, work_id: str, actor: str) -> dict[str, int]:
    """The job's body: file, and keep the outcome on the work's folder state (the page shows
    it). A failure is recorded, never raised into a retry loop."""
    from api.errors import KuraError
    from api.folders.service import FOLDER_STATE
    from api.kit.clock import to_iso

    outcome: dict[str, Any]
    try:
        counts = await file_proposals(container, work_id, actor)
        outcome = {"state": "done", "counts": counts}
    except KuraError as exc:
        counts = {}
        outcome = {"state": "failed", "counts": {}, "detail": exc.detail}
    outcome["at"] = to_iso(container.clock.now())
    state = await container.records.get(FOLDER_STATE, work_id)
    if state is not None:
        await container.records.update(FOLDER_STATE, work_id, {"filing": outcome}, state["version"])
    return counts
