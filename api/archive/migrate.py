"""``kura migrate encrypt``: move content stored before scopes existed into its scope
(issue 12 §1 "Migrate existing data").

Before scopes, the content store kept one object per SHA-256 for all works
(``objects/<xx>/<id>``, a ``blobs`` record with ``id`` = the SHA-256 and no ``scope``), derived
files under ``derived/<xx>/<sha>/``, hand-over packages under ``handover/<work>/`` and rendered
billing PDFs under ``billing/documents/``, none of them sealed or erasable per work. This
migration rewrites every reference, one at a time:

1. the record that points at content (a file node, an attachment, an import's kept ZIP, an
   application's receipt) gets its scope (``api.keys.scopes``: the rule the services use);
2. unless the scope holds that content already, the bytes are copied into a fresh key of the
   scope (sealed by the blob adapter) and read back: the copy must decrypt and hash to the
   recorded SHA-256 and size, or nothing changes (a problem is reported);
3. in one unit of work: the scope's ``blobs`` record is created or counted, the referencing
   record is updated (with its version: a record changed meanwhile is tried again on the next
   run), and the old reference is released; the old object and its derived files are deleted
   only after that commit, when their last reference has moved.

A record that carries ``scope`` is done, so the migration is idempotent and resumable: killed
anywhere, a run picks up where the last one stopped. A kill between a copy and its commit leaves
a copy nobody references (the orphan sweep deletes it after its grace); a kill after a commit
before the old object's deletion leaves an old object nobody references (same sweep, legacy
prefix) and derived files whose content has moved (deleted by the next run). Progress and
counts are kept in the ``migrations`` record ``encrypt``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from api.archive.cas import DERIVED_NAMES, ContentStore, upload_key
from api.archive.models import BLOBS, NODES, NodeKind, blob_id, content_scope, derived_key
from api.container import Container
from api.keys import scopes
from api.kit.clock import to_iso
from api.kit.faults import park
from api.kit.uow import UnitOfWork
from storage.errors import KeyDestroyed, NotFound, StaleVersion, StorageError
from storage.query import Eq, Exists, Record

log = logging.getLogger("kura.migrate")

MIGRATIONS = "migrations"
ENCRYPT = "encrypt"
LEGACY_OBJECTS = "objects/"
LEGACY_DERIVED = "derived/"
LEGACY_PACKAGES = "handover/"
LEGACY_BILLING = "billing/documents/"

Rewrite = Callable[[UnitOfWork], Awaitable[None]]


@dataclass
class MigrationReport:
    references: int = 0  # records now pointing at scoped content
    copied: int = 0  # objects written into a scope and verified
    reused: int = 0  # references to content the scope held already
    deleted: int = 0  # old objects deleted once their last reference moved
    derived: int = 0  # derived files copied into a scope
    packages: int = 0  # hand-over packages moved
    caches: int = 0  # rendered PDFs dropped (rendered again on demand)
    remaining: int = 0  # references left for the next run (``limit`` reached, or changed)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Interrupted(Exception):
    """The ``limit`` of references for this run was reached."""


def legacy_derived_key(sha256: str, name: str) -> str:
    return f"{LEGACY_DERIVED}{sha256[:2]}/{sha256}/{name}"


class Migration:
    def __init__(self, container: Container, *, limit: int | None = None) -> None:
        self.container = container
        self.records = container.records
        self.blobs = container.blobs
        self.cas = ContentStore(container.records, container.blobs, container.clock)
        self.limit = limit
        self.report = MigrationReport()
        self._collab_works: dict[str, bool] = {}

    # -- the run ----------------------------------------------------------------------------

    async def run(self) -> MigrationReport:
        """Migrate everything (or ``limit`` references); returns the counts."""
        await self._save_state("running")
        try:
            await self._nodes()
            await self._attachments()
            await self._imports()
            await self._receipts()
            await self._packages()
            await self._caches()
            await self._derived_leftovers()
        except Interrupted:
            self.report.remaining = await self.pending()
            await self._save_state("interrupted")
            return self.report
        self.report.remaining = await self.pending()
        await self._save_state("done" if not self.report.remaining else "incomplete")
        return self.report

    async def pending(self) -> int:
        """References still pointing at content outside every scope."""
        from api.attachments.service import ATTACHMENTS

        total = 0
        for collection in (NODES, ATTACHMENTS):
            total += await self.records.count(
                collection, (Exists("sha256"), Exists("scope", False))
            )
        async for _ in self._legacy_imports():
            total += 1
        async for _ in self._legacy_receipts():
            total += 1
        return total

    async def _save_state(self, state: str) -> None:
        now = to_iso(self.container.clock.now())
        fields = {"state": state, "updated_at": now, "last_run": self.report.as_dict()}
        for _ in range(5):
            current = await self.records.get(MIGRATIONS, ENCRYPT)
            try:
                if current is None:
                    await self.records.insert(
                        MIGRATIONS, {"id": ENCRYPT, "started_at": now, **fields}
                    )
                else:
                    await self.records.update(MIGRATIONS, ENCRYPT, fields, current["version"])
                return
            except StaleVersion:
                continue

    # -- the references ---------------------------------------------------------------------

    async def _nodes(self) -> None:
        where = (Eq("kind", NodeKind.FILE.value), Exists("sha256"), Exists("scope", False))
        async for node in self._each(NODES, where):
            scope = await self._node_scope(node)
            await self._move(str(node["sha256"]), scope, self._set_scope(NODES, node, scope))

    async def _node_scope(self, node: Record) -> str:
        """The scope ``NodeService.scope_for`` gives a file placed where ``node`` is."""
        work_id = str(node["work_id"])
        if work_id not in self._collab_works:
            from api.archive.nodes import COLLAB_FOLDERS

            found = await self.records.get(COLLAB_FOLDERS, work_id)
            self._collab_works[work_id] = found is not None
        from api.archive.nodes import HANDOVER_FOLDER

        top = str(node["path"]).lstrip("/").split("/", 1)[0]
        if self._collab_works[work_id] and not top.startswith(HANDOVER_FOLDER):
            return scopes.collab(work_id)
        return scopes.archive(work_id)

    async def _attachments(self) -> None:
        from api.attachments.service import ATTACHMENTS

        async for record in self._each(ATTACHMENTS, (Exists("sha256"), Exists("scope", False))):
            scope = content_scope(record)
            await self._move(
                str(record["sha256"]), scope, self._set_scope(ATTACHMENTS, record, scope)
            )

    async def _legacy_imports(self) -> AsyncIterator[Record]:
        from api.deliverables.imports import IMPORTS

        async for record in self.records.scan(IMPORTS, (Exists("source_file.sha256"),)):
            kept = record.get("source_file")
            if isinstance(kept, dict) and kept.get("sha256") and not kept.get("scope"):
                yield record

    async def _imports(self) -> None:
        from api.deliverables.imports import IMPORTS

        for record in [r async for r in self._legacy_imports()]:
            kept = dict(record["source_file"])
            scope = scopes.archive(str(record["work_id"]))
            await self._move(
                str(kept["sha256"]),
                scope,
                self._set_field(IMPORTS, record, "source_file", {**kept, "scope": scope}),
            )

    async def _legacy_receipts(self) -> AsyncIterator[Record]:
        from api.qualifications.models import APPLICATIONS

        async for record in self.records.scan(APPLICATIONS, (Exists("receipt.sha256"),)):
            receipt = record.get("receipt")
            if isinstance(receipt, dict) and receipt.get("sha256") and not receipt.get("scope"):
                yield record

    async def _receipts(self) -> None:
        from api.qualifications.models import APPLICATIONS

        for record in [r async for r in self._legacy_receipts()]:
            receipt = dict(record["receipt"])
            scope = scopes.org(str(record["org_id"]))
            await self._move(
                str(receipt["sha256"]),
                scope,
                self._set_field(APPLICATIONS, record, "receipt", {**receipt, "scope": scope}),
            )

    async def _each(self, collection: str, where: Any) -> AsyncIterator[Record]:
        # Collected first: each move updates the record the scan would otherwise walk on.
        ids = [str(r["id"]) async for r in self.records.scan(collection, where)]
        for start in range(0, len(ids), 500):
            for record in await self.records.get_many(collection, ids[start : start + 500]):
                if not record.get("scope"):
                    yield record

    def _set_scope(self, collection: str, record: Record, scope: str) -> Rewrite:
        async def rewrite(uow: UnitOfWork) -> None:
            await uow.records.update(
                collection, str(record["id"]), {"scope": scope}, record["version"]
            )

        return rewrite

    def _set_field(self, collection: str, record: Record, name: str, value: Any) -> Rewrite:
        async def rewrite(uow: UnitOfWork) -> None:
            await uow.records.update(
                collection, str(record["id"]), {name: value}, record["version"]
            )

        return rewrite

    async def _move(self, sha: str, scope: str, rewrite: Rewrite) -> None:
        """Point one reference at ``sha`` in ``scope`` and release its old reference."""
        if self.limit is not None and self.report.references >= self.limit:
            raise Interrupted()
        legacy = await self.records.get(BLOBS, sha)
        if legacy is not None and legacy.get("scope"):
            legacy = None  # not a record of the old shape
        held = await self.records.get(BLOBS, blob_id(scope, sha))
        info = None
        if held is None:
            if legacy is None:
                self.report.problems.append(f"{scope}:{sha}: content missing (no blobs record)")
                return
            info = await self._copy(legacy, scope)
            if info is None:
                return
            await self._copy_derived(sha, scope)
            park("migrate.copied")  # a copy written and verified, its commit not yet made
        try:
            async with self.container.uow() as uow:
                if info is not None:
                    await self.cas.adopt(scope, info, uow)
                else:
                    await self.cas.incref(scope, sha)
                await rewrite(uow)
                if legacy is not None:
                    await self._release_legacy(sha, uow)
        except (StaleVersion, NotFound):
            return  # changed or deleted meanwhile: the next run sees it (counted as remaining)
        self.report.references += 1
        if info is not None:
            self.report.copied += 1
        else:
            self.report.reused += 1

    async def _copy(self, legacy: Record, scope: str) -> Any:
        """The old object's bytes in a fresh key of ``scope``, read back and verified."""
        sha = str(legacy["id"])
        try:
            info = await self.blobs.put(upload_key(scope), self.blobs.get(str(legacy["key"])))
        except NotFound:
            self.report.problems.append(f"{sha}: old object {legacy['key']} is missing")
            return None
        try:
            digest, size = await self._read_back(info.key)
        except (StorageError, KeyDestroyed) as exc:
            digest, size = f"unreadable ({type(exc).__name__})", -1
        if digest != sha or size != int(legacy["size"]) or info.sha256 != sha:
            await self.blobs.delete(info.key)
            self.report.problems.append(f"{sha}: copy into {scope} did not verify ({digest})")
            return None
        return info

    async def _read_back(self, key: str) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        async for chunk in self.blobs.get(key):
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size

    async def _copy_derived(self, sha: str, scope: str) -> None:
        for name in DERIVED_NAMES:
            old = legacy_derived_key(sha, name)
            new = derived_key(scope, sha, name)
            if await self.blobs.stat(old) is None or await self.blobs.stat(new) is not None:
                continue
            try:
                await self.blobs.put(new, self.blobs.get(old))
            except NotFound:
                continue
            self.report.derived += 1

    async def _release_legacy(self, sha: str, uow: UnitOfWork) -> None:
        """One reference less to an old-shape blob; at zero its record goes now and its object
        and derived files after commit."""
        for _ in range(50):
            existing = await self.records.get(BLOBS, sha)
            if existing is None:
                return
            refs = int(existing["refs"]) - 1
            try:
                if refs > 0:
                    await self.records.update(BLOBS, sha, {"refs": refs}, existing["version"])
                    return
                await self.records.delete(BLOBS, sha, existing["version"])
            except StaleVersion:
                continue
            uow.after_commit(self._deleter(str(existing["key"]), count=True))
            for name in DERIVED_NAMES:
                uow.after_commit(self._deleter(legacy_derived_key(sha, name)))
            return
        raise RuntimeError("blob reference kept colliding")

    def _deleter(self, key: str, *, count: bool = False) -> Callable[[], Awaitable[None]]:
        async def delete() -> None:
            await self.blobs.delete(key)
            if count:
                self.report.deleted += 1

        return delete

    # -- other unscoped objects -------------------------------------------------------------

    async def _packages(self) -> None:
        """Generated hand-over packages: the work's collaboration data."""
        from api.handovers.packages import PACKAGES, blob_key

        async for record in self.records.scan(PACKAGES, (Exists("blob_key"),)):
            old = str(record.get("blob_key") or "")
            if not old.startswith(LEGACY_PACKAGES):
                continue
            if self.limit is not None and self.report.references >= self.limit:
                raise Interrupted()
            new = blob_key(record)
            try:
                info = await self.blobs.put(
                    new, self.blobs.get(old), content_type="application/zip"
                )
            except NotFound:
                self.report.problems.append(f"{PACKAGES}/{record['id']}: {old} is missing")
                continue
            if record.get("sha256") and info.sha256 != record["sha256"]:
                # the recorded digest is of the file written; a mismatch keeps the old one
                await self.blobs.delete(new)
                self.report.problems.append(f"{PACKAGES}/{record['id']}: copy did not verify")
                continue
            try:
                await self.records.update(
                    PACKAGES, str(record["id"]), {"blob_key": new}, record["version"]
                )
            except StaleVersion:
                await self.blobs.delete(new)
                continue
            await self.blobs.delete(old)
            self.report.references += 1
            self.report.packages += 1

    async def _caches(self) -> None:
        """Rendered billing PDFs: rendered again, in the reader's scope, on the next read."""
        keys = [info.key async for info in self.blobs.list(LEGACY_BILLING)]
        for key in keys:
            await self.blobs.delete(key)
            self.report.caches += 1

    async def _derived_leftovers(self) -> None:
        """Old derived files whose content has no old-shape record any more (a run killed
        between a commit and its deletions)."""
        batch: list[str] = []
        async for info in self.blobs.list(LEGACY_DERIVED):
            batch.append(info.key)
        shas = sorted({key.split("/")[2] for key in batch if key.count("/") >= 3})
        for start in range(0, len(shas), 500):
            chunk = shas[start : start + 500]
            alive = {
                str(r["id"])
                for r in await self.records.get_many(BLOBS, chunk)
                if not r.get("scope")
            }
            for key in batch:
                parts = key.split("/")
                if len(parts) >= 4 and parts[2] in chunk and parts[2] not in alive:
                    await self.blobs.delete(key)
