"""Unpack an uploaded ZIP node (the ``deliverables.import_zip`` task) and check the 電子納品
package it holds. Every outcome lands on the import's ``imports`` record (queued by the upload
that carried the ZIP): ``rejected`` with the reason when the ZIP is refused at unpacking
(path traversal, bomb, not a ZIP), ``failed`` when the import stopped and was undone, ``done``
with the package check's counts otherwise (issue 7 item 15).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Sequence
from typing import Any

from api.archive.models import NODES, NodeKind, content_scope, join_path, split_path
from api.archive.nodes import NodeService, OnConflict
from api.container import Container
from api.deliverables import imports
from api.deliverables.intake import ImportFailed, ImportService
from api.deliverables.sources import keep_source, source_file
from api.deliverables.unpack import Finding, Limits, Plan, UnpackError, open_zip, scan_zip
from api.errors import NotFoundError
from api.kit.clock import to_iso
from storage.errors import BackendUnavailable
from storage.query import Record

log = logging.getLogger("kura.deliverables")

RETRY_REASON = "保存先に接続できないため、しばらくしてから自動的に再試行します。"


async def analyse_package(container: Container, work_id: str, root_node_id: str) -> Record:
    """The 電子納品 check of the package at ``root_node_id`` (``package.analyse``)."""
    from api.deliverables.package import analyse

    return await analyse(container, work_id, root_node_id)


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


async def check_package(
    container: Container, import_id: str, work_id: str, target: str, plan: Plan
) -> Record | None:
    """Run the 電子納品 check when the import brought a package root, and keep its counts on
    the import's record (a finished import whose check found errors says so in its
    reason). Returns the ``deliverables`` record, or None when there was no package."""
    root_id = await package_root_id(container, work_id, target, plan)
    if root_id is None:
        return None
    try:
        deliverable = await analyse_package(container, work_id, root_id)
    except BackendUnavailable:
        raise
    except Exception as exc:
        log.exception("電子納品 check of import %s failed", import_id)
        failure = f"電子納品チェックを実行できませんでした（{type(exc).__name__}）。"
        await imports.save(
            container.records, import_id, {"package": {"error": failure}, "reason": failure}
        )
        return None
    summary = imports.package_summary(deliverable)
    changes: dict[str, Any] = {"package": summary}
    reason = imports.package_reason(summary)
    if reason is not None:
        changes["reason"] = reason
    await imports.save(container.records, import_id, changes)
    return deliverable


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
    import_id: str | None = None,
    last_attempt: bool = True,
) -> dict[str, Any]:
    """Unpack the uploaded ZIP file node ``node_id`` into its folder, then run the 電子納品
    check on the package root if one is found. The ZIP node itself is never changed.
    ``import_id`` is the record the upload queued (a new one is written without it).

    Returns a JSON-able report; bad input gives ``state`` "rejected" or "failed" with
    findings (nothing stored), not an exception. An unavailable backend raises
    ``BackendUnavailable`` for the task to retry (the record says so, back to ``queued``),
    unless ``last_attempt``: then the import is ``failed``."""
    records = container.records
    node = await records.get(NODES, node_id)
    if node is None and import_id is not None:
        # run again after it finished (a task delivered twice): its ZIP moved to the record
        done = await records.get(imports.IMPORTS, import_id)
        if done is not None and source_file(done) is not None:
            return {"state": done.get("state"), "import_id": import_id, "repeated": True}
    work = await records.get("works", str(node["work_id"])) if node is not None else None
    if node is None or node["kind"] != NodeKind.FILE or not node.get("sha256") or work is None:
        reason = (
            "案件が見つかりません。"
            if node is not None and work is None
            else "ZIPファイルが見つかりません（取り込みの前に削除されました）。"
        )
        if import_id is not None and await _finish(container, import_id, "failed", reason):
            return {"state": "failed", "import_id": import_id, "detail": reason, "findings": []}
        raise NotFoundError(reason)
    actor = str(node.get("created_by") or "system:deliverables")
    source = f"{NODES}/{node_id}"
    named: dict[str, Any] = {"source": source, "source_name": str(node["path"])}
    svc = ImportService(container)
    await imports.close_abandoned(records, source, import_id)
    try:
        blob = await svc.nodes.cas.get(content_scope(node), str(node["sha256"]))
        container.settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=container.settings.data_dir) as spool:
            async for chunk in svc.nodes.cas.open(blob):
                await asyncio.to_thread(spool.write, chunk)
            try:
                with open_zip(spool, limits or Limits()) as zf:
                    plan = scan_zip(zf, limits or Limits())
                    target = zip_target(node, plan)
                    result = await svc.run(
                        actor,
                        work,
                        target,
                        plan,
                        on_conflict=on_conflict,
                        import_id=import_id,
                        **named,
                    )
            except UnpackError as exc:
                log.info("ZIP %s refused: %s", node_id, exc.detail)
                rid = await svc.reject(actor, work, exc, import_id=import_id, **named)
                await keep_source(container, rid, node_id)
                return _refusal("rejected", rid, exc.detail, exc.findings)
            except ImportFailed as exc:
                if isinstance(exc.__cause__, BackendUnavailable) and not last_attempt:
                    retry = {"state": "queued", "reason": RETRY_REASON}
                    await imports.save(records, exc.import_id, retry)
                    raise exc.__cause__ from None
                return _refusal(exc.state, exc.import_id, exc.detail, exc.findings)
        report = result.to_dict()
        deliverable = await check_package(
            container, result.import_id, str(work["id"]), target, plan
        )
        # the ZIP is the import's source, not a document beside its folder (issue 8 §2)
        report["source_kept"] = await keep_source(container, result.import_id, node_id)
    except BackendUnavailable as exc:
        if import_id is not None:
            if last_attempt:
                await _finish(container, import_id, "failed", f"保存先に接続できません（{exc}）。")
            else:
                await imports.save(records, import_id, {"state": "queued", "reason": RETRY_REASON})
        raise
    if deliverable is not None:
        report["package_root_id"] = deliverable["root_node_id"]
        report["package"] = imports.package_summary(deliverable)
        report["analysed"] = True
    else:
        log.info("ZIP %s holds no INDEX_C.XML / INDEX_D.XML: no 電子納品 check", node_id)
    return report


async def _finish(container: Container, import_id: str, state: str, reason: str) -> bool:
    now = to_iso(container.clock.now())
    changes = {"state": state, "reason": reason, "finished_at": now, "updated_at": now}
    return await imports.save(container.records, import_id, changes) is not None


def _refusal(
    state: str, import_id: str, detail: str, findings: Sequence[Finding]
) -> dict[str, Any]:
    return {
        "state": state,
        "import_id": import_id,
        "detail": detail,
        "findings": imports.findings_of(findings),
    }
