"""Request models of the qualification API. Shape rules answer 422; the rules of seed 004
(what a filing must say) are checked by the services and answer 400 with every error listed
by its field (``errors``), or are reported without refusing (a draft keeps what was typed)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.kit.patch import Patch
from api.kit.text import Text

Code5 = Annotated[str, Field(pattern=r"^[0-9]{5}$")]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Hm = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Doc = Annotated[str, Text(200)]

# 第3 2: the company basics a correction may change (never targets, categories or 経審 data).
CORRECTABLE: tuple[str, ...] = (
    "company.name_kana",
    "company.name",
    "company.rep_title",
    "company.rep_name",
    "company.postal_code",
    "company.address",
    "company.building",
    "company.phone",
    "company.fax",
    "company.email",
    "company.email_kind",
    "company.contact",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hours(_Strict):
    open: Hm = "09:00"
    close: Hm = "17:00"


class Target(_Strict):
    code: Code5
    org_id: Id
    own_documents: Annotated[list[Doc], Field(max_length=30)] = []
    own_documents_note: Annotated[str, Text(500, required=False, multiline=True)] = ""


class Excluded(_Strict):
    code: Code5
    note: Annotated[str, Text(200, required=False)] = ""


class RoundCreate(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,10}$")]
    name: Annotated[str, Text(100)]
    prefecture: Annotated[str, Field(pattern=r"^(0[1-9]|[1-3][0-9]|4[0-7])$")]
    filing_start: date
    filing_end: date
    hours: Hours = Hours()
    paper_deadline: date
    correction_deadline: date
    correction_fields: Annotated[list[str], Field(max_length=len(CORRECTABLE))] = list(CORRECTABLE)
    additional_start: date | None = None
    additional_end: date | None = None
    review_base_from: date
    paper_address: Annotated[str, Text(300, multiline=True)]
    targets: Annotated[list[Target], Field(min_length=1, max_length=200)]
    excluded: Annotated[list[Excluded], Field(max_length=200)] = []
    calendar_org_id: Id | None = None
    published: bool = False


class RoundUpdate(Patch):
    nullable = frozenset({"additional_start", "additional_end", "calendar_org_id"})

    version: int = Field(ge=1)
    name: Annotated[str, Text(100)] | None = None
    filing_start: date | None = None
    filing_end: date | None = None
    hours: Hours | None = None
    paper_deadline: date | None = None
    correction_deadline: date | None = None
    correction_fields: Annotated[list[str], Field(max_length=len(CORRECTABLE))] | None = None
    additional_start: date | None = None
    additional_end: date | None = None
    review_base_from: date | None = None
    paper_address: Annotated[str, Text(300, multiline=True)] | None = None
    targets: Annotated[list[Target], Field(min_length=1, max_length=200)] | None = None
    excluded: Annotated[list[Excluded], Field(max_length=200)] | None = None
    calendar_org_id: Id | None = None
    published: bool | None = None


class DraftSave(_Strict):
    """One autosave: the sections the step shows (``values``), the step the applicant is on,
    and the version read (two tabs of one company: the later save gets 409)."""

    version: int = Field(ge=1)
    step: Annotated[str, Field(pattern=r"^(entry|offices|attachment|confirm)$")] | None = None
    values: dict[str, Any]


class DraftCreate(_Strict):
    """``from``: ``last`` (the organization's latest filing or draft of any round: 第3 1 and
    the next round starting from the last one), ``application`` (this round's filing, to
    re-apply) or ``empty``."""

    start: Annotated[str, Field(pattern=r"^(last|application|empty)$")] = "last"


class SendBody(_Strict):
    version: int = Field(ge=1)
    # 第3 1: a re-application that drops municipalities says so first; the sender confirms.
    confirm_dropped: bool = False


class CorrectionBody(_Strict):
    version: int = Field(ge=1)
    values: dict[str, Any]


class AdditionBody(_Strict):
    version: int = Field(ge=1)
    targets: Annotated[list[Code5], Field(min_length=1, max_length=200)]
    no_tax: Annotated[list[Code5], Field(max_length=200)] = []


class DeskUpdate(_Strict):
    version: int | None = Field(default=None, ge=1)
    papers_received: Annotated[list[int], Field(max_length=40)] | None = None
    own_received: bool | None = None
    received_on: date | None = None


class NoteCreate(_Strict):
    text: Annotated[str, Text(2000, multiline=True)]


class ReviewImport(_Strict):
    """A 経審 data file uploaded through ``/attachments/uploads``, with where it came from."""

    attachment_id: Id
    source: Annotated[str, Text(200)]
    as_of: date
