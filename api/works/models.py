"""Works (案件) as stored: collections, statuses, and the rules on their fields.

A work is one 工事 (construction) or 業務 (service), the unit everything hangs on
(seed 000 「工事・業務案件…をシステム登録」; seed 001 別表1-1 1 工事基本管理機能).

Stored shape (collection ``works``)::

    {id, version, kind, title, number, orderer_org_id, office_id, contractor_org_ids: [...],
     location: {address, municipality_code, lat, lon}, period_start, period_end (YYYY-MM-DD),
     business_type, category, planned_price, contract_price, bid_opening_at (fixed-width UTC),
     bid_amount, award_price (computed), low_bid, contract_date, resolution_date,
     status, created_by, created_at, updated_at, acl: [principal, ...]}

``acl`` is denormalised from the memberships (see ``api.works.indexing``) so the record store
can answer "works this subject may read" with one ``In("acl", principals)`` query.
"""

from __future__ import annotations

import re
from enum import StrEnum

from api.master.business_types import BUSINESS_TYPES
from storage.ports import IndexSpec

WORKS = "works"
MEMBERS = "work_members"

# Collections whose records hang on a work; a work may be deleted only while none exist.
DEPENDENT_COLLECTIONS: tuple[str, ...] = ("nodes", "documents", "posts")


class WorkKind(StrEnum):
    CONSTRUCTION = "construction"  # 工事
    SERVICE = "service"  # 委託業務


class WorkStatus(StrEnum):
    REGISTERED = "registered"  # 登録済み
    IN_PROGRESS = "in_progress"  # 施工中・履行中
    COMPLETED = "completed"  # 完了 (検査終了)
    ARCHIVED = "archived"  # 保管管理システムへ移管済み (読み取り専用)


# The life of a work (seed 000 手続きフロー): registered in the collaboration system, worked on,
# completed by the orderer, then moved to the archive. One step forward at a time.
NEXT_STATUS: dict[WorkStatus, WorkStatus] = {
    WorkStatus.REGISTERED: WorkStatus.IN_PROGRESS,
    WorkStatus.IN_PROGRESS: WorkStatus.COMPLETED,
    WorkStatus.COMPLETED: WorkStatus.ARCHIVED,
}

STATUS_LABELS: dict[WorkStatus, str] = {
    WorkStatus.REGISTERED: "登録済み",
    WorkStatus.IN_PROGRESS: "施工中",
    WorkStatus.COMPLETED: "完了",
    WorkStatus.ARCHIVED: "保管",
}

SORT_FIELDS: tuple[str, ...] = ("period_start", "title", "created_at", "updated_at")

WORK_INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec((("orderer_org_id", 1), ("number", 1)), unique=True),
    IndexSpec((("acl", 1), ("updated_at", -1))),
    IndexSpec((("status", 1), ("updated_at", -1))),
    IndexSpec((("orderer_org_id", 1), ("period_start", 1))),
    IndexSpec((("contractor_org_ids", 1),)),
    IndexSpec((("period_start", 1),)),
    IndexSpec((("title", 1),)),
    IndexSpec((("created_at", 1),)),
    IndexSpec((("updated_at", 1),)),
)

MEMBER_INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec((("user_id", 1), ("work_id", 1))),
    IndexSpec((("work_id", 1), ("user_id", 1))),
)


def member_id(work_id: str, user_id: str) -> str:
    """Memberships are keyed by work and user, so a role lookup is one get by id."""
    return f"{work_id}:{user_id}"


_MUNICIPALITY = re.compile(r"^\d{5,6}$")


def municipality_check_digit(code5: str) -> int:
    """The 検査数字 of a 5-digit 全国地方公共団体コード (JIS X 0401 + X 0402).

    Rule (総務省, modulus 11): weights 6,5,4,3,2 over the five digits, sum mod 11,
    then the last digit of 11 minus the remainder (remainder 0 → 1, 1 → 0).
    Example: 広島市 34100 → 3·6+4·5+1·4 = 42, 42 mod 11 = 9, 11-9 = 2 → 341002.
    """
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10


def normalize_municipality_code(value: str) -> str:
    """Validate and return the 5-digit code.

    The 5-digit JIS X 0402 code itself carries no check digit; the 6th digit of the 6-digit
    全国地方公共団体コード is the check digit of the first five. So we accept either form:
    five digits (prefecture 01-47, rest structural) or six digits whose last digit is the
    correct check digit, and store the five digits. Raises ``ValueError`` with a Japanese
    message otherwise.
    """
    if not _MUNICIPALITY.match(value):
        raise ValueError("市区町村コードは5桁(または検査数字付きの6桁)の数字で指定してください。")
    code5 = value[:5]
    if not 1 <= int(code5[:2]) <= 47:
        raise ValueError("市区町村コードの都道府県部分(先頭2桁)は01から47です。")
    if code5[2:] == "000":
        raise ValueError("市区町村コードに都道府県コードのみ(末尾000)は指定できません。")
    if len(value) == 6 and int(value[5]) != municipality_check_digit(code5):
        raise ValueError("市区町村コードの検査数字が正しくありません。")
    return code5


def award_price(bid_amount: int) -> int:
    """落札価格: the amount on the bid plus 100分の10 of it, fractions of a yen cut off
    (seed 003 公告 共通事項 1(2)). Integer arithmetic, so no float rounding: 1,190,001 yen
    bid -> 1,309,001 yen (1,309,001.1 truncated)."""
    return bid_amount * 110 // 100


_BUSINESS_TYPE_CODES: frozenset[str] = frozenset(code for code, _name in BUSINESS_TYPES)


def business_type_codes() -> frozenset[str]:
    """Valid 業種 codes (seed 004): the master data's 29 licence kinds."""
    return _BUSINESS_TYPE_CODES
