"""Billing (利用手続き・請求): agreements, usage requests and applications, IDs, fees,
invoices and payments, renewal and termination (issue 13; seed 000)."""

from __future__ import annotations

from api.billing import models
from api.billing.accounts import CREDENTIALS
from api.billing.permissions import GRANT, BillingRules
from api.billing.router_invoices import router as invoices_router
from api.billing.router_setup import router as setup_router
from api.billing.router_works import router as works_router
from api.billing.tariffs import Tariffs
from api.container import Container
from api.modules import Module
from storage.ports import IndexSpec


async def _schema(container: Container) -> None:
    for collection, specs in models.INDEXES.items():
        await container.records.ensure_indexes(collection, list(specs))
    await container.records.ensure_indexes(
        models.INVOICES, [IndexSpec((("tariff_id", 1), ("service_to", 1)))]
    )
    await container.records.ensure_indexes(CREDENTIALS, [IndexSpec((("source", 1),))])
    await Tariffs(container).ensure_default()


# Hourly: every job is idempotent and catches up, so the period only bounds how late a
# renewal, notice or invoice can be (seed 000: 4月以降に請求; renewals on the term's end).
_HOUR = 3600.0

MODULE = Module(
    "billing",
    routers=(setup_router, works_router, invoices_router),
    ensure_schema=_schema,
    beat={
        "billing-renewals": {"task": "billing.renew", "schedule": _HOUR},
        "billing-notices": {"task": "billing.notices", "schedule": _HOUR},
        "billing-reminders": {"task": "billing.remind", "schedule": _HOUR},
        "billing-invoice-run": {"task": "billing.invoice_run", "schedule": _HOUR},
        "billing-id-batches": {"task": "billing.issue_ids", "schedule": _HOUR},
    },
    grants={GRANT: "利用手続き・利用料金の管理（自機関）"},
    rules={"billing": BillingRules()},
)
