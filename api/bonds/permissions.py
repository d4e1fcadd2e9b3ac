"""Who may do what with bonds (actions ``bonds.*``), each rule with its clause.

Decided here for every subject, operators included (``api.modules``): a sealed bond is sealed
for operators too, and operators never read a bond. The relations to a bond are by
organization: its issuer (発行機関), its obligor (債務者 = 建設会社/受注者) and its obligee
(債権者 = 発注者). A subject related in none of these ways gets 404 from the service (the
bond's existence is not revealed); a related subject without the grant gets 403.

What a permitted reader *sees* of a sealed bond is decided in ``api.bonds.sealing``.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.permissions.policy import OrgKind, Resource, Subject
from storage.query import Record

GRANTS: dict[str, str] = {
    "bonds.issue": "ボンドの登録・更新・削除（発行機関）",
    "bonds.certificates": "ボンド署名用の証明書の登録（発行機関）",
    "bonds.read": "ボンドの確認・認証キーの取得と提出",
    "bonds.unseal": "開札日時前のボンド内容の確認（一部の権限者）",
    "bonds.securities": "契約保証の記録と確認（発注者）",
}


@dataclass(frozen=True)
class BondResource:
    """A bond as the rules see it (``bond`` None: a new one of ``issuer``/``obligee``)."""

    bond: Record | None = None
    org_id: str | None = None  # the organization a new record would belong to


def relation(subject: Subject, bond: Record) -> str | None:
    """``issuer``, ``obligor``, ``obligee`` or None: how the subject's organization stands
    to the bond."""
    org = subject.org_id
    if org is None:
        return None
    if bond.get("issuer_org_id") == org and subject.org_kind is OrgKind.ISSUER:
        return "issuer"
    if bond.get("obligee_org_id") == org and subject.org_kind is OrgKind.ORDERER:
        return "obligee"
    if bond.get("obligor_org_id") == org and subject.org_kind is OrgKind.CONTRACTOR:
        return "obligor"
    return None


class BondRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        grants = subject.grants
        kind = subject.org_kind
        if action == "bonds.list":
            # Lists are filtered to the subject's organization's bonds by the service.
            return kind in (OrgKind.ISSUER, OrgKind.ORDERER, OrgKind.CONTRACTOR) and bool(
                grants & {"bonds.read", "bonds.issue", "bonds.securities"}
            )
        if action == "bonds.certificates":
            # Issuers register the certificates their keys are signed with (seed 002 証明書
            # 発行機関のみ); their own organization's only.
            own = isinstance(resource, BondResource) and resource.org_id == subject.org_id
            return kind is OrgKind.ISSUER and own and "bonds.certificates" in grants
        if action == "bonds.balances":
            # 保証債務残高管理 (seed 002): issuers' figures for issuers, the orderer's own
            # securities for orderers; the service scopes the figures.
            return (kind is OrgKind.ISSUER and bool(grants & {"bonds.issue", "bonds.read"})) or (
                kind is OrgKind.ORDERER and bool(grants & {"bonds.read", "bonds.securities"})
            )
        if action == "bonds.present_key":
            # F01<2>: the orderer confirms the bond's contents with the key it received.
            return kind is OrgKind.ORDERER and "bonds.read" in grants
        if not isinstance(resource, BondResource):
            return False
        if action == "bonds.create":
            # F01<1>, F02<1> ボンド情報登録 by the issuer; paper bonds too (保証債務残高管理).
            return (
                kind is OrgKind.ISSUER
                and resource.org_id == subject.org_id
                and "bonds.issue" in grants
            )
        if action == "bonds.securities.create":
            # seed 003 21: the orderer records the contract security it received.
            return (
                kind is OrgKind.ORDERER
                and resource.org_id == subject.org_id
                and "bonds.securities" in grants
            )
        if action == "bonds.securities.check":
            # seed 003 21: the orderer checks the contract security of its own works.
            return (
                kind is OrgKind.ORDERER
                and resource.org_id == subject.org_id
                and bool(grants & {"bonds.read", "bonds.securities"})
            )
        bond = resource.bond
        if bond is None:
            return False
        rel = relation(subject, bond)
        origin = bond.get("origin")
        match action:
            case "bonds.read":
                # Existence (and for whom) for every related organization (F01<1>).
                if rel == "issuer":
                    return bool(grants & {"bonds.issue", "bonds.read"})
                if rel == "obligee":
                    return bool(grants & {"bonds.read", "bonds.securities"})
                return rel == "obligor" and "bonds.read" in grants
            case "bonds.read_contents":
                # The issuer wrote the contents and the obligor applied for them (F01<1>
                # ボンド発行の申込み); the orderer reads them with a valid key only
                # (``present_key``), or directly for its own records (seed 003 21).
                if rel == "issuer":
                    return bool(grants & {"bonds.issue", "bonds.read"})
                if rel == "obligor":
                    return "bonds.read" in grants
                return (
                    rel == "obligee"
                    and origin == "orderer"
                    and bool(grants & {"bonds.read", "bonds.securities"})
                )
            case "bonds.update" | "bonds.delete":
                # The issuer updates (F01<3>, F02<3>) and deletes (F01<4>, F02<2>) its own
                # bonds; an orderer its own security records.
                if origin == "orderer":
                    return rel == "obligee" and "bonds.securities" in grants
                return rel == "issuer" and "bonds.issue" in grants
            case "bonds.sign":
                # Keys are the issuer's signature (案3); paper bonds and orderers' records
                # have none.
                return origin == "electronic" and rel == "issuer" and "bonds.issue" in grants
            case "bonds.download_key":
                # The contractor downloads the key and hands it over (F01<1> 認証キー取得);
                # the issuer may fetch it too. Only electronic bonds have keys.
                if origin != "electronic":
                    return False
                if rel == "issuer":
                    return "bonds.issue" in grants
                return rel == "obligor" and "bonds.read" in grants
            case "bonds.open":
                # The orderer views with a valid key (F01<2> ボンド内容確認).
                return rel == "obligee" and "bonds.read" in grants
            case "bonds.unseal":
                # 一部の権限者を除き、開札日時より前は…存在のみ (F01<1>): the exception.
                return rel == "obligee" and "bonds.unseal" in grants
        return False
