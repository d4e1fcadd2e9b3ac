"""Billing (issue 13 "Measured"): the annual invoice run and the fiscal-year dashboard.

    python -m bench.bench_billing [--municipalities 2000] [--works 50] [--years 10] [--runs 200]

1. Invoice run (target < 60 s; a second run the same day creates nothing): ``--municipalities``
   municipalities with an active agreement for both systems and ``--works`` archived works
   each, so every invoice has 2 + ``--works`` lines. ``Runs.annual`` (the beat job's body:
   numbers, invoice, its document, its audit event, the fiscal-year totals, notifications) is
   timed on 4月1日, then run again. Baseline, same run: reading the same agreements and works
   and writing the same invoices with ``insert_many`` alone (no numbering, documents, audit,
   totals or idempotency checks).
2. Fiscal-year dashboard over ``--years`` years of invoices (target p95 < 100 ms): earlier years
   get as many invoices as the run made (written straight into the store with their totals,
   nine in ten paid, some overdue); ``Reports.dashboard`` is timed ``--runs`` times. Baseline,
   same run: the same figures computed by scanning every invoice (what the kept totals avoid).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import Outcome, pct

FY = 2026


def settings_for(data: Path) -> Any:
    from api.config import Settings

    return Settings(data_dir=data, log_json=False, log_level="WARNING", jobs={"eager": False})


async def seed(container: Any, municipalities: int, works: int) -> list[str]:
    from api.kit.ids import new_id

    orgs = [new_id() for _ in range(municipalities)]
    now = "2026-01-10T00:00:00.000000Z"
    await container.records.insert_many(
        "organizations",
        [
            {"id": o, "kind": "orderer", "name": f"市町{i:04d}", "code": f"{34000000 + i}"}
            for i, o in enumerate(orgs)
        ],
    )
    await container.records.insert_many(
        "billing_agreements",
        [
            {
                "id": new_id(),
                "org_id": o,
                "org_name": f"市町{i:04d}",
                "state": "active",
                "systems": ["archive", "collab"],
                "starts_on": "2020-04-01",
                "number": f"覚書-{i}",
                "term_ends_on": "2027-03-31",
                "first_term_ends_on": "2021-03-31",
                "anchor": "2021-04-01",
                "renewals": 6,
                "termination_notice_by": "2027-02-15",
                "renewal_declaration_by": "2027-02-28",
                "created_at": now,
                "updated_at": now,
            }
            for i, o in enumerate(orgs)
        ],
    )
    batch: list[dict[str, Any]] = []
    for i, o in enumerate(orgs):
        for j in range(works):
            batch.append(
                {
                    "id": new_id(),
                    "orderer_org_id": o,
                    "status": "archived",
                    "number": f"R{i}-{j}",
                    "title": f"工事{j}",
                    "created_at": now,
                }
            )
        if len(batch) >= 10000:
            await container.records.insert_many("works", batch)
            batch = []
    if batch:
        await container.records.insert_many("works", batch)
    await container.records.insert(
        "billing_profile",
        {"id": "operator", "name": "運用者", "registration_number": "T7000012050002"},
    )
    return orgs


async def baseline_run(container: Any) -> float:
    """The same reads and invoice records, written with insert_many alone."""
    from api.billing.invoices import line
    from storage.query import Eq

    started = time.perf_counter()
    rows = []
    async for agreement in container.records.scan("billing_agreements"):
        lines = [
            line("collab_annual", "年額", 1, 120000, "10"),
            line("archive_annual", "年額", 1, 60000, "10"),
        ]
        async for work in container.records.scan(
            "works", (Eq("orderer_org_id", agreement["org_id"]),)
        ):
            lines.append(line("archive_work", work["title"], 1, 1200, "10", work_id=work["id"]))
        rows.append({"id": "b" + agreement["id"], "org_id": agreement["org_id"], "lines": lines})
    for i in range(0, len(rows), 500):
        await container.records.insert_many("bench_baseline_invoices", rows[i : i + 500])
    return time.perf_counter() - started


async def older_years(container: Any, years: int, per_year: int) -> None:
    """Invoices of the earlier years with their kept totals (nine in ten paid)."""
    from api.billing.base import bump_due, bump_stats
    from api.kit.ids import new_id

    for fy in range(FY - years + 1, FY):
        rows = []
        for i in range(per_year):
            paid = i % 10 != 0
            rows.append(
                {
                    "id": new_id(),
                    "key": f"old:{fy}:{i}",
                    "kind": "annual",
                    "number": f"旧{fy}-{i:06d}",
                    "org_id": f"org{i}",
                    "org_name": f"市町{i}",
                    "fiscal_year": fy,
                    "issue_date": f"{fy}-04-01",
                    "due_date": f"{fy}-06-30",
                    "total": 258000,
                    "paid": 258000 if paid else 0,
                    "credited": 0,
                    "balance": 0 if paid else 258000,
                    "state": "paid" if paid else "issued",
                    "lines": [],
                    "by_rate": [],
                }
            )
        for i in range(0, len(rows), 1000):
            await container.records.insert_many("billing_invoices", rows[i : i + 1000])
        paid_sum = sum(r["paid"] for r in rows)
        await bump_due(container.records, fy, f"{fy}-06-30", sum(r["balance"] for r in rows))
        await bump_stats(
            container.records,
            fy,
            {
                "invoices": len(rows),
                "billed": 258000 * len(rows),
                "collected": paid_sum,
                "collected_in_closing": paid_sum,
            },
        )


async def scan_dashboard(container: Any) -> dict[int, int]:
    out: dict[int, int] = {}
    async for inv in container.records.scan("billing_invoices"):
        out[int(inv["fiscal_year"])] = out.get(int(inv["fiscal_year"]), 0) + int(inv["total"])
    return out


async def main(args: argparse.Namespace) -> int:
    from api.billing.reports import Reports
    from api.billing.runs import Runs
    from api.container import Container
    from api.kit.clock import FixedClock
    from api.permissions.policy import OrgKind, Subject
    from storage.query import Query
    from tests.billing.harness import jst

    logging.disable(logging.INFO)
    outcome = Outcome()
    with tempfile.TemporaryDirectory() as tmp:
        container = Container(
            settings_for(Path(tmp) / "data"), clock=FixedClock(jst(date(FY, 4, 1)))
        )
        await container.open()
        try:
            print(f"seeding {args.municipalities} municipalities × {args.works} archived works ...")
            await seed(container, args.municipalities, args.works)
            base = await baseline_run(container)
            runs = Runs(container)
            started = time.perf_counter()
            first = await runs.annual("system:bench", FY)
            took = time.perf_counter() - started
            started = time.perf_counter()
            second = await runs.annual("system:bench", FY)
            again = time.perf_counter() - started
            count = await container.records.count("billing_invoices")
            outcome.expect(first["created"] == args.municipalities, f"first run created {first}")
            outcome.expect(second["created"] == 0, f"second run created {second}")
            outcome.expect(count == args.municipalities, f"{count} invoices stored")
            sample = (await container.records.find("billing_invoices", Query(limit=1))).items[0]
            outcome.expect(len(sample["lines"]) == 2 + args.works, "lines per invoice")
            expected_total = (180000 + 1200 * args.works) * 110 // 100
            outcome.expect(
                sample["total"] == expected_total, f"total {sample['total']} != {expected_total}"
            )
            print(
                f"invoice run: {took:.1f} s for {first['created']} invoices "
                f"({first['created'] / took:.0f}/s); baseline insert_many only {base:.1f} s "
                f"(ratio {took / base:.1f}x); second run {again:.2f} s, created {second['created']}"
            )
            print(
                outcome.verdict(
                    "invoice run < 60 s, second run creates nothing",
                    took < 60 and second["created"] == 0,
                    None
                    if args.municipalities >= 2000 and args.works >= 50
                    else "below 2,000 × 50",
                )
            )

            await older_years(container, args.years, args.municipalities)
            operator = Subject(user_id="op", login_id="op", org_id="op", org_kind=OrgKind.OPERATOR)
            reports = Reports(container)
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                board = await reports.dashboard(operator, args.years)
                times.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            scanned = await scan_dashboard(container)
            scan_ms = (time.perf_counter() - started) * 1000
            kept = {y["fiscal_year"]: y["billed"] for y in board["years"]}
            outcome.expect(kept == scanned, "kept totals differ from the scan")
            p95 = pct(times, 0.95)
            total = await container.records.count("billing_invoices")
            print(
                f"dashboard over {args.years} years ({total} invoices): "
                f"p50 {pct(times, 0.5):.1f} ms, p95 {p95:.1f} ms; "
                f"baseline scan of every invoice {scan_ms:.0f} ms (ratio {scan_ms / p95:.0f}x)"
            )
            print(
                outcome.verdict(
                    "dashboard p95 < 100 ms",
                    p95 < 100,
                    None
                    if args.years >= 10 and args.municipalities >= 2000
                    else "below 10 years × 2,000",
                )
            )
        finally:
            await container.close()
    return outcome.exit_code()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--municipalities", type=int, default=2000)
    parser.add_argument("--works", type=int, default=50)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=200)
    sys.exit(asyncio.run(main(parser.parse_args())))
