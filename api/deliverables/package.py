"""Read and validate a 電子納品 package stored in a work's node tree (issue 3 item 4).

``analyse(container, work_id, root_node_id)`` builds a package tree over the nodes under
``root_node_id`` (the work id for the work's root), fetches only the byte ranges the validator
reads (whole management XMLs, JPEG/PDF heads and PDF tails), runs the §2.2 rules
(deliverables-and-bonds.md) and stores a ``deliverables`` record. In the same unit of work it
maps the XML fields onto the work (``deliverable`` summary) and onto file nodes' ``meta``
(title, doc_class, doc_date, photo_date, photo_path, names), audits
``deliverables.analysed``, and after commit enqueues ``index.work_files`` for the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from api.archive.models import BLOBS, NODES
from api.audit.service import AuditLog
from api.container import Container
from api.errors import NotFoundError
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.kit.text import strip_bidi
from api.works.indexing import work_to_doc
from indexer.extract.deliverable import Entry, MemoryTree, Report, reads_for, validate_tree
from indexer.extract.deliverable.models import FileRef, photo_tree
from indexer.extract.deliverable.rules import Profile
from storage.errors import StaleVersion
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, Query, Record

DELIVERABLES = "deliverables"
DELIVERABLE_INDEXES = [
    IndexSpec((("work_id", 1), ("created_at", 1))),
    IndexSpec((("root_node_id", 1), ("created_at", 1))),
]
MANAGEMENT = (".XML", ".DTD", ".XSL")
_RETRIES = 5


async def ensure_indexes(records: RecordStore) -> None:
    await records.ensure_indexes(DELIVERABLES, DELIVERABLE_INDEXES)


async def package_nodes(records: RecordStore, work_id: str, root_node_id: str) -> dict[str, Record]:
    """The nodes under the package root by path relative to it (``"PHOTO/PIC/P0000001.JPG"``)."""
    if root_node_id == work_id:
        prefix = ""
    else:
        root = await records.get(NODES, root_node_id)
        if root is None or root.get("work_id") != work_id or root.get("kind") != "folder":
            raise NotFoundError("電子納品のフォルダが見つかりません。")
        prefix = str(root["path"])
    out: dict[str, Record] = {}
    async for node in records.scan(NODES, where=(Eq("work_id", work_id),)):
        path = str(node["path"])
        if prefix and not path.startswith(prefix + "/"):
            continue
        out[path[len(prefix) + 1 :]] = node
    return out


async def build_tree(container: Container, nodes: dict[str, Record]) -> MemoryTree:
    """A ``MemoryTree`` over the nodes with the byte ranges the validator will read."""
    entries = [
        Entry(rel, int(n.get("size") or 0), n.get("kind") == "folder") for rel, n in nodes.items()
    ]
    data: dict[tuple[str, int, int | None], bytes] = {}
    for entry in entries:
        ranges = reads_for(entry)
        sha = nodes[entry.path].get("sha256")
        if not ranges or not sha:
            continue
        blob = await container.records.get(BLOBS, str(sha))
        if blob is None:
            continue
        for start, end in ranges:
            chunks = [c async for c in container.blobs.get(str(blob["key"]), start, end)]
            data[(entry.path, start, end)] = b"".join(chunks)
    return MemoryTree(entries, data)


def node_meta(ref: FileRef, deliverable_id: str, rel: str) -> dict[str, Any]:
    """What the XML says about one file, as node ``meta``: index fields title, doc_class (the
    package's top folder, PHOTO/MEET/..., as ``api.archive.indexing`` derives it for files
    no XML names), doc_date, photo_date; ``role`` (photo, reference_drawing, meeting, ...);
    names for full text; photo_path for the photo tree."""
    meta: dict[str, Any] = {"role": ref.doc_class, "deliverable_id": deliverable_id}
    top = rel.split("/")[0].upper() if "/" in rel else ""
    if top:
        meta["doc_class"] = top
    # XML text is stored, not refused: bidi controls are dropped so it displays as it is
    # (issue 7 item 12).
    if ref.title:
        meta["title"] = strip_bidi(ref.title)
    if ref.date:
        meta["doc_date"] = ref.date
        if ref.doc_class == "photo":
            meta["photo_date"] = ref.date
    if ref.photo_path:
        meta["photo_path"] = [strip_bidi(p) for p in ref.photo_path]
    if ref.names:
        meta["names"] = list(dict.fromkeys(strip_bidi(n) for n in ref.names))
    if ref.serial:
        meta["serial"] = ref.serial
    meta["xml"] = ref.xml
    return meta


def work_summary(report: Report, deliverable_id: str, at: str) -> dict[str, Any]:
    f = report.fields
    summary = {
        "id": deliverable_id,
        "index_kind": report.index_kind,
        "standard": report.standard,
        "applied_standard": report.applied_standard,
        "dtd_version": report.dtd_version,
        "title": f.get("工事名称") or f.get("業務名称"),
        "period_start": f.get("工期開始日"),
        "period_end": f.get("工期終了日"),
        "orderer_code": f.get("発注者コード"),
        "orderer": f.get("発注者-小分類") or f.get("発注者機関事務所名"),
        "contractor": f.get("受注者名"),
        "addresses": f.get("住所"),
        "facilities": f.get("施設名称"),
        "bounds": f.get("境界座標"),
        "names": report.text_names,
        "profile": report.profile,
        "counts": report.counts,
        "analysed_at": at,
    }
    return {k: _neutral(v) for k, v in summary.items() if v not in (None, [], {})}


def _neutral(value: Any) -> Any:
    """Strings (also inside lists) without bidi controls; anything else unchanged."""
    if isinstance(value, str):
        return strip_bidi(value)
    if isinstance(value, list):
        return [_neutral(v) for v in value]
    return value


async def _update_meta(records: RecordStore, node_id: str, meta: dict[str, Any]) -> None:
    """Merge ``meta`` into the node (ingest steps may write the same node concurrently)."""
    for attempt in range(_RETRIES):
        node = await records.get(NODES, node_id)
        if node is None:
            return
        merged = {**(node.get("meta") or {}), **meta}
        if merged == node.get("meta"):
            return
        try:
            await records.update(NODES, node_id, {"meta": merged}, int(node["version"]))
            return
        except StaleVersion:
            if attempt == _RETRIES - 1:
                raise


async def analyse(
    container: Container,
    work_id: str,
    root_node_id: str,
    profile: Profile | None = None,
    actor: Any = "system:deliverables",
) -> Record:
    """Validate the package at ``root_node_id`` and store the result; returns the record.
    ``profile`` None chooses it from 適用要領基準 (MLIT unless the 要領 is 農水's)."""
    records = container.records
    if await records.get("works", work_id) is None:
        raise NotFoundError("案件が見つかりません。")
    nodes = await package_nodes(records, work_id, root_node_id)
    tree = await build_tree(container, nodes)
    report = await asyncio.to_thread(validate_tree, tree, profile)
    now = to_iso(container.clock.now())
    deliverable_id = new_id()
    record: Record = {
        "id": deliverable_id,
        "work_id": work_id,
        "root_node_id": root_node_id,
        "standard": report.standard,
        "index_kind": report.index_kind,
        "applied_standard": report.applied_standard,
        "dtd_version": report.dtd_version,
        "fields": report.fields,
        "text_names": report.text_names,
        "report": report.to_dict(),
        "created_at": now,
    }
    async with container.uow() as uow:
        stored = await records.insert(DELIVERABLES, record)
        metas: dict[str, dict[str, Any]] = {}
        for path, ref in report.files.items():
            if path in nodes:
                metas[str(nodes[path]["id"])] = node_meta(ref, deliverable_id, path)
        for rel, node in nodes.items():
            if node.get("kind") == "file" and rel.upper().endswith(MANAGEMENT):
                metas.setdefault(
                    str(node["id"]), {"role": "management", "deliverable_id": deliverable_id}
                )
        for node_id, meta in metas.items():
            await _update_meta(records, node_id, meta)
        work = await records.get("works", work_id)
        if work is None:
            raise NotFoundError("案件が見つかりません。")
        summary = work_summary(report, deliverable_id, now)
        work = await records.update(
            "works", work_id, {"deliverable": summary, "updated_at": now}, int(work["version"])
        )
        uow.index(work_to_doc(work))
        await AuditLog(records, container.clock).record(
            actor,
            "deliverables.analysed",
            f"{DELIVERABLES}/{deliverable_id}",
            after={"counts": report.counts, "profile": report.profile},
            detail={"work_id": work_id, "root_node_id": root_node_id, "files": len(metas)},
        )
        uow.enqueue("index.work_files", work_id=work_id)
    return stored


async def photo_tree_of(records: RecordStore, deliverable: Record) -> list[dict[str, Any]]:
    """The photo tree (写真-大分類 → 写真区分 → 工種 → 種別 → 細別) from the nodes' meta, each
    photo with its node id, counts per level."""
    refs: list[FileRef] = []
    ids: dict[str, str] = {}
    query_where = (Eq("work_id", str(deliverable["work_id"])),)
    async for node in records.scan(NODES, where=query_where):
        meta = node.get("meta") or {}
        if meta.get("deliverable_id") != deliverable["id"] or meta.get("role") != "photo":
            continue
        path = str(node["path"])
        folder, _, name = path.rpartition("/")
        refs.append(
            FileRef(
                xml=str(meta.get("xml") or ""),
                name=name,
                folder=folder,
                doc_class="photo",
                line=None,
                column=None,
                title=meta.get("title"),
                date=meta.get("photo_date"),
                photo_path=tuple(meta.get("photo_path") or ()),
                serial=meta.get("serial"),
            )
        )
        ids[path] = str(node["id"])
    refs.sort(key=lambda r: (_serial_key(r.serial), r.folder, r.name))
    tree = photo_tree(refs)
    _attach_ids(tree, ids)
    return tree


def _serial_key(serial: str | None) -> int:
    return int(serial) if serial and serial.isdigit() else 1 << 62


def _attach_ids(levels: Iterable[dict[str, Any]], ids: dict[str, str]) -> None:
    for level in levels:
        for photo in level.get("photos", []):
            photo["node_id"] = ids.get(photo["file"])
        _attach_ids(level["children"], ids)


async def list_for_work(records: RecordStore, work_id: str, limit: int = 100) -> list[Record]:
    query = Query(where=(Eq("work_id", work_id),), sort=(("created_at", -1),), limit=limit)
    return (await records.find(DELIVERABLES, query)).items
