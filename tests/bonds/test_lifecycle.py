"""A bond's life (F01 入札業務 <1>-<4>, F02 契約業務 <1>-<4>), the original as one versioned
record with copies at any version, and bad input ("Bad input" of issue 11)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from api.bonds import balances
from tests.bonds.harness import (
    BUILDER,
    BUILDER_ORG,
    CLERK,
    ISSUER,
    ISSUER_B,
    ISSUER_PLAIN,
    ORDERER_ORG,
    Harness,
    bond_body,
)

pytestmark = pytest.mark.anyio


async def test_registration_links_the_work_and_keeps_the_parties(h: Harness) -> None:
    """F01<1> ボンド情報登録: 1. ボンドの記載内容 2. 開札日時."""
    bond = await h.register()
    assert bond["work_id"] == h.work_id  # found by the orderer and its 工事番号
    assert bond["obligor_name"] == "春日建設株式会社"
    assert bond["obligee_name"] == "福山市"
    assert bond["issuer_name"] == "東日本建設業保証株式会社"
    assert bond["opening_at"] == "2026-06-10T01:00:00.000000Z"
    events = await h.audit("bonds.registered")
    assert len(events) == 1
    assert events[0]["after_digest"]


async def test_rebid_records_the_premium_difference_and_a_revision(h: Harness) -> None:
    """F01<2>-<3>: 再入札 → 保証・保険料増減の算出, ボンド情報更新, 認証キー再発行."""
    bond = await h.register(premium=12_000)
    updated = await h.ok(
        ISSUER,
        "PATCH",
        f"/bonds/{bond['id']}",
        json={
            "version": bond["version"],
            "event": "rebid",
            "amount": 1_400_000,
            "premium": 13_500,
            "opening_at": "2026-06-17T01:00:00Z",
        },
    )
    assert updated["revision"] == 2
    assert updated["premium_difference"] == 1_500
    assert updated["opening_at"] == "2026-06-17T01:00:00.000000Z"
    revisions = await h.ok(ISSUER, "GET", f"/bonds/{bond['id']}/revisions")
    assert [(r["revision"], r["event"], r["amount"]) for r in revisions] == [
        (1, "register", 1_309_100),
        (2, "rebid", 1_400_000),
    ]
    # a contract change is not a bid bond's update
    r = await h.call(
        ISSUER,
        "PATCH",
        f"/api/v1/bonds/{bond['id']}",
        json={"version": updated["version"], "event": "contract_change", "amount": 1},
    )
    assert r.status_code == 400


async def test_reservation_carries_into_the_performance_bond_and_is_deleted(h: Harness) -> None:
    """F02<1>: 予約されていた場合は、ボンド情報登録の際に予約時の情報を引き継ぐ;
    F02<2>: the reservation and the bid bond are deleted when the contract is made."""
    reservation = await h.register(
        kind="performance_reservation", amount=1_250_000, conditions="予約時の特約"
    )
    bid = await h.register()
    template = await h.ok(ISSUER, "GET", f"/bonds/{reservation['id']}/carry")
    assert template["conditions"] == "予約時の特約"
    assert template["kind"] == "performance_bond"
    body = {
        **{k: v for k, v in template.items() if k not in ("kind",)},
        "kind": "performance_bond",
        "certificate_no": "PB-0001",
        "amount": 1_250_000,
        "contract_amount": 12_500_000,
        "period_start": "2026-06-15",
        "period_end": "2026-08-31",
        "issued_on": "2026-06-12",
        "replaces": [bid["id"]],
    }
    body.pop("opening_at", None)
    performance = await h.ok(ISSUER, "POST", "/bonds", 201, json=body)
    assert performance["conditions"] == "予約時の特約"
    for old in (reservation, bid):
        gone = await h.ok(ISSUER, "GET", f"/bonds/{old['id']}")
        assert gone["state"] == "deleted"
        assert gone["deleted_reason"] == "contracted"
    # F02<3>: a contract change updates the performance bond
    changed = await h.ok(
        ISSUER,
        "PATCH",
        f"/bonds/{performance['id']}",
        json={
            "version": performance["version"],
            "event": "contract_change",
            "amount": 1_300_000,
            "contract_amount": 13_000_000,
        },
    )
    assert changed["revision"] == 2
    assert changed["amount"] == 1_300_000


async def test_losing_bidders_bonds_are_deleted(h: Harness) -> None:
    """F01<4> <不落札の場合> ボンド情報削除."""
    bond = await h.register()
    deleted = await h.ok(
        ISSUER, "DELETE", f"/bonds/{bond['id']}?version={bond['version']}&reason=lost"
    )
    assert deleted["state"] == "deleted"
    assert deleted["deleted_reason"] == "lost"
    r = await h.call(
        ISSUER, "DELETE", f"/api/v1/bonds/{bond['id']}?version={deleted['version']}&reason=lost"
    )
    assert r.status_code == 409
    r = await h.call(
        ISSUER,
        "PATCH",
        f"/api/v1/bonds/{bond['id']}",
        json={"version": deleted["version"], "event": "rebid", "amount": 5},
    )
    assert r.status_code == 409


async def test_copies_print_any_revision_marked_as_copies(h: Harness) -> None:
    """F01<3>, F02<3>: ボンドの原本はボンド管理システムにあるものとしコピーのダウンロードを
    可能とする: every revision prints, each marked 写し."""
    bond = await h.register(amount=1_111_111)
    await h.ok(
        ISSUER,
        "PATCH",
        f"/bonds/{bond['id']}",
        json={"version": bond["version"], "event": "rebid", "amount": 2_222_222},
    )
    texts = {}
    for revision in (1, 2):
        r = await h.call(BUILDER, "GET", f"/api/v1/bonds/{bond['id']}/copy.pdf?revision={revision}")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/pdf"
        texts[revision] = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "写し" in texts[1]
    assert "1,111,111" in texts[1]
    assert "第1版" in texts[1]
    assert "2,222,222" in texts[2]
    assert "第2版" in texts[2]
    assert "1,111,111" not in texts[2]
    r = await h.call(BUILDER, "GET", f"/api/v1/bonds/{bond['id']}/copy.pdf?revision=9")
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("over", "status", "field"),
    [
        ({"amount": 0}, 422, None),
        ({"amount": -5}, 422, None),
        ({"amount": 10**14}, 422, None),
        ({"premium": -1}, 422, None),
        ({"period_start": "2026-08-01", "period_end": "2026-07-01"}, 400, "period_end"),
        ({"claim_deadline": "2026-07-01"}, 400, "claim_deadline"),
        ({"opening_at": None}, 400, "opening_at"),
        (
            {
                "kind": "performance_bond",
                "opening_at": None,
                "contract_amount": 20_000_000,
                "amount": 1_999_999,
            },
            400,
            "amount",
        ),
        ({"kind": "performance_bond", "opening_at": "2026-06-10T01:00:00Z"}, 400, "opening_at"),
        ({"contract_amount": 1_000_000}, 400, "amount"),
        ({"obligor_org_id": ORDERER_ORG}, 400, None),
        ({"obligee_org_id": BUILDER_ORG}, 400, None),
        ({"certificate_no": "番号\u202e"}, 422, None),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    h: Harness, over: dict[str, Any], status: int, field: str | None
) -> None:
    """issue 11 "Bad input": negative, zero or absurd amounts; a period that ends before it
    starts; a performance bond below 1/10 (seed 003 21); a bid bond without 開札日時."""
    before = {
        c: await h.container.records.count(c)
        for c in ("bonds", "bond_revisions", "bond_keys", "audit_events")
    }
    r = await h.call(ISSUER, "POST", "/api/v1/bonds", json=bond_body(**over))
    assert r.status_code == status, r.text
    if field:
        assert r.json().get("field") == field
    after = {c: await h.container.records.count(c) for c in before}
    assert after == before


async def test_duplicate_certificate_numbers_are_refused(h: Harness) -> None:
    await h.register(certificate_no="EJ-SAME")
    r = await h.call(ISSUER, "POST", "/api/v1/bonds", json=bond_body(certificate_no="EJ-SAME"))
    assert r.status_code == 409
    # another issuer may use the same number
    await h.register(who=ISSUER_B, certificate_no="EJ-SAME")


async def test_an_issuer_cannot_touch_another_issuers_bond(h: Harness) -> None:
    """issue 11 "Bad input": an issuer touching another issuer's bond: 404, nothing changed."""
    bond = await h.register()
    for method, path, body in (
        ("GET", f"/bonds/{bond['id']}", None),
        ("PATCH", f"/bonds/{bond['id']}", {"version": 1, "event": "rebid", "amount": 5}),
        ("DELETE", f"/bonds/{bond['id']}?version=1&reason=lost", None),
        ("GET", f"/bonds/{bond['id']}/keys/tbs", None),
    ):
        r = await h.call(ISSUER_B, method, "/api/v1" + path, json=body)
        assert r.status_code == 404, (method, path, r.text)
    r = await h.call(
        ISSUER_PLAIN,
        "PATCH",
        f"/api/v1/bonds/{bond['id']}",
        json={"version": 1, "event": "rebid", "amount": 5},
    )
    assert r.status_code == 403
    assert (await h.container.records.get("bonds", bond["id"]))["revision"] == 1


async def test_paper_bonds_count_in_balances_without_keys(h: Harness) -> None:
    """保証債務残高管理: 紙で発行したボンドの保証額の投入 so totals are whole."""
    paper = await h.register(
        paper=True,
        kind="performance_bond",
        opening_at=None,
        amount=3_000_000,
        period_start="2026-06-01",
        period_end="2026-12-31",
    )
    assert paper["origin"] == "paper"
    assert paper["key_state"] == "none"
    summary = await h.ok(ISSUER, "GET", "/bonds/balances")
    assert summary["total"] == 3_000_000
    r = await h.call(BUILDER, "GET", f"/api/v1/bonds/{paper['id']}/key")
    assert r.status_code == 403


async def test_the_per_bond_table_lists_the_bonds_outstanding_on_the_day(h: Harness) -> None:
    """seed 002 保証債務残高管理 1) c) ボンド毎の保証残高 on a day: a bond deleted (不落札, F01<4>)
    or outside its period that day has no row; the day's rows add up to the total."""
    running = await h.register(amount=1_000_000, period_start="2026-06-01", period_end="2026-07-31")
    later = await h.register(amount=2_000_000, period_start="2026-09-01", period_end="2026-10-31")
    lost = await h.register(amount=4_000_000, period_start="2026-06-01", period_end="2026-07-31")
    await h.ok(ISSUER, "DELETE", f"/bonds/{lost['id']}?version={lost['version']}&reason=lost")
    june = await h.ok(ISSUER, "GET", "/bonds/balances?on=2026-06-15")
    assert [r["id"] for r in june["bonds"]] == [running["id"]]
    assert june["total"] == sum(r["outstanding"] for r in june["bonds"]) == 1_000_000
    september = await h.ok(ISSUER, "GET", "/bonds/balances?on=2026-09-15")
    assert [r["id"] for r in september["bonds"]] == [later["id"]]
    assert september["total"] == 2_000_000


async def test_the_balance_table_follows_every_change(h: Harness) -> None:
    """The incremental yearly deltas equal a recomputation from the revisions."""
    a = await h.register(amount=1_000_000, period_start="2026-06-01", period_end="2027-03-31")
    b = await h.register(
        kind="performance_bond",
        opening_at=None,
        amount=2_000_000,
        period_start="2026-05-01",
        period_end="2026-12-31",
    )
    h.clock.advance(days=20)
    a = await h.ok(
        ISSUER,
        "PATCH",
        f"/bonds/{a['id']}",
        json={"version": a["version"], "event": "rebid", "amount": 1_500_000},
    )
    h.clock.advance(days=30)
    await h.ok(ISSUER, "DELETE", f"/bonds/{b['id']}?version={b['version']}&reason=completed")
    start, end = balances.date(2026, 1, 1), balances.date(2027, 12, 31)
    stored = await balances.daily(h.container.records, start, end)
    expected: dict[Any, int] = {}
    for bid in (a["id"], b["id"]):
        for d, v in balances.contribution(
            await balances.revisions_of(h.container.records, bid)
        ).items():
            expected[d] = expected.get(d, 0) + v
    every_day = balances.sample_dates(start, end, "day")
    figures = next(iter(stored.values()))
    assert figures.values(every_day) == balances.run(list(expected.items()), every_day)
    days = [balances.date(2026, 6, 10), balances.date(2026, 6, 25), balances.date(2026, 7, 25)]
    # 6/10: a 1,000,000 + b 2,000,000; 6/25 (after the re-bid on 6/21): 1,500,000 + 2,000,000;
    # 7/25 (b deleted on 7/21): 1,500,000
    assert figures.values(days) == [3_000_000, 3_500_000, 1_500_000]
    _ = CLERK
