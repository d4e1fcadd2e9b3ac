"""Who may do what in billing (actions ``billing.*``), each rule with its clause.

Three parties (seed 000 手続きフロー, columns 広島県土木協会 / 市町 / 受注者): the operator runs
the service (approves, issues IDs, bills, confirms payments); a municipality (orderer
organization) concludes the agreement, requests works, registers its staff and pays its
annual fees; a contractor applies for a work and pays the work's fee. On the municipality's and
the contractor's side the acts are those of staff holding ``billing.manage`` (given by their
organization's holder of authority, seed 001 別表1-1 8(3)). Operators are decided here too
(``api.modules``): they act as the operator, never as a municipality or contractor.

The resource is a ``BillingResource``: the organization a record belongs to (the billed or
applying party) and, for a work's records, the work's orderer, who follows its contractor's
application (seed 000: the municipality is told the work opened).
"""

from __future__ import annotations

from dataclasses import dataclass

from api.permissions.policy import OrgKind, Resource, Subject

GRANT = "billing.manage"


@dataclass(frozen=True)
class BillingResource:
    """A billing record as the rules see it."""

    org_id: str | None
    orderer_org_id: str | None = None


def _own(subject: Subject, resource: Resource) -> bool:
    return (
        isinstance(resource, BillingResource)
        and subject.org_id is not None
        and resource.org_id == subject.org_id
    )


class BillingRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        granted = GRANT in subject.grants
        match action:
            case "billing.operate":
                # 審査, 利用承諾, ID等の配布, 利用料金支払請求, 支払状況確認, 利用停止通知 are the
                # operator's acts (seed 000 手続きフロー, column 広島県土木協会).
                return subject.is_operator
            case "billing.list" | "billing.tariffs.read":
                # Lists are filtered to the subject's organization; the fee tables are the
                # explanation every prospective user gets (利用検討協議: システム利用料の説明).
                return True
            case "billing.read":
                if subject.is_operator:
                    return True
                if _own(subject, resource) and granted:
                    return True
                # The municipality follows the applications for its own works (seed 000:
                # 受注者から利用申込 → 利用開始連絡).
                return (
                    isinstance(resource, BillingResource)
                    and resource.orderer_org_id is not None
                    and resource.orderer_org_id == subject.org_id
                    and granted
                )
            case "billing.municipality":
                # 利用決定, 覚書, 利用依頼 (様式情運-1), 発注者情報の登録,
                # 利用終了通知 (様式情運-7),
                # 利用完了処理: a municipality's own acts (seed 000, column 市町).
                return (
                    subject.org_kind is OrgKind.ORDERER
                    and granted
                    and (resource is None or _own(subject, resource))
                )
            case "billing.contractor":
                # 利用申込書の提出 and 利用料金の支払い: the contractor's own acts (seed 000,
                # column 受注者; seed 001 1-3(1)イ: the contractor contracts for the system).
                return (
                    subject.org_kind is OrgKind.CONTRACTOR
                    and granted
                    and (resource is None or _own(subject, resource))
                )
        return False
