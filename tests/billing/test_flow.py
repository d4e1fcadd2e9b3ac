"""The per-work flow of seed 000 through the API: 覚書 → 利用依頼 (様式情運-1) → 利用承諾
(様式情運-2) → 利用申込書 → ID等の配布・利用料金支払請求 → 支払状況確認 → 利用開始通知 →
4月の請求 (様式情運-4) → 利用完了処理 with the refund when the period is shorter.

Expected figures are worked out by hand from the tariff (10,000円/月, 120,000円 + 60,000円
a year) and the rules cited in ``api.billing.rules``.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from api.billing.runs import due_from_invoices, stats_from_invoices
from api.config import Settings
from tests.billing.harness import (
    BUILDER,
    CONTRACTOR,
    MUNI,
    MUNI_ORG,
    OP,
    REGISTRATION,
    harness,
)

pytestmark = pytest.mark.anyio


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def test_seed_000_flow_bills_once_and_refunds_a_shorter_period(settings: Settings) -> None:
    async with harness(settings) as h:
        # 覚書の締結 (2026-01-15): first term to the end of FY2026, the two deadlines explicit.
        agreement = await h.agreement(starts_on="2026-04-01")
        assert agreement["state"] == "active"
        assert agreement["term_ends_on"] == "2027-03-31"
        assert agreement["termination_notice_by"] == "2027-02-15"  # seed 000: 2月中旬
        assert agreement["renewal_declaration_by"] == "2027-02-28"  # seed 000 注意: 1か月前

        # 様式情運-1 → 様式情運-2: the operator's approval registers the work
        # (【システムへの登録】).
        request = await h.approved_request()
        assert request["state"] == "approved"
        work = await h.ok(MUNI, "GET", f"/works/{request['work_id']}")
        assert work["status"] == "registered"
        assert work["orderer_org_id"] == MUNI_ORG
        members = await h.ok(MUNI, "GET", f"/works/{work['id']}/members")
        assert [m["user_id"] for m in members] == [MUNI.user_id]
        forms = {
            d["form"]
            for d in (await h.ok(MUNI, "GET", f"/billing/requests/{request['id']}"))["documents"]
        }
        assert forms == {"jouun1", "jouun2"}

        # 利用申込書 → 審査: IDs issued and the fee requested, months = ceil(92/31) = 3.
        app = await h.application(request)
        approved = await h.ok(OP, "POST", f"/billing/applications/{app['id']}/approve")
        assert approved["state"] == "approved"
        assert approved["fee_period"]["months"] == 3
        fee = await h.ok(BUILDER, "GET", f"/billing/invoices/{approved['fee_invoice_id']}")
        assert (fee["net"], fee["tax"], fee["total"]) == (30000, 3000, 33000)
        # 翌月末 of 2026-01-15 is Saturday 2026-02-28: the next business day (民法142条).
        assert fee["due_date"] == "2026-03-02"
        # Until the payment is confirmed the contractor is not on the work (default rule).
        assert (
            CONTRACTOR
            not in (await h.ok(MUNI, "GET", f"/works/{work['id']}"))["contractor_org_ids"]
        )

        # The one-time passwords: shown once to the applicant, never to the operator.
        source = f"billing_applications/{app['id']}"
        await h.problem(OP, "POST", "/billing/credentials/reveal", 404, json={"source": source})
        shown = await h.ok(BUILDER, "POST", "/billing/credentials/reveal", json={"source": source})
        assert [a["login_id"] for a in shown["accounts"]] == ["kasuga-genba"]
        assert len(shown["accounts"][0]["password"]) >= 16
        await h.problem(
            BUILDER, "POST", "/billing/credentials/reveal", 409, json={"source": source}
        )

        # 支払状況確認 → 利用開始通知: the work opens to the contractor.
        payment = await h.ok(
            OP,
            "POST",
            "/billing/payments",
            201,
            json={"invoice_number": fee["number"], "amount": 33000, "paid_on": "2026-01-20"},
        )
        assert payment["in_closing_period"] is True
        active = await h.ok(BUILDER, "GET", f"/billing/applications/{app['id']}")
        assert active["state"] == "active"
        assert "start_notice" in {d["form"] for d in active["documents"]}
        work = await h.ok(MUNI, "GET", f"/works/{work['id']}")
        assert work["status"] == "in_progress"
        assert work["contractor_org_ids"] == [CONTRACTOR]
        roles = {m["role"] for m in await h.ok(MUNI, "GET", f"/works/{work['id']}/members")}
        assert roles == {"supervisor", "contractor_member"}

        # April: the invoice run bills the municipality once (様式情運-4, 6月末まで).
        h.at(date(2026, 4, 1))
        await h.run_jobs()
        await h.run_jobs()
        annual = [i for i in await h.all("billing_invoices", kind="annual")]
        assert len(annual) == 1
        invoice = annual[0]
        assert invoice["org_id"] == MUNI_ORG
        assert (invoice["net"], invoice["tax"], invoice["total"]) == (180000, 18000, 198000)
        assert invoice["due_date"] == "2026-06-30"
        assert (await h.ok(OP, "POST", "/billing/runs/annual", json={"fiscal_year": 2026})) == {
            "created": 0,
            "skipped": 1,
        }

        # 利用完了処理 on 2026-07-20: 50 days used = 2 months of 3 billed → 1 month refunded.
        h.at(date(2026, 7, 20))
        done = await h.ok(MUNI, "POST", f"/billing/applications/{app['id']}/complete", json={})
        assert done["state"] == "completed"
        assert done["adjustment"]["used_months"] == 2
        assert done["archive_handover"] == "pending"
        notes = await h.all("billing_invoices", kind="credit_note")
        assert [(n["net"], n["tax"], n["total"]) for n in notes] == [(-10000, -1000, -11000)]
        refunded = await h.ok(OP, "GET", f"/billing/invoices/{fee['id']}")
        assert refunded["refund_due"] == 11000
        assert (await h.ok(MUNI, "GET", f"/works/{work['id']}"))["status"] == "completed"

        # The kept fiscal-year totals equal the ones rebuilt from the records.
        due = {r["id"]: r["outstanding"] for r in await h.all("billing_due")}
        rebuilt_due = await due_from_invoices(h.container.records)
        assert {k: v for k, v in due.items() if v} == {k: v for k, v in rebuilt_due.items() if v}
        assert rebuilt_due == {"2025:2026-03-02": 0, "2026:2026-06-30": 198000}
        rebuilt = await stats_from_invoices(h.container.records)
        kept = {int(r["fiscal_year"]): r for r in await h.all("billing_stats")}
        for fy, figures in rebuilt.items():
            assert {k: kept[fy][k] for k in figures} == figures

        # The invoice as printed: a 適格請求書 with the registration number and tax per rate.
        doc = (await h.ok(MUNI, "GET", f"/billing/invoices/{invoice['id']}"))["documents"][0]
        r = await h.ok(MUNI, "GET", f"/billing/documents/{doc['id']}/pdf")
        text = pdf_text(r.content)
        for expected in (
            REGISTRATION,
            "10%対象",
            "180,000",
            "18,000",
            "198,000",
            "様式情運-4",
            "福山市 御中",
            "令和8年6月30日",
        ):
            assert expected in text, expected
        again = await h.ok(MUNI, "GET", f"/billing/documents/{doc['id']}/pdf")
        assert again.content == r.content

        # IDs and passwords never in a mail or a printed form (seed 001 別表3 2(1)).
        texts = [m.get("raw", "") + str(m) for m in await h.all("mails")]
        for application_doc in await h.all("billing_documents", source=source):
            pdf = await h.ok(BUILDER, "GET", f"/billing/documents/{application_doc['id']}/pdf")
            texts.append(pdf_text(pdf.content))
        assert texts
        for text in texts:
            assert "kasuga-genba" not in text
            assert shown["accounts"][0]["password"] not in text

        # Every change is audited.
        for action in (
            "billing.agreement_concluded",
            "billing.request_approved",
            "billing.application_approved",
            "billing.payment_recorded",
            "billing.application_activated",
            "billing.invoice_issued",
            "billing.usage_completed",
            "billing.credentials_revealed",
        ):
            assert await h.audit(action), action
