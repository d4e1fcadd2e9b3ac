"""The one place that decides what of a bond leaves the API (F01<1>-<3>).

一部の権限者を除き、開札日時より前は、ボンドが発行されていることのみを確認することを原則と
する (F01<1>, <2>, <3>); 開札日時以後は、ボンドの内容すべてを確認可能とする (F01<2>); ボンドの
内容確認は有効な認証キーを必須とする (F01<1>). Every endpoint (detail, list, export, revisions,
balances, the contract security check, PDF copies) builds what it answers through
``view``/``existence`` here, so the rule holds in one place:

- ``existence``: kind, the parties and the work ("ボンドが発行されていること" and for whom),
  the opening time, the state. No amount, issuer, number, period, premium, conditions,
  revision count or update time: nothing that changes when the contents change.
- ``full``: everything, for the issuer and the obligor (who wrote and applied for it), for the
  orderer's own security records, and for an orderer who presented a valid key at or after
  the opening time, or before it with the 一部の権限者 grant (``bonds.unseal``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from api.bonds.models import KIND_LABELS, BondKind
from api.bonds.schemas import BondRead, Debt, Permissions
from api.kit.clock import from_iso
from storage.query import Record


def opening(bond: Record) -> datetime | None:
    value = bond.get("opening_at")
    return from_iso(value) if value else None


def is_sealed(bond: Record, now: datetime) -> bool:
    """Before the bond's own 開札日時 (set by the issuer at registration, F01<1> 2.)."""
    at = opening(bond)
    return at is not None and now < at


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def existence(bond: Record, now: datetime, can: Permissions | None = None) -> BondRead:
    kind = BondKind(bond["kind"])
    return BondRead(
        id=bond["id"],
        view="existence",
        sealed=is_sealed(bond, now),
        kind=kind,
        kind_label=KIND_LABELS[kind],
        origin=str(bond.get("origin")),
        state=str(bond.get("state")),
        opening_at=opening(bond),
        obligor_org_id=bond.get("obligor_org_id"),
        obligor_name=str(bond.get("obligor_name") or ""),
        obligee_org_id=bond.get("obligee_org_id"),
        obligee_name=str(bond.get("obligee_name") or ""),
        work_id=bond.get("work_id"),
        work_number=str(bond.get("work_number") or ""),
        work_title=str(bond.get("work_title") or ""),
        can=can or Permissions(),
    )


def full(
    bond: Record, now: datetime, can: Permissions | None = None, debt: Debt | None = None
) -> BondRead:
    c = bond.get("contents") or {}
    base = existence(bond, now, can).model_dump()
    base.update(
        view="full",
        version=bond.get("version"),
        revision=bond.get("revision"),
        issuer_org_id=bond.get("issuer_org_id"),
        issuer_name=str(bond.get("issuer_name") or ""),
        certificate_no=str(c.get("certificate_no") or ""),
        amount=c.get("amount"),
        contract_amount=c.get("contract_amount"),
        period_start=_date(c.get("period_start")),
        period_end=_date(c.get("period_end")),
        claim_deadline=_date(c.get("claim_deadline")),
        premium=c.get("premium"),
        premium_difference=c.get("premium_difference"),
        conditions=str(c.get("conditions") or ""),
        issued_on=_date(c.get("issued_on")),
        paid_on=_date(c.get("paid_on")),
        receipt_ids=list(c.get("receipt_ids") or []),
        key_state=bond.get("key_state"),
        deleted_reason=bond.get("deleted_reason"),
        created_at=from_iso(bond["created_at"]) if bond.get("created_at") else None,
        updated_at=from_iso(bond["updated_at"]) if bond.get("updated_at") else None,
        debt=debt,
    )
    return BondRead.model_validate(base)
