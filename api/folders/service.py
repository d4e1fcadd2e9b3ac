"""Document folders of a work (書類管理, seed 001 別表1-1 5 / 別表1-2 5): create, rename, move
and delete folders, move documents, the folder set a work starts with (§3-4).

Where the documents live: the work's node tree (``api.archive.nodes``), the same tree the
archive browses. During the work it is the collaboration's document folders; the 電子納品
package is generated from it (``api.handovers``), and after the hand-over the package lands in
the same tree under its own folder while the collaboration copy is erased on the contract's
date (docs/architecture.md "Document folders and hand-over").

Folder nodes carry ``meta.doc_type`` (書類種別, §3-4; ``meta.doc_type_set`` when chosen for this
folder rather than inherited) and ``meta.delivery`` (the package folder its documents go to).
Every file carries the ``doc_type`` of its folder, kept on registration (``NodeService``),
move and re-typing, so 5(4) "search and sort by class" is an indexed query.

Rules: ``files.write`` on the work to change folders (running works only: completed and
archived works are read-only), ``files.delete`` to delete; a legal hold blocks deletion. A move
is refused when it would put a folder inside itself, when a name is taken at the target, or
when a node belongs to another work (404); nothing changes then. Paths of a moved or renamed
folder's subtree are rewritten in the same unit of work (at most ``MAX_SUBTREE`` nodes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.archive.cas import ContentStore
from api.archive.indexing import PENDING, mark_pending
from api.archive.models import (
    NODES,
    NodeKind,
    clean_name,
    content_scope,
    join_path,
    sort_name,
    split_path,
)
from api.archive.nodes import NameTaken, NodeService
from api.archive.tree import NotAFolder, walk
from api.audit.service import AuditLog
from api.container import Container
from api.errors import Conflict, NotFoundError, ValidationFailed
from api.folders import templates as T
from api.kit.clock import to_iso
from api.kit.ids import is_id, new_id
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from api.works.lifecycle import ensure_no_hold
from storage.ports import RecordStore
from storage.query import Eq, Range, Record

FOLDER_STATE = "folder_states"  # per work: when its folder set was made, from which template
MAX_SUBTREE = 20_000
MAX_MOVE = 1_000
PENDING_TASK = "index.pending_files"


PENDING_BATCH = 500  # index marks read and written per batch of moved files


class MoveIntoItself(ValidationFailed):
    code = "move_into_itself"
    title = "フォルダをそのフォルダ自身の中へは移動できません。"


class FolderNotEmpty(Conflict):
    code = "folder_not_empty"
    title = "フォルダが空ではありません。中身ごと削除する場合は確認のうえ指定してください。"


class SubtreeTooLarge(Conflict):
    code = "subtree_too_large"
    title = f"一度に扱えるのは{MAX_SUBTREE}件までです。フォルダを分けて操作してください。"


@dataclass
class FolderInfo:
    id: str
    parent_id: str
    name: str
    path: str
    depth: int
    doc_type: str
    doc_type_set: bool
    delivery: str
    version: int
    files: int = 0
    total_files: int = 0


class FolderService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.nodes = NodeService(container)
        self.audit = AuditLog(container.records, container.clock)
        self.cas = ContentStore(container.records, container.blobs, container.clock)

    def _now(self) -> str:
        return to_iso(self.clock.now())

    # templates ----------------------------------------------------------------------------
    async def template(self, org_id: str | None, kind: str) -> tuple[list[dict[str, Any]], bool]:
        """The folder set of an orderer's works of ``kind`` and whether it is the orderer's own
        (False: the built-in set of §3-4)."""
        T.check_kind(kind)
        if org_id:
            stored = await self.records.get(T.TEMPLATES, T.template_id(org_id, kind))
            if stored is not None:
                return list(stored["folders"]), True
        return T.BUILT_IN[kind], False

    async def save_template(
        self, subject: Subject, org_id: str, kind: str, folders: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Replace an orderer's folder set (permission is the caller's)."""
        clean = T.normalise(kind, folders)
        tid = T.template_id(org_id, kind)
        async with self.container.uow():
            before = await self.records.get(T.TEMPLATES, tid)
            record = {"folders": clean, "org_id": org_id, "kind": kind, "updated_at": self._now()}
            if before is None:
                stored = await self.records.insert(T.TEMPLATES, {"id": tid, **record})
            else:
                stored = await self.records.update(T.TEMPLATES, tid, record, before["version"])
            await self.audit.record(
                subject,
                "folders.template_saved",
                f"{T.TEMPLATES}/{tid}",
                before=before,
                after=stored,
            )
        return clean

    async def reset_template(self, subject: Subject, org_id: str, kind: str) -> None:
        tid = T.template_id(org_id, kind)
        async with self.container.uow():
            before = await self.records.get(T.TEMPLATES, tid)
            if before is None:
                return
            await self.records.delete(T.TEMPLATES, tid, before["version"])
            await self.audit.record(
                subject, "folders.template_reset", f"{T.TEMPLATES}/{tid}", before=before
            )

    # the folder set of a work ---------------------------------------------------------------
    async def seeded(self, work_id: str) -> Record | None:
        return await self.records.get(FOLDER_STATE, work_id)

    async def seed(self, subject: Subject | str, work: Record) -> int:
        """Make the work's folder set (§3-4) from its orderer's template; folders that exist
        already are kept. Records that it was done, so a user who deletes the set is not given
        it again. Permission is the caller's. Returns how many folders were made."""
        kind = str(work.get("kind") or "construction")
        folders, _ = await self.template(work.get("orderer_org_id"), kind)
        made = 0
        async with self.container.uow():
            if await self.records.get(FOLDER_STATE, str(work["id"])) is not None:
                return 0
            for parts, item in T.flatten(folders):
                existing = await self.nodes.by_path(str(work["id"]), join_path(list(parts)))
                if existing is not None:
                    continue
                parent = await self._parent_of(str(work["id"]), list(parts[:-1]))
                await self._insert_folder(
                    subject,
                    work,
                    parent,
                    parts[-1],
                    {
                        "doc_type": item["doc_type"],
                        "doc_type_set": bool(item["doc_type"]),
                        "delivery": item["delivery"],
                    },
                )
                made += 1
            await self.records.insert(
                FOLDER_STATE,
                {
                    "id": str(work["id"]),
                    "work_id": str(work["id"]),
                    "seeded_at": self._now(),
                    "kind": kind,
                    "folders": made,
                },
            )
            await self.audit.record(
                subject, "folders.seeded", f"works/{work['id']}", detail={"folders": made}
            )
        return made

    async def _parent_of(self, work_id: str, parts: list[str]) -> Record | None:
        if not parts:
            return None
        node = await self.nodes.by_path(work_id, join_path(parts))
        if node is None or node["kind"] != NodeKind.FOLDER:
            raise NotFoundError("親フォルダが見つかりません。")
        return node

    async def _insert_folder(
        self,
        subject: Subject | str,
        work: Record,
        parent: Record | None,
        name: str,
        meta: dict[str, Any],
    ) -> Record:
        parts = [*(split_path(str(parent["path"])) if parent else []), clean_name(name)]
        path = join_path(parts)
        if await self.nodes.by_path(str(work["id"]), path) is not None:
            raise NameTaken(f"「{path}」はすでにあります。")
        now = self._now()
        inherited = (parent or {}).get("meta") or {}
        if not meta.get("doc_type") and inherited.get("doc_type"):
            meta = {**meta, "doc_type": inherited["doc_type"], "doc_type_set": False}
        folder: Record = {
            "id": new_id(),
            "work_id": work["id"],
            "parent_id": parent["id"] if parent else work["id"],
            "kind": NodeKind.FOLDER.value,
            "name": parts[-1],
            "sort_name": sort_name(parts[-1]),
            "path": path,
            "depth": len(parts),
            "size": 0,
            "content_type": "",
            "meta": {k: v for k, v in meta.items() if v not in (None, "")},
            "created_at": now,
            "updated_at": now,
            "created_by": subject.user_id if isinstance(subject, Subject) else subject,
        }
        stored = await self.records.insert(NODES, folder)
        await self.audit.record(subject, "folders.created", f"{NODES}/{folder['id']}", after=stored)
        return stored

    # reading ------------------------------------------------------------------------------
    async def folders(self, work_id: str) -> tuple[list[FolderInfo], int, int]:
        """Every folder of the work in path order with its type, target and file counts
        (direct and below), plus the root's direct and total file counts."""
        infos: dict[str, FolderInfo] = {}
        direct: dict[str, int] = {}
        async for node in walk(self.records, (Eq("work_id", work_id),)):
            if node["kind"] == NodeKind.FOLDER:
                meta = node.get("meta") or {}
                infos[str(node["id"])] = FolderInfo(
                    id=str(node["id"]),
                    parent_id=str(node["parent_id"]),
                    name=str(node["name"]),
                    path=str(node["path"]),
                    depth=int(node.get("depth") or 1),
                    doc_type=str(meta.get("doc_type") or ""),
                    doc_type_set=bool(meta.get("doc_type_set")),
                    delivery=str(meta.get("delivery") or ""),
                    version=int(node["version"]),
                )
            else:
                parent = str(node["parent_id"])
                direct[parent] = direct.get(parent, 0) + 1
        total = direct.get(work_id, 0)
        for info in sorted(infos.values(), key=lambda f: -f.depth):
            info.files = direct.get(info.id, 0)
            info.total_files += info.files
            above = infos.get(info.parent_id)
            if above is not None:
                above.total_files += info.total_files
            else:
                total += info.total_files
        return sorted(infos.values(), key=lambda f: f.path), direct.get(work_id, 0), total

    # commands -----------------------------------------------------------------------------
    async def _folder_node(self, work: Record, folder_id: str | None) -> Record | None:
        """The folder ``folder_id`` of ``work`` (None or the work id: the root)."""
        if folder_id in (None, "", work["id"]):
            return None
        node = await self.records.get(NODES, str(folder_id)) if is_id(str(folder_id)) else None
        if node is None or node["work_id"] != work["id"]:
            raise NotFoundError("フォルダが見つかりません。")
        if node["kind"] != NodeKind.FOLDER:
            raise NotAFolder()
        return node

    async def create(
        self,
        subject: Subject | None,
        work_id: str,
        parent_id: str | None,
        name: str,
        doc_type: str | None = None,
        delivery: str | None = None,
    ) -> Record:
        """A new folder (別表1-1 5(3)); it takes its parent's type unless given one."""
        work = await self.nodes.work(subject, work_id, "files.write")
        assert subject is not None
        parent = await self._folder_node(work, parent_id)
        meta: dict[str, Any] = {}
        if doc_type:
            meta.update(doc_type=doc_type, doc_type_set=True)
        if delivery is not None:
            meta["delivery"] = self._delivery(work, delivery)
        async with self.container.uow():
            return await self._insert_folder(subject, work, parent, name, meta)

    @staticmethod
    def _delivery(work: Record, value: str) -> str:
        kind = str(work.get("kind") or "construction")
        if value not in T.DELIVERY_TARGETS.get(kind, ()):
            raise ValidationFailed(f"電子納品の格納先「{value}」はこの案件では選べません。")
        return value

    async def update(
        self,
        subject: Subject | None,
        node_id: str,
        version: int,
        *,
        name: str | None = None,
        parent_id: str | None = None,
        move: bool = False,
        doc_type: str | None = None,
        delivery: str | None = None,
    ) -> Record:
        """Rename and/or move a folder or a document, change a folder's type or package target
        (別表1-1 5(3)). ``move`` with ``parent_id`` None moves to the root."""
        located = await self.nodes.node(subject, node_id, "files.write")
        node, work = located.node, located.work
        assert node is not None
        if int(node["version"]) != version:
            raise Conflict(
                "他の利用者が先に更新しました。最新の内容を読み込んでからやり直してください。"
            )
        target = await self._folder_node(work, parent_id) if move else None
        async with self.container.uow() as uow:
            current = node
            if move or name is not None:
                new_parent = target if move else await self._parent_record(node)
                new_name = clean_name(name) if name is not None else str(node["name"])
                current = await self._relocate(subject, uow, work, node, new_parent, new_name)
            if node["kind"] == NodeKind.FOLDER and (doc_type is not None or delivery is not None):
                meta = dict(current.get("meta") or {})
                if doc_type is not None:
                    if doc_type:
                        meta.update(doc_type=doc_type.strip()[:50], doc_type_set=True)
                    else:
                        meta.pop("doc_type_set", None)
                        parent = await self._parent_record(current)
                        inherited = ((parent or {}).get("meta") or {}).get("doc_type")
                        meta.pop("doc_type", None)
                        if inherited:
                            meta["doc_type"] = inherited
                if delivery is not None:
                    meta["delivery"] = self._delivery(work, delivery)
                    if not delivery:
                        meta.pop("delivery")
                before = current
                current = await self.records.update(
                    NODES,
                    str(current["id"]),
                    {"meta": meta, "updated_at": self._now()},
                    int(current["version"]),
                )
                await self.audit.record(
                    subject, "folders.typed", f"{NODES}/{node['id']}", before=before, after=current
                )
                if meta.get("doc_type") != (before.get("meta") or {}).get("doc_type"):
                    await self._retype(uow, current, str(meta.get("doc_type") or ""))
        return await self.records.get(NODES, str(node["id"])) or current

    async def _parent_record(self, node: Record) -> Record | None:
        if node["parent_id"] == node["work_id"]:
            return None
        return await self.records.get(NODES, str(node["parent_id"]))

    async def move_many(
        self, subject: Subject | None, work_id: str, node_ids: list[str], target_id: str | None
    ) -> list[Record]:
        """Move documents and folders into one folder (別表1-1 5(1)(3)); all or nothing."""
        work = await self.nodes.work(subject, work_id, "files.write")
        if not node_ids:
            raise ValidationFailed("移動するファイルまたはフォルダを選んでください。")
        if len(node_ids) > MAX_MOVE:
            raise ValidationFailed(f"一度に移動できるのは{MAX_MOVE}件までです。")
        target = await self._folder_node(work, target_id)
        found = await self.records.get_many(NODES, [i for i in node_ids if is_id(i)])
        by_id = {str(n["id"]): n for n in found if n["work_id"] == work["id"]}
        missing = [i for i in node_ids if i not in by_id]
        if missing:
            raise NotFoundError(f"見つからないファイルまたはフォルダがあります: {missing[0]}")
        names = [str(n["name"]) for n in by_id.values()]
        if len(set(names)) != len(names):
            raise NameTaken("同じ名前のものを同じフォルダへは移動できません。")
        moved: list[Record] = []
        async with self.container.uow() as uow:
            for node in sorted(by_id.values(), key=lambda n: str(n["path"])):
                fresh = await self.records.get(NODES, str(node["id"]))
                if fresh is None:
                    raise NotFoundError()
                moved.append(
                    await self._relocate(subject, uow, work, fresh, target, str(node["name"]))
                )
            await self.audit.record(
                subject,
                "documents.moved",
                f"works/{work['id']}",
                detail={
                    "node_ids": sorted(by_id),
                    "target": target["path"] if target else "/",
                },
            )
        return moved

    async def _relocate(
        self,
        subject: Subject | None,
        uow: UnitOfWork,
        work: Record,
        node: Record,
        parent: Record | None,
        name: str,
    ) -> Record:
        """Give ``node`` a new parent and name; rewrite its subtree's paths and depths and the
        inherited types. Inside the caller's unit of work."""
        work_id = str(work["id"])
        old_path = str(node["path"])
        parent_parts = split_path(str(parent["path"])) if parent else []
        new_path = join_path([*parent_parts, name])
        if new_path == old_path:
            return node
        if node["kind"] == NodeKind.FOLDER and (
            new_path.startswith(old_path + "/") or (parent and parent["id"] == node["id"])
        ):
            raise MoveIntoItself()
        clash = await self.nodes.by_path(work_id, new_path)
        if clash is not None and clash["id"] != node["id"]:
            raise NameTaken(f"「{new_path}」はすでにあります。")
        below: list[Record] = []
        if node["kind"] == NodeKind.FOLDER:
            cond = Range("path", gte=f"{old_path}/", lt=f"{old_path}0")
            async for child in walk(self.records, (Eq("work_id", work_id), cond)):
                below.append(child)
                if len(below) > MAX_SUBTREE:
                    raise SubtreeTooLarge()
        now = self._now()
        shift = len(parent_parts) + 1 - int(node.get("depth") or 1)
        parent_meta = (parent or {}).get("meta") or {}
        meta = dict(node.get("meta") or {})
        inherited = parent_meta.get("doc_type")
        if node["kind"] == NodeKind.FILE or not meta.get("doc_type_set"):
            if inherited:
                meta["doc_type"] = inherited
            else:
                meta.pop("doc_type", None)
        changes: Record = {
            "parent_id": parent["id"] if parent else work_id,
            "name": name,
            "sort_name": sort_name(name),
            "path": new_path,
            "depth": len(parent_parts) + 1,
            "meta": meta,
            "updated_at": now,
        }
        updated = await self.records.update(NODES, str(node["id"]), changes, int(node["version"]))
        action = "folders.moved" if node["kind"] == NodeKind.FOLDER else "documents.relocated"
        await self.audit.record(
            subject,
            action,
            f"{NODES}/{node['id']}",
            before={"path": old_path},
            after={"path": new_path},
            detail={"below": len(below)},
        )
        if updated["kind"] == NodeKind.FILE:
            await mark_pending(self.records, updated, now)
        types = {str(updated["id"]): str(meta.get("doc_type") or "")}
        files: list[Record] = []
        for child in below:
            child_meta = dict(child.get("meta") or {})
            parent_type = types.get(str(child["parent_id"]), "")
            if child["kind"] == NodeKind.FILE or not child_meta.get("doc_type_set"):
                if parent_type:
                    child_meta["doc_type"] = parent_type
                else:
                    child_meta.pop("doc_type", None)
            if child["kind"] == NodeKind.FOLDER:
                types[str(child["id"])] = str(child_meta.get("doc_type") or "")
            moved = await self.records.update(
                NODES,
                str(child["id"]),
                {
                    "path": new_path + str(child["path"])[len(old_path) :],
                    "depth": int(child.get("depth") or 1) + shift,
                    "meta": child_meta,
                },
                int(child["version"]),
            )
            if moved["kind"] == NodeKind.FILE:
                files.append(moved)
        await mark_pending_many(self.records, files, now)
        uow.enqueue(PENDING_TASK)
        return updated

    async def _retype(self, uow: UnitOfWork, folder: Record, doc_type: str) -> None:
        """Give the folder's subtree its new inherited type (sub-folders with a type of their
        own keep theirs, with their contents)."""
        types = {str(folder["id"]): doc_type}
        now = self._now()
        cond = Range("path", gte=f"{folder['path']}/", lt=f"{folder['path']}0")
        changed = 0
        files: list[Record] = []
        async for child in walk(self.records, (Eq("work_id", folder["work_id"]), cond)):
            meta = dict(child.get("meta") or {})
            parent_type = types.get(str(child["parent_id"]))
            if parent_type is None:
                continue  # below a folder that keeps its own type
            if child["kind"] == NodeKind.FOLDER and meta.get("doc_type_set"):
                continue
            if child["kind"] == NodeKind.FOLDER:
                types[str(child["id"])] = parent_type
            if (meta.get("doc_type") or "") == parent_type:
                continue
            if parent_type:
                meta["doc_type"] = parent_type
            else:
                meta.pop("doc_type", None)
            updated = await self.records.update(
                NODES, str(child["id"]), {"meta": meta}, int(child["version"])
            )
            if updated["kind"] == NodeKind.FILE:
                files.append(updated)
            changed += 1
            if changed > MAX_SUBTREE:
                raise SubtreeTooLarge()
        await mark_pending_many(self.records, files, now)
        if changed:
            uow.enqueue(PENDING_TASK)

    async def delete(
        self, subject: Subject | None, node_id: str, version: int, recursive: bool = False
    ) -> dict[str, int]:
        """Delete a folder (別表1-1 5(3)): an empty one, or with everything in it when
        ``recursive`` (the caller confirmed). Contents go when their last reference goes."""
        located = await self.nodes.node(subject, node_id, "files.delete")
        node, work = located.node, located.work
        assert node is not None
        ensure_no_hold(work)
        if node["kind"] != NodeKind.FOLDER:
            raise NotAFolder()
        if int(node["version"]) != version:
            raise Conflict(
                "他の利用者が先に更新しました。最新の内容を読み込んでからやり直してください。"
            )
        cond = Range("path", gte=f"{node['path']}/", lt=f"{node['path']}0")
        below: list[Record] = []
        async for child in walk(self.records, (Eq("work_id", work["id"]), cond)):
            if not recursive:
                raise FolderNotEmpty()
            below.append(child)
            if len(below) > MAX_SUBTREE:
                raise SubtreeTooLarge()
        counts = {"folders": 1, "files": 0}
        async with self.container.uow() as uow:
            for child in reversed(below):
                await self.records.delete(NODES, str(child["id"]), int(child["version"]))
                if child.get("sha256"):
                    await self.cas.release(content_scope(child), str(child["sha256"]), uow)
                    uow.unindex(str(child["id"]))
                    counts["files"] += 1
                else:
                    counts["folders"] += 1
            await self.records.delete(NODES, str(node["id"]), version)
            await self.audit.record(
                subject, "folders.deleted", f"{NODES}/{node['id']}", before=node, detail=counts
            )
        return counts


async def mark_pending_many(records: RecordStore, nodes: list[Record], now: str) -> None:
    """``mark_pending`` for many files at once (a moved or re-typed folder's documents): the
    marks read and written in batches instead of two round trips per file. Inside the
    caller's unit of work."""
    for start in range(0, len(nodes), PENDING_BATCH):
        chunk = nodes[start : start + PENDING_BATCH]
        existing = {
            str(r["id"]): r for r in await records.get_many(PENDING, [str(n["id"]) for n in chunk])
        }
        fresh = [
            {"id": n["id"], "work_id": n["work_id"], "at": now}
            for n in chunk
            if str(n["id"]) not in existing
        ]
        if fresh:
            await records.insert_many(PENDING, fresh)
        for mark in existing.values():
            await records.update(PENDING, str(mark["id"]), {"at": now}, int(mark["version"]))
