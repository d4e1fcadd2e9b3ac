"""The personal-data warning (seed 001 §3-2): a file's text is searched for personal
identifiers (``api.privacy.detect``) before the file is sent (an attachment of a post or a
proposal, still staged) or right after it was registered in a folder; a finding is a warning,
recorded with who was warned, when and what kinds were found (values masked), and the user's
answer (removed, or kept with a reason) is recorded too.

Checks are ``privacy_checks`` records, one per file and content (``<kind>:<id>``): a later
check of the same content answers from the record. Text comes from the shared ingest (PDF
pages, plain text); Excel and Word files are read here (the same readers as the proposals'
bundles). Before ingest has run the answer is ``pending``; the page asks again.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from api.archive.cas import ContentStore
from api.archive.ingest import IngestService
from api.archive.models import NODES, IngestState, NodeKind, content_scope
from api.archive.nodes import NodeService
from api.attachments.service import ATTACHMENTS, AttachmentService
from api.audit.service import AuditLog
from api.container import Container
from api.errors import Conflict, Forbidden, NotFoundError, ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import is_id
from api.permissions.policy import Subject
from api.privacy.detect import Finding, scan_pages
from storage.errors import StaleVersion
from storage.ports import IndexSpec
from storage.query import Record

CHECKS = "privacy_checks"
CHECK_INDEXES = [IndexSpec((("work_id", 1), ("state", 1), ("checked_at", 1)))]
MAX_OFFICE_BYTES = 50 << 20
TargetKind = Literal["attachment", "file"]


class CheckService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.audit = AuditLog(container.records, container.clock)

    async def _target(
        self, subject: Subject | None, kind: TargetKind, target_id: str
    ) -> tuple[Record, str, str | None]:
        """The file record, its collection and its work (checked: who may read it)."""
        if kind == "attachment":
            record = await AttachmentService(self.container).readable(subject, target_id)
            return record, ATTACHMENTS, record.get("work_id")
        located = await NodeService(self.container).node(subject, target_id, "files.read")
        if located.node is None or located.node["kind"] != NodeKind.FILE:
            raise NotFoundError("ファイルが見つかりません。")
        return located.node, NODES, str(located.work["id"])

    async def check(self, subject: Subject | None, kind: TargetKind, target_id: str) -> Record:
        """The warning for one file: ``pending`` until its text is extracted, then ``clear``
        or ``warning`` with the findings. A first warning is recorded and audited."""
        record, collection, work_id = await self._target(subject, kind, target_id)
        assert subject is not None
        check_id = f"{kind}:{record['id']}"
        existing = await self.records.get(CHECKS, check_id)
        if existing is not None and existing.get("sha256") == record.get("sha256"):
            return existing
        state = (record.get("ingest") or {}).get("state")
        if state in (IngestState.QUEUED.value, IngestState.PROCESSING.value, None):
            return {"id": check_id, "state": "pending", "findings": [], "count": 0}
        findings = await self._scan(record)
        now = to_iso(self.container.clock.now())
        body: Record = {
            "target": f"{collection}/{record['id']}",
            "kind": kind,
            "work_id": work_id,
            "sha256": record.get("sha256"),
            "name": record.get("name"),
            "state": "warning" if findings else "clear",
            "findings": [f.to_dict() for f in findings],
            "count": len(findings),
            "kinds": sorted({f.kind for f in findings}),
            "checked_at": now,
            "checked_by": subject.user_id,
            "decision": None,
        }
        async with self.container.uow():
            if existing is None:
                stored = await self.records.insert(CHECKS, {"id": check_id, **body})
            else:
                stored = await self.records.update(CHECKS, check_id, body, existing["version"])
            if findings:
                await self.audit.record(
                    subject,
                    "privacy.warned",
                    f"{collection}/{record['id']}",
                    after={"kinds": body["kinds"], "count": len(findings)},
                    detail={"work_id": work_id, "name": record.get("name")},
                )
        if collection == NODES:
            await self._mark_node(str(record["id"]), stored)
        return stored

    async def _scan(self, record: Record) -> list[Finding]:
        pages = await IngestService(self.container).pages(record)
        if pages:
            return scan_pages(pages)
        from api.proposals.convert import NotConvertible, docx_document, kind_of, xlsx_document

        kind = kind_of(str(record.get("name") or ""), str(record.get("content_type") or ""))
        if kind not in ("xlsx", "docx") or int(record.get("size") or 0) > MAX_OFFICE_BYTES:
            return []
        cas = ContentStore(self.records, self.container.blobs, self.container.clock)
        blob = await cas.get(content_scope(record), str(record["sha256"]))
        data = b"".join([c async for c in cas.open(blob)])
        try:
            if kind == "xlsx":
                doc = await asyncio.to_thread(xlsx_document, data, "")
                texts = ["\n".join(" ".join(r) for r in s["rows"]) for s in doc["sheets"]]
            else:
                doc = await asyncio.to_thread(docx_document, data, "")
                texts = ["\n".join(_block_text(b) for b in doc["blocks"])]
        except NotConvertible:
            return []
        return scan_pages(texts)

    async def _mark_node(self, node_id: str, check: Record) -> None:
        """Keep the warning on the document, so the list shows it (best effort)."""
        mark = {
            "count": check.get("count", 0),
            "kinds": check.get("kinds", []),
            "state": check.get("state"),
            "decision": (check.get("decision") or {}).get("action"),
        }
        for _ in range(5):
            node = await self.records.get(NODES, node_id)
            if node is None:
                return
            meta = dict(node.get("meta") or {})
            if not check.get("count"):
                if "personal_data" not in meta:
                    return
                meta.pop("personal_data")
            else:
                meta["personal_data"] = mark
            try:
                await self.records.update(NODES, node_id, {"meta": meta}, node["version"])
                return
            except StaleVersion:
                continue

    async def decide(
        self, subject: Subject | None, check_id: str, action: str, reason: str | None
    ) -> Record:
        """Record what the warned user did: ``removed`` the file (it is deleted here, in the
        same step: a document with ``files.delete``, a staged attachment by its uploader) or
        ``kept`` it (a reason is required then: §3-2 says such documents must not be handled
        in the system)."""
        kind, _, target_id = check_id.partition(":")
        if kind not in ("attachment", "file") or not is_id(target_id):
            raise NotFoundError()
        record, collection, _ = await self._target(subject, kind, target_id)  # type: ignore[arg-type]
        assert subject is not None
        check = await self.records.get(CHECKS, check_id)
        if check is None or check.get("state") != "warning":
            raise Conflict("警告の出ていないファイルです。")
        if action == "kept" and not (reason or "").strip():
            raise ValidationFailed("残す理由を入力してください。", field="reason")
        nodes = NodeService(self.container)
        if kind == "file":
            await nodes.node(
                subject, target_id, "files.write" if action == "kept" else "files.delete"
            )
        elif record.get("owner_id") != subject.user_id:
            raise Forbidden("添付した本人だけが回答できます。")
        if kind == "attachment" and action == "removed" and record.get("state") != "staged":
            raise Conflict("送信済みの添付ファイルは、元の記事・発議書類から外してください。")
        decision = {
            "action": action,
            "reason": (reason or "").strip() or None,
            "by": subject.user_id,
            "at": to_iso(self.container.clock.now()),
        }
        async with self.container.uow() as uow:
            stored = await self.records.update(
                CHECKS, check_id, {"decision": decision}, check["version"]
            )
            await self.audit.record(
                subject,
                "privacy.acknowledged",
                f"{collection}/{target_id}",
                after=decision,
                detail={"check": check_id, "kinds": check.get("kinds")},
            )
            if action == "removed" and kind == "file":
                node = await self.records.get(NODES, target_id)
                if node is not None:
                    await nodes.delete(subject, target_id, int(node["version"]))
            elif action == "removed":
                await AttachmentService(self.container).release(uow, record)
        if kind == "file" and action == "kept":
            await self._mark_node(target_id, stored)
        return stored


def _block_text(block: dict[str, Any]) -> str:
    if block.get("kind") == "table":
        return "\n".join(" ".join(row) for row in block.get("rows") or [])
    if block.get("kind") == "heading":
        return str(block.get("text") or "")
    return "".join(str(r[0]) for r in block.get("runs") or [])
