"""The contract security check (seed 003 公告 共通事項 21 and its table, 1(2)) and the works
fields it reads, and guarantee balances by scope (seed 002 保証債務残高管理)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from api.bonds.security import add_months, evaluate, required_amount
from api.works.models import award_price
from tests.bonds.harness import (
    BUILDER,
    BUILDER_ORG,
    CLERK,
    ISSUER,
    ISSUER_B,
    KEEPER,
    ORDERER_PLAIN,
    STRANGER,
    Harness,
)

pytestmark = pytest.mark.anyio

WORK = {"contract_price": 12_500_000, "contract_date": "2026-06-12", "low_bid": False}


def sec(kind: str, amount: int, **c: Any) -> dict[str, Any]:
    return {"kind": kind, "contents": {"amount": amount, **c}}


@pytest.mark.parametrize(
    ("work", "securities", "passed", "reason"),
    [
        # 1/10 of 12,500,000 is 1,250,000 (10分の1以上)
        (WORK, [sec("cash", 1_250_000, paid_on="2026-06-11")], True, None),
        (WORK, [sec("cash", 1_249_999, paid_on="2026-06-11")], False, "10分の1"),
        # 低価格入札者 10分の3以上: 3,750,000
        (
            {**WORK, "low_bid": True},
            [sec("performance_bond", 3_750_000, issued_on="2026-06-10")],
            True,
            None,
        ),
        (
            {**WORK, "low_bid": True},
            [sec("performance_bond", 3_749_999, issued_on="2026-06-10")],
            False,
            "10分の3",
        ),
        # 契約締結の日までに
        (WORK, [sec("cash", 2_000_000, paid_on="2026-06-13")], False, "契約締結日"),
        # 議会の議決の日 when the contract needs one
        (
            {**WORK, "resolution_date": "2026-06-30"},
            [sec("cash", 2_000_000, paid_on="2026-06-20")],
            True,
            None,
        ),
        (
            {**WORK, "resolution_date": "2026-06-30"},
            [sec("cash", 2_000_000, paid_on="2026-07-01")],
            False,
            "議会の議決の日",
        ),
        # 現金と保険等の併用は認めない
        (
            WORK,
            [
                sec("cash", 1_250_000, paid_on="2026-06-01"),
                sec("performance_insurance", 1_250_000, issued_on="2026-06-01"),
            ],
            False,
            "現金と保険等の併用",
        ),
        # 複数の保険等を組み合わせることは認めない
        (
            WORK,
            [
                sec("performance_bond", 700_000, issued_on="2026-06-01"),
                sec("performance_insurance", 700_000, issued_on="2026-06-01"),
            ],
            False,
            "複数",
        ),
        # 金融機関等の保証: 請求期限を保証期間経過後6か月以上
        (
            WORK,
            [
                sec(
                    "financial_guarantee",
                    1_250_000,
                    issued_on="2026-06-01",
                    period_end="2026-08-31",
                    claim_deadline="2027-02-28",
                )
            ],
            True,
            None,
        ),
        (
            WORK,
            [
                sec(
                    "financial_guarantee",
                    1_250_000,
                    issued_on="2026-06-01",
                    period_end="2026-08-31",
                    claim_deadline="2027-02-27",
                )
            ],
            False,
            "6か月",
        ),
        # no price, no date, nothing at all
        ({}, [sec("cash", 1, paid_on="2026-06-01")], False, "請負代金額"),
        (WORK, [], False, "登録されていません"),
        # the award price stands in for a contract price not yet entered (1(2))
        (
            {"award_price": 10_000_000, "contract_date": "2026-06-12"},
            [sec("cash", 1_000_000, paid_on="2026-06-01")],
            True,
            None,
        ),
    ],
)
def test_the_rules_of_clause_21(
    work: dict[str, Any], securities: list[dict[str, Any]], passed: bool, reason: str | None
) -> None:
    result = evaluate(work, securities, 0)
    assert result["passed"] is passed, result["reasons"]
    if reason:
        assert any(reason in r for r in result["reasons"]), result["reasons"]


def test_required_amount_rounds_up_and_months_end_well() -> None:
    assert required_amount(12_500_001, False) == 1_250_001  # 以上: never below the tenth
    assert required_amount(10, True) == 3
    assert add_months(__import__("datetime").date(2026, 8, 31), 6).isoformat() == "2027-02-28"


def test_award_price_is_the_bid_plus_a_tenth_truncated() -> None:
    """seed 003 共通事項 1(2): 入札書に記載された金額に当該金額の100分の10に該当する額を加算
    した金額（1円未満の端数切捨て）."""
    assert award_price(11_900_000) == 13_090_000
    assert award_price(1_190_001) == 1_309_001  # 1,309,001.1 → 1,309,001
    assert award_price(9) == 9  # 9.9 → 9


async def test_works_record_the_bid_and_compute_the_award_price(h: Harness) -> None:
    work = await h.ok(CLERK, "GET", f"/works/{h.work_id}")
    updated = await h.ok(
        CLERK,
        "PATCH",
        f"/works/{h.work_id}",
        json={
            "version": work["version"],
            "bid_amount": 11_363_637,
            "low_bid": True,
            "contract_date": "2026-06-12",
            "contract_price": 12_500_000,
        },
    )
    assert updated["award_price"] == 12_500_000  # 11,363,637 x 1.1 = 12,500,000.7
    assert updated["low_bid"] is True
    assert updated["contract_date"] == "2026-06-12"
    r = await h.call(
        CLERK,
        "PATCH",
        f"/api/v1/works/{h.work_id}",
        json={"version": updated["version"], "award_price": 1},
    )
    assert r.status_code == 422  # computed, never sent


async def _contracted_work(h: Harness, low_bid: bool = False) -> None:
    work = await h.ok(CLERK, "GET", f"/works/{h.work_id}")
    await h.ok(
        CLERK,
        "PATCH",
        f"/works/{h.work_id}",
        json={
            "version": work["version"],
            "contract_price": 12_500_000,
            "contract_date": "2026-06-12",
            "low_bid": low_bid,
        },
    )


async def test_check_counts_the_orderers_records_and_opened_bonds_only(h: Harness) -> None:
    await _contracted_work(h)
    await h.certificate()
    # an issuer's performance bond, not yet opened with its key
    perf = await h.register(
        kind="performance_bond",
        opening_at=None,
        amount=1_250_000,
        contract_amount=12_500_000,
        issued_on="2026-06-11",
    )
    await h.sign(perf["id"])
    check = await h.ok(CLERK, "GET", f"/works/{h.work_id}/contract-security")
    assert check["passed"] is False
    assert any("認証キー" in r for r in check["reasons"])
    assert check["securities"][0]["view"] == "existence"
    # the orderer opens it with the key the contractor handed over
    await h.present(await h.download(perf["id"]))
    check = await h.ok(CLERK, "GET", f"/works/{h.work_id}/contract-security")
    assert check["passed"] is True, check["reasons"]
    assert check["required_amount"] == 1_250_000
    # cash as well: one form only (seed 003 21)
    cash = await h.ok(
        KEEPER,
        "POST",
        "/bonds/securities",
        201,
        json={
            "kind": "cash",
            "work_id": h.work_id,
            "obligor_org_id": BUILDER_ORG,
            "amount": 1_250_000,
            "paid_on": "2026-06-10",
        },
    )
    assert cash["view"] == "full"
    assert cash["origin"] == "orderer"
    check = await h.ok(CLERK, "GET", f"/works/{h.work_id}/contract-security")
    assert check["passed"] is False
    assert any("併用" in r for r in check["reasons"])
    # another orderer, and a user without the right, get nothing
    assert (
        await h.call(STRANGER, "GET", f"/api/v1/works/{h.work_id}/contract-security")
    ).status_code == 404
    assert (
        await h.call(ORDERER_PLAIN, "GET", f"/api/v1/works/{h.work_id}/contract-security")
    ).status_code in (403, 404)


async def test_orderer_security_records_need_a_date_and_their_own_work(h: Harness) -> None:
    body = {
        "kind": "cash",
        "work_id": h.work_id,
        "obligor_org_id": BUILDER_ORG,
        "amount": 1_000_000,
    }
    r = await h.call(KEEPER, "POST", "/api/v1/bonds/securities", json=body)
    assert r.status_code == 400
    assert r.json()["field"] == "paid_on"
    r = await h.call(
        STRANGER, "POST", "/api/v1/bonds/securities", json={**body, "paid_on": "2026-06-01"}
    )
    assert r.status_code == 400
    assert r.json()["field"] == "work_id"


async def test_balances_by_scope_with_exports(h: Harness) -> None:
    """seed 002 保証債務残高管理 1) a) all issuers b) per issuer c) per bond; 2) over time.
    An issuer sees its own bonds one by one and every issuer's total once nothing of it is
    sealed; a sealed bond of another issuer is in no figure it sees."""
    await h.certificate()
    await h.register(
        kind="performance_bond",
        opening_at=None,
        amount=4_000_000,
        period_start="2026-05-01",
        period_end="2027-04-30",
        paper=True,
    )
    await h.register(
        who=ISSUER_B,
        kind="performance_insurance",
        opening_at=None,
        amount=6_000_000,
        period_start="2026-05-01",
        period_end="2026-12-31",
        paper=True,
    )
    await h.register(who=ISSUER_B, amount=999_999)  # sealed bid bond of issuer B
    mine = await h.ok(ISSUER, "GET", "/bonds/balances")
    assert mine["total"] == 10_000_000
    assert {r["issuer_name"]: r["outstanding"] for r in mine["issuers"]} == {
        "東日本建設業保証株式会社": 4_000_000,
        "西日本損害保険株式会社": 6_000_000,
    }
    assert [r["amount"] for r in mine["bonds"]] == [4_000_000]  # per bond: own only
    theirs = await h.ok(ISSUER_B, "GET", "/bonds/balances")
    assert theirs["total"] == 10_000_000 + 999_999  # its own sealed bond counts for itself
    history = await h.ok(
        ISSUER, "GET", "/bonds/balances/history?from=2026-04-01&to=2027-06-30&step=month"
    )
    total = next(s for s in history["series"] if s["key"] == "total")["values"]
    assert total[0] == 0
    assert total[1] == 10_000_000
    assert total[-1] == 0
    assert max(total) == 10_000_000  # the sealed 999,999 never shows to issuer A
    r = await h.call(ISSUER, "GET", "/api/v1/bonds/balances/export?format=xlsx")
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["ボンド毎の残高", "発行機関毎の残高"]
    assert book["発行機関毎の残高"]["B4"].value == 10_000_000
    r = await h.call(ISSUER, "GET", "/api/v1/bonds/balances/export?format=csv")
    assert r.text.startswith("\ufeff種類")
    assert "4000000" in r.text
    h.clock.advance(days=10)  # past B's 開札日時
    mine = await h.ok(ISSUER, "GET", "/bonds/balances")
    assert mine["total"] == 10_999_999


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def _receipt(h: Harness, who: Any, name: str = "領収証書.pdf") -> str:
    """A staged attachment uploaded by tus (creation-with-upload), organization scope."""

    def b64(v: str) -> str:
        return base64.b64encode(v.encode()).decode()

    r = await h.call(
        who,
        "POST",
        "/api/v1/attachments/uploads",
        content=PDF,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(PDF)),
            "Upload-Metadata": f"filename {b64(name)},filetype {b64('application/pdf')}",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.headers["Kura-Attachment-Id"])


async def test_cash_is_recorded_with_its_receipt_pdf(h: Harness) -> None:
    """issue 11 §1: cash (契約保証金) is recorded by the orderer with the receipt PDF (seed 003
    21 の表: 契約保証金 → 領収証書); the receipt is read by whoever reads the record."""
    await _contracted_work(h)
    receipt = await _receipt(h, KEEPER)
    body = {
        "kind": "cash",
        "work_id": h.work_id,
        "obligor_org_id": BUILDER_ORG,
        "amount": 1_250_000,
        "paid_on": "2026-06-10",
        "receipt_ids": [receipt],
    }
    cash = await h.ok(KEEPER, "POST", "/bonds/securities", 201, json=body)
    assert cash["receipt_ids"] == [receipt]
    meta = await h.ok(CLERK, "GET", f"/attachments/{receipt}")
    assert meta["state"] == "linked"
    assert meta["parent"] == f"bonds/{cash['id']}"
    content = await h.call(CLERK, "GET", f"/api/v1/attachments/{receipt}/content")
    assert content.status_code == 200
    assert content.content == PDF
    # the obligor reads the record, so its receipt; another orderer and a user without a
    # bonds grant do not (404: the receipt's existence is not revealed)
    assert (await h.call(BUILDER, "GET", f"/api/v1/attachments/{receipt}")).status_code == 200
    for other in (STRANGER, ORDERER_PLAIN, ISSUER):
        r = await h.call(other, "GET", f"/api/v1/attachments/{receipt}/content")
        assert r.status_code == 404, (other.login_id, r.text)
    check = await h.ok(CLERK, "GET", f"/works/{h.work_id}/contract-security")
    assert check["passed"] is True, check["reasons"]


@pytest.mark.parametrize("case", ["unknown", "someone_elses", "twice", "linked"])
async def test_a_bad_receipt_is_refused_and_nothing_is_stored(h: Harness, case: str) -> None:
    """issue 11 "Bad input": a receipt that is not the recorder's own staged upload; 400 naming
    the field, no record, no revision, no audit event, the attachment untouched."""
    await _contracted_work(h)
    body: dict[str, Any] = {
        "kind": "cash",
        "work_id": h.work_id,
        "obligor_org_id": BUILDER_ORG,
        "amount": 1_250_000,
        "paid_on": "2026-06-10",
    }
    if case == "unknown":
        body["receipt_ids"] = ["0" * 26]
    elif case == "someone_elses":
        body["receipt_ids"] = [await _receipt(h, CLERK)]
    elif case == "twice":
        mine = await _receipt(h, KEEPER)
        body["receipt_ids"] = [mine, mine]
    else:
        used = await _receipt(h, KEEPER)
        await h.ok(KEEPER, "POST", "/bonds/securities", 201, json={**body, "receipt_ids": [used]})
        body["receipt_ids"] = [used]
    before = {
        c: await h.container.records.count(c)
        for c in ("bonds", "bond_revisions", "audit_events", "attachments")
    }
    r = await h.call(KEEPER, "POST", "/api/v1/bonds/securities", json=body)
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    after = {c: await h.container.records.count(c) for c in before}
    assert after == before
    if case == "someone_elses":
        meta = await h.ok(CLERK, "GET", f"/attachments/{body['receipt_ids'][0]}")
        assert meta["state"] == "staged"
