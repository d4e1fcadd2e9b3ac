"""The folder tree of a work's deliverables: folders and files as ``nodes`` records.

Every write runs in one unit of work with its audit event; ingest jobs and index updates
run after commit. Names keep their original spelling (NFC); paths are unique per work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from api.archive.cas import ContentStore
from api.archive.models import (
    BLOB_INDEXES,
    BLOBS,
    NODE_INDEXES,
    NODES,
    IngestState,
    NodeKind,
    clean_name,
    join_path,
    node_scope,
    sort_name,
    split_path,
)
from api.audit.service import AuditLog
from api.container import Container
from api.errors import Conflict, NotFoundError, ValidationFailed
from api.keys import scopes
from api.kit.clock import to_iso
from api.kit.ids import is_id, new_id
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from api.works.lifecycle import ensure_no_hold
from api.works.service import WorkService
from storage.errors import DuplicateKey
from storage.ports import BlobInfo, RecordStore
from storage.query import Eq, Page, Query, Record

# The collection whose record per work says it has collaboration folders (api.folders), and
# the folder the hand-over files the delivered package into (api.handovers): named here, not
# imported, because the archive sits below both modules.
COLLAB_FOLDERS = "folder_states"
HANDOVER_FOLDER = "電子成果品"

OnConflict = Literal["error", "rename", "replace"]
SortKey = Literal["name", "date", "size", "type"]
_SORT_FIELD = {"name": "sort_name", "date": "updated_at", "size": "size", "type": "content_type"}


class NameTaken(Conflict):
    code = "name_taken"
    title = "同じ名前のファイルまたはフォルダがすでにあります。"


@dataclass
class Located:
    work: Record
    node: Record | None  # None: the work's root


async def ensure_indexes(records: RecordStore) -> None:
    await records.ensure_indexes(NODES, NODE_INDEXES)
    await records.ensure_indexes(BLOBS, BLOB_INDEXES)


class NodeService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.works = WorkService.of(container)
        self.cas = ContentStore(container.records, container.blobs, container.clock)
        self.audit = AuditLog(container.records, container.clock)
        # folder id -> its 書類種別, as ``_folder`` last saw it (documents take it: api.folders)
        self._types: dict[str, str | None] = {}

    # reading ----------------------------------------------------------------------------
    async def work(self, subject: Subject | None, work_id: str, action: str) -> Record:
        """The work if ``subject`` may do ``action`` (``files.read``/``files.write``)."""
        return await self.works.load(subject, work_id, action)

    async def node(self, subject: Subject | None, node_id: str, action: str) -> Located:
        """A node and its work, checked like the work itself (404 when unreadable)."""
        self.container.policy.require(subject, "works.list")
        node = await self.records.get(NODES, node_id) if is_id(node_id) else None
        if node is None:
            raise NotFoundError()
        work = await self.work(subject, str(node["work_id"]), action)
        return Located(work, node)

    async def by_path(self, work_id: str, path: str) -> Record | None:
        parts = split_path(path)
        if not parts:
            return None
        page = await self.records.find(
            NODES,
            Query(where=(Eq("work_id", work_id), Eq("path", join_path(parts))), limit=1),
        )
        return page.items[0] if page.items else None

    async def children(
        self,
        parent_id: str,
        sort: SortKey = "name",
        descending: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        """One page of a folder's children, folders first; ``parent_id`` is a folder node id
        or the work id for the root. Permission is the caller's job (``work``/``node``)."""
        direction: Literal[1, -1] = -1 if descending else 1
        query = Query(
            where=(Eq("parent_id", parent_id),),
            sort=(("kind", -1), (_SORT_FIELD[sort], direction), ("id", direction)),
            limit=limit,
            cursor=cursor,
        )
        return await self.records.find(NODES, query)

    async def breadcrumbs(self, node: Record) -> list[Record]:
        """The folders from the root down to ``node`` (inclusive)."""
        chain = [node]
        while chain[-1]["parent_id"] != chain[-1]["work_id"]:
            parent = await self.records.get(NODES, str(chain[-1]["parent_id"]))
            if parent is None:
                break
            chain.append(parent)
        return list(reversed(chain))

    # writing ----------------------------------------------------------------------------
    def _now(self) -> str:
        return to_iso(self.clock.now())

    async def _folder(
        self, subject: Subject | str | None, work: Record, parts: list[str]
    ) -> tuple[str, list[str]]:
        """The id of the folder at ``parts`` (created with its ancestors if missing) and its
        path parts. Call inside a unit of work. New folders take their parent's 書類種別."""
        parent_id = str(work["id"])
        doc_type = None  # a folder's 書類種別 goes to folders made inside it (api.folders)
        for depth in range(1, len(parts) + 1):
            path = join_path(parts[:depth])
            page = await self.records.find(
                NODES, Query(where=(Eq("work_id", work["id"]), Eq("path", path)), limit=1)
            )
            if page.items:
                found = page.items[0]
                if found["kind"] != NodeKind.FOLDER:
                    raise NameTaken(f"「{path}」はファイルです。")
                parent_id = str(found["id"])
                doc_type = (found.get("meta") or {}).get("doc_type")
                continue
            now = self._now()
            folder = {
                "id": new_id(),
                "work_id": work["id"],
                "parent_id": parent_id,
                "kind": NodeKind.FOLDER.value,
                "name": parts[depth - 1],
                "sort_name": sort_name(parts[depth - 1]),
                "path": path,
                "depth": depth,
                "size": 0,
                "content_type": "",
                "created_at": now,
                "updated_at": now,
                "created_by": _actor_id(subject),
            }
            if doc_type:
                folder["meta"] = {"doc_type": doc_type}
            try:
                await self.records.insert(NODES, folder)
            except DuplicateKey:
                # A concurrent request made it first: use theirs.
                again = await self.by_path(str(work["id"]), path)
                if again is None:
                    raise
                parent_id = str(again["id"])
                continue
            await self.audit.record(subject, "nodes.created", f"nodes/{folder['id']}", after=folder)
            parent_id = str(folder["id"])
        self._types[parent_id] = doc_type
        return parent_id, parts

    async def scope_for(self, work: Record, folder_path: str = "") -> str:
        """The scope of a file placed in ``work``'s tree at ``folder_path`` by an upload: the
        work's collaboration data (``wc-<work>``) once the work has collaboration folders (a
        ``folder_states`` record, ``api.folders``) and outside the hand-over's package folder
        (``電子成果品``); otherwise its archive deliverables (``wa-<work>``). Imports of
        delivered packages (``api.deliverables``) are archive deliverables always.

        A scope whose erasure has started takes no upload: 410 ``erased`` before any byte is
        stored (``api.keys.fence``)."""
        from api.keys.fence import ensure_open

        scope = await self._scope_for(str(work["id"]), folder_path)
        await ensure_open(self.container, scope)
        return scope

    async def _scope_for(self, work_id: str, folder_path: str) -> str:
        parts = split_path(folder_path) if folder_path else []
        if parts and parts[0].startswith(HANDOVER_FOLDER):
            return scopes.archive(work_id)
        if await self.records.get(COLLAB_FOLDERS, work_id) is not None:
            return scopes.collab(work_id)
        return scopes.archive(work_id)

    async def make_folder(self, subject: Subject | None, work_id: str, path: str) -> Record:
        work = await self.work(subject, work_id, "files.write")
        parts = split_path(path)
        if not parts:
            raise ValidationFailed("フォルダ名を指定してください。")
        async with self.container.uow():
            folder_id, _ = await self._folder(subject, work, parts)
        node = await self.records.get(NODES, folder_id)
        assert node is not None
        return node

    async def add_file(
        self,
        subject: Subject | str | None,
        work: Record,
        folder_path: str,
        name: str,
        info: BlobInfo,
        *,
        uow: UnitOfWork,
        scope: str,
        on_conflict: OnConflict = "rename",
        meta: dict[str, Any] | None = None,
        declared_type: str = "",
    ) -> Record:
        """Place new content (``info``: an object just written under ``scope``, see
        ``scope_for``) as a file node. Call inside ``uow`` after checking ``files.write``.
        The ingest job is enqueued after commit; if anything fails, the unit rolls back and
        the new object is deleted."""
        uow.on_rollback(self.cas.deleter(info.key))
        parts = split_path(folder_path)
        name = clean_name(name)
        parent_id, parts = await self._folder(subject, work, parts)
        doc_type = self._types.get(parent_id)
        if doc_type and not (meta or {}).get("doc_type"):
            # A document takes its folder's 書類種別 (seed 001 §3-4, 別表1-1 5(4): api.folders).
            meta = {**(meta or {}), "doc_type": doc_type}
        blob = await self.cas.adopt(scope, info, uow)
        path = join_path([*parts, name])
        existing = await self.by_path(str(work["id"]), path)
        if existing is not None:
            if on_conflict == "error" or existing["kind"] != NodeKind.FILE:
                raise NameTaken(f"「{path}」はすでにあります。")
            if on_conflict == "replace":
                return await self._replace(subject, existing, blob, uow, meta, declared_type)
            name = await self._free_name(str(work["id"]), parts, name)
            path = join_path([*parts, name])
        now = self._now()
        node: Record = {
            "id": new_id(),
            "work_id": work["id"],
            "parent_id": parent_id,
            "kind": NodeKind.FILE.value,
            "name": name,
            "sort_name": sort_name(name),
            "path": path,
            "depth": len(parts) + 1,
            "size": int(blob["size"]),
            "sha256": blob["sha256"],
            "scope": scope,
            "content_type": declared_type,
            "declared_type": declared_type,
            "ingest": {"state": IngestState.QUEUED.value, "reason": None},
            "meta": meta or {},
            "created_at": now,
            "updated_at": now,
            "created_by": _actor_id(subject),
        }
        stored = await self.records.insert(NODES, node)
        await self.audit.record(subject, "files.added", f"nodes/{node['id']}", after=node)
        uow.enqueue("ingest.file", node_id=node["id"])
        return stored

    async def _replace(
        self,
        subject: Subject | str | None,
        existing: Record,
        blob: Record,
        uow: UnitOfWork,
        meta: dict[str, Any] | None,
        declared_type: str,
    ) -> Record:
        scope = str(blob["scope"])
        if existing.get("sha256") == blob["sha256"] and node_scope(existing) == scope:
            # same content: keep one reference
            await self.cas.release(scope, str(blob["sha256"]), uow)
            return existing
        await self.cas.release(node_scope(existing), str(existing["sha256"]), uow)
        changes: Record = {
            "size": int(blob["size"]),
            "sha256": blob["sha256"],
            "scope": scope,
            "content_type": declared_type,
            "declared_type": declared_type,
            "ingest": {"state": IngestState.QUEUED.value, "reason": None},
            "meta": meta or existing.get("meta") or {},
            "updated_at": self._now(),
        }
        updated = await self.records.update(NODES, existing["id"], changes, existing["version"])
        await self.audit.record(
            subject, "files.replaced", f"nodes/{existing['id']}", before=existing, after=updated
        )
        uow.enqueue("ingest.file", node_id=existing["id"])
        return updated

    async def _free_name(self, work_id: str, parts: list[str], name: str) -> str:
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, ext = name, ""
        for n in range(2, 10_000):
            candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
            if await self.by_path(work_id, join_path([*parts, candidate])) is None:
                return candidate
        raise NameTaken()

    async def delete(self, subject: Subject | None, node_id: str, version: int) -> None:
        """Delete a file, or an empty folder. Content goes when its last reference goes."""
        located = await self.node(subject, node_id, "files.delete")
        ensure_no_hold(located.work)  # a legal hold blocks deleting any node (lifecycle)
        node = located.node
        assert node is not None
        if node["kind"] == NodeKind.FOLDER:
            page = await self.children(str(node["id"]), limit=1)
            if page.items:
                raise Conflict("フォルダが空ではありません。")
        async with self.container.uow() as uow:
            await self.records.delete(NODES, str(node["id"]), version)
            if node.get("sha256"):
                await self.cas.release(node_scope(node), str(node["sha256"]), uow)
            await self.audit.record(subject, "nodes.deleted", f"nodes/{node['id']}", before=node)
            uow.unindex(str(node["id"]))


def _actor_id(subject: Subject | str | None) -> str | None:
    if isinstance(subject, Subject):
        return subject.user_id
    return subject
