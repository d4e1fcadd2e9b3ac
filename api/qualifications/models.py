"""Qualification records as stored, and what the permission rules see.

- ``qual_rounds``: an application round the operator defines (periods, hours, deadlines,
  targets with their own documents, excluded municipalities, correctable fields).
- ``qual_drafts``: the applicant organization's working copy per round (one per round and
  organization), saved on every step exactly as typed.
- ``qual_applications``: the filing Kura received (one per round and organization; a
  re-application replaces it whole, 第3 1), with the receipt number, the 経審 data set it was
  checked against, the receipt PDF's content and ``readers`` (``qorg:<org>`` of each target
  municipality and of the host that receives the common papers).
- ``qual_desks``: one target municipality's own view of an application (papers received,
  notes), id ``<application id>:<org id>``.
- ``qual_review_sets`` / ``qual_reviews``: imported 経審 data (source, as-of date) and one
  record per company and review base date.
- ``qual_counters``: the receipt-number sequence per round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from storage.ports import IndexSpec, RecordStore

ROUNDS = "qual_rounds"
DRAFTS = "qual_drafts"
APPLICATIONS = "qual_applications"
DESKS = "qual_desks"
REVIEW_SETS = "qual_review_sets"
REVIEWS = "qual_reviews"
COUNTERS = "qual_counters"

INDEXES: dict[str, list[IndexSpec]] = {
    ROUNDS: [IndexSpec((("filing_start", 1),))],
    DRAFTS: [
        IndexSpec((("round_id", 1), ("org_id", 1)), unique=True),
        IndexSpec((("org_id", 1), ("updated_at", 1))),
    ],
    APPLICATIONS: [
        IndexSpec((("round_id", 1), ("org_id", 1)), unique=True),
        IndexSpec((("round_id", 1), ("readers", 1), ("receipt_no", 1))),
        IndexSpec((("org_id", 1), ("sent_at", 1))),
    ],
    DESKS: [IndexSpec((("application_id", 1),))],
    REVIEW_SETS: [IndexSpec((("state", 1), ("imported_at", 1)))],
    REVIEWS: [IndexSpec((("set_id", 1),))],
}


async def ensure_indexes(records: RecordStore) -> None:
    for collection, specs in INDEXES.items():
        await records.ensure_indexes(collection, specs)


# What a municipality's list and export show of a filing's values, kept beside them at the
# top level so an export reads these few fields instead of decoding every filing whole.
EXPORT_FIELDS: tuple[str, ...] = (
    "org_id",
    "receipt_no",
    "kind",
    "sent_at",
    "company_name",
    "company_kana",
    "corporate_number",
    "local",
    "categories",
    "targets",
    "target_org_ids",
    "attachment_name",
    "papers",
    "listing",
)


def listing(values: Mapping[str, Any]) -> dict[str, Any]:
    """The main office's address, phone and email and the number of offices (the list's
    columns), from a filing's values."""
    company = values.get("company") or {}
    return {
        "city_code": str(company.get("city_code") or ""),
        "address": str(company.get("address") or ""),
        "phone": str(company.get("phone") or ""),
        "email": str(company.get("email") or ""),
        "offices": len((values.get("offices") or {}).get("items") or []),
    }


def org_principal(org_id: str) -> str:
    return f"qorg:{org_id}"


def desk_id(application_id: str, org_id: str) -> str:
    return f"{application_id}:{org_id}"


def review_key(authority: str, number: str, base_date: str) -> str:
    """A company's 経審 by licence (authority code + number without leading zeros) and base date."""
    return f"{authority}-{int(number) if number.isdigit() else number}:{base_date}"


@dataclass(frozen=True)
class RoundResource:
    """A round as the rules see it."""

    round: Mapping[str, Any]


@dataclass(frozen=True)
class ApplicantResource:
    """An applicant organization's own drafts and filings (``org_id``)."""

    org_id: str | None


@dataclass(frozen=True)
class ApplicationResource:
    """A filing with the round it belongs to."""

    application: Mapping[str, Any]
    round: Mapping[str, Any]

    @property
    def target_orgs(self) -> set[str]:
        return {str(o) for o in self.application.get("target_org_ids") or []}

    @property
    def host_org(self) -> str | None:
        host = self.round.get("host_org_id")
        return str(host) if host else None
