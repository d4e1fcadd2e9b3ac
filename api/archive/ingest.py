"""The ingest pipeline of one file: detect, extract, thumbnail, index (issue 3 item 3).

State on the node (``ingest.state``): ``queued`` (set by ``NodeService.add_file``) ->
``processing`` -> ``done`` or ``failed`` with a Japanese ``reason``. Bad content is never a
failure: a broken or encrypted PDF, a truncated image, binary data labelled ``.txt`` or an
empty file end ``done`` with flags in ``extract`` and a ``note``. ``failed`` means the pipeline
itself could not finish (content missing, an unexpected error); ``POST .../reingest`` retries.
A backend that is down raises ``BackendUnavailable`` so the Celery task retries.

Derived artefacts are keyed by content within its scope: ``s/<scope>/derived/<sha>/text.json``
(the sniffed type, the extraction result and the pages; written only when there is text) and
``.../thumb.jpg``, sealed and erased with the scope. A file whose content was extracted before
in its scope (a duplicate, a re-import) reuses the result of a file node of the scope holding
the same content, or ``text.json``.

Indexing: the result and an ``index_pending`` mark are written in one transaction; then
``indexing.maybe_flush`` indexes pending files, so a burst of ingests shares index commits
(one commit costs more than extracting a typical file on the embedded index).

Idempotent: a node already ``done`` for its current content is skipped unless forced.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

from api.archive.cas import ContentStore
from api.archive.indexing import (
    load_pages,
    mark_pending,
    maybe_flush,
)
from api.archive.models import (
    NODES,
    IngestState,
    NodeKind,
    content_scope,
    derived_key,
)
from api.container import Container
from api.kit.clock import to_iso
from indexer.extract import Extraction, Limits, choose, run
from indexer.extract.mime import HEAD_BYTES, Detected, classify, detect
from storage.errors import BackendUnavailable, NotFound, StaleVersion
from storage.query import Eq, Query, Record

log = logging.getLogger("kura.ingest")

TEXT_JSON = "text.json"
THUMB = "thumb.jpg"
DERIVED_VERSION = 1
# Content is spooled to disk past this size; PDFs larger than MAX_PDF_BYTES are not parsed.
SPOOL_BYTES = 16 << 20
MAX_PDF_BYTES = 512 << 20
_UPDATE_TRIES = 5


@dataclass
class Outcome:
    """What one run found, before it is written to the node."""

    state: IngestState
    mime: str = ""
    detected: Detected | None = None
    extraction: Extraction = field(default_factory=Extraction)
    pages: list[str] = field(default_factory=list)
    reason: str | None = None


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


class IngestService:
    def __init__(self, container: Container, limits: Limits | None = None) -> None:
        self.container = container
        self.records = container.records
        self.blobs = container.blobs
        self.limits = limits or Limits()

    def _now(self) -> str:
        return to_iso(self.container.clock.now())

    # the pipeline ------------------------------------------------------------------------
    async def ingest(self, node_id: str, *, force: bool = False) -> str:
        """Run the pipeline for one file node; returns the final state or ``"skipped"``.

        ``force`` re-extracts even when derived artefacts exist (``reingest``)."""
        node = await self.records.get(NODES, node_id)
        if node is None or node.get("kind") != NodeKind.FILE or not node.get("sha256"):
            return "skipped"
        ingest = node.get("ingest") or {}
        if (
            not force
            and ingest.get("state") == IngestState.DONE
            and ingest.get("sha256") == node["sha256"]
        ):
            return "skipped"
        node = await self.mark(node, IngestState.PROCESSING)
        if node is None:
            return "skipped"
        try:
            outcome = await self.extract(node, force=force)
        except BackendUnavailable:
            raise
        except NotFound:
            outcome = Outcome(IngestState.FAILED, reason="ファイルの内容が見つかりません。")
        except Exception as exc:
            log.exception("ingest of node %s failed", node_id)
            outcome = Outcome(
                IngestState.FAILED,
                reason=f"取り込み中にエラーが発生しました（{type(exc).__name__}）。",
            )
        await self.finish(node, outcome)
        return outcome.state.value

    async def mark(
        self, node: Record, state: IngestState, reason: str | None = None
    ) -> Record | None:
        """Set ``ingest.state`` (keeping the other ingest fields); None if the node is gone."""
        for _ in range(_UPDATE_TRIES):
            ingest = {**(node.get("ingest") or {}), "state": state.value, "reason": reason}
            if state == IngestState.PROCESSING:
                ingest["started_at"] = self._now()
                ingest["attempts"] = int(ingest.get("attempts") or 0) + 1
            try:
                return await self.records.update(
                    NODES, str(node["id"]), {"ingest": ingest}, int(node["version"])
                )
            except StaleVersion:
                fresh = await self.records.get(NODES, str(node["id"]))
                if fresh is None:
                    return None
                node = fresh
            except NotFound:
                return None
        raise StaleVersion(NODES, str(node["id"]), int(node["version"]), None)

    async def extract(self, node: Record, *, force: bool = False) -> Outcome:
        """Detect, extract and thumbnail the node's content, reusing derived artefacts."""
        sha = str(node["sha256"])
        scope = content_scope(node)
        if not force:
            reused = await self._reuse(scope, sha, str(node["name"]))
            if reused is not None:
                return reused
        cas = ContentStore(self.records, self.blobs, self.container.clock)
        blob = await cas.lookup(scope, sha)
        if blob is None:
            raise NotFound(f"blob {scope}:{sha}")
        key = str(blob["key"])
        head = await self._read(key, 0, HEAD_BYTES)
        detected = detect(head, str(node["name"]))
        extractor = choose(detected)
        extraction = Extraction()
        size = int(blob.get("size") or node.get("size") or 0)
        if size == 0:
            extraction.notes.append("空のファイルです（0バイト）。")
        elif extractor is not None and detected.family == "pdf" and size > MAX_PDF_BYTES:
            extraction.notes.append("PDFが大きすぎるため、本文を抽出しませんでした。")
        elif extractor is not None:
            end = self.limits.text_bytes + 1 if extractor.name == "text" else None
            with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as spool:
                async for chunk in self.blobs.get(key, 0, end):
                    spool.write(chunk)
                spool.seek(0)
                extraction = run(extractor, cast(BinaryIO, spool), detected, self.limits)
        outcome = Outcome(
            IngestState.DONE, detected.mime, detected, extraction, list(extraction.pages)
        )
        await self._store(scope, sha, outcome)
        return outcome

    async def finish(self, node: Record, outcome: Outcome) -> Record | None:
        """Write the outcome on the node and mark it for indexing in one transaction, then
        index (``maybe_flush`` lets a burst of files share one index commit). A node whose
        content changed meanwhile is left alone (its own ingest job is queued)."""
        sha = node.get("sha256")
        for _ in range(_UPDATE_TRIES):
            changes = self._changes(node, outcome)
            async with self.container.uow():
                try:
                    updated = await self.records.update(
                        NODES, str(node["id"]), changes, int(node["version"])
                    )
                except StaleVersion:
                    updated = None
                except NotFound:
                    return None
                if updated is not None:
                    await mark_pending(self.records, updated, self._now())
            if updated is not None:
                await maybe_flush(self.container, str(node["work_id"]))
                return updated
            fresh = await self.records.get(NODES, str(node["id"]))
            if fresh is None or fresh.get("sha256") != sha:
                return None
            node = fresh
        raise StaleVersion(NODES, str(node["id"]), int(node["version"]), None)

    # steps -------------------------------------------------------------------------------
    def _changes(self, node: Record, outcome: Outcome) -> Record:
        extraction = outcome.extraction
        notes = list(extraction.notes)
        detected = outcome.detected
        if detected is not None and detected.mismatch:
            notes.insert(0, detected.message)
        ingest = {
            **(node.get("ingest") or {}),
            "state": outcome.state.value,
            "reason": outcome.reason,
            "note": " ".join(notes) or None,
            "sha256": node["sha256"] if outcome.state == IngestState.DONE else None,
            "finished_at": self._now(),
        }
        changes: Record = {"ingest": ingest}
        if detected is not None:
            changes["content_type"] = detected.mime
            changes["file_type"] = detected.file_type
            changes["type_mismatch"] = (
                {
                    "declared": detected.extension,
                    "detected": detected.mime,
                    "message": detected.message,
                }
                if detected.mismatch
                else None
            )
            changes["extract"] = {**extraction.as_dict(), "text": bool(outcome.pages)}
        return changes

    async def _read(self, key: str, start: int, end: int | None) -> bytes:
        parts = [chunk async for chunk in self.blobs.get(key, start, end)]
        return b"".join(parts)

    async def _reuse(self, scope: str, sha: str, name: str) -> Outcome | None:
        """The outcome of an earlier extraction of the same content in ``scope``: from another
        file node of the scope holding it (no blob read unless it has text), else from
        ``text.json``."""
        page = await self.records.find(NODES, Query(where=(Eq("sha256", sha),), limit=20))
        for other in page.items:
            ingest = other.get("ingest") or {}
            if (
                content_scope(other) == scope
                and ingest.get("state") == IngestState.DONE
                and ingest.get("sha256") == sha
                and isinstance(other.get("extract"), dict)
                and other.get("content_type")
            ):
                fields = dict(other["extract"])
                pages: list[str] = []
                if fields.get("text"):
                    loaded = await load_pages(self.blobs, scope, sha)
                    if loaded is None:
                        continue
                    pages = loaded
                return self._outcome(str(other["content_type"]), name, fields, pages)
        try:
            raw = await self._read(derived_key(scope, sha, TEXT_JSON), 0, None)
        except NotFound:
            return None
        try:
            data = json.loads(raw)
            if data.get("v") != DERIVED_VERSION:
                return None
            fields = dict(data["extraction"])
            pages = [str(p) for p in data.get("pages") or []]
            return self._outcome(str(data["mime"]), name, fields, pages)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    @staticmethod
    def _outcome(mime: str, name: str, fields: dict[str, Any], pages: list[str]) -> Outcome:
        has_thumb = bool(fields.pop("thumbnail", False))
        known = set(Extraction.__dataclass_fields__) - {"pages", "thumbnail"}
        extraction = Extraction(**{k: v for k, v in fields.items() if k in known})
        extraction.pages = pages
        if has_thumb:
            extraction.thumbnail = b""  # marks "exists"; the bytes stay in the blob store
        return Outcome(IngestState.DONE, mime, classify(mime, name), extraction, pages)

    async def _store(self, scope: str, sha: str, outcome: Outcome) -> None:
        """Write the derived artefacts. ``text.json`` only when there is text: other results
        are reused from the file nodes themselves (a durable put costs ~10 ms locally)."""
        extraction = outcome.extraction
        if extraction.thumbnail:
            await self.blobs.put(
                derived_key(scope, sha, THUMB),
                _one(extraction.thumbnail),
                content_type="image/jpeg",
            )
        if not outcome.pages:
            return
        data = {
            "v": DERIVED_VERSION,
            "mime": outcome.mime,
            "extraction": extraction.as_dict(),
            "pages": outcome.pages,
        }
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        await self.blobs.put(
            derived_key(scope, sha, TEXT_JSON), _one(body), content_type="application/json"
        )

    # reading -----------------------------------------------------------------------------
    async def pages(self, node: Record) -> list[str] | None:
        """The extracted pages of a file node (None if not extracted)."""
        sha = node.get("sha256")
        return await load_pages(self.blobs, content_scope(node), str(sha)) if sha else None
