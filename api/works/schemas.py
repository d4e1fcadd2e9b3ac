"""Request and response models of the works API (``WorkCreate`` / ``WorkUpdate`` / ``WorkRead``).

Shape rules (lengths, control characters, the municipality check digit, coordinate ranges,
non-negative prices) are payload validation: 422. Rules that need the stored state or other
records (period order after a PATCH, known 業種, existing organizations) live in the service
and answer 400 ``validation_failed``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.kit.clock import IsoDate, UtcDateTime
from api.kit.text import Text
from api.permissions.policy import WorkRole
from api.works.models import WorkKind, WorkStatus, normalize_municipality_code


def _municipality(value: str) -> str:
    return normalize_municipality_code(value)


Text200 = Annotated[str, Text(200)]
Text50 = Annotated[str, Text(50)]


RefId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Price = Annotated[int, Field(ge=0, le=10**13)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Location(_Model):
    address: Text200
    municipality_code: Annotated[str, AfterValidator(_municipality)]
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None


class WorkCreate(_Model):
    kind: WorkKind
    title: Text200
    number: Text50
    orderer_org_id: RefId
    office_id: RefId | None = None
    contractor_org_ids: Annotated[list[RefId], Field(max_length=20)] = []
    location: Location
    period_start: date
    period_end: date
    business_type: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")] | None = None
    category: Text50 | None = None
    planned_price: Price | None = None
    contract_price: Price | None = None
    bid_opening_at: UtcDateTime | None = None
    # The contract security check (api.bonds.security, seed 003 共通事項 21, 1(2)):
    bid_amount: Price | None = None  # 入札書に記載された金額 (tax excluded)
    low_bid: bool | None = None  # 低価格入札者 (security 3/10)
    contract_date: date | None = None  # 契約締結の日
    resolution_date: date | None = None  # 議会の議決の日 (when the contract needs one)


class WorkUpdate(_Model):
    """Only the fields present change; ``null`` clears an optional field."""

    version: int = Field(ge=1)
    kind: WorkKind | None = None
    title: Text200 | None = None
    number: Text50 | None = None
    office_id: RefId | None = None
    contractor_org_ids: Annotated[list[RefId], Field(max_length=20)] | None = None
    location: Location | None = None
    period_start: date | None = None
    period_end: date | None = None
    business_type: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")] | None = None
    category: Text50 | None = None
    planned_price: Price | None = None
    contract_price: Price | None = None
    bid_opening_at: UtcDateTime | None = None
    bid_amount: Price | None = None
    low_bid: bool | None = None
    contract_date: date | None = None
    resolution_date: date | None = None


class LegalHoldRead(BaseModel):
    reason: str
    placed_by: str
    placed_at: UtcDateTime


class WorkRead(BaseModel):
    id: str
    version: int
    kind: WorkKind
    title: str
    number: str
    orderer_org_id: str
    office_id: str | None = None
    contractor_org_ids: list[str] = []
    location: Location
    period_start: IsoDate
    period_end: IsoDate
    business_type: str | None = None
    category: str | None = None
    planned_price: int | None = None
    contract_price: int | None = None
    bid_opening_at: UtcDateTime | None = None
    bid_amount: int | None = None
    # 落札価格 = the bid plus 10/100, yen truncated (seed 003 共通事項 1(2)); computed
    award_price: int | None = None
    low_bid: bool | None = None
    contract_date: IsoDate | None = None
    resolution_date: IsoDate | None = None
    status: WorkStatus
    created_by: str
    created_at: UtcDateTime
    updated_at: UtcDateTime
    # archive lifecycle (api.works.lifecycle)
    archived_at: UtcDateTime | None = None
    retention_until: IsoDate | None = None
    retention_years: int | None = None
    legal_hold: LegalHoldRead | None = None


class TransitionRequest(_Model):
    to: WorkStatus
    version: int = Field(ge=1)


class LegalHoldRequest(_Model):
    """Place a legal hold (法的保全); the reason is kept in the audit trail."""

    reason: Annotated[str, Text(500, multiline=True)]


class LegalHoldRelease(_Model):
    reason: Annotated[str, Text(500, multiline=True)] | None = None


class MemberCreate(_Model):
    user_id: RefId
    role: WorkRole


class MemberUpdate(_Model):
    role: WorkRole
    version: int = Field(ge=1)


class MemberRead(BaseModel):
    work_id: str
    user_id: str
    role: WorkRole
    org_id: str | None = None
    added_by: str
    added_at: UtcDateTime
    version: int


SortField = Literal["period_start", "title", "created_at", "updated_at"]
SortOrder = Literal["asc", "desc"]


class WorkFilters(_Model):
    """List filters; ``q`` sends the question to the search index (title search)."""

    q: Annotated[str, Text(100)] | None = None
    status: list[WorkStatus] = []
    kind: WorkKind | None = None
    orderer_org_id: RefId | None = None
    contractor_org_id: RefId | None = None
    business_type: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")] | None = None
    category: Text50 | None = None
    period_start_from: date | None = None
    period_start_to: date | None = None
    period_end_from: date | None = None
    period_end_to: date | None = None
    sort: SortField = "updated_at"
    order: SortOrder = "desc"
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, Field(max_length=2000)] | None = None
