"""Browsing a work's deliverables as trees (issue 3 item 6): folder pages, breadcrumbs, the
whole folder outline, and metadata trees (files grouped by a ``node.meta`` key).

Every call checks ``files.read`` through ``NodeService.work``/``node`` (404 when unreadable).
Folder pages are keyset pages over the ``NODE_INDEXES`` of ``api.archive.models`` (one index
per sort, folders first), so a page costs the same at entry 10 and at entry 10,000.
The photo tree (写真-大分類 → 写真区分 → 工種 → 種別 → 細別) belongs to the 電子納品 package
code; ``by_meta`` here is the generic one-level grouping (e.g. ``doc_class``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from api.archive.models import NODES, NodeKind
from api.archive.nodes import NodeService, SortKey
from api.errors import NotFoundError, ValidationFailed
from api.permissions.policy import Subject
from storage.ports import RecordStore
from storage.query import Condition, Eq, Exists, Page, Query, Record

Order = Literal["asc", "desc"]
MAX_PAGE = 1000
# The outline holds one small entry per folder in memory; past this many folders it stops
# and says so (``truncated``) rather than growing without bound.
MAX_OUTLINE_FOLDERS = 50_000
# Keys a metadata tree may group by: ``node.meta`` fields the 電子納品 check writes
# (``api.deliverables.package``): 書類区分, the file's role in the package, メディア番号,
# 写真-大分類, 打合せ簿種類, その他サブフォルダ日本語名, 図面種類 (issue 8 item 11; the
# work-level ``category`` / ``work_kind`` never were node fields and are gone).
META_TREE_KEYS = (
    "doc_class",
    "role",
    "media",
    "photo_category",
    "meeting_kind",
    "other_folder",
    "drawing_kind",
)
_MAX_GROUPS = 5_000


@dataclass
class OutlineFolder:
    id: str
    parent_id: str
    name: str
    path: str
    depth: int
    files: int = 0  # files directly inside
    size: int = 0  # their bytes
    total_files: int = 0  # files anywhere below
    total_size: int = 0


@dataclass
class Outline:
    work_id: str
    folders: list[OutlineFolder]
    files: int  # files directly in the root
    size: int
    total_files: int
    total_size: int
    truncated: bool = False


@dataclass
class MetaGroup:
    value: str | None
    files: int = 0
    size: int = 0


@dataclass
class MetaTree:
    key: str
    groups: list[MetaGroup] = field(default_factory=list)
    truncated: bool = False


class NotAFolder(ValidationFailed):
    code = "not_a_folder"
    title = "フォルダではありません。"


class TreeService:
    def __init__(self, nodes: NodeService) -> None:
        self.nodes = nodes
        self.records = nodes.records

    async def work_children(
        self,
        subject: Subject | None,
        work_id: str,
        sort: SortKey = "name",
        order: Order = "asc",
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        """The top-level folders and files of a work (the work is the root folder)."""
        work = await self.nodes.work(subject, work_id, "files.read")
        return await self._page(str(work["id"]), sort, order, limit, cursor)

    async def node_children(
        self,
        subject: Subject | None,
        node_id: str,
        sort: SortKey = "name",
        order: Order = "asc",
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        located = await self.nodes.node(subject, node_id, "files.read")
        assert located.node is not None
        if located.node["kind"] != NodeKind.FOLDER:
            raise NotAFolder()
        return await self._page(str(located.node["id"]), sort, order, limit, cursor)

    async def _page(
        self, parent_id: str, sort: SortKey, order: Order, limit: int, cursor: str | None
    ) -> Page:
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed(f"limit は 1 から {MAX_PAGE} の範囲で指定してください。")
        return await self.nodes.children(parent_id, sort, order == "desc", limit, cursor)

    async def detail(self, subject: Subject | None, node_id: str) -> tuple[Record, list[Record]]:
        """A node and its breadcrumbs (root-most folder first, the node itself last)."""
        located = await self.nodes.node(subject, node_id, "files.read")
        assert located.node is not None
        return located.node, await self.nodes.breadcrumbs(located.node)

    async def file(self, subject: Subject | None, node_id: str) -> tuple[Record, Record]:
        """A readable file node and its work; folders are 404 here (nothing to download)."""
        located = await self.nodes.node(subject, node_id, "files.read")
        if located.node is None or located.node["kind"] != NodeKind.FILE:
            raise NotFoundError()
        return located.node, located.work

    async def outline(
        self, subject: Subject | None, work_id: str, max_folders: int = MAX_OUTLINE_FOLDERS
    ) -> Outline:
        """Every folder of a work with its file counts and sizes, direct and total.

        One pass over the work's nodes in batches; memory grows with the number of folders,
        never with the number of files, and stops at ``max_folders`` (``truncated``).
        """
        work = await self.nodes.work(subject, work_id, "files.read")
        root = str(work["id"])
        folders: dict[str, OutlineFolder] = {}
        direct: dict[str, list[int]] = {}  # parent id -> [files, bytes]
        truncated = False
        async for node in walk(self.records, (Eq("work_id", root),)):
            if node["kind"] == NodeKind.FOLDER:
                if len(folders) >= max_folders:
                    truncated = True
                    continue
                folders[str(node["id"])] = OutlineFolder(
                    id=str(node["id"]),
                    parent_id=str(node["parent_id"]),
                    name=str(node["name"]),
                    path=str(node["path"]),
                    depth=int(node.get("depth") or 0),
                )
            else:
                slot = direct.setdefault(str(node["parent_id"]), [0, 0])
                slot[0] += 1
                slot[1] += int(node.get("size") or 0)
        root_files, root_size = direct.get(root, [0, 0])
        total_files, total_size = root_files, root_size
        for fid, folder in folders.items():
            folder.files, folder.size = direct.get(fid, [0, 0])
        # Roll the direct counts up: deepest folders first, each adds into its parent.
        ordered = sorted(folders.values(), key=lambda f: f.path)
        for folder in sorted(ordered, key=lambda f: -f.depth):
            folder.total_files += folder.files
            folder.total_size += folder.size
            parent = folders.get(folder.parent_id)
            if parent is not None:
                parent.total_files += folder.total_files
                parent.total_size += folder.total_size
            elif folder.parent_id == root:
                total_files += folder.total_files
                total_size += folder.total_size
        return Outline(
            work_id=root,
            folders=ordered,
            files=root_files,
            size=root_size,
            total_files=total_files,
            total_size=total_size,
            truncated=truncated,
        )

    async def by_meta(self, subject: Subject | None, work_id: str, key: str) -> MetaTree:
        """Files of a work grouped by ``node.meta.<key>`` with counts and sizes; files
        without the key form the ``None`` group (shown as 未分類 by the UI)."""
        _check_key(key)
        work = await self.nodes.work(subject, work_id, "files.read")
        groups: dict[str | None, MetaGroup] = {}
        truncated = False
        async for node in walk(self.records, (Eq("work_id", work["id"]),)):
            if node["kind"] != NodeKind.FILE:
                continue
            meta = node.get("meta") or {}
            raw = meta.get(key) if isinstance(meta, dict) else None
            value = None if raw in (None, "") else str(raw)
            group = groups.get(value)
            if group is None:
                if len(groups) >= _MAX_GROUPS:
                    truncated = True
                    continue
                group = groups[value] = MetaGroup(value)
            group.files += 1
            group.size += int(node.get("size") or 0)
        ordered = sorted(groups.values(), key=lambda g: (g.value is None, g.value or ""))
        return MetaTree(key=key, groups=ordered, truncated=truncated)

    async def by_meta_files(
        self,
        subject: Subject | None,
        work_id: str,
        key: str,
        value: str | None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        """One page of the files in one group of a metadata tree, by name."""
        _check_key(key)
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed(f"limit は 1 から {MAX_PAGE} の範囲で指定してください。")
        work = await self.nodes.work(subject, work_id, "files.read")
        cond = Eq(f"meta.{key}", value) if value else Exists(f"meta.{key}", exists=False)
        query = Query(
            where=(Eq("work_id", work["id"]), Eq("kind", NodeKind.FILE.value), cond),
            sort=(("sort_name", 1), ("id", 1)),
            limit=limit,
            cursor=cursor,
        )
        return await self.records.find(NODES, query)


async def walk(
    records: RecordStore, where: Sequence[Condition], batch: int = 1000
) -> AsyncIterator[Record]:
    """A work's nodes in path order, in keyset pages over the ``(work_id, path)`` index
    (``where`` starts with ``Eq("work_id", ...)``; a ``Range`` on ``path`` narrows it)."""
    cursor: str | None = None
    while True:
        page = await records.find(
            NODES, Query(where=tuple(where), sort=(("path", 1),), limit=batch, cursor=cursor)
        )
        for node in page.items:
            yield node
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _check_key(key: str) -> None:
    if key not in META_TREE_KEYS:
        raise ValidationFailed(
            f"分類キー「{key}」には対応していません（{', '.join(META_TREE_KEYS)}）。"
        )
