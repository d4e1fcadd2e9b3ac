"""Request bodies of the billing API (shape rules answer 422; meaning rules 400 in services)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.billing.models import ItemKind, System
from api.kit.text import Text
from api.users.schemas import Email, LoginId
from api.works.models import WorkKind
from api.works.schemas import Location

Name = Annotated[str, Text(200)]
Short = Annotated[str, Text(100, required=False)]
Note = Annotated[str, Text(2000, required=False, multiline=True)]
Phone = Annotated[str, Field(max_length=20, pattern=r"^[0-9+\-() ]*$")]
RefId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Number = Annotated[str, Text(60)]
Yen = Annotated[int, Field(ge=0, le=10**12)]
Rate = Literal["10", "8"]


def _not_past_2000(value: date) -> date:
    if value.year < 2000 or value.year > 2200:
        raise ValueError("日付は2000年から2200年の範囲で指定してください。")
    return value


Day = Annotated[date, AfterValidator(_not_past_2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfileUpdate(_Strict):
    name: Name
    registration_number: Annotated[str, Field(max_length=14, pattern=r"^(T[0-9]{13})?$")] = ""
    address: Short = ""
    phone: Phone = ""
    bank: Short = ""


class TariffItem(_Strict):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    label: Name
    kind: ItemKind
    system: System | None = None
    unit_price: Yen
    tax_rate: Rate = "10"


class TariffCreate(_Strict):
    name: Name
    valid_from: Day
    items: Annotated[list[TariffItem], Field(min_length=1, max_length=30)]


class Contact(_Strict):
    name: Short = ""
    email: Email | None = None
    phone: Phone = ""


class AgreementApply(_Strict):
    systems: Annotated[list[System], Field(min_length=1, max_length=2)]
    starts_on: Day
    contact: Contact = Contact()


class AgreementConclude(_Strict):
    term_ends_on: Day | None = None
    access_before_payment: Literal["none", "provisional"] = "none"


class Reason(_Strict):
    reason: Note = ""


class RequestWork(_Strict):
    kind: WorkKind
    title: Name
    number: Annotated[str, Text(50)]
    location: Location
    period_start: Day
    period_end: Day


class RequestCreate(_Strict):
    work: RequestWork | None = None
    work_id: RefId | None = None
    supervisor_ids: Annotated[list[RefId], Field(max_length=20)] = []
    note: Note = ""


class Company(_Strict):
    name: Name
    corporate_number: Annotated[str, Field(pattern=r"^([1-9][0-9]{12})?$")] = ""
    address: Short = ""
    phone: Phone = ""
    representative: Short = ""


class Person(_Strict):
    login_id: LoginId
    name: Annotated[str, Text(100)]
    email: Email | None = None
    position: Short = ""


class ApplicationCreate(_Strict):
    approval_number: Number
    work_number: Annotated[str, Text(50)]
    company: Company
    staff: Annotated[list[Person], Field(min_length=1, max_length=50)]
    note: Note = ""


class Completion(_Strict):
    completed_on: Day | None = None


class Reveal(_Strict):
    source: Annotated[str, Field(max_length=120, pattern=r"^billing_[a-z]+/[A-Za-z0-9_-]+$")]


class CreditCreate(_Strict):
    amount: Annotated[int, Field(ge=1, le=10**12)]
    reason: Annotated[str, Text(500)]


class PaymentCreate(_Strict):
    invoice_number: Number
    amount: Annotated[int, Field(ge=1, le=10**12)]
    paid_on: Day
    reference: Short = ""


class RunCreate(_Strict):
    fiscal_year: Annotated[int, Field(ge=2000, le=2200)]


class RosterSave(_Strict):
    staff: Annotated[list[Person], Field(min_length=1, max_length=500)]


class SandboxCreate(_Strict):
    name: Annotated[str, Text(80)]
    login_id: LoginId
