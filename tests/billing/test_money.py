"""Payments (entered, bank CSV), credit notes, tariff changes and the sandbox boundary: bad
input gets a clear error, nothing is billed or paid twice, every change is audited."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from api.config import Settings
from tests.billing.harness import MUNI, MUNI_B, MUNI_ORG, OP, harness

pytestmark = pytest.mark.anyio


async def _annual(h: Any) -> dict[str, Any]:
    await h.agreement(starts_on="2026-04-01")
    h.at(date(2026, 4, 1))
    await h.run_jobs()
    [invoice] = await h.all("billing_invoices", kind="annual")
    return dict(invoice)


async def test_bank_csv_is_imported_once_and_reports_what_does_not_match(
    settings: Settings,
) -> None:
    async with harness(settings) as h:
        invoice = await _annual(h)
        number = invoice["number"]
        csv_text = (
            "取引日,金額,振込依頼人名,摘要\n"
            f"2026-05-10,100000,フクヤマシ,{number}\n"
            "2026-05-11,5000,ダレカ,請求第2026-999999号\n"
            f"2026-06-01,98000,フクヤマシ,{number.replace('請求第', '').replace('号', '')}\n"
            f"2026-06-02,1,フクヤマシ,{number}\n"
        )
        raw = csv_text.encode("cp932")
        report = await h.ok(
            OP,
            "POST",
            "/billing/payments/import",
            content=raw,
            headers={"content-type": "text/csv"},
        )
        assert [m["amount"] for m in report["matched"]] == [100000, 98000]
        assert [u["row"] for u in report["unmatched"]] == [3, 5]
        again = await h.ok(
            OP,
            "POST",
            "/billing/payments/import",
            content=raw,
            headers={"content-type": "text/csv"},
        )
        assert again["matched"] == []
        assert again["duplicates"] == [2, 4]
        paid = await h.ok(MUNI, "GET", f"/billing/invoices/{invoice['id']}")
        assert (paid["state"], paid["paid"], paid["balance"]) == ("paid", 198000, 0)
        assert len(paid["payments"]) == 2
        summary = await h.ok(MUNI, "GET", "/billing/summary")
        assert summary == [
            {
                "fiscal_year": 2026,
                "billed": 198000,
                "credited": 0,
                "paid": 198000,
                "balance": 0,
                "overdue": 0,
            }
        ]


async def test_payments_that_match_nothing_or_too_much_are_refused(settings: Settings) -> None:
    async with harness(settings) as h:
        invoice = await _annual(h)
        missing = await h.problem(
            OP,
            "POST",
            "/billing/payments",
            404,
            json={"invoice_number": "請求第2026-123456号", "amount": 10, "paid_on": "2026-05-01"},
        )
        assert missing["code"] == "no_matching_invoice"
        over = await h.problem(
            OP,
            "POST",
            "/billing/payments",
            409,
            json={"invoice_number": invoice["number"], "amount": 198001, "paid_on": "2026-05-01"},
        )
        assert over["code"] == "over_balance"
        assert await h.all("billing_payments") == []
        # 出納整理期間: a payment for FY2026 on 2027-06-01 counts as late.
        await h.ok(
            OP,
            "POST",
            "/billing/payments",
            201,
            json={"invoice_number": invoice["number"], "amount": 1000, "paid_on": "2027-05-31"},
        )
        await h.ok(
            OP,
            "POST",
            "/billing/payments",
            201,
            json={"invoice_number": invoice["number"], "amount": 2000, "paid_on": "2027-06-01"},
        )
        stats = (await h.all("billing_stats", fiscal_year=2026))[0]
        assert (stats["collected_in_closing"], stats["collected_late"]) == (1000, 2000)
        partly = await h.ok(OP, "GET", f"/billing/invoices/{invoice['id']}")
        assert partly["state"] == "partly_paid"


async def test_credit_note_instead_of_an_edit(settings: Settings) -> None:
    async with harness(settings) as h:
        invoice = await _annual(h)
        note = await h.ok(
            OP,
            "POST",
            f"/billing/invoices/{invoice['id']}/credit",
            201,
            json={"amount": 60000, "reason": "保管管理システム未使用"},
        )
        assert (note["net"], note["tax"], note["total"]) == (-60000, -6000, -66000)
        assert note["credit_of"] == invoice["id"]
        after = await h.ok(OP, "GET", f"/billing/invoices/{invoice['id']}")
        assert (after["total"], after["credited"], after["balance"]) == (198000, 66000, 132000)
        due = {r["id"]: r["outstanding"] for r in await h.all("billing_due")}
        assert due == {"2026:2026-06-30": 132000}
        too_much = await h.problem(
            OP,
            "POST",
            f"/billing/invoices/{invoice['id']}/credit",
            400,
            json={"amount": 130001, "reason": "過大"},
        )
        assert too_much["code"] == "validation_failed"
        assert len(await h.audit("billing.invoice_issued")) == 2


async def test_a_tariff_change_that_would_alter_an_issued_invoice_is_refused(
    settings: Settings,
) -> None:
    async with harness(settings) as h:
        await _annual(h)  # FY2026 billed with the standard tariff up to 2027-03-31
        items = [
            {
                "code": "collab_annual",
                "label": "情報共有システム利用料（年額）",
                "kind": "org_annual",
                "system": "collab",
                "unit_price": 150000,
            }
        ]
        refused = await h.problem(
            OP,
            "POST",
            "/billing/tariffs",
            409,
            json={"name": "改定", "valid_from": "2026-10-01", "items": items},
        )
        assert refused["code"] == "tariff_in_use"
        created = await h.ok(
            OP,
            "POST",
            "/billing/tariffs",
            201,
            json={"name": "改定", "valid_from": "2027-04-01", "items": items},
        )
        assert created["valid_to"] is None
        tariffs = await h.ok(MUNI, "GET", "/billing/tariffs")
        assert [t["valid_from"] for t in tariffs] == ["2027-04-01", "2000-04-01"]
        assert tariffs[1]["valid_to"] == "2027-04-01"


async def test_requests_for_another_municipalitys_work_and_applications_for_closed_works(
    settings: Settings,
) -> None:
    async with harness(settings) as h:
        await h.agreement(starts_on="2026-04-01")
        await h.agreement(starts_on="2026-04-01", subject=MUNI_B)
        theirs = await h.ok(
            MUNI_B,
            "POST",
            "/works",
            201,
            json={
                "kind": "construction",
                "title": "尾道市の工事",
                "number": "O-1",
                "orderer_org_id": h_b_org(),
                "contractor_org_ids": [],
                "location": {"address": "尾道市", "municipality_code": "34205"},
                "period_start": "2026-06-01",
                "period_end": "2026-07-31",
            },
        )
        other = await h.problem(
            MUNI,
            "POST",
            "/billing/requests",
            404,
            json={"work_id": theirs["id"], "supervisor_ids": []},
        )
        assert other["code"] == "not_found"
        request = await h.request("R8-0001")
        duplicate = await h.problem(
            MUNI,
            "POST",
            "/billing/requests",
            409,
            json={"work": request["work"], "supervisor_ids": [MUNI.user_id]},
        )
        assert duplicate["code"] == "duplicate"
        # not approved yet: not open
        body = {
            "approval_number": "承諾第2025-00001号",
            "work_number": "R8-0001",
            "company": {"name": "春日建設株式会社"},
            "staff": [{"login_id": "kasuga1", "name": "現場 一"}],
        }
        from tests.billing.harness import BUILDER

        closed = await h.problem(BUILDER, "POST", "/billing/applications", 409, json=body)
        assert closed["code"] == "work_not_open"
        assert await h.all("billing_applications") == []


def h_b_org() -> str:
    from tests.billing.harness import MUNI_B_ORG

    return MUNI_B_ORG


async def test_sandbox_is_sample_data_apart_from_production(settings: Settings) -> None:
    async with harness(settings) as h:
        await h.agreement(starts_on="2026-04-01")
        box = await h.ok(
            OP,
            "POST",
            "/billing/sandboxes",
            201,
            json={"name": "三原市", "login_id": "mihara-trial"},
        )
        assert len(box["one_time_password"]) >= 16
        sandbox_works = await h.all("works", orderer_org_id=box["org_id"])
        assert len(sandbox_works) == 2
        # A sandbox organization's user cannot be put on a production work, nor the reverse.
        prod = await h.ok(
            MUNI,
            "POST",
            "/works",
            201,
            json={
                "kind": "construction",
                "title": "本番の工事",
                "number": "P-1",
                "orderer_org_id": MUNI_ORG,
                "contractor_org_ids": [],
                "location": {"address": "福山市", "municipality_code": "34207"},
                "period_start": "2026-06-01",
                "period_end": "2026-07-31",
            },
        )
        trial_user = (await h.all("users", org_id=box["org_id"]))[0]
        refused = await h.problem(
            MUNI,
            "POST",
            f"/works/{prod['id']}/members",
            400,
            json={"user_id": trial_user["id"], "role": "viewer"},
        )
        assert "試行環境" in refused["detail"]
        await h.problem(
            OP,
            "PATCH",
            f"/works/{prod['id']}",
            400,
            json={"version": prod["version"], "contractor_org_ids": [box["contractor_org_id"]]},
        )
        # Never billed, never counted; reset only sandboxes, and it re-seeds.
        h.at(date(2026, 4, 1))
        await h.run_jobs()
        billed = {i["org_id"] for i in await h.all("billing_invoices") if not i.get("sandbox")}
        assert billed == {MUNI_ORG}
        listed = await h.ok(OP, "GET", "/billing/invoices")
        assert {i["org_id"] for i in listed["items"]} == {MUNI_ORG}
        stats = (await h.all("billing_stats", fiscal_year=2026))[0]
        assert stats["invoices"] == 1
        refused_reset = await h.problem(OP, "POST", f"/billing/sandboxes/{MUNI_ORG}/reset", 409)
        assert refused_reset["code"] == "not_sandbox"
        reset = await h.ok(OP, "POST", f"/billing/sandboxes/{box['org_id']}/reset")
        assert reset["deleted"]["works"] == 2
        assert len(await h.all("works", orderer_org_id=box["org_id"])) == 2
        assert len(await h.all("works", orderer_org_id=MUNI_ORG)) == 1
        assert (await h.all("billing_invoices", org_id=MUNI_ORG))[0]["kind"] == "annual"
