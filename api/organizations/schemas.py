"""Request and response models for organizations and their offices (seed 001 別表1-1 8(4)).

Shape rules (length, digits, no control characters) are checked here and answer 422; rules
about meaning (a 発注者コード is required for orderers, the 法人番号 check digit) live in the
service and answer 400.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.kit.clock import UtcDateTime
from api.kit.patch import Patch
from api.kit.text import Text
from api.permissions.policy import OrgKind

Name = Annotated[str, Text(200)]
NameKana = Annotated[str, Text(200, required=False)]
Address = Annotated[str, Text(300, required=False)]
Phone = Annotated[str, Field(max_length=20, pattern=r"^[0-9+\-() ]*$")]
OrdererCode = Annotated[str, Field(pattern=r"^[0-9]{8}$")]
CorporateNumber = Annotated[str, Field(pattern=r"^[1-9][0-9]{12}$")]
OfficeCode = Annotated[str, Field(max_length=20, pattern=r"^[0-9A-Za-z_-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganizationCreate(_Strict):
    kind: OrgKind
    name: Name
    name_kana: NameKana = ""
    code: OrdererCode | None = None
    corporate_number: CorporateNumber | None = None
    address: Address = ""
    phone: Phone = ""
    # An orderer's rule: a work whose latest 電子納品 check has errors (E) cannot be moved to
    # the archive (issue 8 §2); off: the move only warns.
    block_archive_on_errors: bool = False


class OrganizationUpdate(Patch):
    """Fields to change; ``version`` is the one read (optimistic concurrency). ``null``
    clears ``code`` or ``corporate_number``; the other fields cannot be emptied by null."""

    nullable = frozenset({"code", "corporate_number"})

    version: int = Field(ge=1)
    name: Name | None = None
    name_kana: NameKana | None = None
    code: OrdererCode | None = None
    corporate_number: CorporateNumber | None = None
    address: Address | None = None
    phone: Phone | None = None
    block_archive_on_errors: bool | None = None


class OrganizationRead(BaseModel):
    id: str
    kind: OrgKind
    name: str
    name_kana: str = ""
    code: str | None = None
    corporate_number: str | None = None
    address: str = ""
    phone: str = ""
    block_archive_on_errors: bool = False
    created_at: UtcDateTime
    updated_at: UtcDateTime
    version: int


class OfficeCreate(_Strict):
    name: Name
    code: OfficeCode | None = None
    address: Address = ""
    phone: Phone = ""


class OfficeUpdate(Patch):
    nullable = frozenset({"code"})

    version: int = Field(ge=1)
    name: Name | None = None
    code: OfficeCode | None = None
    address: Address | None = None
    phone: Phone | None = None


class OfficeRead(BaseModel):
    id: str
    org_id: str
    name: str
    code: str | None = None
    address: str = ""
    phone: str = ""
    created_at: UtcDateTime
    updated_at: UtcDateTime
    version: int
