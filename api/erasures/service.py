"""Scheduled and by-hand erasure of scopes (issue 12 §2; seed 001 §3-6: 受注者は、契約終了後、
情報共有システム上の全てのデータを消去すること … データが消去される時期について … 工事監督員に
報告; 別表3 12(1): 契約書に記載された期日に達した際、自動あるいは、手動によりデータを削除すること;
12(2): 削除したデータは再現できないことを … 利用者に示すこと).

The contract's dates, besides the hand-over's own (``api.handovers``: the collaboration copy
after the transfer):

- **A municipality whose agreement ends** (``billing_agreements``, 覚書: ``terminating`` /
  ``terminated`` with ``term_ends_on``, and no other open agreement of the organization): on
  ``term_ends_on`` + ``KURA_ERASURE__AGREEMENT_DAYS`` everything of it is erased: the
  collaboration and archive scopes of every work it orders, then its own scope ``o-<org>``.
- **An archived work past its retention without a hold** (``works.retention_until``, set on
  archiving from ``KURA_ARCHIVE__RETENTION_*``): on ``retention_until`` +
  ``KURA_ERASURE__RETENTION_DAYS`` it is disposed of (``api.works.lifecycle``: its records
  deleted, both its scopes erased). A hold postpones it until released.

The plan is an ``erasures`` record per scope (``state: scheduled``, ``due_on``, ``source``),
made by the hourly beat ``erasures.run_due`` once the day is ``KURA_ERASURE__NOTICE_DAYS``
near; it tells the supervisors (the municipality's administrators: its users holding
``works.manage`` or ``users.manage``, and every operator) at once and ``reminder_days``
before (notification and mail, kinds ``erasure.scheduled`` / ``erasure.reminder``), and
erases on the day. The same beat resumes every erasure left unfinished
(``api.keys.erasure``: key destroyed, records or objects not yet). An operator can schedule
a date or erase at once by hand (``api.erasures.router``, ``kura keys erase``).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from api.errors import Conflict, ValidationFailed
from api.grants.service import grant_id
from api.keys import scopes
from api.keys.erasure import (
    DONE,
    ERASURES,
    SCHEDULED,
    UNFINISHED,
    erase,
    erasure_record,
)
from api.kit.clock import to_iso
from api.works.lifecycle import LegalHoldActive
from api.works.models import WORKS, WorkStatus
from storage.query import Eq, In, Record

if TYPE_CHECKING:
    from api.container import Container

log = logging.getLogger("kura.erasures")

SYSTEM = "system:erasures"
TASK = "erasures.run_due"
AGREEMENT = "agreement"
RETENTION = "retention"
MANUAL = "manual"
REASONS = {
    AGREEMENT: "利用契約（覚書）の終了による消去",
    RETENTION: "保存期間満了による廃棄",
}
ADMIN_GRANTS = frozenset({"works.manage", "users.manage"})


class AlreadyErased(Conflict):
    code = "already_erased"
    title = "このデータはすでに消去されています。"


def today(container: Container) -> date:
    from api.workflow.dates import JST

    return container.clock.now().astimezone(JST).date()


async def label(container: Container, scope: str) -> str:
    """What a person calls the scope: the work's or the organization's name."""
    kind, owner = scopes.parse(scope)
    if kind == scopes.ORG:
        org = await container.records.get("organizations", owner)
        return f"{(org or {}).get('name') or owner}（組織のデータ）"
    work = await container.records.get(WORKS, owner)
    name = (work or {}).get("title") or owner
    part = "情報共有データ" if kind == scopes.COLLAB else "電子成果品（保管）"
    return f"{name}（{part}）"


async def supervisors(container: Container, org_id: str | None) -> list[str]:
    """The organization's administrators (``works.manage`` / ``users.manage``) and every
    operator: the people told of an erasure date (seed 001 §3-6)."""
    records = container.records
    operator_orgs = [
        o["id"] async for o in records.scan("organizations", (Eq("kind", "operator"),))
    ]
    orgs = [*operator_orgs, *([org_id] if org_id else [])]
    users = [
        u
        async for u in records.scan("users", (In("org_id", tuple(orgs)),))
        if u.get("status", "active") == "active"
    ]
    if not users:
        return []
    grants = await records.get_many(
        "grants", [grant_id(str(u["id"]), g) for u in users for g in ADMIN_GRANTS]
    )
    admins = {str(g["user_id"]) for g in grants}
    return sorted(
        str(u["id"]) for u in users if u["org_id"] in operator_orgs or str(u["id"]) in admins
    )


def _org_of(scope: str, work: Record | None) -> str | None:
    kind, owner = scopes.parse(scope)
    if kind == scopes.ORG:
        return owner
    return str((work or {}).get("orderer_org_id") or "") or None


async def finish_erasure(container: Container, scope: str) -> dict[str, Any]:
    """The job ``erasures.finish``: the rest of an erasure the API started (the key is gone);
    nothing when it is finished already (a second delivery)."""
    record = await erasure_record(container, scope)
    if record is None or record.get("state") == DONE:
        return {"scope": scope, "state": (record or {}).get("state") or "none"}
    done = await erase(container, scope, str(record.get("by") or SYSTEM))
    return {"scope": scope, "objects": done.objects, "records": sum(done.records.values())}


class ErasureService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.settings = container.settings.erasure

    # -- planning ----------------------------------------------------------------------------
    async def schedule(
        self,
        scope: str,
        due: date,
        source: str,
        reason: str,
        by: str,
        extra: dict[str, Any] | None = None,
    ) -> Record:
        """Plan the erasure of ``scope`` on ``due`` and tell the supervisors (once per date)."""
        current = await erasure_record(self.container, scope)
        if current is not None and current.get("state") == DONE:
            raise AlreadyErased()
        if current is not None and current.get("state") in UNFINISHED:
            raise Conflict("消去の処理中です。")
        changes = {
            "state": SCHEDULED,
            "due_on": due.isoformat(),
            "source": source,
            "reason": reason,
            "scheduled_by": by,
            "scheduled_at": to_iso(self.container.clock.now()),
            "reminded_on": None,
            **(extra or {}),
        }
        async with self.container.uow() as uow:
            if current is None:
                stored = await self.records.insert(
                    ERASURES, {"id": scope, "scope": scope, **changes}
                )
            else:
                stored = await self.records.update(
                    ERASURES, scope, changes, int(current["version"])
                )
            from api.audit.service import AuditLog

            await AuditLog(uow.records, self.container.clock).record(
                by,
                "erasures.scheduled",
                f"{ERASURES}/{scope}",
                detail={"due_on": due.isoformat(), "source": source, "reason": reason},
            )
            await self._notify(uow, stored, "erasure.scheduled")
        return stored

    async def cancel(self, scope: str, by: str) -> None:
        current = await erasure_record(self.container, scope)
        if current is None or current.get("state") != SCHEDULED:
            return
        async with self.container.uow() as uow:
            await self.records.delete(ERASURES, scope, int(current["version"]))
            from api.audit.service import AuditLog

            await AuditLog(uow.records, self.container.clock).record(
                by,
                "erasures.cancelled",
                f"{ERASURES}/{scope}",
                detail={"due_on": current.get("due_on"), "source": current.get("source")},
            )

    async def _notify(self, uow: Any, record: Record, kind: str) -> None:
        scope = str(record["scope"])
        work = None
        if scopes.work_of(scope) is not None:
            work = await self.records.get(WORKS, str(scopes.work_of(scope)))
        recipients = await supervisors(self.container, _org_of(scope, work))
        target = await label(self.container, scope)
        due = str(record["due_on"])
        await self.container.notifier().notify(
            uow,
            kind=kind,
            recipients=recipients,
            source=f"{ERASURES}/{scope}:{kind}:{due}",
            title=f"データ消去日: {due}（{target}）",
            url=f"/works/{work['id']}" if work is not None else "/",
            importance="important",
            context={
                "target": target,
                "scope": scope,
                "erasure_on": due,
                "reason": str(record.get("reason") or ""),
            },
            work_id=str(work["id"]) if work is not None else None,
        )

    async def plan(self) -> dict[str, int]:
        """Schedule what the contracts' dates make due within ``notice_days``; cancel plans
        whose ground is gone (a termination withdrawn, a new agreement, a work no longer
        archived)."""
        day = today(self.container)
        horizon = day + timedelta(days=self.settings.notice_days)
        counts = {"scheduled": 0, "cancelled": 0}
        wanted: dict[str, tuple[date, str, dict[str, Any]]] = {}
        # municipalities whose agreement ends
        from api.billing.models import AGREEMENTS, AgreementState

        by_org: dict[str, list[Record]] = {}
        async for agreement in self.records.scan(AGREEMENTS, ()):
            by_org.setdefault(str(agreement["org_id"]), []).append(agreement)
        ending = (AgreementState.TERMINATING.value, AgreementState.TERMINATED.value)
        open_states = (AgreementState.APPLIED.value, AgreementState.ACTIVE.value)
        for org_id, agreements in by_org.items():
            if any(a.get("state") in open_states for a in agreements):
                continue
            ended = [a for a in agreements if a.get("state") in ending and a.get("term_ends_on")]
            if not ended:
                continue
            last = max(ended, key=lambda a: str(a["term_ends_on"]))
            due = date.fromisoformat(str(last["term_ends_on"])) + timedelta(
                days=self.settings.agreement_days
            )
            wanted[scopes.org(org_id)] = (due, AGREEMENT, {"agreement_id": last["id"]})
        # archived works past retention
        async for work in self.records.scan(WORKS, (Eq("status", WorkStatus.ARCHIVED.value),)):
            until = work.get("retention_until")
            if not until:
                continue
            due = date.fromisoformat(str(until)) + timedelta(
                days=max(1, self.settings.retention_days)
            )
            wanted[scopes.archive(str(work["id"]))] = (due, RETENTION, {})
        for scope, (due, source, extra) in wanted.items():
            current = await erasure_record(self.container, scope)
            if current is not None and (
                current.get("state") != SCHEDULED
                or current.get("source") == MANUAL
                or current.get("basis_on") == due.isoformat()
            ):
                continue
            if due > horizon or await self.container.keys.destroyed(scope) is not None:
                continue
            # A date already past when first planned (the beat was off, the setting changed)
            # still gets its advance notice (§3-6): at least ``reminder_days`` from today.
            on = max(due, day + timedelta(days=self.settings.reminder_days))
            extra = {**extra, "basis_on": due.isoformat()}
            await self.schedule(scope, on, source, REASONS[source], SYSTEM, extra)
            counts["scheduled"] += 1
        async for record in self.records.scan(ERASURES, (Eq("state", SCHEDULED),)):
            if record.get("source") in (AGREEMENT, RETENTION) and record["id"] not in wanted:
                await self.cancel(str(record["id"]), SYSTEM)
                counts["cancelled"] += 1
        return counts

    # -- running -----------------------------------------------------------------------------
    async def run_due(self) -> dict[str, int]:
        """The hourly beat: plan, remind, erase what is due, resume what was interrupted."""
        counts = {"reminded": 0, "erased": 0, "held": 0, "resumed": 0, "failed": 0}
        counts.update(await self.plan())
        day = today(self.container)
        unfinished = [r async for r in self.records.scan(ERASURES, (In("state", UNFINISHED),))]
        for record in unfinished:
            if await self._job_alive(record):
                continue  # its job erasures.finish runs or will (the job sweeper sees to it)
            try:
                await erase(self.container, str(record["id"]), str(record.get("by") or SYSTEM))
                counts["resumed"] += 1
            except Exception:
                log.exception("resuming the erasure of %s failed", record["id"])
                counts["failed"] += 1
        due = [r async for r in self.records.scan(ERASURES, (Eq("state", SCHEDULED),))]
        for record in due:
            on = date.fromisoformat(str(record["due_on"]))
            if on <= day:
                try:
                    await self.run(record)
                    counts["erased"] += 1
                except LegalHoldActive:
                    counts["held"] += 1
                except Exception:
                    log.exception("the scheduled erasure of %s failed", record["id"])
                    counts["failed"] += 1
                continue
            if on - timedelta(days=self.settings.reminder_days) <= day and not record.get(
                "reminded_on"
            ):
                async with self.container.uow() as uow:
                    stored = await self.records.update(
                        ERASURES,
                        str(record["id"]),
                        {"reminded_on": day.isoformat()},
                        int(record["version"]),
                    )
                    await self._notify(uow, stored, "erasure.reminder")
                counts["reminded"] += 1
        return counts

    async def _job_alive(self, record: Record) -> bool:
        """Whether the erasure's job (``erasures.finish``, started over the API) is queued,
        sent or running: two runs of one erasure at once would both sign it."""
        job_id = record.get("job_id")
        if not job_id:
            return False
        from api.jobs.models import JOBS, LIVE_STATES

        job = await self.records.get(JOBS, str(job_id))
        return job is not None and job.get("state") in LIVE_STATES

    async def run(self, record: Record) -> list[str]:
        """Erase a scheduled scope now; returns the scopes erased."""
        scope = str(record["id"])
        reason = str(record.get("reason") or "")
        kind, owner = scopes.parse(scope)
        if record.get("source") == RETENTION:
            return await self._dispose(owner, scope, reason)
        done: list[str] = []
        if kind == scopes.ORG and record.get("source") == AGREEMENT:
            # everything of the municipality: its works' scopes first, then its own
            from api.keys.erasure import ensure_erasable

            await ensure_erasable(self.container, scope)
            async for work in self.records.scan(WORKS, (Eq("orderer_org_id", owner),)):
                for part in (scopes.collab(str(work["id"])), scopes.archive(str(work["id"]))):
                    await erase(self.container, part, SYSTEM, reason)
                    done.append(part)
        await erase(self.container, scope, SYSTEM, reason)
        return [*done, scope]

    async def _dispose(self, work_id: str, scope: str, reason: str) -> list[str]:
        from api.works.service import WorkService

        work = await self.records.get(WORKS, work_id)
        if work is None:
            await erase(self.container, scopes.collab(work_id), SYSTEM, reason)
            await erase(self.container, scope, SYSTEM, reason)
            return [scopes.collab(work_id), scope]
        service = WorkService.of(self.container)
        if work.get("legal_hold"):
            from api.keys.erasure import ensure_erasable

            await ensure_erasable(self.container, scope)
        until = work.get("retention_until")
        if until is None or today(self.container) <= date.fromisoformat(str(until)):
            raise ValidationFailed("保存期間が満了していないため廃棄できません。")
        await service.lifecycle.dispose(SYSTEM, work, int(work["version"]))
        return [scopes.collab(work_id), scope]
