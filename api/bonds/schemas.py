"""Request and response models of the bonds API.

Shape rules (lengths, control characters, amounts above zero and below 10 trillion yen,
dates) are payload validation: 422. Rules that need other records or several fields (a period
that ends before it starts, a performance bond below 1/10 of the contract amount, an
organization of the wrong kind) live in the service and answer 400 ``validation_failed``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.bonds.models import BondKind, DeleteReason, Event
from api.kit.clock import IsoDate, UtcDateTime
from api.kit.text import Text

RefId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Amount = Annotated[int, Field(ge=1, le=10**13)]  # yen; zero, negative, absurd: 422
Premium = Annotated[int, Field(ge=0, le=10**12)]
CertNo = Annotated[str, Text(50)]
Title = Annotated[str, Text(200)]
Number = Annotated[str, Text(50)]
Conditions = Annotated[str, Text(2000, multiline=True, required=False)]
IssuerKind = Literal[
    "bid_bond",
    "performance_reservation",
    "performance_bond",
    "performance_insurance",
    "financial_guarantee",
]
SecurityKind = Literal[
    "cash", "government_bond", "financial_guarantee", "performance_bond", "performance_insurance"
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BondCreate(_Model):
    """An issuer registers a bond (F01<1>, F02<1>) or a paper bond's amount (``paper``)."""

    kind: IssuerKind
    paper: bool = False
    certificate_no: CertNo
    obligor_org_id: RefId
    obligee_org_id: RefId
    work_number: Number
    work_title: Title
    amount: Amount
    contract_amount: Amount | None = None
    period_start: date
    period_end: date
    claim_deadline: date | None = None
    premium: Premium = 0
    conditions: Conditions = ""
    issued_on: date
    opening_at: UtcDateTime | None = None
    # F02<1>: a reservation's data carry into the performance bond.
    reservation_id: RefId | None = None
    # F02<2>: the bid bond / reservation deleted when the contract is made.
    replaces: Annotated[list[RefId], Field(max_length=5)] = []


class BondUpdate(_Model):
    """A re-bid (F01<2>-<3>), a contract change (F02<3>) or a correction. Only the fields
    present change; every update re-issues the key."""

    version: int = Field(ge=1)
    event: Literal["rebid", "contract_change", "correction"]
    amount: Amount | None = None
    contract_amount: Amount | None = None
    opening_at: UtcDateTime | None = None
    period_start: date | None = None
    period_end: date | None = None
    claim_deadline: date | None = None
    premium: Premium | None = None
    conditions: Conditions | None = None
    issued_on: date | None = None
    paid_on: date | None = None
    work_title: Title | None = None


class SecurityCreate(_Model):
    """A contract security the orderer received (seed 003 共通事項 21 and its table)."""

    kind: SecurityKind
    work_id: RefId
    obligor_org_id: RefId
    issuer_name: Annotated[str, Text(200, required=False)] = ""
    certificate_no: Annotated[str, Text(50, required=False)] = ""
    amount: Amount
    period_start: date | None = None
    period_end: date | None = None
    claim_deadline: date | None = None
    issued_on: date | None = None
    paid_on: date | None = None  # cash: the date on the receipt (領収印)
    conditions: Conditions = ""
    receipt_ids: Annotated[list[RefId], Field(max_length=5)] = []


class KeyUpload(_Model):
    """A signed key: the key file's text (or the compact JWS)."""

    key: Annotated[str, Field(min_length=10, max_length=256 * 1024)]


class KeyPresentation(_Model):
    """A key an orderer presents (the file's text, or the compact JWS pasted)."""

    key: Annotated[str, Field(min_length=1, max_length=256 * 1024)]
    revision: int | None = Field(default=None, ge=1)


class Debt(BaseModel):
    """The obligor's debt the orderer sees with the contents (F01<2> 債務額の情報)."""

    outstanding: int
    bonds: int


class Permissions(BaseModel):
    update: bool = False
    delete: bool = False
    sign: bool = False
    download_key: bool = False
    open: bool = False


class BondRead(BaseModel):
    """A bond as its reader may see it. ``view`` says which: ``existence`` (sealed, or no
    key presented) leaves every content field out."""

    id: str
    view: Literal["existence", "full"]
    sealed: bool
    kind: BondKind
    kind_label: str
    origin: str
    state: str
    opening_at: UtcDateTime | None = None
    obligor_org_id: str | None = None
    obligor_name: str = ""
    obligee_org_id: str | None = None
    obligee_name: str = ""
    work_id: str | None = None
    work_number: str = ""
    work_title: str = ""
    # full view only
    version: int | None = None
    revision: int | None = None
    issuer_org_id: str | None = None
    issuer_name: str | None = None
    certificate_no: str | None = None
    amount: int | None = None
    contract_amount: int | None = None
    period_start: IsoDate | None = None
    period_end: IsoDate | None = None
    claim_deadline: IsoDate | None = None
    premium: int | None = None
    premium_difference: int | None = None
    conditions: str | None = None
    issued_on: IsoDate | None = None
    paid_on: IsoDate | None = None
    receipt_ids: list[str] | None = None
    key_state: str | None = None
    deleted_reason: str | None = None
    created_at: UtcDateTime | None = None
    updated_at: UtcDateTime | None = None
    debt: Debt | None = None
    can: Permissions = Permissions()


class RevisionRead(BaseModel):
    revision: int
    event: Event
    event_label: str
    at: UtcDateTime
    by_name: str = ""
    amount: int | None = None
    premium: int | None = None
    premium_difference: int | None = None
    opening_at: UtcDateTime | None = None


class OpenResult(BaseModel):
    """What presenting a key answers: the bond (full when allowed) and the key's check."""

    bond: BondRead
    key: KeyCheck


class KeyCheck(BaseModel):
    valid: bool
    revision: int
    issued_at: UtcDateTime
    issuer_name: str
    certificate_subject: str
    certificate_id: str
    custody: Literal["issuer", "kura"]
    sealed_until: UtcDateTime | None = None


class CertificateRead(BaseModel):
    id: str
    issuer_org_id: str
    subject: str
    issuer: str
    serial: str
    not_before: UtcDateTime
    not_after: UtcDateTime
    algorithm: str
    custody: Literal["issuer", "kura"]
    state: Literal["active", "retired"]
    registered_at: UtcDateTime
    chain: list[str]


class CertificateCreate(_Model):
    """An issuer's certificate with its intermediates (PEM), signed by a trusted CA."""

    chain_pem: Annotated[str, Field(min_length=50, max_length=64 * 1024)]


class DeleteRequest(_Model):
    version: int = Field(ge=1)
    reason: DeleteReason


ListOrder = Literal["created_at", "opening_at"]


class BondFilters(_Model):
    role: Literal["issuer", "obligor", "obligee"] | None = None
    kind: BondKind | None = None
    state: Literal["active", "deleted"] | None = "active"
    work_id: RefId | None = None
    sort: ListOrder = "created_at"
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, Field(max_length=2000)] | None = None


class BondPage(BaseModel):
    items: list[BondRead]
    next_cursor: str | None = None


OpenResult.model_rebuild()


__all__ = [
    "BondCreate",
    "BondFilters",
    "BondPage",
    "BondRead",
    "BondUpdate",
    "CertificateCreate",
    "CertificateRead",
    "DeleteRequest",
    "KeyPresentation",
    "KeyUpload",
    "OpenResult",
    "RevisionRead",
    "SecurityCreate",
    "date",
]
