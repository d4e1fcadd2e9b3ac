"""The hand-over of a completed work (seed 000 手続きフロー: 工事の検査 → 完了 → 保管管理システム
への移管, 「情報共有システムから検査終了後のデータを保管管理システムに連携登録が可能」) and the
erasure of its collaboration copy (seed 001 §3-6, 別表3 12).

``handovers`` records (id: the work) hold the state of the transfer and of the erasure:

- transfer, by the orderer after inspection, when its organization uses the archive
  (``handover_settings.uses_archive``, "optional per the municipality's contract"): one
  request (audited ``handovers.transfer_requested``), then a job that imports the chosen
  package (done, no errors) into the work under ``電子成果品`` exactly as an uploaded package
  is imported, checks it again in place (round trip: zero E), moves the work to the archive
  (``works.transitioned``) and records ``handovers.transferred``. A failure at any step
  removes what the import added and leaves the work completed; the record says why.
- erasure date: set at the transfer to the day plus the organization's ``erasure_days`` (or by
  the orderer to the contract's date, also for works never transferred), notified to the
  supervisors and the contractor at once and ``reminder_days`` before (§3-6: the date the data
  is erased is reported to the supervisor in advance); on the day the beat task erases the
  collaboration copy (``api.handovers.erasure``), audited ``handovers.erased``. A work under a
  legal hold is not erased until the hold is released.
"""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import date, timedelta
from typing import Any

import anyio

from api.audit.service import AuditLog
from api.container import Container
from api.errors import Conflict, KuraError, NotFoundError, ValidationFailed
from api.handovers.config import org_settings
from api.handovers.erasure import erase_collaboration, erase_nodes
from api.handovers.packages import PACKAGES, blocking
from api.kit.clock import to_iso
from api.permissions.policy import OrgKind, Subject, WorkRole
from api.workflow.dates import JST
from api.works.models import MEMBERS, WorkStatus
from storage.ports import IndexSpec
from storage.query import Eq, Range, Record

log = logging.getLogger("kura.handovers")

HANDOVERS = "handovers"
HANDOVER_INDEXES = [IndexSpec((("erasure_on", 1),))]
TRANSFER_TASK = "handovers.transfer"
ERASE_TASK = "handovers.erase_due"
TARGET = "電子成果品"
SYSTEM = "system:handovers"


class NotCompleted(Conflict):
    code = "not_completed"
    title = "完了（検査終了）した工事・業務だけを移管できます。"


class ArchiveNotUsed(Conflict):
    code = "archive_not_used"
    title = "この発注機関は保管管理システムを利用していません（情報共有システムのみの利用）。"


class PackageNotReady(Conflict):
    code = "package_not_ready"
    title = "エラーのない電子納品データだけを移管できます。"


class TransferRunning(Conflict):
    code = "transfer_running"
    title = "移管はすでに受け付けられています。"


class AlreadyErased(Conflict):
    code = "already_erased"
    title = "情報共有システムのデータはすでに消去されています。"


def today(container: Container) -> date:
    return container.clock.now().astimezone(JST).date()


def subject_snapshot(subject: Subject) -> dict[str, Any]:
    return {
        "user_id": subject.user_id,
        "login_id": subject.login_id,
        "org_id": subject.org_id,
        "org_kind": subject.org_kind.value if subject.org_kind else None,
        "grants": sorted(subject.grants),
    }


def subject_of(snapshot: dict[str, Any]) -> Subject:
    kind = snapshot.get("org_kind")
    return Subject(
        user_id=str(snapshot["user_id"]),
        login_id=str(snapshot.get("login_id") or ""),
        org_id=snapshot.get("org_id"),
        org_kind=OrgKind(kind) if kind else None,
        grants=frozenset(snapshot.get("grants") or ()),
    )


class HandoverService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.audit = AuditLog(container.records, container.clock)

    async def record(self, work_id: str) -> Record | None:
        return await self.records.get(HANDOVERS, work_id)

    async def _upsert(self, work_id: str, changes: Record) -> Record:
        current = await self.records.get(HANDOVERS, work_id)
        if current is None:
            return await self.records.insert(
                HANDOVERS, {"id": work_id, "work_id": work_id, **changes}
            )
        return await self.records.update(HANDOVERS, work_id, changes, current["version"])

    # transfer -----------------------------------------------------------------------------
    async def request_transfer(
        self, subject: Subject, work: Record, package_id: str, version: int
    ) -> Record:
        """Check everything that can be checked now, then queue the transfer job (permission
        ``handovers.transfer`` is the caller's)."""
        work_id = str(work["id"])
        if work.get("status") != WorkStatus.COMPLETED:
            raise NotCompleted()
        if int(work["version"]) != version:
            raise Conflict(
                "他の利用者が先に更新しました。最新の内容を読み込んでからやり直してください。"
            )
        settings = await org_settings(self.container, work.get("orderer_org_id"))
        if not settings.uses_archive:
            raise ArchiveNotUsed()
        package = await self.records.get(PACKAGES, package_id)
        if package is None or package.get("work_id") != work_id:
            raise NotFoundError("電子納品データが見つかりません。")
        if package.get("state") != "done" or blocking(package):
            raise PackageNotReady(
                f"この電子納品データにはエラーが{blocking(package)}件あります。直してから作成し直してください。"
                if package.get("state") == "done"
                else "電子納品データの作成が終わっていません。"
            )
        current = await self.record(work_id) or {}
        if current.get("state") in ("queued", "running", "transferred"):
            raise TransferRunning()
        now = to_iso(self.container.clock.now())
        async with self.container.uow() as uow:
            stored = await self._upsert(
                work_id,
                {
                    "state": "queued",
                    "package_id": package_id,
                    "requested_by": subject.user_id,
                    "requested_at": now,
                    "subject": subject_snapshot(subject),
                    "error": None,
                },
            )
            await self.audit.record(
                subject,
                "handovers.transfer_requested",
                f"works/{work_id}",
                detail={"package_id": package_id, "sha256": package.get("sha256")},
            )
            uow.enqueue(TRANSFER_TASK, work_id=work_id)
        return stored

    async def run_transfer(self, work_id: str) -> Record | None:
        """The transfer job (see the module docstring). Idempotent: only a queued transfer
        runs; a failed one is recorded and can be requested again."""
        from api.archive.nodes import NodeService
        from api.deliverables.intake import ImportFailed, ImportService
        from api.deliverables.package import analyse
        from api.deliverables.unpack import Limits, UnpackError, open_zip, scan_zip
        from api.deliverables.zipimport import package_root_id
        from api.works.service import WorkService

        record = await self.record(work_id)
        if record is None or record.get("state") != "queued":
            return record
        record = await self._upsert(
            work_id, {"state": "running", "started_at": to_iso(self.container.clock.now())}
        )
        subject = subject_of(record["subject"])
        package = await self.records.get(PACKAGES, str(record["package_id"]))
        work = await self.records.get("works", work_id)
        target: str | None = None
        tmp = self.container.settings.data_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        spool = tmp / f"transfer-{work_id}.zip"
        try:
            if package is None or work is None or not package.get("blob_key"):
                raise NotFoundError("電子納品データが見つかりません。")
            if work.get("status") != WorkStatus.COMPLETED:
                raise NotCompleted()
            async with await anyio.open_file(spool, "wb") as out:
                async for chunk in self.container.blobs.get(str(package["blob_key"])):
                    await out.write(chunk)
            target = await self._free_target(work_id)
            with spool.open("rb") as fp, open_zip(fp, Limits()) as zf:
                plan = scan_zip(zf, Limits())
                imported = await ImportService(self.container).run(
                    subject,
                    work,
                    target,
                    plan,
                    on_conflict="error",
                    source=f"{PACKAGES}/{package['id']}",
                )
                root_id = await package_root_id(self.container, work_id, target, plan)
            if root_id is None:
                raise ValidationFailed("電子納品データに INDEX_C.XML / INDEX_D.XML がありません。")
            checked = await analyse(self.container, work_id, root_id, None, actor=subject)
            errors = int(((checked.get("report") or {}).get("counts") or {}).get("E", 0))
            if errors:
                raise PackageNotReady(f"移管先で検査したところエラーが{errors}件ありました。")
            fresh = await self.records.get("works", work_id)
            assert fresh is not None
            await WorkService.of(self.container).transition(
                subject, work_id, WorkStatus.ARCHIVED, int(fresh["version"])
            )
            settings = await org_settings(self.container, work.get("orderer_org_id"))
            erasure_on = (today(self.container) + timedelta(days=settings.erasure_days)).isoformat()
            async with self.container.uow() as uow:
                stored = await self._upsert(
                    work_id,
                    {
                        "state": "transferred",
                        "transferred_at": to_iso(self.container.clock.now()),
                        "root_node_id": root_id,
                        "root_path": target,
                        "deliverable_id": checked["id"],
                        "import_id": imported.import_id,
                        "erasure_on": erasure_on,
                        "erasure_set_by": SYSTEM,
                        "reminded_on": None,
                    },
                )
                await self.audit.record(
                    subject,
                    "handovers.transferred",
                    f"works/{work_id}",
                    detail={
                        "package_id": package["id"],
                        "sha256": package.get("sha256"),
                        "deliverable_id": checked["id"],
                        "root": target,
                        "files": imported.created,
                        "erasure_on": erasure_on,
                    },
                )
                await self._notify(uow, work, "handover.erasure_scheduled", erasure_on)
            return stored
        except Exception as exc:
            detail = (
                exc.detail
                if isinstance(exc, (KuraError, ImportFailed, UnpackError))
                else "移管できませんでした。"
            )
            if not isinstance(exc, KuraError):
                log.exception("transfer of %s failed", work_id)
            if (
                target is not None
                and (await NodeService(self.container).by_path(work_id, target)) is not None
            ):
                await self._remove_subtree(work_id, target)
            async with self.container.uow():
                failed = await self._upsert(
                    work_id,
                    {
                        "state": "failed",
                        "error": detail,
                        "finished_at": to_iso(self.container.clock.now()),
                    },
                )
                await self.audit.record(
                    subject,
                    "handovers.transfer_failed",
                    f"works/{work_id}",
                    detail={"error": detail},
                )
            return failed
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(spool)

    async def _free_target(self, work_id: str) -> str:
        from api.archive.nodes import NodeService

        nodes = NodeService(self.container)
        for n in range(1, 100):
            name = TARGET if n == 1 else f"{TARGET} ({n})"
            if await nodes.by_path(work_id, f"/{name}") is None:
                return f"/{name}"
        raise Conflict("移管先のフォルダ名を決められません。")

    async def _remove_subtree(self, work_id: str, root: str) -> None:
        """Undo an import whose package failed the check or whose transition failed."""
        async with self.container.uow() as uow:
            await erase_nodes(self.container, uow, work_id, only=root)

    # erasure ------------------------------------------------------------------------------
    async def schedule_erasure(self, subject: Subject, work: Record, on: date | None) -> Record:
        """Set the day the collaboration copy is erased (the contract's date; default: today
        plus the organization's ``erasure_days``) and tell the supervisors and the contractor."""
        work_id = str(work["id"])
        current = await self.record(work_id) or {}
        if current.get("erased_at"):
            raise AlreadyErased()
        if current.get("state") in ("queued", "running"):
            raise TransferRunning("移管の処理中は消去日を変更できません。")
        first = today(self.container)
        if on is None:
            settings = await org_settings(self.container, work.get("orderer_org_id"))
            on = first + timedelta(days=settings.erasure_days)
        if on <= first:
            raise ValidationFailed(
                "消去日は明日以降の日付を指定してください（事前に通知します）。", field="erasure_on"
            )
        async with self.container.uow() as uow:
            stored = await self._upsert(
                work_id,
                {
                    "erasure_on": on.isoformat(),
                    "erasure_set_by": subject.user_id,
                    "reminded_on": None,
                },
            )
            await self.audit.record(
                subject,
                "handovers.erasure_scheduled",
                f"works/{work_id}",
                before={"erasure_on": current.get("erasure_on")},
                after={"erasure_on": on.isoformat()},
            )
            await self._notify(uow, work, "handover.erasure_scheduled", on.isoformat())
        return stored

    async def _notify(self, uow: Any, work: Record, kind: str, erasure_on: str) -> None:
        members = [m async for m in self.records.scan(MEMBERS, (Eq("work_id", work["id"]),))]
        recipients = [
            str(m["user_id"])
            for m in members
            if m.get("role") in (WorkRole.SUPERVISOR, WorkRole.CONTRACTOR_MEMBER)
        ]
        await self.container.notifier().notify(
            uow,
            kind=kind,
            recipients=recipients,
            source=f"{HANDOVERS}/{work['id']}:{kind}:{erasure_on}",
            title=f"情報共有データの消去日: {erasure_on}（{work.get('title', '')}）",
            url=f"/handover/{work['id']}",
            importance="important",
            context={
                "work_title": str(work.get("title") or ""),
                "work_number": str(work.get("number") or ""),
                "erasure_on": erasure_on,
            },
            work_id=str(work["id"]),
        )

    async def run_due(self) -> dict[str, int]:
        """The daily beat: remind ``reminder_days`` before, erase on the day."""
        day = today(self.container)
        counts = {"reminded": 0, "erased": 0, "held": 0}
        horizon = (day + timedelta(days=366)).isoformat()
        due = [
            r
            async for r in self.records.scan(HANDOVERS, (Range("erasure_on", lte=horizon),))
            if r.get("erasure_on") and not r.get("erased_at")
        ]
        for record in due:
            work = await self.records.get("works", str(record["work_id"]))
            if work is None:
                continue
            erasure_on = date.fromisoformat(str(record["erasure_on"]))
            if erasure_on <= day:
                if work.get("legal_hold"):
                    counts["held"] += 1
                    continue
                await self.erase(work, record)
                counts["erased"] += 1
                continue
            settings = await org_settings(self.container, work.get("orderer_org_id"))
            if erasure_on - timedelta(days=settings.reminder_days) <= day and not record.get(
                "reminded_on"
            ):
                async with self.container.uow() as uow:
                    await self._upsert(str(work["id"]), {"reminded_on": day.isoformat()})
                    await self._notify(
                        uow, work, "handover.erasure_reminder", erasure_on.isoformat()
                    )
                counts["reminded"] += 1
        return counts

    async def erase(self, work: Record, record: Record) -> dict[str, int]:
        work_id = str(work["id"])
        keep = record.get("root_path") if record.get("state") == "transferred" else None
        async with self.container.uow() as uow:
            counts = await erase_collaboration(self.container, uow, work_id, keep)
            await self._upsert(
                work_id,
                {"erased_at": to_iso(self.container.clock.now()), "erased": counts},
            )
            await self.audit.record(
                SYSTEM,
                "handovers.erased",
                f"works/{work_id}",
                detail={"erasure_on": record.get("erasure_on"), "kept": keep, "counts": counts},
            )
        return counts
