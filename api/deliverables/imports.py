"""The ``imports`` record: one per import (an uploaded ZIP unpacked by the worker, or
``kura import``), so its state and the reason of a refusal are visible through the API and
the UI, not only in a worker log (issue 7 item 15).

States: ``queued`` (an uploaded ZIP waits for the worker; the record is written in the unit
of work that completes the upload, so a client can follow it at once) → ``running`` →
``done``, ``rejected`` (the input was refused: path traversal, bomb, not a ZIP, a name
conflict under ``on_conflict=error``, a ZIP entry lying about its size; whatever it had
added is undone), ``failed`` (stopped by an error of the system; everything it added was
undone) or ``interrupted`` (Ctrl-C / task cancel: committed batches stay, a re-run
continues). The ``reason`` is Japanese text for people; ``findings`` the machine-readable
details.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.container import Container
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.permissions.policy import Subject
from storage.errors import StaleVersion
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, Page, Query, Record

IMPORTS = "imports"
IMPORT_INDEXES = [
    IndexSpec((("work_id", 1), ("started_at", 1))),
    IndexSpec((("work_id", 1), ("queued_at", 1))),
    IndexSpec((("upload_id", 1),)),
]
STATES = ("queued", "running", "done", "rejected", "failed", "interrupted")
FINAL_STATES = frozenset({"done", "rejected", "failed", "interrupted"})
MAX_FINDINGS = 200
INTERRUPTED_REASON = (
    "取り込みが中断されました。取り込み済みの分は保存されています。"
    "もう一度実行すると続きから取り込みます。"
)
_RETRIES = 10
Actor = Subject | str | None


async def ensure_indexes(records: RecordStore) -> None:
    await records.ensure_indexes(IMPORTS, IMPORT_INDEXES)


def actor_id(actor: Actor) -> str | None:
    return actor.user_id if isinstance(actor, Subject) else actor


def new_record(
    container: Container,
    work_id: str,
    actor: Actor,
    *,
    state: str,
    source: str,
    source_name: str = "",
    source_node_id: str | None = None,
    upload_id: str | None = None,
    target: str | None = None,
    import_id: str | None = None,
) -> Record:
    """A fresh ``imports`` record (not stored). ``source`` is ``nodes/<id>`` for an uploaded
    ZIP or ``cli:<name>`` for ``kura import``; ``source_name`` what people recognise."""
    now = to_iso(container.clock.now())
    return {
        "id": import_id or new_id(),
        "work_id": work_id,
        "state": state,
        "reason": None,
        "source": source,
        "source_name": source_name,
        "source_node_id": source_node_id,
        "upload_id": upload_id,
        "actor": actor_id(actor),
        "target": target,
        "files": None,
        "created": 0,
        "replaced": 0,
        "skipped": 0,
        "folders": 0,
        "bytes": 0,
        "seconds": 0.0,
        "findings": [],
        "package": None,
        "queued_at": now,
        "started_at": now,
        "finished_at": None,
        "updated_at": now,
    }


async def queue_zip(
    container: Container,
    work_id: str,
    node: Record,
    actor: Actor,
    upload_id: str | None = None,
) -> Record:
    """Record an uploaded ZIP waiting to be unpacked (call inside the upload's unit of work,
    beside ``uow.enqueue("deliverables.import_zip", node_id=..., import_id=...)``)."""
    record = new_record(
        container,
        work_id,
        actor,
        state="queued",
        source=f"nodes/{node['id']}",
        source_name=str(node.get("path") or node.get("name") or ""),
        source_node_id=str(node["id"]),
        upload_id=upload_id,
    )
    return await container.records.insert(IMPORTS, record)


async def save(records: RecordStore, import_id: str, changes: dict[str, Any]) -> Record | None:
    """Set fields of an import record (retried on a concurrent write); None if it is gone."""
    for _ in range(_RETRIES):
        current = await records.get(IMPORTS, import_id)
        if current is None:
            return None
        try:
            return await records.update(IMPORTS, import_id, changes, int(current["version"]))
        except StaleVersion:
            continue
    raise RuntimeError("import record kept changing")


async def close_abandoned(records: RecordStore, source: str, keep: str | None) -> int:
    """Mark ``interrupted`` the runs of ``source`` still ``running`` whose process died (a
    kill -9 or a lost worker: the job that owns the source is being run again, so no other
    run of it is alive). ``keep`` is the record the new run continues, if any. Their
    committed batches stay; the new run skips them."""
    query = Query(where=(Eq("source", source), Eq("state", "running")), limit=100)
    closed = 0
    for record in (await records.find(IMPORTS, query)).items:
        if str(record["id"]) == keep:
            continue
        changes = {"state": "interrupted", "reason": INTERRUPTED_REASON}
        if await save(records, str(record["id"]), changes) is not None:
            closed += 1
    return closed


def findings_of(findings: Sequence[Any]) -> list[dict[str, str]]:
    """Findings (``unpack.Finding`` or dicts) as JSON, capped at ``MAX_FINDINGS``."""
    out: list[dict[str, str]] = []
    for f in findings[:MAX_FINDINGS]:
        out.append(f if isinstance(f, dict) else f.to_dict())
    return out


def package_summary(record: Record | None) -> dict[str, Any] | None:
    """What an import keeps of its 電子納品 check: the ``deliverables`` record id and counts."""
    if record is None:
        return None
    report = record.get("report") or {}
    return {
        "deliverable_id": record.get("id"),
        "root_node_id": record.get("root_node_id"),
        "profile": report.get("profile"),
        "counts": report.get("counts") or {"E": 0, "W": 0, "N": 0},
    }


def package_reason(summary: dict[str, Any] | None) -> str | None:
    """The reason shown for a finished import whose 電子納品 check found errors."""
    if summary is None:
        return None
    errors = int((summary.get("counts") or {}).get("E", 0))
    if errors:
        return f"取り込みは完了しましたが、電子納品チェックでエラーが{errors}件見つかりました。"
    return None


async def list_for_work(
    records: RecordStore,
    work_id: str,
    *,
    upload_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """A work's imports, newest first (keyset pages)."""
    where: tuple[Any, ...] = (Eq("work_id", work_id),)
    if upload_id is not None:
        where += (Eq("upload_id", upload_id),)
    query = Query(where=where, sort=(("queued_at", -1),), limit=limit, cursor=cursor)
    return await records.find(IMPORTS, query)


def to_read(record: Record, names: dict[str, str], *, findings: bool) -> dict[str, Any]:
    """The API shape of an import: state, reason, counts, source, the 電子納品 check, who."""
    items = list(record.get("findings") or [])
    by_severity = {s: sum(1 for f in items if f.get("severity") == s) for s in "EWN"}
    actor = record.get("actor")
    source = str(record.get("source") or "")
    body: dict[str, Any] = {
        "id": record["id"],
        "work_id": record["work_id"],
        "state": record.get("state"),
        "reason": record.get("reason"),
        "source": {
            "kind": "upload" if source.startswith("nodes/") else "cli",
            "name": record.get("source_name") or source.partition(":")[2] or source,
            "node_id": record.get("source_node_id"),
            "upload_id": record.get("upload_id"),
        },
        "target": record.get("target"),
        "counts": {
            "files": record.get("files"),
            "created": int(record.get("created") or 0),
            "replaced": int(record.get("replaced") or 0),
            "skipped": int(record.get("skipped") or 0),
            "folders": int(record.get("folders") or 0),
            "bytes": int(record.get("bytes") or 0),
        },
        "findings_count": by_severity,
        "package": record.get("package"),
        "source_file": (
            {k: record["source_file"].get(k) for k in ("name", "size", "path")}
            if isinstance(record.get("source_file"), dict)
            else None
        ),
        "actor": {"id": actor, "name": names.get(str(actor)) if actor else None},
        "queued_at": record.get("queued_at") or record.get("started_at"),
        "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"),
        "seconds": record.get("seconds"),
    }
    if findings:
        body["findings"] = items
    return body


async def actor_names(records: RecordStore, rows: Sequence[Record]) -> dict[str, str]:
    """Display names of the people behind ``rows`` (system actors keep no name)."""
    ids = sorted({str(r["actor"]) for r in rows if r.get("actor")})
    users = await records.get_many("users", ids) if ids else []
    return {str(u["id"]): str(u.get("name") or u.get("login_id") or "") for u in users}
