"""The scheduled work of billing: the annual invoice run, fee notices, reminders.

**Invoice run** (様式情運-4; seed 000: ４月以降に請求・６月末までに支払): for fiscal year ``fy``,
one invoice per municipality whose agreement covers the year: each system's annual fee
(prorated by whole months for a first year begun after April: a line of
``annual × months // 12``) and, with the archive, a line per archived work. The invoice's id
derives from ``annual:<fy>:<org>`` and the run skips ids that exist, so:
- run twice, bill once; a second run the same day creates nothing;
- a crash half-way leaves whole chunks committed (invoice, its document, its audit event and
  the fiscal year's totals in one unit) and the next run carries on where it stopped;
- two runs at once: the run record holds a lease; the second answers 409 ``run_in_progress``
  (a crashed run's lease expires and the next run takes over);
- missed years are caught up: the job runs every fiscal year from the oldest agreement's
  start to today that has no finished run.

**Fee notice** (次年度利用料金の通知, 様式情運-3): from 3月1日, after the termination deadline of
mid-February has passed, each continuing agreement gets the next year's fees once.

**Reminders** (督促): an open invoice past its due date is reminded at due + 1, + 30 and + 60
days; a missed day sends the stage reached, once (the notifier is idempotent per source), and
no late fee is ever added.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from api.billing import models
from api.billing.base import Base, bump_stats
from api.billing.documents import Documents, money, notice_data, wareki
from api.billing.invoices import Invoices, annual_key, build, invoice_id, line
from api.billing.models import AgreementState, InvoiceKind, ItemKind, System
from api.billing.notify import notify_org
from api.billing.rules import (
    Line,
    annual_due_date,
    end_of_next_month,
    fiscal_year,
    fiscal_year_end,
    fiscal_year_start,
    totals,
)
from api.billing.tariffs import Tariffs, item
from api.errors import Conflict
from api.kit.clock import from_iso, to_iso
from api.master.days import load_calendar
from api.permissions.policy import Subject
from storage.errors import DuplicateKey, StaleVersion
from storage.query import Eq, In, Range, Record

CHUNK = 200
LEASE = timedelta(minutes=10)
BILLABLE = (
    AgreementState.ACTIVE.value,
    AgreementState.TERMINATING.value,
    AgreementState.TERMINATED.value,
)


class RunInProgress(Conflict):
    code = "run_in_progress"
    title = "同じ年度の請求処理が実行中です。終わるまでお待ちください。"


def months_in_first_year(starts_on: date, fy: int) -> int:
    """Whole months of fiscal year ``fy`` from the agreement's start (12 when it began
    before the year)."""
    if starts_on <= fiscal_year_start(fy):
        return 12
    return (fiscal_year_end(fy).year * 12 + 3) - (starts_on.year * 12 + starts_on.month) + 1


def covers(agreement: Record, fy: int) -> bool:
    """Whether the agreement is in force for part of fiscal year ``fy``."""
    if agreement.get("sandbox") or agreement["state"] not in BILLABLE:
        return False
    starts = date.fromisoformat(agreement["starts_on"])
    if starts > fiscal_year_end(fy):
        return False
    ended = agreement.get("ended_on") or (
        agreement["termination"]["effective_on"]
        if agreement["state"] != AgreementState.ACTIVE and agreement.get("termination")
        else None
    )
    return not (ended and date.fromisoformat(ended) < fiscal_year_start(fy))


class Runs(Base):
    # the annual run ---------------------------------------------------------------------------
    async def annual(self, actor: Subject | str, fy: int) -> dict[str, int]:
        """Bill fiscal year ``fy`` (idempotent; see the module's docstring)."""
        run = await self._lease(fy)
        created = skipped = 0
        try:
            agreements = [
                a
                async for a in self.records.scan(models.AGREEMENTS, (In("state", BILLABLE),))
                if covers(a, fy)
            ]
            agreements.sort(key=lambda a: a["org_id"])
            tariff = await Tariffs(self.container).effective(
                max(fiscal_year_start(fy), self.today())
                if self.today() <= fiscal_year_end(fy)
                else fiscal_year_start(fy)
            )
            for start in range(0, len(agreements), CHUNK):
                chunk = agreements[start : start + CHUNK]
                made, seen = await self._chunk(actor, fy, chunk, tariff)
                created += made
                skipped += seen
                run = await self._renew(run)
        except BaseException:
            await self._release(run, failed=True)
            raise
        await self._release(run, failed=False, created=created, skipped=skipped)
        return {"created": created, "skipped": skipped}

    async def _chunk(
        self, actor: Subject | str, fy: int, chunk: Sequence[Record], tariff: Record
    ) -> tuple[int, int]:
        ids = [invoice_id(annual_key(fy, a["org_id"])) for a in chunk]
        existing = {r["id"] for r in await self.records.get_many(models.INVOICES, ids)}
        todo = [a for a in chunk if invoice_id(annual_key(fy, a["org_id"])) not in existing]
        if not todo:
            return 0, len(chunk)
        today = self.today()
        calendar = await load_calendar(self.records)
        due = max(annual_due_date(fy), end_of_next_month(today))
        due = calendar.next_business_day(due)
        profile = await self.profile()
        invoices = Invoices(self.container)
        billed = 0
        async with self.container.uow() as uow:
            numbers = await self.next_number("invoice", fy, len(todo))
            for agreement, number in zip(todo, numbers, strict=True):
                lines = await self._lines(agreement, fy, tariff)
                if not lines:
                    continue
                invoice = build(
                    key=annual_key(fy, agreement["org_id"]),
                    kind=InvoiceKind.ANNUAL,
                    number=number,
                    org={"id": agreement["org_id"], "name": agreement["org_name"]},
                    issue_date=max(today, fiscal_year_start(fy)),
                    due_date=due,
                    service_from=max(
                        fiscal_year_start(fy), date.fromisoformat(agreement["starts_on"])
                    ),
                    service_to=fiscal_year_end(fy),
                    lines=lines,
                    tariff_id=tariff["id"],
                    issuer=profile,
                    source=f"{models.AGREEMENTS}/{agreement['id']}",
                    fy=fy,
                    now=self.now(),
                )
                try:
                    stored = await self.records.insert(models.INVOICES, invoice)
                except DuplicateKey:
                    continue  # a run before us billed it a moment ago
                await invoices.after_issue(uow, stored, actor=actor)
                billed += stored["total"]
                await notify_org(
                    self.container,
                    org_id=stored["org_id"],
                    kind="billing.invoice",
                    source=f"{models.INVOICES}/{stored['id']}",
                    title=f"{fy}年度 利用料金のご請求（{stored['number']}）",
                    url="/billing",
                    context={
                        "fiscal_year": fy,
                        "amount": money(stored["total"]),
                        "due_date": wareki(due),
                    },
                )
        return len(todo), len(chunk) - len(todo)

    async def _lines(self, agreement: Record, fy: int, tariff: Record) -> list[Record]:
        months = months_in_first_year(date.fromisoformat(agreement["starts_on"]), fy)
        lines: list[Record] = []
        for system in agreement["systems"]:
            fee = item(tariff, ItemKind.ORG_ANNUAL, System(system))
            if fee is None:
                continue
            price = int(fee["unit_price"])
            label = fee["label"]
            if months < 12:
                price = price * months // 12
                label = f"{label}（{months}か月分）"
            lines.append(line(fee["code"], label, 1, price, fee["tax_rate"], unit="年"))
        if System.ARCHIVE.value in agreement["systems"]:
            per_work = item(tariff, ItemKind.ARCHIVE_WORK_ANNUAL, System.ARCHIVE)
            if per_work is not None:
                async for work in self.records.scan(
                    "works", (Eq("orderer_org_id", agreement["org_id"]),)
                ):
                    if work.get("status") != "archived":
                        continue
                    lines.append(
                        line(
                            per_work["code"],
                            f"{per_work['label']}：{work.get('number', '')} "
                            f"{work.get('title', '')}",
                            1,
                            int(per_work["unit_price"]),
                            per_work["tax_rate"],
                            unit="件",
                            work_id=work["id"],
                        )
                    )
        return lines

    async def catch_up(self, actor: Subject | str) -> dict[int, dict[str, int]]:
        """Run every fiscal year from the oldest billable agreement to today that has no
        finished run, then today's year again (new agreements since its run)."""
        today = self.today()
        current = fiscal_year(today)
        oldest = current
        async for agreement in self.records.scan(models.AGREEMENTS, (In("state", BILLABLE),)):
            oldest = min(oldest, fiscal_year(date.fromisoformat(agreement["starts_on"])))
        results: dict[int, dict[str, int]] = {}
        for fy in range(oldest, current + 1):
            done = await self.records.get(models.RUNS, f"annual-{fy}")
            if fy < current and done is not None and done.get("state") == "done":
                continue
            results[fy] = await self.annual(actor, fy)
        return results

    # the run's lease ------------------------------------------------------------------------
    async def _lease(self, fy: int) -> Record:
        key = f"annual-{fy}"
        now = self.clock.now()
        until = to_iso(now + LEASE)
        run = await self.records.get(models.RUNS, key)
        try:
            if run is None:
                return await self.records.insert(
                    models.RUNS,
                    {
                        "id": key,
                        "fiscal_year": fy,
                        "state": "running",
                        "lease_until": until,
                        "started_at": to_iso(now),
                        "runs": 1,
                    },
                )
            if run["state"] == "running" and from_iso(run["lease_until"]) > now:
                raise RunInProgress(started_at=run["started_at"])
            return await self.records.update(
                models.RUNS,
                key,
                {
                    "state": "running",
                    "lease_until": until,
                    "started_at": to_iso(now),
                    "runs": int(run.get("runs", 0)) + 1,
                },
                int(run["version"]),
            )
        except (DuplicateKey, StaleVersion) as exc:
            raise RunInProgress() from exc

    async def _renew(self, run: Record) -> Record:
        return await self.records.update(
            models.RUNS,
            run["id"],
            {"lease_until": to_iso(self.clock.now() + LEASE)},
            int(run["version"]),
        )

    async def _release(self, run: Record, *, failed: bool, **counts: int) -> None:
        await self.records.update(
            models.RUNS,
            run["id"],
            {
                "state": "failed" if failed else "done",
                "finished_at": self.now(),
                "lease_until": self.now(),
                **({"last": counts} if counts else {}),
            },
            int(run["version"]),
        )

    # fee notices ------------------------------------------------------------------------------
    async def fee_notices(self) -> int:
        """様式情運-3 for next year, from 3月1日, once per agreement and year."""
        today = self.today()
        next_fy = fiscal_year(today) + 1
        if today < date(next_fy, 3, 1):
            # Before March: nothing yet. A notice missed until April is not sent late: the
            # invoice of April states the same fees.
            return 0
        tariff = await Tariffs(self.container).effective(fiscal_year_start(next_fy))
        issued = 0
        documents = Documents(self.container)
        async for agreement in self.records.scan(
            models.AGREEMENTS, (Eq("state", AgreementState.ACTIVE.value),)
        ):
            if agreement.get("sandbox"):
                continue
            source = f"{models.AGREEMENTS}/{agreement['id']}#fy{next_fy}"
            if await documents.latest(source, "jouun3") is not None:
                continue
            async with self.container.uow():
                await self._fee_notice(agreement, tariff, next_fy, source)
            issued += 1
        return issued

    async def _fee_notice(self, agreement: Record, tariff: Record, fy: int, source: str) -> None:
        today = self.today()
        lines = [
            line(f["code"], f["label"], 1, int(f["unit_price"]), f["tax_rate"], unit="年")
            for f in tariff["items"]
            if f["kind"] == ItemKind.ORG_ANNUAL and f.get("system") in agreement["systems"]
        ]
        sums = totals(Line(1, int(x["unit_price"]), x["tax_rate"]) for x in lines)
        number = (await self.next_number("jouun3", fiscal_year(today)))[0]
        profile = await self.profile()
        rows = [[x["label"], money(x["unit_price"]), f"{x['tax_rate']}%"] for x in lines]
        data = notice_data(
            title=models.FORMS["jouun3"],
            form_code=models.FORM_CODES["jouun3"],
            number=number,
            day=today,
            addressee=f"{agreement['org_name']} 様",
            issuer=profile,
            sections=[
                {
                    "text": f"{fy}年度（{wareki(fiscal_year_start(fy))}〜"
                    f"{wareki(fiscal_year_end(fy))}）"
                    "の利用料金を下記のとおりお知らせします。"
                },
                {
                    "heading": "年額利用料",
                    "table": {
                        "columns": ["品目", "金額（税抜・円）", "税率"],
                        "rows": rows,
                        "numeric": [1],
                    },
                },
                {
                    "fields": [
                        ["税抜合計", f"{money(sums.net)} 円"],
                        ["消費税額", f"{money(sums.tax)} 円"],
                        ["税込合計", f"{money(sums.total)} 円"],
                    ]
                },
                {
                    "text": "保管管理システムの案件保管料は、4月1日時点の保管案件数により"
                    "請求します。"
                    "請求書（様式情運-4）は4月以降に発行し、お支払期限は6月末です。"
                },
            ],
        )
        await Documents(self.container).issue(
            form="jouun3",
            source=source,
            org_ids=[agreement["org_id"]],
            number=number,
            day=today,
            data=data,
            amounts={"net": sums.net, "tax": sums.tax, "total": sums.total},
        )
        await self.audit.record(
            "system:billing",
            "billing.fee_notice_issued",
            f"{models.AGREEMENTS}/{agreement['id']}",
            detail={"fiscal_year": fy, "number": number, "total": sums.total},
        )
        await notify_org(
            self.container,
            org_id=agreement["org_id"],
            kind="billing.notice",
            source=source,
            title=f"{fy}年度の利用料金のお知らせ（{number}）",
            url="/billing",
        )

    # reminders --------------------------------------------------------------------------------
    async def reminders(self) -> int:
        today = self.today()
        sent = 0
        async for invoice in self.records.scan(
            models.INVOICES,
            (In("state", models.OPEN_INVOICE_STATES), Range("due_date", lt=today.isoformat())),
        ):
            overdue = (today - date.fromisoformat(invoice["due_date"])).days
            stage = 3 if overdue >= 60 else 2 if overdue >= 30 else 1
            async with self.container.uow():
                sent += await notify_org(
                    self.container,
                    org_id=invoice["org_id"],
                    kind="billing.reminder",
                    source=f"{models.INVOICES}/{invoice['id']}#reminder{stage}",
                    title=f"お支払いのお願い（{invoice['number']}）",
                    url="/billing",
                    importance="important",
                    context={
                        "invoice_number": invoice["number"],
                        "amount": money(int(invoice["balance"])),
                        "due_date": wareki(date.fromisoformat(invoice["due_date"])),
                    },
                )
        return sent


async def stats_from_invoices(records: Any) -> dict[int, dict[str, int]]:
    """The fiscal-year totals rebuilt from the invoices and payments (check of the kept
    totals, ``kura``-style: the records are the truth)."""
    from api.billing.base import STAT_FIELDS

    out: dict[int, dict[str, int]] = {}
    async for inv in records.scan(models.INVOICES):
        row = out.setdefault(int(inv["fiscal_year"]), dict.fromkeys(STAT_FIELDS, 0))
        if inv["kind"] == InvoiceKind.CREDIT_NOTE:
            row["credited"] += -int(inv["total"])
        else:
            row["invoices"] += 1
            row["billed"] += int(inv["total"])
    async for pay in records.scan(models.PAYMENTS):
        row = out.setdefault(int(pay["fiscal_year"]), dict.fromkeys(STAT_FIELDS, 0))
        row["collected"] += int(pay["amount"])
        row["collected_in_closing" if pay["in_closing_period"] else "collected_late"] += int(
            pay["amount"]
        )
    return out


async def due_from_invoices(records: Any) -> dict[str, int]:
    """What is still to be paid per ``<fiscal year>:<due date>``, rebuilt from the invoices
    (the check of ``billing_due``)."""
    out: dict[str, int] = {}
    async for inv in records.scan(models.INVOICES):
        if inv["kind"] == InvoiceKind.CREDIT_NOTE or inv.get("sandbox") or not inv.get("due_date"):
            continue
        key = f"{inv['fiscal_year']}:{inv['due_date']}"
        out[key] = out.get(key, 0) + max(0, int(inv["balance"]))
    return out


__all__ = ["RunInProgress", "Runs", "bump_stats", "due_from_invoices", "stats_from_invoices"]
