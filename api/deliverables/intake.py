"""Import a scanned package (``unpack.Plan``) into a work's node tree, all or nothing.

Order of work, so that bad input stores nothing:
1. preflight (records only): existing nodes at the target paths are fetched in batches; a
   folder in the way, or any existing file under ``on_conflict="error"``, refuses the import;
   an existing file with the same size is hashed and, if identical, *skipped* (this is what
   makes ``kura import`` resumable and the ZIP task idempotent);
2. batches of up to ``batch_files`` files: contents are streamed into the blob store (small
   ones read in one thread hop and put concurrently, big ones streamed chunk by chunk), then
   one unit of work places them with ``NodeService.add_file`` (which audits each file and
   enqueues ``ingest.file`` after commit);
3. a failure at any point (a bomb detected while streaming, a broken CRC, a conflict, a
   backend error) runs a compensating cleanup: nodes created by this import are deleted and
   their blobs released, replaced files get their previous content back (its reference was
   held during the import), new empty folders go. Every created node carries
   ``meta.import_id`` and the ``imports`` record keeps the state, so an import cut by a crash
   is visible and can be resumed by running it again.
An interrupt (Ctrl-C, task cancel) keeps the committed batches: acknowledged bytes are never
lost, and a re-run skips what is already there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.archive.cas import upload_key
from api.archive.models import NODES, NodeKind, join_path, split_path
from api.archive.nodes import NameTaken, NodeService, OnConflict
from api.container import Container
from api.deliverables.unpack import Entry, Finding, Limits, Plan, UnpackError, open_zip, scan_zip
from api.errors import KuraError, NotFoundError, ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.permissions.policy import Subject
from storage.errors import NotFound, StaleVersion
from storage.ports import BlobInfo, IndexSpec, RecordStore
from storage.query import Eq, In, Query, Record

log = logging.getLogger("kura.deliverables")

IMPORTS = "imports"
IMPORT_INDEXES = [IndexSpec((("work_id", 1), ("started_at", 1)))]
ProgressFn = Callable[[int], None]
Actor = Subject | str | None
_LOOKUP = 500


async def ensure_indexes(records: RecordStore) -> None:
    await records.ensure_indexes(IMPORTS, IMPORT_INDEXES)


class ImportFailed(ValidationFailed):
    code = "import_failed"
    title = "取り込みに失敗しました。この取り込みで追加した内容は取り消しました。"

    def __init__(self, detail: str, findings: Sequence[Finding], import_id: str) -> None:
        self.findings = list(findings)
        self.import_id = import_id
        KuraError.__init__(
            self,
            detail,
            import_id=import_id,
            findings=[f.to_dict() for f in self.findings[:50]],
        )


@dataclass
class ImportResult:
    import_id: str
    target: str
    state: str = "running"
    created: int = 0
    replaced: int = 0
    skipped: int = 0
    folders: int = 0
    bytes: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "target": self.target,
            "state": self.state,
            "created": self.created,
            "replaced": self.replaced,
            "skipped": self.skipped,
            "folders": self.folders,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class _Ledger:
    """What this import changed, for the compensating cleanup."""

    created: list[tuple[str, str]] = field(default_factory=list)  # (node id, sha256)
    replaced: list[Record] = field(default_factory=list)  # the node before the import
    holds: list[str] = field(default_factory=list)  # sha256 kept alive during the import
    folders: list[str] = field(default_factory=list)  # folder ids, in creation order


class ImportService:
    def __init__(
        self,
        container: Container,
        *,
        batch_files: int = 500,
        batch_bytes: int = 256 << 20,
        concurrency: int = 8,
        small: int = 1 << 20,
    ) -> None:
        self.container = container
        self.records = container.records
        self.nodes = NodeService(container)
        self.batch_files = batch_files
        self.batch_bytes = batch_bytes
        self.concurrency = concurrency
        self.small = small

    async def run(
        self,
        actor: Actor,
        work: Record,
        target: str,
        plan: Plan,
        *,
        on_conflict: OnConflict = "rename",
        source: str = "",
        progress: ProgressFn | None = None,
    ) -> ImportResult:
        """Import ``plan`` under the folder ``target`` of ``work`` (permission is the
        caller's). Raises ``ImportFailed`` after undoing its changes when anything fails."""
        target_parts = tuple(split_path(target))
        result = ImportResult(new_id(), join_path(list(target_parts)), findings=list(plan.findings))
        started = time.monotonic()
        run = _Run(self, actor, work, target_parts, on_conflict, result, progress)
        await self._record(result, work, source, actor, insert=True)
        try:
            todo = await run.preflight(plan)
            await run.folders(
                [target_parts, *(target_parts + e.parts for e in plan.entries if e.is_dir)]
            )
            for batch in self._batches(todo):
                await run.store(batch)
                await self._record(result, work, source, actor)
            async with self.container.uow() as uow:
                for sha in run.ledger.holds:
                    await self.nodes.cas.release(sha, uow)
            run.ledger.holds.clear()
        except Exception as exc:
            result.state = "failed"
            result.seconds = time.monotonic() - started
            await run.compensate()
            findings = getattr(exc, "findings", None) or [
                Finding("E", getattr(exc, "code", "error"), _message(exc))
            ]
            result.findings.extend(f for f in findings if f.severity == "E")
            await self._record(result, work, source, actor)
            if isinstance(exc, ImportFailed):
                raise
            raise ImportFailed(_message(exc), findings, result.import_id) from exc
        except BaseException:
            result.state = "interrupted"
            await asyncio.shield(self._record(result, work, source, actor))
            raise
        result.state = "done"
        result.seconds = time.monotonic() - started
        await self._record(result, work, source, actor, event="deliverables.imported")
        return result

    def _batches(self, entries: list[Entry]) -> Iterator[list[Entry]]:
        batch: list[Entry] = []
        size = 0
        for entry in entries:
            if batch and (len(batch) >= self.batch_files or size + entry.size > self.batch_bytes):
                yield batch
                batch, size = [], 0
            batch.append(entry)
            size += entry.size
        if batch:
            yield batch

    async def _record(
        self,
        result: ImportResult,
        work: Record,
        source: str,
        actor: Actor,
        *,
        insert: bool = False,
        event: str | None = None,
    ) -> None:
        now = to_iso(self.container.clock.now())
        body = {**result.to_dict(), "findings": result.to_dict()["findings"][:200]}
        body.pop("import_id")
        async with self.container.uow():
            if insert:
                actor_id = actor.user_id if isinstance(actor, Subject) else actor
                await self.records.insert(
                    IMPORTS,
                    {
                        "id": result.import_id,
                        "work_id": work["id"],
                        "source": source,
                        "actor": actor_id,
                        "started_at": now,
                        **body,
                    },
                )
                return
            current = await self.records.get(IMPORTS, result.import_id)
            if current is None:
                return
            body["updated_at"] = now
            await self.records.update(IMPORTS, result.import_id, body, current["version"])
            if event is not None or result.state.startswith("failed"):
                await self.nodes.audit.record(
                    actor,
                    event or "deliverables.import_rolled_back",
                    f"{IMPORTS}/{result.import_id}",
                    detail={k: v for k, v in body.items() if k != "findings"},
                )


class _Run:
    """One import's state: caches, ledger and the steps of ``ImportService.run``."""

    def __init__(
        self,
        svc: ImportService,
        actor: Actor,
        work: Record,
        target: tuple[str, ...],
        on_conflict: OnConflict,
        result: ImportResult,
        progress: ProgressFn | None,
    ) -> None:
        self.svc = svc
        self.records = svc.records
        self.nodes = svc.nodes
        self.actor = actor
        self.work = work
        self.work_id = str(work["id"])
        self.target = target
        self.on_conflict = on_conflict
        self.result = result
        self.progress = progress or (lambda n: None)
        self.ledger = _Ledger()
        self.existing: dict[str, Record] = {}
        self.folder_ids: dict[tuple[str, ...], str] = {}

    def path(self, parts: tuple[str, ...]) -> str:
        return join_path(list(self.target + parts))

    # -- 1. preflight ------------------------------------------------------------------
    async def preflight(self, plan: Plan) -> list[Entry]:
        wanted: set[str] = set()
        for entry in plan.entries:
            full = self.target + entry.parts
            wanted.update(join_path(list(full[:d])) for d in range(1, len(full) + 1))
        ordered = sorted(wanted)
        for i in range(0, len(ordered), _LOOKUP):
            chunk = tuple(ordered[i : i + _LOOKUP])
            query = Query(where=(Eq("work_id", self.work_id), In("path", chunk)), limit=_LOOKUP)
            for node in (await self.records.find(NODES, query)).items:
                self.existing[str(node["path"])] = node
        problems: list[Finding] = []
        files = set()
        for entry in plan.entries:
            if not entry.is_dir:
                files.add(self.path(entry.parts))
        for path, node in self.existing.items():
            if node["kind"] == NodeKind.FILE and path not in files:
                problems.append(
                    Finding("E", "name_taken", "フォルダを作る場所にファイルがあります。", path)
                )
        todo: list[Entry] = []
        for entry in plan.files:
            path = self.path(entry.parts)
            found = self.existing.get(path)
            if found is None:
                todo.append(entry)
            elif found["kind"] != NodeKind.FILE:
                problems.append(
                    Finding("E", "name_taken", "ファイルを置く場所にフォルダがあります。", path)
                )
            elif await self._identical(entry, found):
                self.result.skipped += 1
                self.progress(entry.size)
            elif self.on_conflict == "error":
                problems.append(
                    Finding("E", "name_taken", "同じ名前のファイルがすでにあります。", path)
                )
            else:
                todo.append(entry)
        if problems:
            more = f"（ほか{len(problems) - 1}件）" if len(problems) > 1 else ""
            raise UnpackError(f"{problems[0].message} [{problems[0].path}]{more}", problems)
        return todo

    async def _identical(self, entry: Entry, node: Record) -> bool:
        if int(node.get("size", -1)) != entry.size:
            return False
        return await _sha_of(entry) == node.get("sha256")

    # -- 2. folders and files -----------------------------------------------------------
    async def folders(self, wanted: Sequence[tuple[str, ...]]) -> None:
        """Make sure each folder exists; those made here are noted for the cleanup."""
        missing = sorted({p for p in wanted if p and p not in self.folder_ids}, key=len)
        if not missing:
            return
        async with self.svc.container.uow():
            for parts in missing:
                for depth in range(1, len(parts) + 1):
                    await self._folder(parts[:depth])

    async def _folder(self, parts: tuple[str, ...]) -> None:
        if parts in self.folder_ids:
            return
        path = join_path(list(parts))
        node = self.existing.get(path) or await self.nodes.by_path(self.work_id, path)
        if node is not None:
            if node["kind"] != NodeKind.FOLDER:
                raise NameTaken(f"「{path}」はファイルです。")
            self.folder_ids[parts] = str(node["id"])
            return
        folder_id, _ = await self.nodes._folder(self.actor, self.work, list(parts))
        self.folder_ids[parts] = folder_id
        self.ledger.folders.append(folder_id)
        self.result.folders += 1

    async def store(self, batch: list[Entry]) -> None:
        blobs = self.svc.container.blobs
        infos: list[BlobInfo] = []
        try:
            small = [e for e in batch if e.size <= self.svc.small]
            datas = await asyncio.to_thread(lambda: [e.read() for e in small])
            sem = asyncio.Semaphore(self.svc.concurrency)

            async def put(data: bytes) -> BlobInfo:
                async with sem:
                    info = await blobs.put(upload_key(), _once(data))
                self.progress(len(data))
                return info

            outcomes = await asyncio.gather(*(put(d) for d in datas), return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
                infos.append(outcome)
            by_entry = dict(zip((id(e) for e in small), infos, strict=True))
            for entry in batch:
                if entry.size > self.svc.small:
                    info = await blobs.put(upload_key(), _stream(entry, self.progress))
                    infos.append(info)
                    by_entry[id(entry)] = info
        except BaseException:
            for info in infos:
                await _quietly(blobs.delete(info.key))
            raise
        await self.folders([self.target + e.parts[:-1] for e in batch])
        created: list[tuple[str, str]] = []
        replaced: list[Record] = []
        holds: list[str] = []
        async with self.svc.container.uow() as uow:
            for info in infos:
                uow.on_rollback(self.nodes.cas.deleter(info.key))
            for entry in batch:
                info = by_entry[id(entry)]
                old = self.existing.get(self.path(entry.parts))
                meta: dict[str, Any] = {"import_id": self.result.import_id}
                if old is not None and self.on_conflict == "replace":
                    await self.nodes.cas.incref(str(old["sha256"]))
                    holds.append(str(old["sha256"]))
                    meta = {**(old.get("meta") or {}), **meta}
                node = await self.nodes.add_file(
                    self.actor,
                    self.work,
                    join_path(list(self.target + entry.parts[:-1])),
                    entry.parts[-1],
                    info,
                    uow=uow,
                    on_conflict=self.on_conflict,
                    meta=meta,
                )
                if old is not None and node["id"] == old["id"]:
                    replaced.append(old)
                else:
                    created.append((str(node["id"]), str(node["sha256"])))
        self.ledger.created.extend(created)
        self.ledger.replaced.extend(replaced)
        self.ledger.holds.extend(holds)
        self.result.created += len(created)
        self.result.replaced += len(replaced)
        self.result.bytes += sum(e.size for e in batch)

    # -- 3. compensation ----------------------------------------------------------------
    async def compensate(self) -> None:
        """Undo this import's committed batches (best effort; logged if it fails too)."""
        try:
            await self._undo()
        except Exception:
            log.exception(
                "cleanup of import %s failed; nodes carry meta.import_id", self.result.import_id
            )
            self.result.state = "failed_cleanup"

    async def _undo(self) -> None:
        cas = self.nodes.cas
        container = self.svc.container
        created = self.ledger.created
        for i in range(0, len(created), self.svc.batch_files):
            async with container.uow() as uow:
                for node_id, sha in created[i : i + self.svc.batch_files]:
                    if await self.records.get(NODES, node_id) is None:
                        continue
                    await self.records.delete(NODES, node_id, None)
                    await cas.release(sha, uow)
                    uow.unindex(node_id)
        held = list(self.ledger.holds)
        async with container.uow() as uow:
            for old in self.ledger.replaced:
                current = await self.records.get(NODES, str(old["id"]))
                if current is None or current.get("sha256") == old.get("sha256"):
                    continue
                keep = ("size", "sha256", "content_type", "declared_type", "ingest", "meta")
                await self.records.update(
                    NODES, str(old["id"]), {k: old.get(k) for k in keep}, current["version"]
                )
                await cas.release(str(current["sha256"]), uow)
                held.remove(str(old["sha256"]))  # the hold is the node's reference again
                uow.enqueue("ingest.file", node_id=old["id"])
            for sha in held:
                await cas.release(sha, uow)
            for folder_id in reversed(self.ledger.folders):
                if (await self.nodes.children(folder_id, limit=1)).items:
                    continue
                if await self.records.get(NODES, folder_id) is not None:
                    await self.records.delete(NODES, folder_id, None)
        self.ledger = _Ledger()


async def _sha_of(entry: Entry) -> str:
    def run() -> str:
        digest = hashlib.sha256()
        for chunk in entry.chunks():
            digest.update(chunk)
        return digest.hexdigest()

    return await asyncio.to_thread(run)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _stream(entry: Entry, progress: ProgressFn) -> AsyncIterator[bytes]:
    chunks = entry.chunks()
    done = object()
    while True:
        chunk = await asyncio.to_thread(next, chunks, done)
        if chunk is done:
            return
        assert isinstance(chunk, bytes)
        progress(len(chunk))
        yield chunk


async def _quietly(aw: Any) -> None:
    try:
        await aw
    except Exception:
        log.warning("could not delete an orphan object", exc_info=True)


def _message(exc: BaseException) -> str:
    if isinstance(exc, KuraError):
        return exc.detail
    return f"取り込み中にエラーが発生しました（{type(exc).__name__}: {exc}）"[:500]


# -- the 電子納品 validation hook --------------------------------------------------------------

PACKAGE_MODULE = "api.deliverables.package"


async def analyse_package(container: Container, work_id: str, root_node_id: str) -> Any:
    """Run ``api.deliverables.package.analyse`` when that module exists (written by another
    part of the project); otherwise log and return None."""
    if importlib.util.find_spec(PACKAGE_MODULE) is None:
        log.info("電子納品 check skipped: %s is not installed", PACKAGE_MODULE)
        return None
    module = importlib.import_module(PACKAGE_MODULE)
    outcome = module.analyse(container, work_id, root_node_id)
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return outcome


async def package_root_id(
    container: Container, work_id: str, target: str, plan: Plan
) -> str | None:
    """The node id of the folder holding INDEX_C.XML / INDEX_D.XML after an import."""
    root = plan.package_root()
    if root is None:
        return None
    if not root and not split_path(target):
        return work_id
    node = await NodeService(container).by_path(work_id, join_path([*split_path(target), *root]))
    return str(node["id"]) if node is not None else None


# -- an uploaded ZIP node ----------------------------------------------------------------------


def zip_target(node: Record, plan: Plan) -> str:
    """Where a ZIP node unpacks: beside the ZIP when everything sits in one top folder named
    like the ZIP or holding INDEX_C.XML / INDEX_D.XML (the usual "compress this folder"
    shape: no doubled level); otherwise into a new folder named after the ZIP without its
    extension, next to it."""
    parts = split_path(str(node["path"]))
    parent, name = parts[:-1], parts[-1]
    stem = name[:-4] if name.lower().endswith(".zip") else name.rpartition(".")[0]
    top = plan.top_folder()
    if top is not None and (top == stem or plan.package_root() == (top,)):
        return join_path(parent)
    return join_path([*parent, stem or "unpacked"])


async def import_zip_node(
    container: Container,
    node_id: str,
    *,
    on_conflict: OnConflict = "rename",
    limits: Limits | None = None,
) -> dict[str, Any]:
    """Unpack the uploaded ZIP file node ``node_id`` into its folder, then run the 電子納品
    check on the package root if one is found. The ZIP node itself is never changed.
    Returns a JSON-able report; bad input gives ``state`` "rejected" or "failed" with
    findings (nothing stored), not an exception."""
    records = container.records
    node = await records.get(NODES, node_id)
    if node is None or node["kind"] != NodeKind.FILE or not node.get("sha256"):
        raise NotFoundError("ZIPファイルが見つかりません。")
    work = await records.get("works", str(node["work_id"]))
    if work is None:
        raise NotFoundError("案件が見つかりません。")
    actor = str(node.get("created_by") or "system:deliverables")
    source = f"{NODES}/{node_id}"
    await _close_dead_runs(container, str(work["id"]), source)
    svc = ImportService(container)
    blob = await svc.nodes.cas.get(str(node["sha256"]))
    container.settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=container.settings.data_dir) as spool:
        async for chunk in svc.nodes.cas.open(blob):
            await asyncio.to_thread(spool.write, chunk)
        try:
            with open_zip(spool, limits or Limits()) as zf:
                plan = scan_zip(zf, limits or Limits())
                target = zip_target(node, plan)
                result = await svc.run(
                    actor, work, target, plan, on_conflict=on_conflict, source=source
                )
        except UnpackError as exc:
            log.info("ZIP %s refused: %s", node_id, exc.detail)
            return {"state": "rejected", "detail": exc.detail, "findings": _dicts(exc.findings)}
        except ImportFailed as exc:
            return {
                "state": "failed",
                "import_id": exc.import_id,
                "detail": exc.detail,
                "findings": _dicts(exc.findings),
            }
    report = result.to_dict()
    root_id = await package_root_id(container, str(work["id"]), target, plan)
    if root_id is None:
        log.info("ZIP %s holds no INDEX_C.XML / INDEX_D.XML: no 電子納品 check", node_id)
    else:
        report["package_root_id"] = root_id
        analysed = await analyse_package(container, str(work["id"]), root_id)
        report["analysed"] = analysed is not None
    return report


async def _close_dead_runs(container: Container, work_id: str, source: str) -> None:
    """A run of this ZIP's job whose worker died left its import ``running``; the job is run
    again by the job sweeper and this run continues it (skipping what is placed already), so
    the dead run's record becomes ``interrupted``."""
    where = (Eq("work_id", work_id), Eq("source", source), Eq("state", "running"))
    now = to_iso(container.clock.now())
    for stale in (await container.records.find(IMPORTS, Query(where=where, limit=100))).items:
        with contextlib.suppress(StaleVersion, NotFound):
            await container.records.update(
                IMPORTS,
                str(stale["id"]),
                {"state": "interrupted", "updated_at": now},
                stale["version"],
            )


def _dicts(findings: Sequence[Finding]) -> list[dict[str, str]]:
    return [f.to_dict() for f in findings[:200]]
