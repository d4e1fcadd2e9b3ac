"""Erasing the collaboration copy of a work (seed 001 §3-6: 契約終了後、情報共有システム上の全ての
データを消去; 別表3 12(1): 契約書に記載された期日に達した際、自動あるいは手動によりデータを削除).

What goes (the records of the collaboration; the archive keeps the delivered package): the
document folders and files outside the package folder (all of them when the work was never
transferred), proposals with their revisions, decision events, index texts, counters, route
templates of the work, pre-meeting matters and comments, every attachment of those and every
attachment still staged in the work, personal-data checks, the folder state, the delivery
settings and the generated packages (records and ZIPs), and the work's bulletin board (posts,
replies, revisions, unread rows, their files; ``handovers/board.py``), its schedule entries
(``handovers/schedules.py``) and its notifications (``handovers/notices.py``). Modules with
more collaboration records register an eraser (``register_eraser``). Contents go when their
last reference goes (after commit); search documents are removed after commit.

Records only: making the deleted data irrecoverable in backups (key destruction) is the
data-protection issue's part (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from api.archive.cas import ContentStore
from api.archive.models import NODES, NodeKind, content_scope
from api.attachments.service import ATTACHMENTS, AttachmentService
from api.kit.uow import UnitOfWork
from storage.query import Eq, In, Record

if TYPE_CHECKING:
    from api.container import Container

Eraser = Callable[["Container", UnitOfWork, str], Awaitable[dict[str, int]]]
_ERASERS: list[Eraser] = []


def register_eraser(eraser: Eraser) -> None:
    """A module's collaboration records of a work, deleted with the rest (inside the unit of
    work); returns counts per collection."""
    if eraser not in _ERASERS:
        _ERASERS.append(eraser)


def _under(path: str, root: str | None) -> bool:
    return root is not None and (path == root or path.startswith(root + "/"))


async def erase_nodes(
    container: Container,
    uow: UnitOfWork,
    work_id: str,
    keep: str | None = None,
    only: str | None = None,
    scope: str | None = None,
) -> int:
    """Delete the work's nodes except the subtree at path ``keep`` (with ``only``: just the
    subtree at that path), files before folders. With ``scope``: only the files whose
    content is in that scope, and the folders that held some of them and hold no other
    file (a work's tree mixes its archive and collaboration scopes before it is archived)."""
    records = container.records
    cas = ContentStore(records, container.blobs, container.clock)
    doomed = [
        n
        async for n in records.scan(NODES, (Eq("work_id", work_id),))
        if not _under(str(n["path"]), keep) and (only is None or _under(str(n["path"]), only))
    ]
    if scope is not None:
        files = [n for n in doomed if n["kind"] != NodeKind.FOLDER]
        gone = [n for n in files if content_scope(n) == scope]
        kept = [str(n["path"]) for n in files if content_scope(n) != scope]
        emptied = [
            n
            for n in doomed
            if n["kind"] == NodeKind.FOLDER
            and any(_under(str(g["path"]), str(n["path"])) for g in gone)
            and not any(_under(k, str(n["path"])) for k in kept)
        ]
        doomed = gone + emptied
    doomed.sort(key=lambda n: (n["kind"] == NodeKind.FOLDER, -int(n.get("depth") or 0)))
    for node in doomed:
        await records.delete(NODES, str(node["id"]), None)
        if node.get("sha256"):
            await cas.release(content_scope(node), str(node["sha256"]), uow)
            uow.unindex(str(node["id"]))
    return len(doomed)


async def _attachments_of(container: Container, parents: list[str]) -> list[Record]:
    found: list[Record] = []
    for start in range(0, len(parents), 200):
        chunk = tuple(parents[start : start + 200])
        found += [a async for a in container.records.scan(ATTACHMENTS, (In("parent", chunk),))]
    return found


async def erase_proposals(container: Container, uow: UnitOfWork, work_id: str) -> dict[str, int]:
    """Proposals, their history, texts, counters, route templates, pre-meetings, attachments."""
    from api.proposals.indexing import TEXTS
    from api.proposals.models import COUNTERS, PREMEETINGS, PROPOSALS, REVISIONS
    from api.proposals.premeetings import COMMENTS
    from api.workflow.routes import TEMPLATES
    from api.workflow.store import EVENTS

    records = container.records
    counts: dict[str, int] = {}

    async def drop(collection: str, items: list[Record], index: bool = False) -> None:
        for item in items:
            await records.delete(collection, str(item["id"]), None)
            if index:
                uow.unindex(str(item["id"]))
        counts[collection] = counts.get(collection, 0) + len(items)

    proposals = [p async for p in records.scan(PROPOSALS, (Eq("work_id", work_id),))]
    ids = [str(p["id"]) for p in proposals]
    matters = [m async for m in records.scan(PREMEETINGS, (Eq("work_id", work_id),))]
    parents = [f"{PROPOSALS}/{i}" for i in ids] + [f"{PREMEETINGS}/{m['id']}" for m in matters]
    linked = await _attachments_of(container, parents)
    staged = [
        a async for a in records.scan(ATTACHMENTS, (Eq("work_id", work_id), Eq("state", "staged")))
    ]
    service = AttachmentService(container)
    for attachment in {a["id"]: a for a in [*linked, *staged]}.values():
        await service.release(uow, attachment)
    counts[ATTACHMENTS] = len({a["id"] for a in [*linked, *staged]})
    for start in range(0, len(ids), 200):
        chunk = tuple(ids[start : start + 200])
        await drop(
            REVISIONS, [r async for r in records.scan(REVISIONS, (In("proposal_id", chunk),))]
        )
        await drop(EVENTS, [e async for e in records.scan(EVENTS, (In("proposal_id", chunk),))])
        await drop(TEXTS, await records.get_many(TEXTS, list(chunk)))
    await drop(PROPOSALS, proposals, index=True)
    await drop(COMMENTS, [c async for c in records.scan(COMMENTS, (Eq("work_id", work_id),))])
    await drop(PREMEETINGS, matters, index=True)
    counter = await records.get(COUNTERS, work_id)
    await drop(COUNTERS, [counter] if counter else [])
    templates = [
        t async for t in records.scan(TEMPLATES, (Eq("scope", "work"), Eq("owner_id", work_id)))
    ]
    await drop(TEMPLATES, templates)
    return {k: v for k, v in counts.items() if v}


async def erase_collaboration(
    container: Container, uow: UnitOfWork, work_id: str, keep: str | None
) -> dict[str, int]:
    """Everything of the collaboration copy of ``work_id`` (see the module docstring)."""
    from api.folders.service import FOLDER_STATE
    from api.handovers.config import CONFIGS
    from api.handovers.packages import PACKAGES
    from api.privacy.service import CHECKS

    records = container.records
    counts: dict[str, int] = {NODES: await erase_nodes(container, uow, work_id, keep)}
    counts.update(await erase_proposals(container, uow, work_id))
    for collection in (CHECKS,):
        items = [r async for r in records.scan(collection, (Eq("work_id", work_id),))]
        for item in items:
            await records.delete(collection, str(item["id"]), None)
        counts[collection] = len(items)
    for collection in (FOLDER_STATE, CONFIGS):
        if await records.get(collection, work_id) is not None:
            await records.delete(collection, work_id, None)
            counts[collection] = 1
    packages = [p async for p in records.scan(PACKAGES, (Eq("work_id", work_id),))]
    for package in packages:
        await records.delete(PACKAGES, str(package["id"]), None)
        if package.get("blob_key"):
            uow.after_commit(_deleter(container, str(package["blob_key"])))
    counts[PACKAGES] = len(packages)
    for eraser in _ERASERS:
        for name, n in (await eraser(container, uow, work_id)).items():
            counts[name] = counts.get(name, 0) + n
    return {k: v for k, v in counts.items() if v}


def _deleter(container: Container, key: str) -> Callable[[], Awaitable[None]]:
    async def delete() -> None:
        await container.blobs.delete(key)

    return delete
