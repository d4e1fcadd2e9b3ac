"""Billing's beat jobs: renewals, notices, reminders, invoice runs, ID batches. Each is
idempotent and catches up (``api.billing.jobs``)."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


def _run(app: Any, name: str) -> Any:
    from api.billing import jobs

    async def go() -> Any:
        container = await worker_container(app)
        return await getattr(jobs, name)(container)

    return run_async(go())


@task("billing.renew", bind=True, **RETRYING)
def renew(self: Any) -> Any:
    """Renew terms by the clause; end terminated agreements (seed 000 注意)."""
    return _run(self.app, "renew")


@task("billing.notices", bind=True, **RETRYING)
def notices(self: Any) -> Any:
    """様式情運-8 after terminations, 様式情運-3 before the fiscal year."""
    return _run(self.app, "notices")


@task("billing.remind", bind=True, **RETRYING)
def remind(self: Any) -> Any:
    """Reminders of overdue invoices (no late fee)."""
    return _run(self.app, "remind")


@task("billing.invoice_run", bind=True, **RETRYING)
def invoice_run(self: Any) -> Any:
    """The annual invoice run of every fiscal year not yet billed (様式情運-4)."""
    return _run(self.app, "invoice_run")


@task("billing.issue_ids", bind=True, **RETRYING)
def issue_ids(self: Any) -> Any:
    """The orderers' yearly ID batch from 4月1日 (発注者IDは一括管理, 年度当初, 1年固定)."""
    return _run(self.app, "issue_ids")
