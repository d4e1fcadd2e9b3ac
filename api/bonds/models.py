"""Bonds (ボンド) as stored: collections, kinds, states and the one table of their life.

Seed 002 (ボンド管理システム) flows F01 入札業務 and F02 契約業務, and seed 003 公告 共通事項 21
(契約保証金: the forms of contract security). Stored shapes:

``bonds`` (the original: one record per bond, 原本はシステム内に1つ)::

    {id, version, revision, kind, origin (electronic | paper | orderer), state (active |
     deleted), issuer_org_id, issuer_name, obligor_org_id, obligor_name, obligee_org_id,
     obligee_name, work_id, work_number, work_title, opening_at (fixed-width UTC or absent),
     cert_key (unique: issuer + 証券番号), contents: {certificate_no, amount, contract_amount,
     period_start, period_end, claim_deadline, premium, premium_difference, conditions,
     issued_on, paid_on, receipt_ids}, key_state, salt, created_*, updated_*, deleted_*}

``bond_revisions`` (immutable; one per registration, update and deletion): the bond as it
was at that revision, so a copy prints at any version and the balance history follows the
amounts over time. ``bond_keys``: one auth key per (bond, revision). ``bond_certificates``:
issuers' X.509 certificates. ``bond_openings``: an orderer's organization presented a valid
key for a revision (contract security check and balances use what the orderer has seen).

``contents`` holds everything sealed until 開札日時; the rest (kind, the parties, the work,
the opening time) is what anyone related may see of a sealed bond ("ボンドが発行されている
ことのみ", F01<1>-<3>). ``salt`` (128 random bits) is part of every stored state, so the
SHA-256 digests in the audit log cannot be reversed by guessing an amount.
"""

from __future__ import annotations

from enum import StrEnum

from storage.ports import IndexSpec

BONDS = "bonds"
REVISIONS = "bond_revisions"
KEYS = "bond_keys"
KEY_FILES = "bond_key_files"  # the encrypted payload and signed key of each bond_keys record
CERTIFICATES = "bond_certificates"
OPENINGS = "bond_openings"
ATTEMPTS = "bond_attempts"
BALANCES = "bond_balance_years"
SEALED = "bond_balance_sealed"  # contributions of bonds with an opening time


class BondKind(StrEnum):
    BID_BOND = "bid_bond"  # 入札ボンド (F01<1>)
    PERFORMANCE_RESERVATION = "performance_reservation"  # 履行ボンド予約 (F01<1> 予約も同様)
    PERFORMANCE_BOND = "performance_bond"  # 公共工事履行保証証券 (履行ボンド, F02<1>)
    PERFORMANCE_INSURANCE = "performance_insurance"  # 履行保証保険 (seed 003 21)
    FINANCIAL_GUARANTEE = "financial_guarantee"  # 金融機関等の保証 (seed 003 21)
    CASH = "cash"  # 契約保証金の納付 (seed 003 21)
    GOVERNMENT_BOND = "government_bond"  # 利付国債の提供 (seed 003 21)


KIND_LABELS: dict[BondKind, str] = {
    BondKind.BID_BOND: "入札ボンド",
    BondKind.PERFORMANCE_RESERVATION: "履行ボンド予約",
    BondKind.PERFORMANCE_BOND: "履行ボンド（公共工事履行保証証券）",
    BondKind.PERFORMANCE_INSURANCE: "履行保証保険",
    BondKind.FINANCIAL_GUARANTEE: "金融機関等の保証",
    BondKind.CASH: "契約保証金",
    BondKind.GOVERNMENT_BOND: "利付国債",
}

# What issuers register (発行機関: banks, 保証事業会社, insurers; F01<1>, F02<1>).
ISSUER_KINDS = frozenset(
    {
        BondKind.BID_BOND,
        BondKind.PERFORMANCE_RESERVATION,
        BondKind.PERFORMANCE_BOND,
        BondKind.PERFORMANCE_INSURANCE,
        BondKind.FINANCIAL_GUARANTEE,
    }
)
# Bid-time bonds carry the issuer's 開札日時 and stay sealed until it (F01<1> 2.開札日時).
SEALED_KINDS = frozenset({BondKind.BID_BOND, BondKind.PERFORMANCE_RESERVATION})
# The forms of contract security (seed 003 共通事項 21 and its table); an orderer may enter
# any of them as a record (cash with the receipt, 利付国債, guarantees received on paper).
SECURITY_KINDS = frozenset(
    {
        BondKind.CASH,
        BondKind.GOVERNMENT_BOND,
        BondKind.FINANCIAL_GUARANTEE,
        BondKind.PERFORMANCE_BOND,
        BondKind.PERFORMANCE_INSURANCE,
    }
)
# 利付国債 and 金融機関等の保証 replace the payment (代えることができる); 履行保証証券 and
# 履行保証保険 exempt from it (免除); cash is the payment itself (seed 003 21).
INSURANCE_KINDS = frozenset({BondKind.PERFORMANCE_BOND, BondKind.PERFORMANCE_INSURANCE})


class Origin(StrEnum):
    ELECTRONIC = "electronic"  # registered by the issuer, with an issuer-signed auth key
    PAPER = "paper"  # a paper bond's amount entered by its issuer (保証債務残高管理)
    ORDERER = "orderer"  # a contract-security record entered by the orderer (seed 003 21)


class BondState(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class Event(StrEnum):
    REGISTER = "register"  # F01<1> / F02<1> ボンド情報登録
    REBID = "rebid"  # F01<2>-<3> 再入札: amount and 開札日時 change, premium difference
    CONTRACT_CHANGE = "contract_change"  # F02<3> 変更契約: the performance bond is updated
    CORRECTION = "correction"  # the issuer corrects a mistake in the contents
    DELETE = "delete"  # F01<4> 不落札, F02<2> 契約締結, F02<4> 完了


# The one table of a bond's life: (state, event) -> next state. Every transition is audited.
TRANSITIONS: dict[tuple[BondState | None, Event], BondState] = {
    (None, Event.REGISTER): BondState.ACTIVE,
    (BondState.ACTIVE, Event.REBID): BondState.ACTIVE,
    (BondState.ACTIVE, Event.CONTRACT_CHANGE): BondState.ACTIVE,
    (BondState.ACTIVE, Event.CORRECTION): BondState.ACTIVE,
    (BondState.ACTIVE, Event.DELETE): BondState.DELETED,
}

# Which updates each kind allows: a re-bid only for bid-time bonds (F01<2>), a contract
# change only after the contract (F02<3>).
UPDATE_EVENTS: dict[BondKind, frozenset[Event]] = {
    kind: frozenset(
        {Event.CORRECTION} | ({Event.REBID} if kind in SEALED_KINDS else {Event.CONTRACT_CHANGE})
    )
    for kind in BondKind
}


class DeleteReason(StrEnum):
    LOST = "lost"  # 不落札 (F01<4>)
    CONTRACTED = "contracted"  # 契約締結: bid bond / reservation no longer needed (F02<2>)
    COMPLETED = "completed"  # 契約の完了 (F02<4>)
    WITHDRAWN = "withdrawn"  # 申込みの取下げ
    ERROR = "error"  # 誤登録


DELETE_LABELS: dict[DeleteReason, str] = {
    DeleteReason.LOST: "不落札",
    DeleteReason.CONTRACTED: "契約締結",
    DeleteReason.COMPLETED: "契約完了",
    DeleteReason.WITHDRAWN: "取下げ",
    DeleteReason.ERROR: "誤登録",
}


class KeyState(StrEnum):
    NONE = "none"  # paper bonds and orderer records carry no key
    AWAITING_SIGNATURE = "awaiting_signature"  # Kura prepared it; the issuer has to sign
    ACTIVE = "active"
    SUPERSEDED = "superseded"  # an update re-issued the key (F01<3>: 以前の認証キーでは不可)
    REVOKED = "revoked"  # the bond was deleted (F01<4>, F02<2>)


BOND_INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec((("cert_key", 1),), unique=True),
    IndexSpec((("issuer_org_id", 1), ("created_at", -1))),
    IndexSpec((("obligor_org_id", 1), ("created_at", -1))),
    IndexSpec((("obligee_org_id", 1), ("created_at", -1))),
    IndexSpec((("work_id", 1), ("created_at", -1))),
    IndexSpec((("opening_at", 1),)),
    # the balances page's bonds outstanding on a day: an issuer's active bonds whose period
    # has not ended (``views.BondViews.summary``)
    IndexSpec((("issuer_org_id", 1), ("state", 1), ("contents.period_end", 1))),
)
REVISION_INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec((("bond_id", 1), ("revision", 1)), unique=True),
)
KEY_INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec((("bond_id", 1), ("revision", 1))),
    IndexSpec((("status_list", 1), ("status_index", 1)), unique=True),
    IndexSpec((("status_list", 1), ("state", 1))),
)
CERT_INDEXES: tuple[IndexSpec, ...] = (IndexSpec((("issuer_org_id", 1), ("registered_at", -1))),)
OPENING_INDEXES: tuple[IndexSpec, ...] = (IndexSpec((("org_id", 1), ("bond_id", 1))),)
BALANCE_INDEXES: tuple[IndexSpec, ...] = (IndexSpec((("issuer_org_id", 1), ("year", 1))),)
SEALED_INDEXES: tuple[IndexSpec, ...] = (IndexSpec((("opening_at", 1),)),)


def revision_id(bond_id: str, revision: int) -> str:
    return f"{bond_id}:{revision:06d}"


def key_id(bond_id: str, revision: int) -> str:
    return f"{bond_id}:{revision:06d}"


def opening_id(org_id: str, bond_id: str) -> str:
    return f"{org_id}:{bond_id}"


def target(bond_id: str) -> str:
    return f"{BONDS}/{bond_id}"
