"""The 電子納品 check record of a work (issue 8 §2): the result of every package check kept on
the work for both sides to read, each finding with its rule's name and the file it is about,
the orderer's 受領確認 (received and checked), and the latest result a move to the archive
looks at.

The checks themselves are the ``deliverables`` records ``api.deliverables.package.analyse``
writes (one per upload or re-check, so the list is the history per upload); this module only
reads them and adds the receipt. Receiving is the orderer's act: 工事監督員 / 検査員 of the work,
or the orderer's ``works.manage`` holders (``api.deliverables.permissions``).
"""

from __future__ import annotations

from typing import Any

from api.audit.service import AuditLog
from api.container import Container
from api.deliverables.package import DELIVERABLES, list_for_work, package_nodes
from api.errors import Conflict, NotFoundError, StaleVersionError
from api.kit.clock import to_iso
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from indexer.extract.deliverable.rules import RULE_TITLES
from storage.errors import StaleVersion
from storage.ports import RecordStore
from storage.query import Eq, Query, Record

# §2.2 rule names (deliverables-and-bonds.md): a report says 「規則11 使用文字」, not only the
# number. Findings written by the validator carry their own ``title``; the validator's table
# names the rules of findings stored before they did.
SEVERITY_NAMES = {"E": "エラー", "W": "警告", "N": "通知"}
PROFILE_NAMES = {"mlit": "国土交通省（標準）", "maff": "農林水産省（厳格）"}
_RETRIES = 5


def rule_title(finding: dict[str, Any]) -> str:
    """The finding's rule name: its own ``title``, else the §2.2 table's."""
    own = finding.get("title")
    if isinstance(own, str) and own:
        return own
    try:
        return RULE_TITLES.get(int(finding.get("rule") or 0), "")
    except (TypeError, ValueError):
        return ""


def counts_of(record: Record) -> dict[str, int]:
    counts = (record.get("report") or {}).get("counts") or {}
    return {s: int(counts.get(s, 0) or 0) for s in "EWN"}


async def root_path(records: RecordStore, record: Record) -> str:
    """The package folder's path in the work ("" for the work's root)."""
    root = str(record.get("root_node_id") or "")
    if not root or root == record.get("work_id"):
        return ""
    node = await records.get("nodes", root)
    return str(node["path"]) if node is not None else ""


def receipt_of(record: Record) -> dict[str, Any] | None:
    receipt = record.get("receipt")
    return dict(receipt) if isinstance(receipt, dict) else None


async def summary(records: RecordStore, record: Record) -> dict[str, Any]:
    """One line of a work's check history."""
    report = record.get("report") or {}
    return {
        "id": record["id"],
        "work_id": record["work_id"],
        "root_node_id": record["root_node_id"],
        "root_path": await root_path(records, record),
        "index_kind": record.get("index_kind"),
        "standard": record.get("standard"),
        "applied_standard": record.get("applied_standard"),
        "dtd_version": record.get("dtd_version"),
        "profile": report.get("profile"),
        "counts": counts_of(record),
        "created_at": record.get("created_at"),
        "receipt": receipt_of(record),
        "version": record.get("version"),
    }


async def latest(records: RecordStore, work_id: str) -> Record | None:
    """The newest check of the work (what a move to the archive looks at)."""
    found = await list_for_work(records, work_id, limit=1)
    return found[0] if found else None


async def with_links(records: RecordStore, record: Record) -> Record:
    """The record with each finding's rule name (``title``) and, where its path is a file of
    the package, the file's node id (``node_id``) to link to."""
    try:
        nodes = await package_nodes(records, str(record["work_id"]), str(record["root_node_id"]))
    except NotFoundError:
        nodes = {}
    report = dict(record.get("report") or {})
    findings = []
    for f in report.get("findings") or []:
        item = dict(f)
        item["title"] = rule_title(item)
        node = nodes.get(str(item.get("path") or ""))
        item["node_id"] = (
            str(node["id"]) if node is not None and node.get("kind") == "file" else None
        )
        findings.append(item)
    report["findings"] = findings
    return {
        **record,
        "report": report,
        "root_path": await root_path(records, record),
        "receipt": receipt_of(record),
    }


async def set_receipt(
    container: Container,
    subject: Subject,
    record: Record,
    receipt: dict[str, Any] | None,
    version: int,
) -> Record:
    """Mark (``receipt``) or withdraw (None) the orderer's 受領確認, audited in the same unit
    of work as ``deliverables.received`` / ``deliverables.receipt_withdrawn``; a stale
    ``version`` answers 409 and changes nothing."""
    records = container.records
    had = receipt_of(record)
    if receipt is not None and had is not None:
        raise Conflict("この検査結果は受領確認済みです。")
    if receipt is None and had is None:
        raise Conflict("この検査結果はまだ受領確認されていません。")
    async with container.uow() as uow:
        try:
            stored = await records.update(
                DELIVERABLES, str(record["id"]), {"receipt": receipt}, version
            )
        except StaleVersion as exc:
            raise StaleVersionError() from exc
        await AuditLog(records, container.clock).record(
            subject,
            "deliverables.received" if receipt is not None else "deliverables.receipt_withdrawn",
            f"{DELIVERABLES}/{record['id']}",
            before={"receipt": had},
            after={"receipt": receipt},
            detail={"work_id": record["work_id"], "counts": counts_of(record)},
        )
        if receipt is not None:
            await _notify_contractors(container, uow, stored, receipt)
    return stored


async def _notify_contractors(
    container: Container, uow: UnitOfWork, record: Record, receipt: dict[str, Any]
) -> None:
    """The contractor's members of the work learn that their package was received."""
    work_id = str(record["work_id"])
    work = await container.records.get("works", work_id) or {}
    members = await container.records.find(
        "work_members",
        Query(where=(Eq("work_id", work_id), Eq("role", "contractor_member")), limit=500),
    )
    recipients = [str(m["user_id"]) for m in members.items]
    package = await root_path(container.records, record) or "最上位フォルダ"
    await container.notifier().notify(
        uow,
        kind="deliverables.received",
        recipients=recipients,
        source=f"{DELIVERABLES}/{record['id']}",
        title=f"電子納品が受領確認されました: {work.get('title', '')}",
        url=f"/works/{work_id}",
        context={
            "work_title": work.get("title", ""),
            "work_number": work.get("number", ""),
            "receiver_name": receipt.get("by_name", ""),
            "package": package,
        },
        work_id=work_id,
    )


async def new_receipt(container: Container, subject: Subject, note: str | None) -> dict[str, Any]:
    user = await container.records.get("users", subject.user_id)
    return {
        "by": subject.user_id,
        "by_name": str((user or {}).get("name") or subject.login_id),
        "at": to_iso(container.clock.now()),
        "note": note or None,
    }


async def history(records: RecordStore, work_id: str, limit: int = 100) -> list[dict[str, Any]]:
    return [await summary(records, r) for r in await list_for_work(records, work_id, limit)]


async def load_for(container: Container, deliverable_id: str) -> Record:
    from api.kit.ids import is_id

    record = (
        await container.records.get(DELIVERABLES, deliverable_id) if is_id(deliverable_id) else None
    )
    if record is None:
        raise NotFoundError("電子納品の検査結果が見つかりません。")
    return record
