"""The scheduled jobs with the fake clock across fiscal-year boundaries: renewals by the
clause, termination deadlines and stop notices, fee notices, reminders, the ID batch, and
invoice runs that bill once, resume after a crash and refuse to overlap."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from api.billing import runs as runs_module
from api.billing.runs import Runs
from api.config import Settings
from tests.billing.harness import MUNI, MUNI_B, MUNI_B_ORG, MUNI_ORG, OP, harness

pytestmark = pytest.mark.anyio


async def test_renewal_catches_up_every_missed_year_and_bills_each_once(
    settings: Settings,
) -> None:
    """seed 000 注意: no declaration → one more year, again and again; a beat that was down
    for three years renews three times in one run, and each fiscal year is billed once."""
    async with harness(settings) as h:
        agreement = await h.agreement(starts_on="2026-04-01")
        h.at(date(2029, 4, 5))
        await h.run_jobs()
        await h.run_jobs()
        fresh = await h.ok(MUNI, "GET", f"/billing/agreements/{agreement['id']}")
        assert fresh["renewals"] == 3
        assert fresh["term_ends_on"] == "2030-03-31"
        assert fresh["termination_notice_by"] == "2030-02-15"
        assert fresh["renewal_declaration_by"] == "2030-02-28"
        annual = await h.all("billing_invoices", kind="annual")
        assert sorted(i["fiscal_year"] for i in annual) == [2026, 2027, 2028, 2029]
        assert len({i["number"] for i in annual}) == 4
        assert len(await h.audit("billing.agreement_renewed")) == 1


async def test_leap_day_term_renews_on_the_last_day_of_february(settings: Settings) -> None:
    """An agreement whose first term ends 2024-02-28 (anchor 2024-02-29) renews to 2月28日
    each year; a clock walking day by day through 2028's 2月29日 renews once per year."""
    async with harness(settings, start=date(2023, 3, 1)) as h:
        agreement = await h.agreement(starts_on="2023-03-01", term_ends_on="2024-02-28")
        assert agreement["anchor"] == "2024-02-29"
        seen = []
        day = date(2027, 2, 25)
        while day <= date(2028, 3, 3):
            h.at(day)
            await h.run_jobs()
            record = (await h.all("billing_agreements", id=agreement["id"]))[0]
            seen.append(record["term_ends_on"])
            day = (
                date.fromordinal(day.toordinal() + 1)
                if day.month in (2, 3)
                else date(day.year + 1 if day.month > 3 else day.year, 2, 25)
            )
        assert "2028-02-28" in seen
        assert "2029-02-28" in seen
        assert sorted(set(seen)) == ["2027-02-28", "2028-02-28", "2029-02-28"]


async def test_termination_deadlines(settings: Settings) -> None:
    """利用終了通知 by 2月15日 (seed 000), after that only the operator until the clause's
    deadline (2月末), after that nobody; the stop notice follows once; the term ends and the
    next year is not billed."""
    async with harness(settings) as h:
        a = await h.agreement(starts_on="2026-04-01")
        b = await h.agreement(starts_on="2026-04-01", subject=MUNI_B)
        h.at(date(2027, 2, 16))
        late = await h.problem(
            MUNI,
            "POST",
            f"/billing/agreements/{a['id']}/terminate",
            409,
            json={"reason": "予算の都合"},
        )
        assert late["code"] == "deadline_passed"
        assert "2月28日" in late["detail"]
        await h.problem(
            OP, "POST", f"/billing/agreements/{a['id']}/terminate", 400, json={"reason": ""}
        )
        done = await h.ok(
            OP,
            "POST",
            f"/billing/agreements/{a['id']}/terminate",
            json={"reason": "2月16日に電話で受付"},
        )
        assert done["state"] == "terminating"
        assert done["termination"]["late"] is True
        h.at(date(2027, 3, 1))
        after = await h.problem(
            OP, "POST", f"/billing/agreements/{b['id']}/terminate", 409, json={"reason": "遅い"}
        )
        assert after["code"] == "deadline_passed"
        await h.run_jobs()
        await h.run_jobs()
        stops = await h.all("billing_documents", form="jouun8")
        assert len(stops) == 1
        # 様式情運-3 goes to the continuing municipality only.
        notices = await h.all("billing_documents", form="jouun3")
        assert [n["org_ids"] for n in notices] == [[MUNI_B_ORG]]
        h.at(date(2027, 4, 1))
        await h.run_jobs()
        ended = (await h.all("billing_agreements", id=a["id"]))[0]
        assert ended["state"] == "terminated"
        billed = {(i["org_id"], i["fiscal_year"]) for i in await h.all("billing_invoices")}
        assert (MUNI_ORG, 2027) not in billed
        assert (MUNI_B_ORG, 2027) in billed
        assert (MUNI_ORG, 2026) in billed


async def test_in_time_termination_by_the_municipality(settings: Settings) -> None:
    async with harness(settings) as h:
        a = await h.agreement(starts_on="2026-04-01")
        h.at(date(2027, 2, 15))
        done = await h.ok(MUNI, "POST", f"/billing/agreements/{a['id']}/terminate", json={})
        assert done["termination"]["late"] is False
        forms = [
            d["form"]
            for d in await h.all("billing_documents", source=f"billing_agreements/{a['id']}")
        ]
        assert "jouun7" in forms


async def test_fee_notice_from_march_once(settings: Settings) -> None:
    async with harness(settings) as h:
        await h.agreement(starts_on="2026-04-01")
        h.at(date(2027, 2, 28))
        assert (await h.run_jobs())["notices"]["fee_notices"] == 0
        h.at(date(2027, 3, 1))
        assert (await h.run_jobs())["notices"]["fee_notices"] == 1
        assert (await h.run_jobs())["notices"]["fee_notices"] == 0
        [notice] = await h.all("billing_documents", form="jouun3")
        assert notice["amounts"] == {"net": 180000, "tax": 18000, "total": 198000}


async def _reminders(h: Any) -> list[str]:
    return sorted(n["source"] for n in await h.all("notifications") if "#reminder" in n["source"])


async def test_reminders_by_stage_once(settings: Settings) -> None:
    async with harness(settings) as h:
        await h.agreement(starts_on="2026-04-01")
        h.at(date(2026, 4, 1))
        await h.run_jobs()
        h.at(date(2026, 6, 30))
        await h.run_jobs()
        assert await _reminders(h) == []
        h.at(date(2026, 7, 1))
        await h.run_jobs()
        await h.run_jobs()
        first = await _reminders(h)
        assert len(first) == 1
        assert first[0].endswith("#reminder1")
        h.at(date(2026, 9, 15))  # 77 days late: a missed month sends the stage reached
        await h.run_jobs()
        stages = [s.rsplit("#", 1)[1] for s in await _reminders(h)]
        assert stages == ["reminder1", "reminder3"]
        invoice = (await h.all("billing_invoices", kind="annual"))[0]
        assert invoice["total"] == 198000  # no late fee


async def test_orderer_ids_issued_once_a_year_and_fixed(settings: Settings) -> None:
    """発注者IDは一括管理とする（年度当初，1年固定）."""
    async with harness(settings) as h:
        staff = [
            {"login_id": "fk-kantoku1", "name": "監督 一"},
            {"login_id": "fk-kantoku2", "name": "監督 二"},
        ]
        h.at(date(2026, 3, 10))
        await h.ok(MUNI, "PUT", "/billing/rosters/2026", json={"staff": staff})
        assert (await h.run_jobs())["issue_ids"]["rosters"] == 0
        h.at(date(2026, 4, 2))  # the 1st was missed: caught up
        assert (await h.run_jobs())["issue_ids"]["rosters"] == 1
        assert (await h.run_jobs())["issue_ids"]["rosters"] == 0
        users = {u["login_id"]: u for u in await h.all("users", org_id=MUNI_ORG)}
        assert {"fk-kantoku1", "fk-kantoku2"} <= set(users)
        fixed = await h.problem(MUNI, "PUT", "/billing/rosters/2026", 409, json={"staff": staff})
        assert fixed["code"] == "roster_fixed"
        await h.ok(MUNI, "PUT", "/billing/rosters/2027", json={"staff": staff[:1]})
        h.at(date(2027, 4, 1))
        await h.run_jobs()
        users = {u["login_id"]: u for u in await h.all("users", org_id=MUNI_ORG)}
        assert users["fk-kantoku1"]["status"] == "active"
        assert users["fk-kantoku2"]["status"] == "disabled"
        shown = await h.ok(
            MUNI,
            "POST",
            "/billing/credentials/reveal",
            json={"source": f"billing_rosters/{MUNI_ORG}-2026"},
        )
        assert sorted(a["login_id"] for a in shown["accounts"]) == ["fk-kantoku1", "fk-kantoku2"]


async def test_two_runs_at_once_and_a_crash_half_way(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness(settings) as h:
        await h.agreement(starts_on="2026-04-01")
        await h.agreement(starts_on="2026-04-01", subject=MUNI_B)
        h.at(date(2026, 4, 1))
        runs = Runs(h.container)
        lease = await runs._lease(2026)
        busy = await h.problem(OP, "POST", "/billing/runs/annual", 409, json={"fiscal_year": 2026})
        assert busy["code"] == "run_in_progress"
        await runs._release(lease, failed=False)

        monkeypatch.setattr(runs_module, "CHUNK", 1)
        real = Runs._chunk
        calls = 0

        async def crashing(self: Runs, *args: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise RuntimeError("worker killed half-way")
            return await real(self, *args)

        monkeypatch.setattr(Runs, "_chunk", crashing)
        with pytest.raises(RuntimeError):
            await runs.annual("system:test", 2026)
        assert len(await h.all("billing_invoices", kind="annual")) == 1
        monkeypatch.setattr(Runs, "_chunk", real)
        assert await runs.annual("system:test", 2026) == {"created": 1, "skipped": 1}
        annual = await h.all("billing_invoices", kind="annual")
        assert sorted(i["org_id"] for i in annual) == sorted([MUNI_ORG, MUNI_B_ORG])
        assert sorted(i["number"] for i in annual) == ["請求第2026-000001号", "請求第2026-000002号"]
        stats = (await h.all("billing_stats", fiscal_year=2026))[0]
        assert (stats["invoices"], stats["billed"]) == (2, 2 * 198000)
