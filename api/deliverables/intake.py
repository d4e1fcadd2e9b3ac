"""Import a scanned package (``unpack.Plan``) into a work's node tree, all or nothing.

Order of work, so that bad input stores nothing:
1. preflight (records only): existing nodes at the target paths are fetched in batches; a
   folder in the way, or any existing file under ``on_conflict="error"``, refuses the import;
   an existing file with the same size is hashed and, if identical, *skipped* (this is what
   makes ``kura import`` resumable and the ZIP task idempotent);
2. batches of up to ``batch_files`` files: contents go into the blob store (small ones read
   in one thread hop and stored with one ``put_many``, big ones streamed chunk by chunk),
   then one unit of work places them: files on free paths through the bulk path
   (``api.deliverables.bulk``: a few record operations, one audit event and one
   ``ingest.files`` job per batch), replaced or renamed ones with ``NodeService.add_file``
   (which audits each file and enqueues ``ingest.file``); ``bulk=False`` places every file
   that way (the per-file path, kept as the benchmark's baseline);
3. a failure at any point (a bomb detected while streaming, a broken CRC, a conflict, a
   backend error) runs a compensating cleanup: nodes created by this import are deleted and
   their blobs released, replaced files get their previous content back (its reference was
   held during the import), new empty folders go. Every created node carries
   ``meta.import_id`` and the ``imports`` record (``api.deliverables.imports``) keeps the
   state and reason, so an import cut by a crash is visible and can be resumed by running
   it again.
An interrupt (Ctrl-C, task cancel) keeps the committed batches: acknowledged bytes are never
lost, and a re-run skips what is already there.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.archive.cas import upload_key, upload_keys
from api.archive.models import NODES, NodeKind, content_scope, join_path, split_path
from api.archive.nodes import NameTaken, NodeService, OnConflict
from api.container import Container
from api.deliverables import imports
from api.deliverables.bulk import NewFile, place_batch
from api.deliverables.imports import IMPORTS, Actor
from api.deliverables.unpack import Entry, Finding, Plan, UnpackError
from api.errors import KuraError, ValidationFailed
from api.keys import scopes
from api.kit.clock import to_iso
from storage.errors import DuplicateKey
from storage.ports import PUT_MANY_MAX, BlobInfo
from storage.query import Eq, In, Query, Record

log = logging.getLogger("kura.deliverables")

ProgressFn = Callable[[int], None]
_LOOKUP = 500
PROGRESS_EVERY_S = 2.0  # how often a running import saves its counts on its record
__all__ = ["IMPORTS", "ImportFailed", "ImportResult", "ImportService"]


class ImportFailed(ValidationFailed):
    code = "import_failed"
    title = "取り込みに失敗しました。この取り込みで追加した内容は取り消しました。"

    def __init__(
        self,
        detail: str,
        findings: Sequence[Finding],
        import_id: str,
        state: str = "failed",
    ) -> None:
        self.findings = list(findings)
        self.import_id = import_id
        self.state = state  # "rejected" when the input was refused, "failed" otherwise
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
    files: int = 0
    created: int = 0
    replaced: int = 0
    skipped: int = 0
    folders: int = 0
    bytes: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "target": self.target,
            "state": self.state,
            "reason": self.reason,
            "files": self.files,
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
    # (scope, sha256) kept alive during the import
    holds: list[tuple[str, str]] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # folder ids, in creation order


@dataclass
class _Written:
    """A batch whose contents are in the blob store, not yet placed."""

    batch: list[Entry]
    infos: dict[int, BlobInfo] = field(default_factory=dict)  # by id(entry)
    keys: list[str] = field(default_factory=list)  # every object key written or tried


class ImportService:
    def __init__(
        self,
        container: Container,
        *,
        batch_files: int = 500,
        batch_bytes: int = 256 << 20,
        concurrency: int = 8,
        small: int = 1 << 20,
        bulk: bool = True,
    ) -> None:
        self.container = container
        self.records = container.records
        self.nodes = NodeService(container)
        self.batch_files = batch_files
        self.batch_bytes = batch_bytes
        self.concurrency = concurrency
        self.small = small
        self.bulk = bulk

    async def run(
        self,
        actor: Actor,
        work: Record,
        target: str,
        plan: Plan,
        *,
        on_conflict: OnConflict = "rename",
        source: str = "",
        source_name: str = "",
        import_id: str | None = None,
        progress: ProgressFn | None = None,
    ) -> ImportResult:
        """Import ``plan`` under the folder ``target`` of ``work`` (permission is the
        caller's). ``import_id`` continues a queued ``imports`` record (an uploaded ZIP);
        otherwise a new one is written. Raises ``ImportFailed`` after undoing its changes
        when anything fails."""
        target_parts = tuple(split_path(target))
        result = ImportResult(
            import_id or "",
            join_path(list(target_parts)),
            files=len(plan.files),
            findings=list(plan.findings),
        )
        started = time.monotonic()
        result.import_id = await self._open(result, work, actor, source, source_name)
        run = _Run(self, actor, work, target_parts, on_conflict, result, progress)
        try:
            todo = await run.preflight(plan)
            # Every folder the import needs, in one unit of work before the first file.
            await run.folders(
                [
                    target_parts,
                    *(target_parts + e.parts for e in plan.entries if e.is_dir),
                    *(target_parts + e.parts[:-1] for e in todo),
                ]
            )
            await self._pipeline(run, todo, actor)
            async with self.container.uow() as uow:
                for held_scope, sha in run.ledger.holds:
                    await self.nodes.cas.release(held_scope, sha, uow)
            run.ledger.holds.clear()
        except Exception as exc:
            # Refused input (a conflict, a bomb found while streaming) is "rejected" like a
            # refusal at the scan: everything this import added has been undone.
            result.state = "rejected" if isinstance(exc, UnpackError) else "failed"
            result.seconds = time.monotonic() - started
            await run.compensate()
            findings = getattr(exc, "findings", None) or [
                Finding("E", getattr(exc, "code", "error"), _message(exc))
            ]
            result.findings.extend(f for f in findings if f.severity == "E")
            result.reason = _message(exc)
            if run.cleanup_failed:
                result.reason += "（取り消しの一部に失敗しました。管理者に連絡してください）"
            await self._record(result, actor, event="deliverables.import_rolled_back")
            if isinstance(exc, ImportFailed):
                raise
            raise ImportFailed(_message(exc), findings, result.import_id, result.state) from exc
        except BaseException:
            result.state = "interrupted"
            result.reason = imports.INTERRUPTED_REASON
            await asyncio.shield(self._record(result, actor))
            raise
        result.state = "done"
        result.seconds = time.monotonic() - started
        await self._record(result, actor, event="deliverables.imported")
        return result

    async def reject(
        self,
        actor: Actor,
        work: Record,
        exc: UnpackError,
        *,
        source: str = "",
        source_name: str = "",
        import_id: str | None = None,
    ) -> str:
        """Record an input refused before anything was stored (``rejected``, with the
        reason and findings); returns the import id."""
        result = ImportResult(import_id or "", "", state="rejected", reason=exc.detail)
        result.findings = list(exc.findings)
        result.import_id = await self._open(result, work, actor, source, source_name)
        await self._record(result, actor, event="deliverables.import_rejected")
        return result.import_id

    async def _open(
        self, result: ImportResult, work: Record, actor: Actor, source: str, source_name: str
    ) -> str:
        """The import's record: the queued one taken over (``running`` now) or a new one."""
        fields = {**self._body(result), "started_at": to_iso(self.container.clock.now())}
        if result.import_id and await imports.save(self.records, result.import_id, fields):
            return result.import_id
        record = imports.new_record(
            self.container,
            str(work["id"]),
            actor,
            state="running",
            source=source,
            source_name=source_name or source.partition(":")[2] or source,
            import_id=result.import_id or None,
        )
        record.update(fields)
        await self.records.insert(IMPORTS, record)
        return str(record["id"])

    @staticmethod
    def _body(result: ImportResult) -> dict[str, Any]:
        body = result.to_dict()
        body.pop("import_id")
        body["findings"] = imports.findings_of(result.findings)
        return body

    async def _pipeline(self, run: _Run, todo: list[Entry], actor: Actor) -> None:
        """Write and place the batches in order, the next batch's contents being written
        while the current one is placed (blob writes wait on the disk or the network, record
        writes on the database: they overlap). A failure drops the batch written ahead."""
        batches = self._batches(todo)
        saved = time.monotonic()
        first = next(batches, None)
        ahead = asyncio.ensure_future(run.write(first)) if first is not None else None
        while ahead is not None:
            written = await ahead
            following = next(batches, None)
            ahead = asyncio.ensure_future(run.write(following)) if following is not None else None
            try:
                await run.place(written)
                if time.monotonic() - saved >= PROGRESS_EVERY_S:
                    await self._record(run.result, actor)
                    saved = time.monotonic()
            except BaseException:
                if ahead is not None:
                    await asyncio.shield(_drop(run, ahead))
                raise

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
        self, result: ImportResult, actor: Actor, *, event: str | None = None
    ) -> None:
        """Save the progress (and the end) of an import, with its audit event at the end."""
        now = to_iso(self.container.clock.now())
        body = self._body(result)
        body["updated_at"] = now
        if result.state in imports.FINAL_STATES:
            body["finished_at"] = now
        async with self.container.uow():
            if await imports.save(self.records, result.import_id, body) is None:
                return
            if event is not None:
                await self.nodes.audit.record(
                    actor,
                    event,
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
        # A delivered package is the work's archive deliverables (api.keys.scopes).
        self.scope = scopes.archive(self.work_id)
        self.target = target
        self.on_conflict = on_conflict
        self.result = result
        self.progress = progress or (lambda n: None)
        self.ledger = _Ledger()
        self.existing: dict[str, Record] = {}
        self.folder_ids: dict[tuple[str, ...], str] = {}
        self.cleanup_failed = False

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

    async def write(self, batch: list[Entry]) -> _Written:
        """Write the batch's contents into the blob store (records untouched); on an error
        or a cancel the objects written so far are deleted."""
        blobs = self.svc.container.blobs
        written = _Written(batch)
        try:
            small = [e for e in batch if e.size <= self.svc.small]
            datas = await asyncio.to_thread(lambda: [e.read() for e in small])
            keys = upload_keys(self.scope, len(small))
            written.keys.extend(keys)
            if self.svc.bulk and all(len(d) <= PUT_MANY_MAX for d in datas):
                infos = await blobs.put_many(list(zip(keys, datas, strict=True)))
                for data in datas:
                    self.progress(len(data))
            else:
                infos = await self._put_each(keys, datas)
            written.infos.update(zip((id(e) for e in small), infos, strict=True))
            for entry in batch:
                if entry.size > self.svc.small:
                    key = upload_key(self.scope)
                    written.keys.append(key)
                    written.infos[id(entry)] = await blobs.put(key, _stream(entry, self.progress))
        except BaseException:
            await asyncio.shield(self.discard(written))
            raise
        return written

    async def discard(self, written: _Written) -> None:
        """Delete the objects of a batch that will not be placed."""
        for key in written.keys:
            await _quietly(self.svc.container.blobs.delete(key))

    async def place(self, written: _Written) -> None:
        """Place a written batch in one unit of work (its folders first); on failure its
        objects are deleted and nothing of it stays."""
        batch = written.batch
        try:
            await self.folders([self.target + e.parts[:-1] for e in batch])
            try:
                placed = await self._place(batch, written.infos, bulk=self.svc.bulk)
            except DuplicateKey:
                if not self.svc.bulk:
                    raise
                # A path was taken since the preflight: place this batch file by file.
                log.info("import %s: a path was taken meanwhile", self.result.import_id)
                placed = await self._place(batch, written.infos, bulk=False)
        except BaseException:
            await asyncio.shield(self.discard(written))
            raise
        created, replaced, holds = placed
        self.ledger.created.extend(created)
        self.ledger.replaced.extend(replaced)
        self.ledger.holds.extend(holds)
        self.result.created += len(created)
        self.result.replaced += len(replaced)
        self.result.bytes += sum(e.size for e in batch)

    async def _put_each(self, keys: list[str], datas: list[bytes]) -> list[BlobInfo]:
        """The per-file path's writes: one ``put`` per object, a few at a time."""
        blobs = self.svc.container.blobs
        sem = asyncio.Semaphore(self.svc.concurrency)

        async def put(key: str, data: bytes) -> BlobInfo:
            async with sem:
                info = await blobs.put(key, _once(data))
            self.progress(len(data))
            return info

        outcomes = await asyncio.gather(
            *(put(k, d) for k, d in zip(keys, datas, strict=True)), return_exceptions=True
        )
        infos: list[BlobInfo] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            infos.append(outcome)
        return infos

    async def _place(
        self, batch: list[Entry], by_entry: dict[int, BlobInfo], *, bulk: bool
    ) -> tuple[list[tuple[str, str]], list[Record], list[tuple[str, str]]]:
        """One unit of work: files on free paths through the bulk path (when ``bulk``), the
        others (replace, rename) with ``add_file``. Returns (created, replaced, holds)."""
        created: list[tuple[str, str]] = []
        replaced: list[Record] = []
        holds: list[tuple[str, str]] = []
        async with self.svc.container.uow() as uow:
            fresh: list[NewFile] = []
            for entry in batch:
                info = by_entry[id(entry)]
                folder = self.target + entry.parts[:-1]
                path = self.path(entry.parts)
                old = self.existing.get(path)
                if bulk and old is None:
                    parent = self.folder_ids[folder] if folder else self.work_id
                    fresh.append(NewFile(parent, path, entry.parts[-1], len(folder) + 1, info))
                    continue
                meta: dict[str, Any] = {"import_id": self.result.import_id}
                if old is not None and self.on_conflict == "replace":
                    held = (content_scope(old), str(old["sha256"]))
                    await self.nodes.cas.incref(*held)
                    holds.append(held)
                    meta = {**(old.get("meta") or {}), **meta}
                node = await self.nodes.add_file(
                    self.actor,
                    self.work,
                    join_path(list(folder)),
                    entry.parts[-1],
                    info,
                    uow=uow,
                    scope=self.scope,
                    on_conflict=self.on_conflict,
                    meta=meta,
                )
                if old is not None and node["id"] == old["id"]:
                    replaced.append(old)
                else:
                    created.append((str(node["id"]), str(node["sha256"])))
            placed = await place_batch(
                self.nodes,
                self.actor,
                self.work,
                fresh,
                uow=uow,
                import_id=self.result.import_id,
            )
            created.extend((str(n["id"]), str(n["sha256"])) for n in placed)
        return created, replaced, holds

    # -- 3. compensation ----------------------------------------------------------------
    async def compensate(self) -> None:
        """Undo this import's committed batches (best effort; logged if it fails too)."""
        try:
            await self._undo()
        except Exception:
            log.exception(
                "cleanup of import %s failed; nodes carry meta.import_id", self.result.import_id
            )
            self.cleanup_failed = True

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
                    await cas.release(self.scope, sha, uow)
                    uow.unindex(node_id)
        held = list(self.ledger.holds)
        async with container.uow() as uow:
            for old in self.ledger.replaced:
                current = await self.records.get(NODES, str(old["id"]))
                if current is None or current.get("sha256") == old.get("sha256"):
                    continue
                keep = (
                    "size",
                    "sha256",
                    "scope",
                    "content_type",
                    "declared_type",
                    "ingest",
                    "meta",
                )
                await self.records.update(
                    NODES, str(old["id"]), {k: old.get(k) for k in keep}, current["version"]
                )
                await cas.release(content_scope(current), str(current["sha256"]), uow)
                # the hold is the node's reference again
                held.remove((content_scope(old), str(old["sha256"])))
                uow.enqueue("ingest.file", node_id=old["id"])
            for held_scope, sha in held:
                await cas.release(held_scope, sha, uow)
            for folder_id in reversed(self.ledger.folders):
                if (await self.nodes.children(folder_id, limit=1)).items:
                    continue
                if await self.records.get(NODES, folder_id) is not None:
                    await self.records.delete(NODES, folder_id, None)
        self.ledger = _Ledger()


async def _drop(run: _Run, task: asyncio.Future[_Written]) -> None:
    """Stop a batch being written ahead and delete what it wrote."""
    task.cancel()
    try:
        written = await task
    except BaseException:  # cancelled or failed: write() cleaned up after itself
        return
    await run.discard(written)


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
