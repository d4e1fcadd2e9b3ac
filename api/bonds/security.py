"""The contract security check (契約保証の確認) against the works record.

Seed 003 公告 共通事項 21: 工事請負契約の締結にあたり、契約保証金（請負代金額の10分の1以上。
低価格入札者については10分の3以上）を契約締結の日（契約の締結に議会の議決が必要な工事においては、
広島県議会の議決の日）までに納付すること。 利付国債の提供又は金融機関等の保証をもって…代えること
ができる。…公共工事履行保証証券による保証又は履行保証保険契約の締結を行った場合は…免除する
（現金と保険等の併用及び複数の保険等を組み合わせることは認めない。）; its table: 金融機関等の保証
※ 保証債務履行の請求期限を、保証期間経過後、6か月以上確保すること. And 1(2): the award price
is the bid plus 10/100, yen truncated (the works record's ``award_price``).

Rules, each giving a Japanese reason when it fails:
1. the 請負代金額 is known (the contract price, else the award price);
2. exactly one security (one form only: no cash with insurance, no two insurances);
3. its amount at least 1/10 of the price, 3/10 for a 低価格入札者 (``low_bid``);
4. given by the contract date (or the assembly resolution date, when there is one);
5. for 金融機関等の保証: the claim deadline at least six months after the guarantee period.

Which securities count: the orderer's own records for the work, and issuers' bonds for the
work the orderer has opened with a valid key at their current revision (電子証書等を閲覧する
ための契約情報及び認証情報). An issuer's security not yet opened is listed by existence and
named in the reasons.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import TYPE_CHECKING, Any

from api.bonds import sealing
from api.bonds.balances import find_all
from api.bonds.models import BONDS, INSURANCE_KINDS, KIND_LABELS, SECURITY_KINDS, BondKind, Origin
from api.bonds.permissions import BondResource
from api.bonds.service import BondService
from api.errors import NotAuthenticated
from api.permissions.policy import Subject
from api.works.service import WorkService
from storage.query import Eq, Record

if TYPE_CHECKING:
    from api.container import Container


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def required_amount(price: int, low_bid: bool) -> int:
    """The least security: ceil(price x 1/10), or ceil(price x 3/10) for a low bid."""
    numerator = 3 if low_bid else 1
    return -(-price * numerator // 10)


def evaluate(work: Record, securities: list[Record], unopened: int) -> dict[str, Any]:
    """Pass or fail with the reasons (pure: the rules of seed 003 21 on given records)."""
    reasons: list[str] = []
    price = work.get("contract_price") or work.get("award_price")
    low_bid = bool(work.get("low_bid"))
    due_s = work.get("resolution_date") or work.get("contract_date")
    required = required_amount(int(price), low_bid) if price else None
    if not price:
        reasons.append("請負代金額（契約金額または落札価格）が案件に登録されていません。")
    if not due_s:
        reasons.append("契約締結日（または議会の議決の日）が案件に登録されていません。")
    if unopened:
        reasons.append(
            f"認証キーで内容を確認していない電子の保証が{unopened}件あります。受注者から認証キーを受け取り、確認してください。"
        )
    if not securities:
        if not unopened:
            reasons.append("契約保証（契約保証金・利付国債・保証・保険）が登録されていません。")
    elif len(securities) > 1:
        kinds = {BondKind(s["kind"]) for s in securities}
        if BondKind.CASH in kinds and kinds & INSURANCE_KINDS:
            reasons.append("現金と保険等の併用は認められません（公告 共通事項21）。")
        else:
            reasons.append("複数の契約保証を組み合わせることは認められません（公告 共通事項21）。")
    for s in securities[:1] if len(securities) == 1 else []:
        c = s.get("contents") or {}
        amount = int(c.get("amount") or 0)
        label = KIND_LABELS[BondKind(s["kind"])]
        if required is not None and amount < required:
            ratio = "10分の3" if low_bid else "10分の1"
            reasons.append(
                f"{label}の金額 {amount:,}円 が請負代金額 {int(price or 0):,}円 の"
                f"{ratio}（{required:,}円）に満たません。"
            )
        given = c.get("paid_on") if s["kind"] == BondKind.CASH else c.get("issued_on")
        if due_s and given and given > due_s:
            what = "議会の議決の日" if work.get("resolution_date") else "契約締結日"
            reasons.append(f"{label}の日付（{given}）が{what}（{due_s}）より後です。")
        if due_s and not given:
            reasons.append(f"{label}の納付日・発行日が記録されていません。")
        if s["kind"] == BondKind.FINANCIAL_GUARANTEE:
            end, deadline = c.get("period_end"), c.get("claim_deadline")
            if not end or not deadline:
                reasons.append("金融機関等の保証の保証期間と請求期限が必要です。")
            elif date.fromisoformat(deadline) < add_months(date.fromisoformat(end), 6):
                reasons.append(
                    "保証債務履行の請求期限が、保証期間経過後6か月以上確保されていません"
                    "（公告 共通事項21）。"
                )
    return {
        "passed": not reasons,
        "reasons": reasons,
        "price": int(price) if price else None,
        "low_bid": low_bid,
        "ratio": "3/10" if low_bid else "1/10",
        "required_amount": required,
        "due_date": due_s,
        "due_kind": "resolution" if work.get("resolution_date") else "contract",
    }


class SecurityCheck:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.policy = container.policy
        self.bonds = BondService(container)

    async def check(self, subject: Subject | None, work_id: str) -> dict[str, Any]:
        if subject is None:
            raise NotAuthenticated()
        work = await WorkService.of(self.container).load(subject, work_id, "works.read")
        self.policy.require(
            subject, "bonds.securities.check", BondResource(org_id=work.get("orderer_org_id"))
        )
        now = self.clock.now()
        counted: list[Record] = []
        listed: list[dict[str, Any]] = []
        unopened = 0
        async for b in find_all(
            self.records, BONDS, (Eq("work_id", work_id), Eq("state", "active")), (("work_id", 1),)
        ):
            if b.get("obligee_org_id") != subject.org_id or b["kind"] not in SECURITY_KINDS:
                continue
            if b.get("origin") == Origin.ORDERER:
                ok = True
            else:
                opened = await self.bonds.opened_revision(str(subject.org_id), b["id"])
                ok = opened == int(b["revision"]) and not sealing.is_sealed(b, now)
            view = sealing.full(b, now) if ok else sealing.existence(b, now)
            listed.append({**view.model_dump(mode="json"), "counted": ok})
            if ok:
                counted.append(b)
            else:
                unopened += 1
        result = evaluate(work, counted, unopened)
        result.update(
            work_id=work_id,
            work_title=work.get("title", ""),
            bid_amount=work.get("bid_amount"),
            award_price=work.get("award_price"),
            contract_price=work.get("contract_price"),
            securities=listed,
        )
        return result
