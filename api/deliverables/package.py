"""Read and validate a 電子納品 package stored in a work's node tree (issue 3 item 4, issue 8
section 1).

``analyse(container, work_id, root_node_id)`` builds a package tree over the nodes under
``root_node_id`` (the work id for the work's root), reads the bytes the validator asks for
from the blob store as it asks (whole management XMLs and photos, PDF heads and tails; with a
virus scanner configured, every file), runs the §2.2 rules (deliverables-and-bonds.md) and
stores a ``deliverables`` record. A package on several media (メディア総枚数 > 1) is checked
with the other media found in the same work (folders whose INDEX names the same 工事名称 and
another メディア番号). In the same unit of work it maps the XML fields onto the work
(``deliverable`` summary: the search fields, facets and map bounds) and onto file nodes'
``meta`` (title, doc_class, doc_date, photo_date, photo_path, the photo flags, the MEET and
OTHRS tree keys, the drawing kind and scale, names); files no XML names get
``role: "unreferenced"`` and no document class (rule 4: not indexed as deliverables).
It audits ``deliverables.analysed`` and after commit enqueues ``index.work_files``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from api.archive.cas import ContentStore
from api.archive.models import BLOBS, NODES, blob_id, content_scope
from api.audit.service import AuditLog
from api.container import Container
from api.errors import NotFoundError
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.kit.text import strip_bidi
from api.works.indexing import work_to_doc
from indexer.extract.deliverable import Entry, Report, WorkExpect, validate_tree
from indexer.extract.deliverable.clamd import ClamdScanner
from indexer.extract.deliverable.models import read_index
from indexer.extract.deliverable.photos import meet_tree, othrs_tree, photo_tree
from indexer.extract.deliverable.refs import FileRef
from indexer.extract.deliverable.rules import Profile
from indexer.extract.deliverable.xmlread import XmlError, parse
from storage.errors import StaleVersion
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, Query, Record

DELIVERABLES = "deliverables"
DELIVERABLE_INDEXES = [
    IndexSpec((("work_id", 1), ("created_at", 1))),
    IndexSpec((("root_node_id", 1), ("created_at", 1))),
]
MANAGEMENT = (".XML", ".DTD", ".XSL")
INDEX_NAMES = ("INDEX_C.XML", "INDEX_D.XML")
_RETRIES = 5
# node meta keys an analysis writes; a new analysis drops them first (a file that is no
# longer named by the XML must not keep an old title)
DERIVED = frozenset(
    {
        "role",
        "deliverable_id",
        "doc_class",
        "title",
        "doc_date",
        "photo_date",
        "photo_path",
        "names",
        "serial",
        "xml",
        "media",
        "photo_category",
        "photo_title",
        "representative",
        "frequency",
        "shooting_spot",
        "meeting_kind",
        "issued",
        "other_folder",
        "document",
        "drawing_kind",
        "drawing_number",
        "scale",
        "author",
        "survey_kind",
    }
)


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


class BlobTree:
    """A package tree over file nodes whose bytes are read from the blob store on demand.

    The validator runs in a worker thread (``asyncio.to_thread``); each read is handed to the
    event loop (``run_coroutine_threadsafe``), so whole photos are read one at a time and
    never all held in memory."""

    def __init__(
        self, container: Container, nodes: dict[str, Record], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.container = container
        self.nodes = nodes
        self.loop = loop
        self.keys: dict[str, str] = {}

    async def prepare(self) -> None:
        held = [n for n in self.nodes.values() if n.get("sha256")]
        # Content stored before scopes (until ``kura migrate encrypt``) is under its SHA-256.
        ids = sorted(
            {blob_id(content_scope(n), str(n["sha256"])) for n in held}
            | {str(n["sha256"]) for n in held if not n.get("scope")}
        )
        for start in range(0, len(ids), 500):
            for blob in await self.container.records.get_many(BLOBS, ids[start : start + 500]):
                self.keys[str(blob["id"])] = str(blob["key"])

    def entries(self) -> Iterable[Entry]:
        return [
            Entry(rel, int(n.get("size") or 0), n.get("kind") == "folder")
            for rel, n in self.nodes.items()
        ]

    async def _read(self, key: str, start: int, end: int | None) -> bytes:
        return b"".join([c async for c in self.container.blobs.get(key, start, end)])

    def read(self, path: str, start: int = 0, end: int | None = None) -> bytes:
        node = self.nodes.get(path)
        sha = str(node.get("sha256")) if node else ""
        key = (
            self.keys.get(blob_id(content_scope(node), sha)) or self.keys.get(sha) if node else None
        )
        if node is None or key is None:
            raise FileNotFoundError(path)
        if int(node.get("size") or 0) == 0:
            return b""
        future: Future[bytes] = asyncio.run_coroutine_threadsafe(
            self._read(key, start, end), self.loop
        )
        return future.result()


def node_meta(ref: FileRef, deliverable_id: str, rel: str) -> dict[str, Any]:
    """What the XML says about one file, as node ``meta``: index fields title, doc_class (the
    package's top folder, PHOTO/MEET/..., as ``api.archive.indexing`` derives it for files
    no XML names), doc_date, photo_date; ``role`` (photo, reference_drawing, meeting, ...);
    names for full text; photo_path and the photo flags for the photo tree; the MEET and
    OTHRS tree keys; the drawing kind and scale."""
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
    if ref.media is not None:
        meta["media"] = str(ref.media)
    for key, value in ref.meta.items():
        if key in DERIVED and value not in (None, ""):
            meta[key] = value
    meta["xml"] = ref.xml
    return meta


def work_summary(report: Report, deliverable_id: str, at: str) -> dict[str, Any]:
    """The package as the work shows it and as search finds it (issue 8 item 9): the
    searchable texts, the facets 発注年度 / 工事分野 / 工事業種, the decimal 境界座標."""
    f = report.fields
    summary = {
        "id": deliverable_id,
        "index_kind": report.index_kind,
        "standard": report.standard,
        "applied_standard": report.applied_standard,
        "edition": report.edition,
        "dtd_version": report.dtd_version,
        "title": f.get("工事名称") or f.get("業務名称"),
        "number": f.get("工事番号") or f.get("業務番号"),
        "fiscal_year": f.get("発注年度"),
        "field": f.get("工事分野"),
        "industry": f.get("工事業種"),
        "service_fields": f.get("業務分野コード"),
        "contract_number": f.get("契約番号"),
        "amount": f.get("施工金額"),
        "period_start": f.get("工期開始日"),
        "period_end": f.get("工期終了日"),
        "orderer_code": f.get("発注者コード"),
        "orderer_agency_code": f.get("発注者機関コード"),
        "orderer": f.get("発注者-小分類") or f.get("発注者機関事務所名"),
        "contractor": f.get("受注者名"),
        "content": f.get("内容"),
        "keywords": f.get("業務キーワード"),
        "addresses": f.get("住所"),
        "address_codes": f.get("住所コード"),
        "facilities": f.get("施設名称"),
        "routes": f.get("水系-路線情報"),
        "bounds": f.get("境界座標"),
        "media": f.get("メディア番号"),
        "media_total": f.get("メディア総枚数"),
        "volumes": {str(k): v for k, v in report.volumes.items()} or None,
        "names": report.text_names,
        "profile": report.profile,
        "counts": report.counts,
        "scan": report.scan,
        "unreferenced": len(report.unreferenced),
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
    """Replace the analysis keys of the node's meta with ``meta`` (ingest steps may write the
    same node concurrently: optimistic retries)."""
    for attempt in range(_RETRIES):
        node = await records.get(NODES, node_id)
        if node is None:
            return
        kept = {k: v for k, v in (node.get("meta") or {}).items() if k not in DERIVED}
        merged = {**kept, **meta}
        if merged == node.get("meta"):
            return
        try:
            await records.update(NODES, node_id, {"meta": merged}, int(node["version"]))
            return
        except StaleVersion:
            if attempt == _RETRIES - 1:
                raise


async def _read_node(container: Container, node: Record) -> bytes | None:
    cas = ContentStore(container.records, container.blobs, container.clock)
    blob = await cas.lookup(content_scope(node), str(node.get("sha256") or ""))
    if blob is None:
        return None
    return b"".join([c async for c in container.blobs.get(str(blob["key"]))])


async def media_roots(
    container: Container, work_id: str, nodes: dict[str, Record]
) -> dict[str, tuple[str, dict[str, Record]]]:
    """The media of a multi-volume package (メディア総枚数 > 1, §1.4): ``VOLn`` -> (root id,
    nodes) of each folder of the work whose INDEX names the same 工事/業務名称, kind and
    total. A single medium, or none found beside it, gives ``{}``."""
    index = next(((r, n) for r, n in nodes.items() if r.upper() in INDEX_NAMES), None)
    if index is None:
        return {}
    own = await _index_info(container, index[1])
    if own is None or own[2] is None or own[3] is None or own[3] < 2:
        return {}
    title, kind, _, total = own
    found: dict[int, tuple[str, dict[str, Record]]] = {}
    async for node in container.records.scan(NODES, where=(Eq("work_id", work_id),)):
        if str(node.get("name", "")).upper() != f"INDEX_{kind}.XML":
            continue
        info = await _index_info(container, node)
        if info is None or info[0] != title or info[3] != total or info[2] is None:
            continue
        parent = str(node.get("parent_id"))
        root_id = work_id if parent == work_id else parent
        if info[2] not in found:
            volume = await package_nodes(container.records, work_id, root_id)
            found[info[2]] = (root_id, volume)
    if len(found) < 2:
        return {}
    return {f"VOL{n}": found[n] for n in sorted(found)}


async def _index_info(
    container: Container, node: Record
) -> tuple[str | None, str, int | None, int | None] | None:
    data = await _read_node(container, node)
    if data is None:
        return None
    try:
        doc = parse(data)
    except XmlError:
        return None
    kind = str(node.get("name", "")).upper()[6]
    info = read_index(doc, kind)
    return (info.title, kind, *info.media)


async def _expect(container: Container, work: Record) -> WorkExpect:
    """What the work record says about the package (rule 30)."""
    org_id = work.get("orderer_org_id")
    org = await container.records.get("organizations", str(org_id)) if org_id else None
    return WorkExpect(
        title=work.get("title"),
        number=work.get("number"),
        orderer_name=(org or {}).get("name"),
        orderer_code=(org or {}).get("code"),
    )


async def analyse(
    container: Container,
    work_id: str,
    root_node_id: str,
    profile: Profile | None = None,
    actor: Any = "system:deliverables",
) -> Record:
    """Validate the package at ``root_node_id`` and store the result; returns the record.
    ``profile`` None chooses it from (要領 family, 適用要領基準) (MLIT when unknown)."""
    records = container.records
    work = await records.get("works", work_id)
    if work is None:
        raise NotFoundError("案件が見つかりません。")
    nodes = await package_nodes(records, work_id, root_node_id)
    volumes = await media_roots(container, work_id, nodes)
    tree_nodes = (
        {f"{vol}/{rel}": node for vol, (_, part) in volumes.items() for rel, node in part.items()}
        if volumes
        else nodes
    )
    tree = BlobTree(container, tree_nodes, asyncio.get_running_loop())
    await tree.prepare()
    configured = container.settings.deliverables
    scanner = (
        ClamdScanner(configured.clamd_url, configured.clamd_timeout_s)
        if configured.clamd_url
        else None
    )
    expect = await _expect(container, work)
    report = await asyncio.to_thread(
        lambda: validate_tree(tree, profile, scanner=scanner, expect=expect)
    )
    now = to_iso(container.clock.now())
    deliverable_id = new_id()
    record: Record = {
        "id": deliverable_id,
        "work_id": work_id,
        "root_node_id": root_node_id,
        "standard": report.standard,
        "index_kind": report.index_kind,
        "applied_standard": report.applied_standard,
        "edition": report.edition,
        "dtd_version": report.dtd_version,
        "fields": report.fields,
        "text_names": report.text_names,
        "volume_roots": [root for root, _ in volumes.values()],
        "report": report.to_dict(),
        "created_at": now,
    }
    async with container.uow() as uow:
        stored = await records.insert(DELIVERABLES, record)
        metas: dict[str, dict[str, Any]] = {}
        for path, ref in report.files.items():
            node = tree_nodes.get(path)
            if node is not None:
                rel = path.split("/", 1)[1] if volumes else path
                metas[str(node["id"])] = node_meta(ref, deliverable_id, rel)
        for path in report.unreferenced:
            node = tree_nodes.get(path)
            if node is not None and node.get("kind") == "file":
                metas[str(node["id"])] = {
                    "role": "unreferenced",
                    "deliverable_id": deliverable_id,
                }
        for rel, node in tree_nodes.items():
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


TREE_ROLES = {"photo": "photo", "meet": "meeting", "othrs": "other"}


async def tree_of(
    records: RecordStore,
    deliverable: Record,
    kind: str = "photo",
    representative: bool | None = None,
    frequency: bool | None = None,
) -> list[dict[str, Any]]:
    """A browse tree from the nodes' meta (§2.2 "Browse-tree derivation", issue 8 item 11):
    ``photo`` 写真-大分類 → 写真区分 → 工種 → 種別 → 細別 → 写真タイトル (filterable by the
    代表写真 / 提出頻度写真 flags), ``meet`` 打合せ簿種類 → 発行日付, ``othrs``
    サブフォルダ日本語名 → 資料名; each entry with its node id, counts per level."""
    role = TREE_ROLES[kind]
    refs: list[FileRef] = []
    ids: dict[str, str] = {}
    query_where = (Eq("work_id", str(deliverable["work_id"])),)
    async for node in records.scan(NODES, where=query_where):
        meta = node.get("meta") or {}
        if meta.get("deliverable_id") != deliverable["id"] or meta.get("role") != role:
            continue
        path = str(node["path"])
        folder, _, name = path.rpartition("/")
        refs.append(
            FileRef(
                xml=str(meta.get("xml") or ""),
                name=name,
                folder=folder,
                doc_class=role,
                line=None,
                column=None,
                title=meta.get("title"),
                date=meta.get("photo_date") or meta.get("doc_date"),
                photo_path=tuple(meta.get("photo_path") or ()),
                serial=meta.get("serial"),
                meta={k: v for k, v in meta.items() if k in DERIVED},
            )
        )
        ids[path] = str(node["id"])
    refs.sort(key=lambda r: (_serial_key(r.serial), r.folder, r.name))
    if kind == "photo":
        tree = photo_tree(refs, representative, frequency)
    else:
        tree = meet_tree(refs) if kind == "meet" else othrs_tree(refs)
    _attach_ids(tree, ids)
    return tree


def _serial_key(serial: str | None) -> int:
    return int(serial) if serial and serial.isdigit() else 1 << 62


def _attach_ids(levels: Iterable[dict[str, Any]], ids: dict[str, str]) -> None:
    for level in levels:
        for item in [*level.get("photos", []), *level.get("files", [])]:
            item["node_id"] = ids.get(item["file"])
        _attach_ids(level["children"], ids)


async def list_for_work(records: RecordStore, work_id: str, limit: int = 100) -> list[Record]:
    query = Query(where=(Eq("work_id", work_id),), sort=(("created_at", -1),), limit=limit)
    return (await records.find(DELIVERABLES, query)).items
